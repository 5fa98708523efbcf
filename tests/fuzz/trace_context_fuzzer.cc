// Fuzzes the trace-context parsers (core/telemetry/trace_context.h): traceparent, tracestate,
// b3 single and X-B3-* multi headers, and extract() over all of them.
//
// Checked:
//   1. No crash or out-of-bounds read on any input (each parser gets an exact-size copy).
//   2. Round trip: an accepted traceparent re-formats to itself (version 00, flags 00 or 01;
//      other flag bits are not propagated) or to a version-00
//      value that parses to the same ids and flag; a context accepted from b3 formats to a
//      traceparent that parses back to the same ids.
//   3. Accepted ids are never all zero, and a rejected parse leaves its output untouched.
//   4. tracestate comes back either whole or empty.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/telemetry/trace_context.h"
#include "tests/fuzz/fuzz_support.h"

using namespace gh::telemetry;

namespace {

void roundTrip(const TraceContext& c) {
  FUZZ_CHECK(!isZero(c.traceId) && !isZero(c.spanId));
  std::string tp = formatTraceparent(c);
  TraceContext back;
  FUZZ_CHECK(parseTraceparent(tp, back));
  FUZZ_CHECK(back.traceId == c.traceId && back.spanId == c.spanId);
  FUZZ_CHECK(back.sampled == c.sampled);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto copy = gh::fuzz::exactCopy(data, size);
  std::string_view in(copy.get(), size);

  TraceContext c;
  c.tracestate = "keep";
  if (parseTraceparent(in, c)) {
    roundTrip(c);
    // Flags other than "sampled" are not propagated (we set only what we understand).
    if (in.substr(0, 2) == "00" && (in.substr(53) == "00" || in.substr(53) == "01"))
      FUZZ_CHECK(formatTraceparent(c) == in);
  } else {
    FUZZ_CHECK(c.tracestate == "keep" && isZero(c.traceId));
  }

  std::string_view ts = validTracestate(in);
  FUZZ_CHECK(ts.empty() || ts == in);

  TraceContext b;
  int only = -1;
  if (parseB3Single(in, b, &only)) roundTrip(b);
  else FUZZ_CHECK(isZero(b.traceId));
  FUZZ_CHECK(only >= -1 && only <= 1);

  // Multi headers and extract(): the input split at newlines into the header values.
  std::string_view parts[7];
  size_t n = 0, start = 0;
  for (size_t i = 0; i <= size && n < 7; ++i) {
    if (i == size || in[i] == '\n') {
      parts[n++] = in.substr(start, i - start);
      start = i + 1;
    }
  }
  TraceContext m;
  if (parseB3Multi(parts[0], parts[1], parts[2], parts[3], m)) roundTrip(m);
  IncomingTraceHeaders h{parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], parts[6]};
  int so = -1;
  auto got = extract(h, &so);
  if (got) {
    roundTrip(*got);
    FUZZ_CHECK(got->tracestate.empty() || got->tracestate == parts[1]);
    SpanIdGenerator gen(size);
    Sampler sampler(0.5);
    TraceContext child = childOf(got, gen, sampler, so);
    FUZZ_CHECK(child.traceId == got->traceId && !isZero(child.spanId));
    if (got->samplingDecided) FUZZ_CHECK(child.sampled == got->sampled);
  }
  return 0;
}
