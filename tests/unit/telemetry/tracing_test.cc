#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "core/telemetry/otlp_exporter.h"
#include "core/telemetry/trace_context.h"

using namespace gh::telemetry;

namespace {

constexpr const char* kTp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// A listening socket on 127.0.0.1; port() tells where.
struct Listener {
  int fd = -1;
  Listener() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(fd, 16) == 0);
  }
  ~Listener() {
    if (fd >= 0) close(fd);
  }
  uint16_t port() const {
    sockaddr_in a{};
    socklen_t l = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
    return ntohs(a.sin_port);
  }
};

// A tiny OTLP collector: reads each request whole (Content-Length), keeps the bodies, says 200.
struct Collector {
  Listener l;
  std::thread t;
  std::mutex mu;
  std::vector<std::string> bodies, heads;
  std::atomic<bool> stop{false};
  Collector() {
    t = std::thread([this] {
      while (!stop) {
        int c = accept(l.fd, nullptr, nullptr);
        if (c < 0) return;
        std::string req;
        char buf[4096];
        size_t headEnd = std::string::npos, want = 0;
        for (;;) {
          ssize_t n = read(c, buf, sizeof buf);
          if (n <= 0) break;
          req.append(buf, static_cast<size_t>(n));
          if (headEnd == std::string::npos && (headEnd = req.find("\r\n\r\n")) != std::string::npos) {
            size_t cl = req.find("Content-Length: ");
            want = std::stoul(req.substr(cl + 16));
          }
          if (headEnd != std::string::npos && req.size() >= headEnd + 4 + want) break;
        }
        const char* ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
        (void)!write(c, ok, strlen(ok));
        close(c);
        std::lock_guard<std::mutex> g(mu);
        if (headEnd != std::string::npos) {
          heads.push_back(req.substr(0, headEnd));
          bodies.push_back(req.substr(headEnd + 4));
        }
      }
    });
  }
  ~Collector() {
    stop = true;
    shutdown(l.fd, SHUT_RDWR);
    t.join();
  }
};

Span spanFor(const TraceContext& c, const char* name) {
  Span s;
  s.traceId = c.traceId;
  s.spanId = c.spanId;
  s.name = name;
  s.startUnixNano = 1;
  s.endUnixNano = 2;
  return s;
}

}  // namespace

TEST_CASE("traceparent: parse, format, reject", "[telemetry][tracing]") {
  TraceContext c;
  REQUIRE(parseTraceparent(kTp, c));
  CHECK(toHex(c.traceId) == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(toHex(c.spanId) == "00f067aa0ba902b7");
  CHECK(c.sampled);
  CHECK(formatTraceparent(c) == kTp);
  // A future version with more fields is read by its first four.
  CHECK(parseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what", c));
  CHECK_FALSE(c.sampled);
  const char* bad[] = {
      "",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // v00 is exact
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
  };
  for (const char* b : bad) {
    TraceContext x;
    INFO(b);
    CHECK_FALSE(parseTraceparent(b, x));
  }
  CHECK(validTracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE") ==
        "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  CHECK(validTracestate("a=\nb").empty());
  CHECK(validTracestate(std::string(513, 'a')).empty());
}

TEST_CASE("b3 single and multi headers are accepted", "[telemetry][tracing]") {
  TraceContext c;
  REQUIRE(parseB3Single("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90", c));
  CHECK(toHex(c.traceId) == "80f198ee56343ba864fe8b2a57d3eff7");
  CHECK(toHex(c.spanId) == "e457b5a2e4d86bd1");
  CHECK((c.sampled && c.samplingDecided));
  REQUIRE(parseB3Single("a3ce929d0e0e4736-e457b5a2e4d86bd1", c));
  CHECK(toHex(c.traceId) == "0000000000000000a3ce929d0e0e4736");
  CHECK_FALSE(c.samplingDecided);
  int only = -1;
  CHECK_FALSE(parseB3Single("0", c, &only));
  CHECK(only == 0);
  CHECK_FALSE(parseB3Single("a3ce929d0e0e4736-e457b5a2e4d86bd1-x", c));
  REQUIRE(parseB3Multi("a3ce929d0e0e4736", "e457b5a2e4d86bd1", "0", "", c));
  CHECK((!c.sampled && c.samplingDecided));
  REQUIRE(parseB3Multi("a3ce929d0e0e4736", "e457b5a2e4d86bd1", "", "1", c));
  CHECK(c.sampled);
  CHECK_FALSE(parseB3Multi("a3ce929d0e0e4736", "", "1", "", c));
}

TEST_CASE("extract prefers W3C, then b3; childOf keeps the trace and respects the flag",
          "[telemetry][tracing]") {
  IncomingTraceHeaders h;
  h.traceparent = kTp;
  h.tracestate = "k=v";
  h.b3 = "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0";
  auto c = extract(h);
  REQUIRE(c);
  CHECK(toHex(c->traceId) == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(c->tracestate == "k=v");
  SpanIdGenerator gen(42);
  Sampler never(0.0), always(1.0);
  TraceContext child = childOf(c, gen, never);
  CHECK(child.traceId == c->traceId);
  CHECK(child.spanId != c->spanId);
  CHECK(child.sampled);  // the incoming sampled flag wins over a rate of 0
  h.traceparent = "garbage";
  c = extract(h);
  REQUIRE(c);
  CHECK(toHex(c->traceId) == "80f198ee56343ba864fe8b2a57d3eff7");
  CHECK(c->tracestate.empty());
  CHECK_FALSE(childOf(c, gen, always).sampled);  // b3 said 0
  // No context: a new trace, sampled by rate.
  auto none = extract(IncomingTraceHeaders{});
  CHECK_FALSE(none);
  CHECK(childOf(none, gen, always).sampled);
  CHECK_FALSE(childOf(none, gen, never).sampled);
  int hits = 0;
  Sampler tenth(0.1);
  for (int i = 0; i < 20000; ++i) hits += childOf(none, gen, tenth).sampled;
  CHECK(hits > 1600);
  CHECK(hits < 2400);
}

TEST_CASE("collector URLs", "[telemetry][tracing]") {
  CollectorUrl u;
  std::string err;
  REQUIRE(parseCollectorUrl("http://127.0.0.1:4318/v1/traces", u, &err));
  CHECK((u.ip == "127.0.0.1" && u.port == 4318 && u.path == "/v1/traces"));
  REQUIRE(parseCollectorUrl("http://localhost", u, &err));
  CHECK((u.ip == "127.0.0.1" && u.port == 4318 && u.path == "/v1/traces" && u.host == "localhost"));
  REQUIRE(parseCollectorUrl("http://[::1]:9/x", u, &err));
  CHECK((u.ip == "::1" && u.port == 9 && u.path == "/x"));
  CHECK_FALSE(parseCollectorUrl("https://127.0.0.1/", u, &err));
  CHECK_FALSE(parseCollectorUrl("http://collector.example:4318/", u, &err));
  CHECK_FALSE(parseCollectorUrl("http://127.0.0.1:0/", u, &err));
  CHECK_FALSE(parseCollectorUrl("http://127.0.0.1:70000/", u, &err));
  CHECK_FALSE(parseCollectorUrl("http://127.0.0.1:/", u, &err));
  CHECK_FALSE(parseCollectorUrl("ftp://127.0.0.1/", u, &err));
}

TEST_CASE("exporter posts OTLP JSON batches to a collector", "[telemetry][tracing]") {
  Collector col;
  OtlpExporter::Options o;
  REQUIRE(parseCollectorUrl("http://127.0.0.1:" + std::to_string(col.l.port()) + "/v1/traces",
                            o.url, nullptr));
  o.batchSize = 3;
  o.flushIntervalMs = 50;
  OtlpExporter ex(o);
  auto* p = ex.producer();
  ex.start();
  TraceContext c;
  REQUIRE(parseTraceparent(kTp, c));
  SpanIdGenerator gen;
  Span server = spanFor(c, "GET shop/cart");
  server.parentSpanId = c.spanId;
  server.spanId = gen.spanId();
  server.intAttributes.push_back({"http.status_code", 200});
  server.attributes.push_back({"http.method", "GET"});
  for (int i = 0; i < 4; ++i) {
    Span s = server;
    REQUIRE(p->push(std::move(s)));
  }
  for (int i = 0; i < 200 && ex.exported() < 4; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ex.stop();
  CHECK(ex.exported() == 4);
  CHECK(ex.failed() == 0);
  std::lock_guard<std::mutex> g(col.mu);
  REQUIRE(col.bodies.size() >= 2);  // a batch of 3, then the rest on the interval
  CHECK(col.heads[0].find("POST /v1/traces HTTP/1.1\r\n") == 0);
  CHECK(col.heads[0].find("Content-Type: application/json") != std::string::npos);
  const std::string& b = col.bodies[0];
  CHECK(b.find("\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\"") != std::string::npos);
  CHECK(b.find("\"parentSpanId\":\"00f067aa0ba902b7\"") != std::string::npos);
  CHECK(b.find("{\"key\":\"http.status_code\",\"value\":{\"intValue\":\"200\"}}") !=
        std::string::npos);
  CHECK(b.find("\"service.name\",\"value\":{\"stringValue\":\"gatehouse\"}") != std::string::npos);
}

TEST_CASE("a dead or stalled collector never blocks producers; losses are counted",
          "[telemetry][tracing]") {
  TraceContext c;
  REQUIRE(parseTraceparent(kTp, c));
  SECTION("dead port") {
    uint16_t port;
    {
      Listener l;
      port = l.port();
    }  // closed: connections are refused
    OtlpExporter::Options o;
    REQUIRE(parseCollectorUrl("http://127.0.0.1:" + std::to_string(port), o.url, nullptr));
    o.batchSize = 10;
    o.flushIntervalMs = 10;
    o.queueSpans = 64;
    OtlpExporter ex(o);
    auto* p = ex.producer();
    ex.start();
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 10000; ++i) p->push(spanFor(c, "x"));
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
    ex.stop();
    CHECK(ex.exported() == 0);
    CHECK(ex.failed() + ex.dropped() == 10000);
    CHECK(ex.failed() > 0);
    std::string m;
    ex.renderMetrics(m);
    CHECK(m.find("gatehouse_tracing_spans_dropped_total " + std::to_string(ex.dropped())) !=
          std::string::npos);
  }
  SECTION("collector that accepts and never answers") {
    Listener l;  // never accept()ed: the kernel completes connects, nobody reads or replies
    OtlpExporter::Options o;
    REQUIRE(parseCollectorUrl("http://127.0.0.1:" + std::to_string(l.port()), o.url, nullptr));
    o.batchSize = 8;
    o.flushIntervalMs = 10;
    o.queueSpans = 32;
    o.timeoutMs = 200;
    OtlpExporter ex(o);
    auto* p = ex.producer();
    ex.start();
    std::chrono::nanoseconds worst{0};
    for (int i = 0; i < 20000; ++i) {
      auto a = std::chrono::steady_clock::now();
      p->push(spanFor(c, "x"));
      worst = std::max(worst, std::chrono::steady_clock::now() - a);
    }
    CHECK(worst < std::chrono::milliseconds(50));
    CHECK(ex.dropped() > 0);
    auto s0 = std::chrono::steady_clock::now();
    ex.stop();
    CHECK(std::chrono::steady_clock::now() - s0 < std::chrono::seconds(2));
    CHECK(ex.exported() == 0);
    CHECK(ex.failed() + ex.dropped() == 20000);
  }
}
