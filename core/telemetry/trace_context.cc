#include "core/telemetry/trace_context.h"

#include <sys/random.h>

#include <algorithm>
#include <cmath>

namespace gh::telemetry {
namespace {

constexpr char kHex[] = "0123456789abcdef";

int hexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case refused: both specs say lower-case hex
}

// Exactly 2*n lower-case hex digits into n bytes.
template <size_t N>
bool parseHex(std::string_view s, std::array<uint8_t, N>& out) {
  if (s.size() != 2 * N) return false;
  std::array<uint8_t, N> tmp;
  for (size_t i = 0; i < N; ++i) {
    int hi = hexVal(s[2 * i]), lo = hexVal(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    tmp[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  out = tmp;
  return true;
}

template <size_t N>
std::string hex(const std::array<uint8_t, N>& id) {
  std::string s(2 * N, '0');
  for (size_t i = 0; i < N; ++i) {
    s[2 * i] = kHex[id[i] >> 4];
    s[2 * i + 1] = kHex[id[i] & 15];
  }
  return s;
}

bool parseTraceIdB3(std::string_view s, TraceId& out) {
  if (s.size() == 16) {
    std::array<uint8_t, 8> low;
    if (!parseHex(s, low)) return false;
    out.fill(0);
    for (int i = 0; i < 8; ++i) out[8 + i] = low[i];
    return true;
  }
  return parseHex(s, out);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t splitmix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

bool isZero(const TraceId& id) {
  for (uint8_t b : id) if (b) return false;
  return true;
}
bool isZero(const SpanId& id) {
  for (uint8_t b : id) if (b) return false;
  return true;
}
std::string toHex(const TraceId& id) { return hex(id); }
std::string toHex(const SpanId& id) { return hex(id); }

bool parseTraceparent(std::string_view v, TraceContext& out) {
  // version "-" trace-id "-" parent-id "-" flags
  if (v.size() < 55) return false;
  int v0 = hexVal(v[0]), v1 = hexVal(v[1]);
  if (v0 < 0 || v1 < 0) return false;
  int version = v0 << 4 | v1;
  if (version == 0xff) return false;
  if (version == 0 && v.size() != 55) return false;
  if (version > 0 && v.size() > 55 && v[55] != '-') return false;
  if (v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  TraceId t;
  SpanId s;
  std::array<uint8_t, 1> flags;
  if (!parseHex(v.substr(3, 32), t) || !parseHex(v.substr(36, 16), s) ||
      !parseHex(v.substr(53, 2), flags))
    return false;
  if (isZero(t) || isZero(s)) return false;
  out.traceId = t;
  out.spanId = s;
  out.sampled = flags[0] & 1;
  out.samplingDecided = true;
  return true;
}

std::string formatTraceparent(const TraceContext& c) {
  return "00-" + hex(c.traceId) + "-" + hex(c.spanId) + (c.sampled ? "-01" : "-00");
}

std::string_view validTracestate(std::string_view v) {
  if (v.size() > 512) return {};
  for (unsigned char c : v)
    if (c < 0x20 && c != '\t') return {};
    else if (c > 0x7e) return {};
  return v;
}

bool parseB3Single(std::string_view v, TraceContext& out, int* samplingOnly) {
  if (samplingOnly) *samplingOnly = -1;
  if (v.size() == 1) {
    if (v == "0" || v == "1" || v == "d") {
      if (samplingOnly) *samplingOnly = v == "0" ? 0 : 1;
    }
    return false;
  }
  size_t d1 = v.find('-');
  if (d1 == std::string_view::npos) return false;
  std::string_view trace = v.substr(0, d1), rest = v.substr(d1 + 1);
  size_t d2 = rest.find('-');
  std::string_view span = rest.substr(0, d2);
  TraceContext c;
  if (!parseTraceIdB3(trace, c.traceId) || !parseHex(span, c.spanId)) return false;
  if (isZero(c.traceId) || isZero(c.spanId)) return false;
  c.samplingDecided = false;
  if (d2 != std::string_view::npos) {
    rest = rest.substr(d2 + 1);
    size_t d3 = rest.find('-');
    std::string_view sampled = rest.substr(0, d3);
    if (sampled == "1" || sampled == "d") c.sampled = true;
    else if (sampled == "0") c.sampled = false;
    else return false;
    c.samplingDecided = true;
    if (d3 != std::string_view::npos) {
      SpanId parent;
      if (!parseHex(rest.substr(d3 + 1), parent)) return false;
    }
  }
  c.tracestate = out.tracestate;
  out = std::move(c);
  return true;
}

bool parseB3Multi(std::string_view traceId, std::string_view spanId, std::string_view sampled,
                  std::string_view flags, TraceContext& out) {
  TraceContext c;
  if (!parseTraceIdB3(traceId, c.traceId) || !parseHex(spanId, c.spanId)) return false;
  if (isZero(c.traceId) || isZero(c.spanId)) return false;
  c.samplingDecided = true;
  if (flags == "1") c.sampled = true;  // debug implies sampled
  else if (sampled == "1" || sampled == "true") c.sampled = true;
  else if (sampled == "0" || sampled == "false") c.sampled = false;
  else if (sampled.empty()) c.samplingDecided = false;
  else return false;
  out = std::move(c);
  return true;
}

std::optional<TraceContext> extract(const IncomingTraceHeaders& h, int* samplingOnly) {
  if (samplingOnly) *samplingOnly = -1;
  TraceContext c;
  if (!h.traceparent.empty() && parseTraceparent(h.traceparent, c)) {
    c.tracestate = std::string(validTracestate(h.tracestate));
    return c;
  }
  if (!h.b3.empty()) {
    int only = -1;
    if (parseB3Single(h.b3, c, &only)) return c;
    if (samplingOnly) *samplingOnly = only;
  }
  if (!h.b3TraceId.empty() && parseB3Multi(h.b3TraceId, h.b3SpanId, h.b3Sampled, h.b3Flags, c))
    return c;
  if (samplingOnly && *samplingOnly < 0) {
    if (h.b3Flags == "1" || h.b3Sampled == "1" || h.b3Sampled == "true") *samplingOnly = 1;
    else if (h.b3Sampled == "0" || h.b3Sampled == "false") *samplingOnly = 0;
  }
  return std::nullopt;
}

SpanIdGenerator::SpanIdGenerator() {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) != sizeof seed) seed = 0x853c49e6748fea9bull;
  for (auto& s : s_) s = splitmix(seed);
}

SpanIdGenerator::SpanIdGenerator(uint64_t seed) {
  for (auto& s : s_) s = splitmix(seed);
}

uint64_t SpanIdGenerator::next() {  // xoshiro256**
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

SpanId SpanIdGenerator::spanId() {
  SpanId id;
  uint64_t v;
  do v = next();
  while (v == 0);
  for (int i = 0; i < 8; ++i) id[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  return id;
}

TraceId SpanIdGenerator::traceId() {
  TraceId id;
  uint64_t a, b;
  do {
    a = next();
    b = next();
  } while (a == 0 && b == 0);
  for (int i = 0; i < 8; ++i) {
    id[i] = static_cast<uint8_t>(a >> (56 - 8 * i));
    id[8 + i] = static_cast<uint8_t>(b >> (56 - 8 * i));
  }
  return id;
}

Sampler::Sampler(double rate) : rate_(std::isnan(rate) ? 0 : std::clamp(rate, 0.0, 1.0)) {
  // Compare the trace id's last 56 bits (random per W3C level 2) with rate * 2^56.
  threshold_ = static_cast<uint64_t>(std::ldexp(rate_, 56));
}

bool Sampler::decide(const TraceContext& c) const {
  if (c.samplingDecided) return c.sampled;
  if (rate_ >= 1) return true;
  uint64_t low = 0;
  for (int i = 9; i < 16; ++i) low = low << 8 | c.traceId[i];
  return low < threshold_;
}

TraceContext childOf(const std::optional<TraceContext>& parent, SpanIdGenerator& gen,
                     const Sampler& sampler, int samplingOnly) {
  TraceContext c;
  if (parent) {
    c = *parent;
  } else {
    c.traceId = gen.traceId();
    c.samplingDecided = samplingOnly >= 0;
    c.sampled = samplingOnly == 1;
  }
  c.sampled = sampler.decide(c);
  c.samplingDecided = true;
  c.spanId = gen.spanId();
  return c;
}

}  // namespace gh::telemetry
