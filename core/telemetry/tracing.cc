#include "core/telemetry/tracing.h"

#include "core/base/strings.h"

namespace gh::telemetry {

void beginTrace(WorkerTracing& t, const std::vector<http::Header>& headers, ExchangeTrace& out) {
  IncomingTraceHeaders in;
  for (const http::Header& h : headers) {
    // By length first: most fields cost one comparison.
    switch (h.name.size()) {
      case 2:
        if (str::iequals(h.name, "b3")) in.b3 = h.value;
        break;
      case 10:
        if (str::iequals(h.name, "tracestate")) in.tracestate = h.value;
        else if (str::iequals(h.name, "x-b3-flags")) in.b3Flags = h.value;
        break;
      case 11:
        if (str::iequals(h.name, "traceparent")) in.traceparent = h.value;
        else if (str::iequals(h.name, "x-b3-spanid")) in.b3SpanId = h.value;
        break;
      case 12:
        if (str::iequals(h.name, "x-b3-traceid")) in.b3TraceId = h.value;
        else if (str::iequals(h.name, "x-b3-sampled")) in.b3Sampled = h.value;
        break;
    }
  }
  int samplingOnly = -1;
  std::optional<TraceContext> parent = extract(in, &samplingOnly);
  out.active = true;
  out.parent = parent ? parent->spanId : SpanId{};
  out.server = childOf(parent, t.ids, t.sampler, samplingOnly);
  out.client = t.ids.spanId();
  // "00-" trace "-" client span "-" flags, formatted in place (no allocation).
  static const char kHex[] = "0123456789abcdef";
  char* p = out.traceparent;
  *p++ = '0';
  *p++ = '0';
  *p++ = '-';
  for (uint8_t b : out.server.traceId) {
    *p++ = kHex[b >> 4];
    *p++ = kHex[b & 15];
  }
  *p++ = '-';
  for (uint8_t b : out.client) {
    *p++ = kHex[b >> 4];
    *p++ = kHex[b & 15];
  }
  *p++ = '-';
  *p++ = '0';
  *p++ = out.server.sampled ? '1' : '0';
}

namespace {

Span makeSpan(const ExchangeTrace& trace, const SpanFacts& f) {
  Span s;
  s.traceId = trace.server.traceId;
  s.name.reserve(f.method.size() + 1 + f.route.size());
  s.name.append(f.method);
  if (!f.route.empty()) {
    s.name += ' ';
    s.name.append(f.route);
  }
  s.error = f.status >= 500 || f.status == 0;
  s.attributes.emplace_back("http.method", std::string(f.method));
  if (!f.route.empty()) s.attributes.emplace_back("http.route", std::string(f.route));
  s.intAttributes.emplace_back("http.status_code", f.status);
  if (f.responseFlags != "-")
    s.attributes.emplace_back("gatehouse.response_flags", std::string(f.responseFlags));
  return s;
}

}  // namespace

void endTrace(WorkerTracing& t, const ExchangeTrace& trace, const SpanFacts& f) {
  if (!trace.active || !trace.server.sampled) return;
  Span server = makeSpan(trace, f);
  server.kind = SpanKind::kServer;
  server.spanId = trace.server.spanId;
  server.parentSpanId = trace.parent;
  server.startUnixNano = f.startUnixNano;
  server.endUnixNano = f.endUnixNano;
  server.attributes.emplace_back("gatehouse.listener", std::string(f.listener));
  if (!f.authority.empty()) server.attributes.emplace_back("http.host", std::string(f.authority));
  if (!f.peerPrincipal.empty())
    server.attributes.emplace_back("gatehouse.peer_principal", std::string(f.peerPrincipal));
  if (f.upstreamStartUnixNano) {
    Span client = makeSpan(trace, f);
    client.kind = SpanKind::kClient;
    client.spanId = trace.client;
    client.parentSpanId = trace.server.spanId;
    client.startUnixNano = f.upstreamStartUnixNano;
    client.endUnixNano = f.upstreamEndUnixNano;
    client.attributes.emplace_back("net.peer.name", std::string(f.upstreamEndpoint));
    t.producer->push(std::move(client));
  }
  t.producer->push(std::move(server));
}

}  // namespace gh::telemetry
