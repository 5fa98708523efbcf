#pragma once
// Helpers shared by the codec fuzzers: a checked assertion that survives -DNDEBUG, a
// deterministic way to derive split points from the input, and exact-size copies.
//
// Split points come from a hash of the input rather than from control bytes in front of it,
// so the seed corpora stay plain HTTP that a person can read and edit.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/http/parser.h"

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

namespace gh::fuzz {

inline uint64_t hashBytes(const uint8_t* data, size_t size) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ULL;
  return h ^ (h >> 29);
}

// A heap copy of exactly n bytes, so AddressSanitizer flags any read past what a call was
// given (the fuzzer's own buffer is only exact for the whole input).
inline std::unique_ptr<char[]> exactCopy(const uint8_t* data, size_t n) {
  std::unique_ptr<char[]> copy(new char[n == 0 ? 1 : n]);
  if (n > 0) std::memcpy(copy.get(), data, n);
  return copy;
}

inline bool inside(std::string_view v, const char* base, size_t len) {
  return v.empty() || (v.data() >= base && v.data() + v.size() <= base + len);
}

}  // namespace gh::fuzz

// ---- Driving the chunked decoder ----------------------------------------------------------

namespace gh::fuzz {

struct ChunkedResult {
  std::string body;
  bool done = false;
  http::ParseError error = http::ParseError::kNone;
  size_t consumed = 0;
};

// Delivers data[0..n) to a decoder in pieces ending at `cuts` (ascending, each <= n), then the
// rest, the way reads would: bytes a call did not consume are fed again with the next piece.
// Every call gets a fresh exact-size copy of what is pending.
inline ChunkedResult decodeChunked(const uint8_t* data, size_t n, const std::vector<size_t>& cuts,
                                   size_t maxLine) {
  ChunkedResult r;
  http::ChunkedDecoder decoder(maxLine);
  size_t taken = 0;
  auto deliverUpTo = [&](size_t fed) {
    for (;;) {
      const size_t avail = fed - taken;
      const auto copy = exactCopy(data + taken, avail);
      const http::ChunkedDecoder::Step s = decoder.feed(copy.get(), avail);
      FUZZ_CHECK(s.consumed <= avail);
      if (!s.data.empty()) {
        FUZZ_CHECK(inside(s.data, copy.get(), s.consumed));
        r.body.append(s.data);
      }
      taken += s.consumed;
      if (s.error != http::ParseError::kNone) {
        FUZZ_CHECK(!s.done);
        FUZZ_CHECK(s.data.empty());
        r.error = s.error;
        // The verdict is sticky: more input changes nothing and is not consumed.
        const http::ChunkedDecoder::Step again = decoder.feed(copy.get(), avail);
        FUZZ_CHECK(again.error == s.error && again.consumed == 0 && again.data.empty());
        return true;
      }
      if (s.done) {
        FUZZ_CHECK(decoder.done());
        FUZZ_CHECK(s.data.empty());
        r.done = true;
        const http::ChunkedDecoder::Step again = decoder.feed(copy.get(), avail);
        FUZZ_CHECK(again.done && again.consumed == 0 && again.data.empty());
        return true;
      }
      if (s.consumed == 0) return false;
    }
  };
  bool finished = false;
  for (size_t cut : cuts) {
    if ((finished = deliverUpTo(cut))) break;
  }
  if (!finished) deliverUpTo(n);
  r.consumed = taken;
  return r;
}

inline void checkSameChunked(const ChunkedResult& a, const ChunkedResult& b) {
  FUZZ_CHECK(a.body == b.body);
  FUZZ_CHECK(a.done == b.done);
  FUZZ_CHECK(a.error == b.error);
  if (a.done) FUZZ_CHECK(a.consumed == b.consumed);
}

// Runs the decoder over a body one-shot, in three data-derived pieces and (for small inputs)
// byte by byte, and checks they agree. Returns the one-shot result.
inline ChunkedResult decodeChunkedEveryWay(const uint8_t* data, size_t n, uint64_t hash,
                                           size_t maxLine) {
  const ChunkedResult whole = decodeChunked(data, n, {}, maxLine);
  const size_t a = n == 0 ? 0 : static_cast<size_t>(hash % (n + 1));
  const size_t b = a + static_cast<size_t>((hash >> 32) % (n - a + 1));
  checkSameChunked(whole, decodeChunked(data, n, {a, b}, maxLine));
  if (n <= 512) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < n; ++i) cuts.push_back(i);
    checkSameChunked(whole, decodeChunked(data, n, cuts, maxLine));
  }
  return whole;
}

}  // namespace gh::fuzz
