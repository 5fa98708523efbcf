// beginTrace / endTrace (telemetry/tracing.h) and responseFlagFor (exchange_metrics.h): the
// per-exchange glue between the session and the trace context, exporter and metrics.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/telemetry/exchange_metrics.h"
#include "core/telemetry/tracing.h"

using namespace gh;
using namespace gh::telemetry;

namespace {

std::vector<http::Header> fields(std::vector<std::pair<std::string_view, std::string_view>> f) {
  std::vector<http::Header> out;
  for (auto& [n, v] : f) out.push_back(http::Header{n, v});
  return out;
}

}  // namespace

TEST_CASE("beginTrace continues a W3C context with a new client span", "[telemetry]") {
  OtlpExporter exporter(OtlpExporter::Options{});
  WorkerTracing t(exporter.producer(), 0.0);
  ExchangeTrace x;
  beginTrace(t, fields({{"TraceParent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                        {"tracestate", "a=1"}}),
             x);
  REQUIRE(x.active);
  CHECK(toHex(x.server.traceId) == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(toHex(x.parent) == "00f067aa0ba902b7");
  CHECK(x.server.sampled);  // the incoming decision, although our rate is 0
  CHECK(x.server.tracestate == "a=1");
  std::string tp(x.traceparentView());
  CHECK(tp == "00-4bf92f3577b34da6a3ce929d0e0e4736-" + toHex(x.client) + "-01");
  CHECK(x.client != x.server.spanId);
  TraceContext parsed;
  CHECK(parseTraceparent(tp, parsed));
}

TEST_CASE("beginTrace accepts B3 and starts a trace when there is none", "[telemetry]") {
  OtlpExporter exporter(OtlpExporter::Options{});
  WorkerTracing t(exporter.producer(), 0.0);
  ExchangeTrace x;
  beginTrace(t, fields({{"X-B3-TraceId", "a3ce929d0e0e4736"}, {"X-B3-SpanId", "00f067aa0ba902b7"},
                        {"X-B3-Sampled", "1"}}),
             x);
  CHECK(toHex(x.server.traceId) == "0000000000000000a3ce929d0e0e4736");
  CHECK(x.server.sampled);

  ExchangeTrace fresh;
  beginTrace(t, {}, fresh);
  CHECK(!isZero(fresh.server.traceId));
  CHECK(isZero(fresh.parent));
  CHECK(!fresh.server.sampled);  // rate 0
  CHECK(std::string(fresh.traceparentView()).substr(53) == "00");
}

TEST_CASE("endTrace queues server and client spans of sampled exchanges only", "[telemetry]") {
  OtlpExporter::Options o;
  o.queueSpans = 4;
  OtlpExporter exporter(o);
  WorkerTracing t(exporter.producer(), 1.0);
  ExchangeTrace x;
  beginTrace(t, {}, x);
  REQUIRE(x.server.sampled);
  SpanFacts f;
  f.method = "GET";
  f.route = "shop/cart";
  f.status = 200;
  f.upstreamStartUnixNano = 2;
  f.upstreamEndUnixNano = 3;
  // Nobody drains the queue (the exporter is not started): it fills, then spans are dropped,
  // two per exchange (server and client).
  for (int i = 0; i < 1000; ++i) endTrace(t, x, f);
  uint64_t dropped = exporter.dropped();
  CHECK(dropped > 0);
  CHECK(dropped % 2 == 0);
  x.server.sampled = false;
  endTrace(t, x, f);
  CHECK(exporter.dropped() == dropped);
}

TEST_CASE("responseFlagFor: Envoy's short flags for local replies", "[telemetry]") {
  CHECK(std::string(responseFlagName(responseFlagFor(LocalReason::kNoRoute))) == "NR");
  CHECK(std::string(responseFlagName(responseFlagFor(LocalReason::kRbacDenied))) == "RBAC");
  CHECK(std::string(responseFlagName(responseFlagFor(LocalReason::kUpstreamConnectFailed))) ==
        "UF");
  CHECK(std::string(responseFlagName(responseFlagFor(LocalReason::kUpstreamTimeout))) == "UT");
  CHECK(std::string(responseFlagName(responseFlagFor(LocalReason::kNoHealthyUpstream))) == "UH");
  CHECK(std::string(responseFlagName(responseFlagFor(LocalReason::kExtAuthzDenied))) == "UAEX");
  CHECK(std::string(responseFlagName(responseFlagFor(LocalReason::kOverflow))) == "UO");
  CHECK(std::string(responseFlagName(responseFlagFor(LocalReason::kFaultAbort))) == "FI");
  CHECK(std::string(responseFlagName(ResponseFlag::kDelayInjected)) == "DI");
  CHECK(std::string(responseFlagName(responseFlagFor(LocalReason::kBadPath))) == "-");
}
