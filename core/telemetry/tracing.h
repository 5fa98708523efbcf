#pragma once
// Tracing per exchange: what the session calls to continue (or start) a trace, propagate it
// upstream and, for sampled exchanges, hand spans to the OTLP exporter.
//
// One hop makes up to two spans: the server span (this node handling the request; parent: the
// incoming span, if any) and, when the request went upstream, a client span (parent: the
// server span) whose id is the parent id the upstream receives in `traceparent`. So a
// collector shows client -> gatehouse (server) -> gatehouse (client) -> upstream, as with an
// Envoy sidecar.
//
// Cost when tracing is on: a scan of the request's fields for the trace headers, three random
// ids and one formatted traceparent per exchange, no allocation unless a tracestate arrives;
// span building and the push only for sampled exchanges (1% by default).
//
// Threads: a WorkerTracing belongs to one worker (its id generator and exporter Producer).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/http/parser.h"
#include "core/telemetry/otlp_exporter.h"
#include "core/telemetry/trace_context.h"

namespace gh::telemetry {

struct WorkerTracing {
  WorkerTracing(OtlpExporter::Producer* p, double rate) : producer(p), sampler(rate) {}
  OtlpExporter::Producer* producer;
  Sampler sampler;
  SpanIdGenerator ids;
};

// One exchange's trace state.
struct ExchangeTrace {
  bool active = false;
  TraceContext server;  // trace id, this hop's server span id, sampled, tracestate
  SpanId parent{};      // the incoming span (zero: this hop started the trace)
  SpanId client{};      // the span id sent upstream
  char traceparent[55];  // "00-<trace>-<client span>-<flags>", for the upstream request

  std::string_view traceparentView() const { return {traceparent, sizeof traceparent}; }
};

// Reads traceparent/tracestate (or b3 / X-B3-*) from the request and decides this hop's
// context (sampling: an incoming decision is respected, else the worker's rate).
void beginTrace(WorkerTracing& t, const std::vector<http::Header>& headers, ExchangeTrace& out);

// What the log phase knows about the exchange, for the spans.
struct SpanFacts {
  std::string_view method;
  std::string_view route;  // HTTPRoute "ns/name", empty without a route
  std::string_view listener;
  std::string_view authority;
  std::string_view peerPrincipal;
  std::string_view upstreamEndpoint;  // empty: no upstream request
  std::string_view responseFlags;
  int status = 0;
  uint64_t startUnixNano = 0, endUnixNano = 0;
  uint64_t upstreamStartUnixNano = 0, upstreamEndUnixNano = 0;  // 0: no upstream request
};

// For a sampled exchange, pushes the server span and (if it went upstream) the client span;
// a full queue drops them (counted by the exporter). Does nothing when not sampled.
void endTrace(WorkerTracing& t, const ExchangeTrace& trace, const SpanFacts& facts);

}  // namespace gh::telemetry
