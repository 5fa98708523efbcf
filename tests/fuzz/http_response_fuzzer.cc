// Fuzzes ResponseParser, then the ChunkedDecoder on what follows a chunked head.
//
// The same properties as the request fuzzer: one-shot, pieces and byte-by-byte agree; an
// accepted head obeys the grammar and the framing rules (HEAD, 1xx, 204 and 304 have no body;
// no framing means read until close and do not reuse); re-serialising it parses to the same
// head; a chunked body decodes the same however it is split. Whether the request was HEAD
// comes from the input's hash.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/base/strings.h"
#include "core/http/parser.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace gh::http;
using gh::fuzz::exactCopy;
using gh::fuzz::inside;

struct Outcome {
  ParseStatus status = ParseStatus::kIncomplete;
  ParseError error = ParseError::kNone;
  size_t headLength = 0;
  std::string head;
};

std::string render(const ResponseHead& h) {
  std::string s = std::to_string(h.versionMinor) + " " + std::to_string(h.status) + " ";
  s.append(h.reason).append("\n");
  for (const Header& f : h.headers) s.append(f.name).append(":").append(f.value).append("\n");
  s.append(" body=").append(std::to_string(static_cast<int>(h.body)));
  s.append(" cl=").append(std::to_string(h.contentLength));
  s.append(" ka=").append(std::to_string(h.keepAlive));
  return s;
}

void checkHead(const ResponseHead& h, const char* base, size_t len, bool headRequest,
               const Limits& limits) {
  FUZZ_CHECK(h.headLength >= 16 && h.headLength <= len);  // "HTTP/1.1 200\r\n\r\n"
  FUZZ_CHECK(h.headLength <= limits.maxResponseHead);
  FUZZ_CHECK(std::string_view(base + h.headLength - 4, 4) == "\r\n\r\n");
  FUZZ_CHECK(h.status >= 100 && h.status <= 599);
  FUZZ_CHECK(h.versionMinor == 0 || h.versionMinor == 1);
  FUZZ_CHECK(inside(h.reason, base, len));
  FUZZ_CHECK(h.headers.size() <= limits.maxHeaderCount);
  bool contentLength = false;
  bool transferEncoding = false;
  for (const Header& f : h.headers) {
    FUZZ_CHECK(!f.name.empty());
    FUZZ_CHECK(inside(f.name, base, len) && inside(f.value, base, len));
    for (char c : f.value) FUZZ_CHECK(c == '\t' || static_cast<unsigned char>(c) >= 0x20);
    if (gh::str::iequals(f.name, "content-length")) contentLength = true;
    if (gh::str::iequals(f.name, "transfer-encoding")) transferEncoding = true;
  }
  const bool noBody = headRequest || h.status < 200 || h.status == 204 || h.status == 304;
  if (noBody) FUZZ_CHECK(h.body == BodyKind::kNone);
  if (h.body == BodyKind::kNone) FUZZ_CHECK(noBody);
  if (h.body == BodyKind::kUntilClose) FUZZ_CHECK(!h.keepAlive && !contentLength);
  if (h.body == BodyKind::kChunked) FUZZ_CHECK(transferEncoding);
  if (h.body == BodyKind::kContentLength) FUZZ_CHECK(contentLength && !transferEncoding);
  if (contentLength && transferEncoding) FUZZ_CHECK(!h.keepAlive);
  if (h.body != BodyKind::kContentLength) FUZZ_CHECK(h.contentLength == 0);
}

Outcome oneShot(const char* data, size_t len, bool headRequest, const Limits& limits,
                ResponseHead& head) {
  ResponseParser parser(limits);
  Outcome o;
  o.status = parser.parse(data, len, headRequest, head);
  o.error = parser.error();
  FUZZ_CHECK((o.status == ParseStatus::kError) == (o.error != ParseError::kNone));
  if (o.status == ParseStatus::kDone) {
    o.headLength = head.headLength;
    o.head = render(head);
    checkHead(head, data, len, headRequest, limits);
  }
  return o;
}

Outcome inPieces(const uint8_t* data, size_t size, const std::vector<size_t>& cuts,
                 bool headRequest, const Limits& limits) {
  ResponseParser parser(limits);
  ResponseHead head;
  Outcome o;
  std::unique_ptr<char[]> current;
  size_t currentLength = 0;
  auto feed = [&](size_t end) {
    auto copy = exactCopy(data, end);
    o.status = parser.parse(copy.get(), end, headRequest, head);
    current = std::move(copy);
    currentLength = end;
    return o.status != ParseStatus::kIncomplete;
  };
  bool finished = false;
  for (size_t cut : cuts) {
    if ((finished = feed(cut))) break;
  }
  if (!finished) feed(size);
  o.error = parser.error();
  if (o.status == ParseStatus::kDone) {
    o.headLength = head.headLength;
    o.head = render(head);
    checkHead(head, current.get(), currentLength, headRequest, limits);
  }
  return o;
}

void checkSame(const Outcome& a, const Outcome& b) {
  FUZZ_CHECK(a.status == b.status);
  FUZZ_CHECK(a.error == b.error);
  FUZZ_CHECK(a.headLength == b.headLength);
  FUZZ_CHECK(a.head == b.head);
}

void checkRoundTrip(const ResponseHead& head, bool headRequest, const Outcome& original) {
  std::string wire = head.versionMinor ? "HTTP/1.1 " : "HTTP/1.0 ";
  wire.append(std::to_string(head.status)).append(" ").append(head.reason).append("\r\n");
  for (const Header& f : head.headers)
    wire.append(f.name).append(": ").append(f.value).append("\r\n");
  wire.append("\r\n");
  Limits roomy;
  roomy.maxResponseHead = SIZE_MAX / 4;
  roomy.maxHeaderCount = head.headers.size();
  ResponseParser parser(roomy);
  ResponseHead again;
  FUZZ_CHECK(parser.parse(wire.data(), wire.size(), headRequest, again) == ParseStatus::kDone);
  FUZZ_CHECK(again.headLength == wire.size());
  FUZZ_CHECK(render(again) == original.head);
}

void runWith(const uint8_t* data, size_t size, const Limits& limits, uint64_t hash) {
  const bool headRequest = (hash >> 40) % 8 == 0;
  ResponseHead head;
  const Outcome whole =
      oneShot(reinterpret_cast<const char*>(data), size, headRequest, limits, head);
  const size_t a = static_cast<size_t>(hash % (size + 1));
  const size_t b = a + static_cast<size_t>((hash >> 32) % (size - a + 1));
  checkSame(whole, inPieces(data, size, {a, b}, headRequest, limits));
  if (size <= 256) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < size; ++i) cuts.push_back(i);
    checkSame(whole, inPieces(data, size, cuts, headRequest, limits));
  }
  if (whole.status != ParseStatus::kDone) return;
  checkRoundTrip(head, headRequest, whole);
  if (head.body == BodyKind::kChunked) {
    const size_t maxLine = (hash >> 16) & 1 ? 4096 : 32;
    gh::fuzz::decodeChunkedEveryWay(data + head.headLength, size - head.headLength, hash >> 8,
                                    maxLine);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint64_t hash = gh::fuzz::hashBytes(data, size);
  runWith(data, size, Limits(), hash);
  Limits small;
  small.maxResponseHead = 96;
  small.maxHeaderCount = 4;
  runWith(data, size, small, hash >> 3);
  return 0;
}
