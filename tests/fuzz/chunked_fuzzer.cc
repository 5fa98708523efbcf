// Fuzzes ChunkedDecoder on its own.
//
//   1. Differential: one-shot, three data-derived pieces and byte by byte (each call on a
//      fresh exact-size copy) give the same body, verdict and, when done, consumed length.
//   2. Reference: when the decoder accepts a body, a deliberately naive decoder that trusts
//      the framing extracts the same data and ends at the same byte. The naive one validates
//      nothing, so this checks what the real decoder returned, not what it refused.
//   3. A data view always lies inside the prefix its call consumed (checked by the driver).
// The line limit comes from the input's hash, so short limits are exercised too.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/http/parser.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool referenceDecode(std::string_view in, std::string* body, size_t* consumed) {
  size_t i = 0;
  for (;;) {
    const size_t eol = in.find("\r\n", i);
    if (eol == std::string_view::npos) return false;
    uint64_t size = 0;
    size_t k = i;
    for (; k < eol && hexDigit(in[k]) >= 0; ++k)
      size = size * 16 + static_cast<uint64_t>(hexDigit(in[k]));
    if (k == i) return false;
    i = eol + 2;
    if (size == 0) break;
    if (size > in.size() - i || in.size() - i - size < 2) return false;
    body->append(in.substr(i, size));
    i += size;
    if (in.substr(i, 2) != "\r\n") return false;
    i += 2;
  }
  for (;;) {  // trailer lines, up to the empty one
    const size_t eol = in.find("\r\n", i);
    if (eol == std::string_view::npos) return false;
    const bool empty = eol == i;
    i = eol + 2;
    if (empty) break;
  }
  *consumed = i;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint64_t hash = gh::fuzz::hashBytes(data, size);
  static constexpr size_t kLineLimits[] = {4096, 32, 8, 1};
  const size_t maxLine = kLineLimits[(hash >> 48) % 4];
  const gh::fuzz::ChunkedResult whole = gh::fuzz::decodeChunkedEveryWay(data, size, hash, maxLine);
  if (whole.done) {
    std::string body;
    size_t consumed = 0;
    FUZZ_CHECK(referenceDecode(std::string_view(reinterpret_cast<const char*>(data), size), &body,
                               &consumed));
    FUZZ_CHECK(body == whole.body);
    FUZZ_CHECK(consumed == whole.consumed);
  }
  return 0;
}
