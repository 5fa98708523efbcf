// Fuzzes RequestParser, then the ChunkedDecoder on what follows a chunked head.
//
// Checked for the default limits and for small ones (so limit paths are reached by small
// inputs):
//   1. Differential: one-shot, three data-derived pieces (each call on a fresh exact-size copy,
//      so the buffer moves between calls and any read past `len` is caught), and, for small
//      inputs, byte by byte, all give the same status, error, headLength and head.
//   2. An accepted head obeys the grammar it was checked against: tokens are tokens, values
//      are trimmed and free of control bytes, views lie in the buffer, limits hold, framing
//      fields agree with the body kind.
//   3. Round trip: re-serialising an accepted head and parsing it again gives the same head,
//      so whatever we accept can be forwarded without changing meaning.
//   4. After a chunked head, the body decodes the same one-shot, in pieces and byte by byte.

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
  std::string head;  // rendering of an accepted head
};

std::string render(const RequestHead& h) {
  std::string s;
  s.append(h.method).append(" ").append(h.target).append(h.versionMinor ? " 1\n" : " 0\n");
  for (const Header& f : h.headers) s.append(f.name).append(":").append(f.value).append("\n");
  s.append("host=").append(h.host);
  s.append(" body=").append(std::to_string(static_cast<int>(h.body)));
  s.append(" cl=").append(std::to_string(h.contentLength));
  s.append(" ka=").append(std::to_string(h.keepAlive));
  s.append(" ec=").append(std::to_string(h.expectContinue));
  s.append(" eo=").append(std::to_string(h.expectOther));
  s.append(" ws=").append(std::to_string(h.upgradeWebsocket));
  return s;
}

bool allOf(std::string_view s, bool (*pred)(unsigned char)) {
  for (char c : s)
    if (!pred(static_cast<unsigned char>(c))) return false;
  return true;
}
bool isTchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}
bool isTargetByte(unsigned char c) {
  return c > 0x20 && c < 0x7f;
}
bool isValueByte(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

void checkHead(const RequestHead& h, const char* base, size_t len, const Limits& limits) {
  FUZZ_CHECK(h.headLength >= 16 && h.headLength <= len);  // "M / HTTP/1.0\r\n\r\n"
  FUZZ_CHECK(std::string_view(base + h.headLength - 4, 4) == "\r\n\r\n");
  FUZZ_CHECK(h.versionMinor == 0 || h.versionMinor == 1);
  FUZZ_CHECK(!h.method.empty() && allOf(h.method, isTchar));
  FUZZ_CHECK(!h.target.empty() && allOf(h.target, isTargetByte));
  FUZZ_CHECK(inside(h.method, base, len) && inside(h.target, base, len));
  FUZZ_CHECK(inside(h.host, base, len));
  // The request line, from the method to the end of the version, is within its limit.
  const size_t lineLength =
      static_cast<size_t>(h.target.data() + h.target.size() - h.method.data()) + 9;
  FUZZ_CHECK(lineLength <= limits.maxRequestLine);
  const size_t headerSection =
      h.headLength - static_cast<size_t>(h.method.data() - base) - lineLength - 2;
  FUZZ_CHECK(headerSection <= limits.maxHeaderBytes);
  FUZZ_CHECK(h.headers.size() <= limits.maxHeaderCount);

  size_t contentLengths = 0;
  size_t transferEncodings = 0;
  size_t hosts = 0;
  for (const Header& f : h.headers) {
    FUZZ_CHECK(!f.name.empty() && allOf(f.name, isTchar));
    FUZZ_CHECK(allOf(f.value, isValueByte));
    if (!f.value.empty()) {
      FUZZ_CHECK(f.value.front() != ' ' && f.value.front() != '\t');
      FUZZ_CHECK(f.value.back() != ' ' && f.value.back() != '\t');
    }
    FUZZ_CHECK(inside(f.name, base, len) && inside(f.value, base, len));
    if (gh::str::iequals(f.name, "content-length")) ++contentLengths;
    if (gh::str::iequals(f.name, "transfer-encoding")) ++transferEncodings;
    if (gh::str::iequals(f.name, "host")) ++hosts;
  }
  FUZZ_CHECK(hosts <= 1);
  FUZZ_CHECK(!(contentLengths > 0 && transferEncodings > 0));
  if (h.versionMinor == 1) FUZZ_CHECK(!h.host.empty());
  switch (h.body) {
    case BodyKind::kChunked:
      FUZZ_CHECK(transferEncodings > 0 && h.versionMinor == 1);
      break;
    case BodyKind::kContentLength:
      FUZZ_CHECK(contentLengths > 0);
      break;
    case BodyKind::kNone:
      FUZZ_CHECK(contentLengths == 0 && transferEncodings == 0 && h.contentLength == 0);
      break;
    case BodyKind::kUntilClose:
      FUZZ_CHECK(false);  // never for a request
  }
  // The target is usable by the proxy.
  TargetParts parts;
  if (h.method != "CONNECT") {
    FUZZ_CHECK(splitTarget(h.target, &parts));
    std::string normalized;
    if (parts.path != "*" && normalizePath(parts.path, true, &normalized)) {
      FUZZ_CHECK(!normalized.empty() && normalized[0] == '/');
    }
  }
}

Outcome oneShot(const char* data, size_t len, const Limits& limits, RequestHead& head) {
  RequestParser parser(limits);
  Outcome o;
  o.status = parser.parse(data, len, head);
  o.error = parser.error();
  FUZZ_CHECK((o.status == ParseStatus::kError) == (o.error != ParseError::kNone));
  FUZZ_CHECK(reasonName(o.error) != nullptr && statusFor(o.error) >= 400);
  // Asking again without reset() repeats the verdict.
  FUZZ_CHECK(parser.parse(data, len, head) == o.status);
  if (o.status == ParseStatus::kDone) {
    o.headLength = head.headLength;
    o.head = render(head);
    checkHead(head, data, len, limits);
  }
  return o;
}

// Feeds the prefixes ending at each cut, then the whole input, each from a fresh copy.
Outcome inPieces(const uint8_t* data, size_t size, const std::vector<size_t>& cuts,
                 const Limits& limits) {
  RequestParser parser(limits);
  RequestHead head;
  Outcome o;
  std::unique_ptr<char[]> current;
  size_t currentLength = 0;
  auto feed = [&](size_t end) {
    auto copy = exactCopy(data, end);
    o.status = parser.parse(copy.get(), end, head);
    current = std::move(copy);  // the previous buffer is freed: the head must not need it
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
    checkHead(head, current.get(), currentLength, limits);
  }
  return o;
}

void checkSame(const Outcome& a, const Outcome& b) {
  FUZZ_CHECK(a.status == b.status);
  FUZZ_CHECK(a.error == b.error);
  FUZZ_CHECK(a.headLength == b.headLength);
  FUZZ_CHECK(a.head == b.head);
}

std::string serialize(const RequestHead& h) {
  std::string s;
  s.append(h.method).append(" ").append(h.target).append(h.versionMinor ? " HTTP/1.1\r\n"
                                                                        : " HTTP/1.0\r\n");
  for (const Header& f : h.headers) s.append(f.name).append(": ").append(f.value).append("\r\n");
  s.append("\r\n");
  return s;
}

void checkRoundTrip(const RequestHead& head, const Outcome& original) {
  Limits roomy;  // spacing may change the sizes, not the count
  roomy.maxRequestLine = roomy.maxHeaderBytes = SIZE_MAX / 4;
  roomy.maxHeaderCount = head.headers.size();
  const std::string wire = serialize(head);
  RequestHead again;
  RequestParser parser(roomy);
  FUZZ_CHECK(parser.parse(wire.data(), wire.size(), again) == ParseStatus::kDone);
  FUZZ_CHECK(again.headLength == wire.size());
  FUZZ_CHECK(render(again) == original.head);
}

void runWith(const uint8_t* data, size_t size, const Limits& limits, uint64_t hash) {
  const char* text = reinterpret_cast<const char*>(data);
  RequestHead head;
  const Outcome whole = oneShot(text, size, limits, head);

  const size_t a = static_cast<size_t>(hash % (size + 1));
  const size_t b = a + static_cast<size_t>((hash >> 32) % (size - a + 1));
  checkSame(whole, inPieces(data, size, {a, b}, limits));
  if (size <= 256) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < size; ++i) cuts.push_back(i);
    checkSame(whole, inPieces(data, size, cuts, limits));
  }
  if (whole.status != ParseStatus::kDone) return;

  checkRoundTrip(head, whole);
  if (head.body == BodyKind::kNone && head.headLength < size) {
    // Pipelining: after reset() a used parser and head read the next request exactly as
    // fresh ones do.
    RequestParser reused(limits);
    RequestHead reusedHead;
    FUZZ_CHECK(reused.parse(text, size, reusedHead) == ParseStatus::kDone);
    reused.reset();
    const char* next = text + head.headLength;
    const size_t nextSize = size - head.headLength;
    const ParseStatus s = reused.parse(next, nextSize, reusedHead);
    RequestHead freshHead;
    const Outcome fresh = oneShot(next, nextSize, limits, freshHead);
    FUZZ_CHECK(s == fresh.status);
    FUZZ_CHECK(reused.error() == fresh.error);
    if (s == ParseStatus::kDone) FUZZ_CHECK(render(reusedHead) == fresh.head);
  }
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
  small.maxRequestLine = 48;
  small.maxHeaderBytes = 96;
  small.maxHeaderCount = 4;
  runWith(data, size, small, hash >> 5);
  return 0;
}
