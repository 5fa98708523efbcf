#pragma once
// The strict HTTP/1.1 codec: request-head parser, response-head parser, chunked decoder.
//
// The gateway sits in front of services that trust it, so this parser is stricter than any
// backend (see ../shared/spec/http.md): where RFC 9112 allows a choice, it rejects. Every
// rejection carries a ParseError whose name is the counter label and the value of the
// x-gatehouse-reason header of the local reply.
//
// Zero copy: a parsed head's method, target, header names and values are std::string_views
// into the caller's buffer. The caller keeps those bytes in place (see IoBuffer pinning) for
// as long as it uses the head.
//
// Incremental: the caller feeds the whole buffered head-so-far on every call (the bytes always
// start at the first byte of the message); the parser remembers how far it has scanned, so
// feeding N bytes in K reads costs O(N), not O(N*K). Limits are enforced as bytes arrive, so
// an over-long line is refused before its end is seen.
//
// Parsers are not thread-safe; each connection owns its own. They allocate nothing per
// message once the header vector of the head they fill has grown to its working size.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace gh::http {

// Why a message was refused. Names (reasonName) are stable snake_case identifiers.
enum class ParseError : uint8_t {
  kNone = 0,
  kRequestLineTooLong,        // 414: request line over Limits::maxRequestLine
  kHeadersTooLarge,           // 431: all header lines together over Limits::maxHeaderBytes
  kTooManyHeaders,            // 431: more than Limits::maxHeaderCount fields
  kBadRequestLine,            // 400: not `method SP target SP HTTP/x.y`, or extra spaces
  kBadMethod,                 // 400: method empty or with non-tchar (control chars, spaces)
  kBadTarget,                 // 400: target empty, or with control characters / spaces / bytes
                              //      >= 0x7f, or not origin/absolute/asterisk/authority form
  kBadVersion,                // 400 (505 is not used): version other than HTTP/1.0 or HTTP/1.1
  kBareLf,                    // 400: LF not preceded by CR as a line end
  kBareCr,                    // 400: CR not followed by LF
  kNulInHead,                 // 400: NUL byte anywhere in the head
  kObsFold,                   // 400: header line starting with SP or HTAB
  kBadHeaderName,             // 400: empty name, non-tchar in name, whitespace before colon
  kBadHeaderValue,            // 400: control character (other than HTAB) or DEL in a value
  kMissingColon,              // 400: header line without a colon
  kContentLengthAndTransferEncoding,  // 400: both present
  kBadContentLength,          // 400: empty, signed, non-decimal, overflowing, list with
                              //      different values
  kBadTransferEncoding,       // 400: final coding not exactly "chunked", chunked twice, or
                              //      any transfer coding in an HTTP/1.0 request
  kMultipleHost,              // 400: more than one Host field
  kMissingHost,               // 400: HTTP/1.1 request without Host
  kHostMismatch,              // 400: absolute-form target whose authority differs from Host
  kBadHost,                   // 400: Host value not a valid uri-host[:port]
  kBadChunkSize,              // 400: chunk-size not hex, empty, or overflowing
  kBadChunkExtension,         // 400: chunk extension not `;token[=token|quoted-string]`
  kBadChunkFraming,           // 400: missing CRLF after chunk data, bad trailer section
  kResponseHeadTooLarge,      // 502 (upstream): response head over Limits::maxResponseHead
  kBadStatusLine,             // 502 (upstream): not `HTTP/1.x SP 3DIGIT SP reason`
  kCount
};

// Stable snake_case name of a ParseError ("bad_content_length", ...).
const char* reasonName(ParseError e);
// The status a request-side error is answered with (400, 414 or 431); 502 for response-side.
int statusFor(ParseError e);

// Size limits; defaults are those of spec/http.md. A listener may override each.
struct Limits {
  size_t maxRequestLine = 8 * 1024;
  size_t maxHeaderBytes = 60 * 1024;  // sum of all header lines incl. CRLFs, excl. request line
  size_t maxHeaderCount = 100;
  size_t maxResponseHead = 60 * 1024;  // whole response head incl. status line
};

struct Header {
  std::string_view name;   // as received (case preserved); compare with str::iequals
  std::string_view value;  // leading/trailing OWS removed
};

enum class BodyKind : uint8_t {
  kNone,            // no body (no CL/TE on a request; HEAD/1xx/204/304 responses)
  kContentLength,   // exactly contentLength bytes follow (0 allowed)
  kChunked,         // chunked transfer coding; decode with ChunkedDecoder
  kUntilClose,      // response only: body ends when the upstream closes
};

struct RequestHead {
  std::string_view method;
  std::string_view target;       // as received
  int versionMinor = 1;          // 0 or 1
  std::vector<Header> headers;   // every field, in order, duplicates kept

  // Derived while parsing (so the proxy never scans headers twice for these):
  BodyKind body = BodyKind::kNone;
  uint64_t contentLength = 0;
  std::string_view host;           // Host value (from the header; for absolute-form the
                                   // authority of the target, which must agree with Host)
  bool keepAlive = true;           // HTTP/1.1 without "close", or 1.0 with "keep-alive"
  bool expectContinue = false;     // Expect: 100-continue (case-insensitive)
  bool expectOther = false;        // any other Expect value (answer 417)
  bool upgradeWebsocket = false;   // Connection: upgrade + Upgrade: websocket
  size_t headLength = 0;           // bytes of the head including the final CRLF CRLF

  void clear();                    // keeps the capacity of `headers`
};

struct ResponseHead {
  int versionMinor = 1;
  int status = 0;
  std::string_view reason;
  std::vector<Header> headers;

  BodyKind body = BodyKind::kNone;
  uint64_t contentLength = 0;
  bool keepAlive = true;      // false when the upstream said close, is HTTP/1.0 without
                              // keep-alive, or framing requires closing (kUntilClose, CL+TE)
  size_t headLength = 0;

  void clear();
};

enum class ParseStatus : uint8_t { kIncomplete, kDone, kError };

namespace detail {

// Internal to the parsers (declared here only because they are members): where the field-line
// scanner stands in the header section, so an incremental call resumes mid-line.
struct FieldCursor {
  size_t lineStart = 0;  // first byte of the field line being scanned
  size_t pos = 0;        // next byte to examine
  size_t colon = 0;      // the colon, once the name is complete
  size_t limit = 0;      // first offset the head may not reach
  uint8_t phase = 0;     // line start, name, value
};

// Framing facts gathered as each field completes, so no header is looked at twice.
struct FramingFacts {
  uint64_t contentLength = 0;
  uint32_t hostCount = 0;
  uint32_t upgradeProtocols = 0;  // elements of all Upgrade fields
  bool contentLengthSeen = false;
  bool transferEncodingSeen = false;
  bool chunked = false;              // "chunked" seen (and it is the only coding)
  bool connectionClose = false;
  bool connectionKeepAlive = false;
  bool connectionUpgrade = false;
  bool upgradeWebsocket = false;     // an Upgrade element is "websocket"
  bool expectContinue = false;
  bool expectOther = false;
};

}  // namespace detail

class RequestParser {
 public:
  explicit RequestParser(const Limits& limits = Limits()) : limits_(limits) {}

  // Parses the head at data[0..len). kIncomplete: feed again with more bytes (same start).
  // kDone: `head` is filled and head.headLength bytes were the head; body bytes (if any)
  // follow. kError: error() says why; the connection must be answered and closed.
  // After kDone or kError call reset() before the next message.
  // Pass the same `head` on every call for one message: it is filled line by line as lines
  // complete, and if `data` moved between calls (buffer compaction or growth) its views are
  // re-pointed to the new location, so only the bytes themselves must stay unchanged.
  ParseStatus parse(const char* data, size_t len, RequestHead& head);
  ParseError error() const { return error_; }
  void reset();
  void setLimits(const Limits& limits) { limits_ = limits; }

 private:
  enum class Phase : uint8_t { kStart, kMethod, kTarget, kVersion, kFields, kDone, kError };

  ParseStatus fail(ParseError e);
  ParseStatus parseRequestLine(const char* data, size_t len, RequestHead& head);
  ParseError checkTarget(RequestHead& head);
  ParseStatus finishHead(RequestHead& head);

  Limits limits_;
  ParseError error_ = ParseError::kNone;
  Phase phase_ = Phase::kStart;
  const char* base_ = nullptr;  // `data` of the previous call: views are re-pointed if it moved
  size_t scanned_ = 0;          // request line: next byte to examine
  size_t lineStart_ = 0;        // first byte of the request line (after skipped empty lines)
  size_t methodEnd_ = 0;        // the SP after the method
  size_t targetEnd_ = 0;        // the SP after the target
  size_t skippedCrlf_ = 0;      // leading empty lines ignored before the request line
  size_t authorityOffset_ = 0;  // absolute-form: the authority inside the target
  size_t authorityLength_ = 0;
  bool absoluteForm_ = false;
  detail::FieldCursor fields_;
  detail::FramingFacts facts_;
};

class ResponseParser {
 public:
  explicit ResponseParser(const Limits& limits = Limits()) : limits_(limits) {}

  // As RequestParser::parse. `requestMethodHead`: the request was HEAD (no body follows).
  // 1xx responses are returned like any other (status < 200); the caller skips them.
  ParseStatus parse(const char* data, size_t len, bool requestMethodHead, ResponseHead& head);
  ParseError error() const { return error_; }
  void reset();

 private:
  enum class Phase : uint8_t { kStart, kStatusLine, kFields, kDone, kError };

  ParseStatus fail(ParseError e);
  ParseStatus parseStatusLine(const char* data, size_t len, ResponseHead& head);
  ParseStatus finishHead(bool requestMethodHead, ResponseHead& head);

  Limits limits_;
  ParseError error_ = ParseError::kNone;
  Phase phase_ = Phase::kStart;
  const char* base_ = nullptr;  // `data` of the previous call: views are re-pointed if it moved
  size_t scanned_ = 0;          // status line: next byte to examine
  detail::FieldCursor fields_;
  detail::FramingFacts facts_;
};

// Decodes a chunked body incrementally and strictly. Feed it whatever bytes are available;
// each call consumes a prefix and reports at most one run of body data (a view into the
// input), so the caller can forward it before feeding the rest. Trailer fields are validated
// like header fields and discarded. A step that carries data ends right after it, so data
// never comes in the same step as `done` or an error.
class ChunkedDecoder {
 public:
  struct Step {
    size_t consumed = 0;      // bytes of the input used by this call (framing + data)
    std::string_view data;    // body bytes found (may be empty), inside the consumed prefix
    bool done = false;        // the last chunk and trailer section ended
    ParseError error = ParseError::kNone;
  };

  explicit ChunkedDecoder(size_t maxLineBytes = 4096) : maxLine_(maxLineBytes) {}
  Step feed(const char* data, size_t len);
  void reset();
  bool done() const { return state_ == State::kDone; }

 private:
  // One state per position in the grammar, so a feed may stop after any byte and the next
  // one resumes without buffering: nothing is copied, whatever the split. The order matters:
  // size-line states come first, then data, then trailer states (feed() tests ranges).
  enum class State : uint8_t {
    kSize,            // chunk-size digits
    kExtSemicolon,    // BWS after the size or an extension, before ';'
    kExtNameStart,    // after ';', BWS before the extension name
    kExtName,         // extension name (token)
    kExtAfterName,    // BWS after the name: '=' or ';' follows
    kExtValueStart,   // after '=', BWS before the value
    kExtToken,        // extension value as a token
    kExtQuoted,       // inside a quoted-string value
    kExtQuotedPair,   // after a backslash in a quoted-string
    kExtAfterQuoted,  // after the closing '"'
    kSizeLf,          // CR of the size line seen
    kData,            // chunk-data: remaining_ bytes to go
    kDataCr,          // CRLF after chunk-data
    kDataLf,
    kTrailerStart,    // start of a trailer line (or of the final CRLF)
    kTrailerName,
    kTrailerValue,
    kTrailerLf,
    kEndLf,           // CR of the final empty line seen
    kDone,
    kError,
  };

  Step fail(Step step, ParseError e);

  State state_ = State::kSize;
  ParseError error_ = ParseError::kNone;
  uint64_t remaining_ = 0;   // data bytes left in the current chunk
  size_t sizeDigits_ = 0;    // hex digits of the current chunk-size
  size_t lineBytes_ = 0;     // bytes of the current size/trailer line so far (CRLF excluded)
  size_t trailerBytes_ = 0;  // total trailer section size (bounded by maxLine_ * 16)
  size_t maxLine_;
};

// Target helpers -----------------------------------------------------------------------

// Splits an origin-form or absolute-form target into path and query (without '?'); for
// absolute-form also returns the authority. Returns false when the target is not usable.
struct TargetParts {
  std::string_view authority;  // absolute-form only
  std::string_view path;       // starts with '/', or "*" for asterisk-form
  std::string_view query;      // without '?'; empty when absent
  bool absoluteForm = false;
};
bool splitTarget(std::string_view target, TargetParts* out);

// Normalises a path before routing and policy (spec/http.md): decodes percent-encoded
// unreserved characters (ALPHA DIGIT - . _ ~), upper-cases the hex of the other
// percent-encodings, removes "." and ".." segments (RFC 3986 5.2.4), optionally merges runs of
// '/'. Returns false (answer 400) when ".." would climb above the root, or on a malformed
// percent-encoding. `out` is replaced; it is the caller's reusable string.
bool normalizePath(std::string_view path, bool mergeSlashes, std::string* out);

}  // namespace gh::http
