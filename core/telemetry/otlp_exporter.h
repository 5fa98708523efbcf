#pragma once
// OtlpExporter: sends finished spans to an OpenTelemetry collector as OTLP/HTTP JSON
// (POST <url>, Content-Type: application/json, body an ExportTraceServiceRequest with hex
// trace and span ids), in batches, from one background thread.
//
// Never blocking a worker: each worker has a Producer, a fixed single-producer/single-consumer
// ring of Span slots. push() moves the span into a free slot or, when the ring is full (the
// collector is slow, dead, or traffic outruns it), drops it and counts it; no lock, no syscall.
// The exporter thread drains the rings into a batch and POSTs it when it holds batchSize spans
// or flushIntervalMs has passed. A POST has a deadline (timeoutMs for connect, send and the
// response); a batch that fails (refused, timed out, non-2xx) is dropped and counted, never
// retried, so a dead collector costs one short connect attempt per interval and nothing on the
// request path.
//
// The collector URL is http://HOST[:PORT][/PATH] (default port 4318, default path /v1/traces);
// HOST is an IPv4 literal, a bracketed IPv6 literal or "localhost" in this build (names: the
// server resolves them on its Loop with net::Resolver and passes the literal). https is refused
// by parseCollectorUrl.
//
// What the session must call: in the log phase of a sampled exchange, push() one server span
// (kind kServer, parent = the incoming span id, if any) and, when it went upstream, one client
// span (kind kClient, span id = the one sent in traceparent, parent = the server span) on the
// worker's Producer. What the server must call: construct with the configured URL, producer()
// once per worker before they start, start(); renderMetrics() on /metrics; stop() after the
// workers have stopped (it flushes within timeoutMs).
//
// Threads: constructor, producer(), start(), stop(), renderMetrics(): control thread.
// Producer::push(): its worker only. Counters: any thread.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/telemetry/trace_context.h"

namespace gh::telemetry {

enum class SpanKind : uint8_t { kInternal = 1, kServer = 2, kClient = 3 };

struct Span {
  TraceId traceId{};
  SpanId spanId{};
  SpanId parentSpanId{};  // all zero: a root span
  std::string name;       // e.g. "GET shop/cart" (method and route, never the raw path)
  SpanKind kind = SpanKind::kServer;
  uint64_t startUnixNano = 0;
  uint64_t endUnixNano = 0;
  bool error = false;     // OTLP status code ERROR (5xx, upstream failure)
  std::vector<std::pair<std::string, std::string>> attributes;  // string attributes
  std::vector<std::pair<std::string, int64_t>> intAttributes;   // e.g. http.status_code
};

struct CollectorUrl {
  std::string host;  // as written (for Host:)
  std::string ip;    // numeric address to connect to
  uint16_t port = 4318;
  std::string path = "/v1/traces";
};
// False with `error` set when the URL is not one the exporter can use.
bool parseCollectorUrl(std::string_view url, CollectorUrl& out, std::string* error);

// The JSON body of one POST (exposed for tests).
void formatOtlpJson(const std::vector<Span>& spans, std::string_view serviceName,
                    std::string& out);

class OtlpExporter {
 public:
  struct Options {
    CollectorUrl url;
    std::string serviceName = "gatehouse";
    size_t queueSpans = 4096;  // per worker; rounded up to a power of two
    size_t batchSize = 512;
    int flushIntervalMs = 1000;
    int timeoutMs = 2000;
  };
  class Producer {
   public:
    // Takes the span if there is room; false: dropped and counted.
    bool push(Span&& s);
    uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

   private:
    friend class OtlpExporter;
    explicit Producer(size_t n);
    size_t drainInto(std::vector<Span>& out, size_t max);  // exporter thread
    std::unique_ptr<Span[]> slots_;
    size_t mask_;
    alignas(64) std::atomic<uint64_t> head_{0};
    alignas(64) std::atomic<uint64_t> tail_{0};
    alignas(64) std::atomic<uint64_t> dropped_{0};
  };

  explicit OtlpExporter(Options opts);
  ~OtlpExporter();  // stop()s
  Producer* producer();
  void start();
  void stop();

  uint64_t dropped() const;  // queue full
  uint64_t exported() const { return exported_.load(std::memory_order_relaxed); }
  uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }  // lost in a POST
  uint64_t batches() const { return batches_.load(std::memory_order_relaxed); }
  // gatehouse_tracing_spans_exported_total, _dropped_total, _export_failed_total.
  void renderMetrics(std::string& out) const;

 private:
  void run();
  bool post(const std::string& body);

  Options opts_;
  std::vector<std::unique_ptr<Producer>> producers_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> exported_{0}, failed_{0}, batches_{0};
};

}  // namespace gh::telemetry
