#pragma once
// Trace context: W3C Trace Context (traceparent/tracestate) parsing and formatting, B3
// (single `b3` header and multi X-B3-* headers) accepted on input, span ids, and the sampling
// decision. Pure functions and a per-worker generator: no I/O, no shared state.
//
// Parsing is strict where a bad value would corrupt a trace and lenient where the spec says
// so (W3C Trace Context level 1, section 3.2 and 4.3):
//   - traceparent version 00 is exactly "00-<32 hex>-<16 hex>-<2 hex>", lower-case hex, trace
//     and parent ids not all zero; a higher version (not "ff") is read by its first four fields
//     when followed by end of input or '-'. Anything else is invalid: the exchange starts a new
//     trace (and drops tracestate, as the spec requires).
//   - tracestate is propagated as received when it is at most 512 bytes of visible ASCII,
//     spaces, tabs, commas and '='; otherwise it is dropped.
//   - b3: "<trace 16|32 hex>-<span 16 hex>[-<1|0|d>[-<parent 16 hex>]]" or just "0", "1", "d";
//     X-B3-TraceId/SpanId/Sampled/Flags likewise. 64-bit trace ids are left-padded with zeros.
//     Upper-case hex is refused (both specs say lower case).
//
// What the session must call (request serialization, before sending upstream):
//   1. ctx = extract(traceparent, tracestate, b3, x-b3-*) from the request head (the
//      IncomingHeaders views);
//   2. sampled = Sampler::decide(ctx) (an incoming sampled flag is respected either way);
//   3. span = childOf(ctx or a new trace, generator) -> this hop's span id;
//   4. write `traceparent: formatTraceparent(span)` (and the received tracestate, if valid) on
//      the upstream request, replacing what came in; B3 headers are passed through unchanged.
//   5. in the log phase, if sampled, give an OtlpExporter a Span with the ids.
//
// Threads: everything is reentrant; a SpanIdGenerator belongs to one worker.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gh::telemetry {

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

struct TraceContext {
  TraceId traceId{};
  SpanId spanId{};  // the parent's span (incoming) or this hop's span (outgoing)
  bool sampled = false;
  bool samplingDecided = true;  // false: B3 without a decision (defer to our sampler)
  std::string tracestate;  // validated, or empty
};

bool isZero(const TraceId& id);
bool isZero(const SpanId& id);
std::string toHex(const TraceId& id);
std::string toHex(const SpanId& id);

// traceparent; false on any syntax error (out untouched).
bool parseTraceparent(std::string_view v, TraceContext& out);
// "00-<trace>-<span>-<01|00>"
std::string formatTraceparent(const TraceContext& c);
// The tracestate to propagate: `v` when valid, empty otherwise.
std::string_view validTracestate(std::string_view v);
// b3 single header. A bare sampling decision ("0"/"1"/"d") returns false with `samplingOnly`
// set to the decision (1 or 0; 'd' debug counts as 1).
bool parseB3Single(std::string_view v, TraceContext& out, int* samplingOnly = nullptr);
// X-B3-TraceId, X-B3-SpanId, X-B3-Sampled (may be empty), X-B3-Flags (may be empty).
bool parseB3Multi(std::string_view traceId, std::string_view spanId, std::string_view sampled,
                  std::string_view flags, TraceContext& out);

// The headers of a request head that carry trace context (empty views: absent).
struct IncomingTraceHeaders {
  std::string_view traceparent, tracestate, b3, b3TraceId, b3SpanId, b3Sampled, b3Flags;
};
// W3C first, then b3, then X-B3-*. nullopt: no valid context (start a new trace); a bare
// sampling decision still comes back through `samplingOnly` (-1: none).
std::optional<TraceContext> extract(const IncomingTraceHeaders& h, int* samplingOnly = nullptr);

// Random, non-zero ids; xoshiro256** seeded from getrandom. One per worker (not thread-safe).
class SpanIdGenerator {
 public:
  SpanIdGenerator();
  explicit SpanIdGenerator(uint64_t seed);  // tests
  SpanId spanId();
  TraceId traceId();
  uint64_t next();

 private:
  uint64_t s_[4];
};

// Sampling: an incoming decision (traceparent flag, b3 sampled) is respected; otherwise a new
// or undecided trace is sampled with probability `rate` (0..1), decided from the trace id so
// every hop that uses this rule agrees (the W3C "random trace id" bits).
class Sampler {
 public:
  explicit Sampler(double rate = 0.01);
  bool decide(const TraceContext& c) const;  // c.traceId already set
  double rate() const { return rate_; }

 private:
  double rate_;
  uint64_t threshold_;
};

// This hop's context: same trace and tracestate, new span id, `sampled` as decided. With no
// parent, a new trace.
TraceContext childOf(const std::optional<TraceContext>& parent, SpanIdGenerator& gen,
                     const Sampler& sampler, int samplingOnly = -1);

}  // namespace gh::telemetry
