// The strict HTTP/1.1 head parsers.
//
// How a head is read
// ------------------
// A head arrives in any number of pieces, and the caller hands us the whole head-so-far every
// time. Each parser therefore keeps a cursor and never looks at a byte twice: a call resumes
// exactly where the previous one stopped, inside whichever token it stopped in. The scan is
// organised by *token*, not by byte: a tight loop skips the ordinary bytes of the current
// token (a 256-entry class table, or 16 bytes at a time with SSE2 for targets and field
// values), and only the byte that ends the token reaches the slow path, which decides what it
// means. So the cost per ordinary byte is one table load and a compare.
//
// Every verdict depends only on bytes at or before the one that triggers it, never on how
// many bytes this call happened to get. That is what makes the result independent of how the
// input was split (the fuzzers check exactly this), and it is why limits are enforced as
// "the byte we would need next lies beyond the limit" rather than "we have seen too much":
// the first is decided by offsets alone, so an over-long line is refused as soon as it
// reaches the limit, whether or not its end has arrived. Bytes after the one that decided are
// never inspected, so the first offending byte in stream order names the error.
//
// Lines end with CRLF only. A CR is judged when the byte after it arrives (LF: a line end;
// anything else: kBareCr); a LF that no CR preceded is kBareLf; NUL is kNulInHead wherever it
// appears. Each complete field line is recorded at once and the few fields the codec needs
// (Host, Content-Length, Transfer-Encoding, Connection, Expect, Upgrade) are interpreted as
// they complete, so the head is never walked a second time; checks that need the whole head
// (a missing Host, CL together with TE) run once, at the empty line.
//
// Views into a moving buffer
// --------------------------
// The caller's buffer may be compacted or grown between calls. The head keeps the views it
// collected so far, so when `data` differs from the previous call the parser re-points every
// view by its offset. That costs a walk over the fields only when the buffer really moved,
// which is rare (a head that arrives in one read never sees it).

#include "core/http/parser.h"

#include <algorithm>
#include <cstdint>

#include "core/base/strings.h"
#include "core/http/chars.h"
#include "core/http/field_syntax.h"

namespace gh::http {

namespace {

// RFC 9112 2.2 asks servers to ignore "at least one" empty line before a request line (old
// clients sent a CRLF after a POST body). Two covers that; more is a client gone wrong.
constexpr size_t kMaxSkippedEmptyLines = 2;
// Typical requests carry 10-20 fields; reserving once avoids five small growths on the first
// request of every connection.
constexpr size_t kInitialHeaderCapacity = 32;

inline const unsigned char* bytesOf(const char* p) {
  return reinterpret_cast<const unsigned char*>(p);
}

inline size_t saturatingAdd(size_t a, size_t b) {
  return b > SIZE_MAX - a ? SIZE_MAX : a + b;
}

// What a byte means when it ends a token where something else was expected, for the bytes that
// mean the same thing anywhere in a head. CR is not among them: whether it ends a line or is
// a bare CR depends on the byte after it.
inline ParseError strayByte(unsigned char c, ParseError otherwise) {
  if (c == 0) return ParseError::kNulInHead;
  if (c == '\n') return ParseError::kBareLf;
  return otherwise;
}

void repoint(std::string_view& v, const char* from, const char* to) {
  if (v.data() == nullptr) return;
  // Offsets through uintptr_t: the old buffer may already be gone, so no pointer arithmetic
  // on it.
  const uintptr_t offset =
      reinterpret_cast<uintptr_t>(v.data()) - reinterpret_cast<uintptr_t>(from);
  v = std::string_view(to + offset, v.size());
}

void repointHeaders(std::vector<Header>& headers, const char* from, const char* to) {
  for (Header& h : headers) {
    repoint(h.name, from, to);
    repoint(h.value, from, to);
  }
}

// ---- Field lines, shared by both parsers ------------------------------------------------

enum FieldPhase : uint8_t { kLineStart = 0, kName, kValue };
enum class FieldEvent : uint8_t { kNeedMore, kField, kEnd, kError };

// Scans the header section from cursor.pos, stopping after one complete field line (kField,
// with `field` filled and the cursor on the next line), at the empty line that ends the head
// (kEnd, cursor.pos just past it), on an error (kError, *err), or when the bytes run out
// (kNeedMore). A byte the head would need at or beyond cursor.limit is `tooLarge`.
FieldEvent nextField(const char* data, size_t len, ParseError tooLarge, detail::FieldCursor& c,
                     Header* field, ParseError* err) {
  const unsigned char* p = bytesOf(data);
  const size_t bound = std::min(len, c.limit);
  size_t i = c.pos;
  auto fail = [&](ParseError e) {
    *err = e;
    return FieldEvent::kError;
  };
  // Out of bytes at i, needing byte `at`: wait, unless that byte could only overflow the head.
  auto needMore = [&](size_t at) {
    c.pos = i;
    return at >= c.limit ? fail(tooLarge) : FieldEvent::kNeedMore;
  };

  switch (c.phase) {
    case kLineStart: {
      if (i >= bound) return needMore(i);
      const unsigned char b = p[i];
      if (b == '\r') {
        if (i + 1 >= bound) return needMore(i + 1);
        if (p[i + 1] != '\n') return fail(ParseError::kBareCr);
        c.pos = i + 2;
        return FieldEvent::kEnd;
      }
      if (!chars::isTchar(b)) {
        return fail(chars::isWhitespace(b) ? ParseError::kObsFold
                                           : strayByte(b, ParseError::kBadHeaderName));
      }
      c.lineStart = i++;
      c.phase = kName;
      [[fallthrough]];
    }
    case kName: {
      while (i < bound && chars::isTchar(p[i])) ++i;
      if (i >= bound) return needMore(i);
      const unsigned char b = p[i];
      if (b == '\r') {
        if (i + 1 >= bound) return needMore(i + 1);
        return fail(p[i + 1] == '\n' ? ParseError::kMissingColon : ParseError::kBareCr);
      }
      // Whitespace before the colon lands here too: RFC 9112 5.1 requires rejecting it.
      if (b != ':') return fail(strayByte(b, ParseError::kBadHeaderName));
      c.colon = i++;
      c.phase = kValue;
      [[fallthrough]];
    }
    case kValue:
    default: {
      i = chars::skipFieldValue(p, i, bound);
      if (i >= bound) return needMore(i);
      const unsigned char b = p[i];
      if (b != '\r') return fail(strayByte(b, ParseError::kBadHeaderValue));
      if (i + 1 >= bound) return needMore(i + 1);
      if (p[i + 1] != '\n') return fail(ParseError::kBareCr);
      size_t valueStart = c.colon + 1;
      size_t valueEnd = i;
      while (valueStart < valueEnd && chars::isWhitespace(p[valueStart])) ++valueStart;
      while (valueEnd > valueStart && chars::isWhitespace(p[valueEnd - 1])) --valueEnd;
      field->name = std::string_view(data + c.lineStart, c.colon - c.lineStart);
      field->value = std::string_view(data + valueStart, valueEnd - valueStart);
      c.lineStart = c.pos = i + 2;
      c.phase = kLineStart;
      return FieldEvent::kField;
    }
  }
}

// Interprets the fields that decide framing and connection handling, as each one completes.
// `host` is non-null for requests (Host matters only there). Returns the first violation.
ParseError noteField(const Header& f, int versionMinor, detail::FramingFacts& facts,
                     std::string_view* host) {
  const bool request = host != nullptr;
  const std::string_view name = f.name;
  const std::string_view value = f.value;
  switch (name.size()) {
    case 4:
      if (request && str::iequals(name, "host")) {
        if (++facts.hostCount > 1) return ParseError::kMultipleHost;
        if (!isValidHostPort(value, false)) return ParseError::kBadHost;
        *host = value;
      }
      break;
    case 6:
      if (request && str::iequals(name, "expect")) {
        forEachListElement(value, [&](std::string_view e) {
          (str::iequals(e, "100-continue") ? facts.expectContinue : facts.expectOther) = true;
          return true;
        });
      }
      break;
    case 7:
      if (str::iequals(name, "upgrade")) {
        forEachListElement(value, [&](std::string_view e) {
          ++facts.upgradeProtocols;
          if (str::iequals(e, "websocket")) facts.upgradeWebsocket = true;
          return true;
        });
      }
      break;
    case 10:
      if (str::iequals(name, "connection")) {
        forEachListElement(value, [&](std::string_view e) {
          if (str::iequals(e, "close"))
            facts.connectionClose = true;
          else if (str::iequals(e, "keep-alive"))
            facts.connectionKeepAlive = true;
          else if (str::iequals(e, "upgrade"))
            facts.connectionUpgrade = true;
          return true;
        });
      }
      break;
    case 14:
      if (str::iequals(name, "content-length")) {
        uint64_t length = 0;
        if (!parseContentLength(value, &length)) return ParseError::kBadContentLength;
        if (facts.contentLengthSeen && length != facts.contentLength) {
          return ParseError::kBadContentLength;
        }
        facts.contentLengthSeen = true;
        facts.contentLength = length;
        if (request && facts.transferEncodingSeen) {
          return ParseError::kContentLengthAndTransferEncoding;
        }
      }
      break;
    case 17:
      if (str::iequals(name, "transfer-encoding")) {
        // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
        if (versionMinor == 0) return ParseError::kBadTransferEncoding;
        if (request && facts.contentLengthSeen) {
          return ParseError::kContentLengthAndTransferEncoding;
        }
        facts.transferEncodingSeen = true;
        // We decode no transfer coding, so the only acceptable list, across all fields, is
        // exactly one "chunked". Anything after chunked also means chunked is not final.
        const bool ok = forEachListElement(value, [&](std::string_view coding) {
          if (facts.chunked || !str::iequals(coding, "chunked")) return false;
          facts.chunked = true;
          return true;
        });
        if (!ok) return ParseError::kBadTransferEncoding;
      }
      break;
    default:
      break;
  }
  return ParseError::kNone;
}

constexpr const char* kReasonNames[] = {
    "none",
    "request_line_too_long",
    "headers_too_large",
    "too_many_headers",
    "bad_request_line",
    "bad_method",
    "bad_target",
    "bad_version",
    "bare_lf",
    "bare_cr",
    "nul_in_head",
    "obs_fold",
    "bad_header_name",
    "bad_header_value",
    "missing_colon",
    "content_length_and_transfer_encoding",
    "bad_content_length",
    "bad_transfer_encoding",
    "multiple_host",
    "missing_host",
    "host_mismatch",
    "bad_host",
    "bad_chunk_size",
    "bad_chunk_extension",
    "bad_chunk_framing",
    "response_head_too_large",
    "bad_status_line",
};
static_assert(sizeof(kReasonNames) / sizeof(kReasonNames[0]) ==
                  static_cast<size_t>(ParseError::kCount),
              "every ParseError needs a reason name");

}  // namespace

const char* reasonName(ParseError e) {
  const auto i = static_cast<size_t>(e);
  return i < static_cast<size_t>(ParseError::kCount) ? kReasonNames[i] : "unknown";
}

int statusFor(ParseError e) {
  switch (e) {
    case ParseError::kRequestLineTooLong:
      return 414;
    case ParseError::kHeadersTooLarge:
    case ParseError::kTooManyHeaders:
      return 431;
    case ParseError::kResponseHeadTooLarge:
    case ParseError::kBadStatusLine:
      return 502;
    default:
      // kNone included: a caller that maps "no error" to a status has a bug, and 400 is the
      // answer that cannot let anything through.
      return 400;
  }
}

void RequestHead::clear() {
  method = {};
  target = {};
  versionMinor = 1;
  headers.clear();
  body = BodyKind::kNone;
  contentLength = 0;
  host = {};
  keepAlive = true;
  expectContinue = false;
  expectOther = false;
  upgradeWebsocket = false;
  headLength = 0;
}

void ResponseHead::clear() {
  versionMinor = 1;
  status = 0;
  reason = {};
  headers.clear();
  body = BodyKind::kNone;
  contentLength = 0;
  keepAlive = true;
  headLength = 0;
}

// ---- RequestParser ----------------------------------------------------------------------

void RequestParser::reset() {
  error_ = ParseError::kNone;
  phase_ = Phase::kStart;
  base_ = nullptr;
  scanned_ = lineStart_ = methodEnd_ = targetEnd_ = skippedCrlf_ = 0;
  authorityOffset_ = authorityLength_ = 0;
  absoluteForm_ = false;
  fields_ = {};
  facts_ = {};
}

ParseStatus RequestParser::fail(ParseError e) {
  error_ = e;
  phase_ = Phase::kError;
  return ParseStatus::kError;
}

ParseStatus RequestParser::parse(const char* data, size_t len, RequestHead& head) {
  if (phase_ == Phase::kError) return ParseStatus::kError;
  if (phase_ == Phase::kStart) {
    head.clear();
    if (head.headers.capacity() == 0) head.headers.reserve(kInitialHeaderCapacity);
    phase_ = Phase::kMethod;
  } else if (data != base_) {
    repoint(head.method, base_, data);
    repoint(head.target, base_, data);
    repoint(head.host, base_, data);
    repointHeaders(head.headers, base_, data);
  }
  base_ = data;
  if (phase_ == Phase::kDone) return ParseStatus::kDone;

  if (phase_ != Phase::kFields) {
    const ParseStatus s = parseRequestLine(data, len, head);
    if (s != ParseStatus::kDone) return s;
  }
  Header field;
  for (;;) {
    ParseError err = ParseError::kNone;
    switch (nextField(data, len, ParseError::kHeadersTooLarge, fields_, &field, &err)) {
      case FieldEvent::kNeedMore:
        return ParseStatus::kIncomplete;
      case FieldEvent::kError:
        return fail(err);
      case FieldEvent::kEnd:
        return finishHead(head);
      case FieldEvent::kField:
        if (head.headers.size() >= limits_.maxHeaderCount) return fail(ParseError::kTooManyHeaders);
        head.headers.push_back(field);
        err = noteField(field, head.versionMinor, facts_, &head.host);
        if (err != ParseError::kNone) return fail(err);
        break;
    }
  }
}

// request-line = method SP request-target SP HTTP-version CRLF, with exactly one SP at each
// place. Returns kDone once the line (and its target) is accepted and the field cursor set.
ParseStatus RequestParser::parseRequestLine(const char* data, size_t len, RequestHead& head) {
  const unsigned char* p = bytesOf(data);
  size_t i = scanned_;
  // The line's content must end before lineLimit; its CR may sit at lineLimit.
  size_t lineLimit = saturatingAdd(lineStart_, limits_.maxRequestLine);
  auto wait = [&] {
    scanned_ = i;
    return ParseStatus::kIncomplete;
  };

  if (phase_ == Phase::kMethod) {
    for (;;) {
      const size_t bound = std::min(len, lineLimit);
      while (i < bound && chars::isTchar(p[i])) ++i;
      if (i >= bound) return i >= lineLimit ? fail(ParseError::kRequestLineTooLong) : wait();
      const unsigned char b = p[i];
      if (b == ' ' && i > lineStart_) break;
      if (b != '\r') return fail(strayByte(b, ParseError::kBadMethod));
      if (i + 1 >= len) return wait();
      if (p[i + 1] != '\n') return fail(ParseError::kBareCr);
      if (i > lineStart_) return fail(ParseError::kBadRequestLine);  // "GET" CRLF
      if (++skippedCrlf_ > kMaxSkippedEmptyLines) return fail(ParseError::kBadRequestLine);
      i += 2;
      lineStart_ = i;
      lineLimit = saturatingAdd(lineStart_, limits_.maxRequestLine);
    }
    methodEnd_ = i++;
    phase_ = Phase::kTarget;
  }

  if (phase_ == Phase::kTarget) {
    const size_t bound = std::min(len, lineLimit);
    i = chars::skipTarget(p, i, bound);
    if (i >= bound) return i >= lineLimit ? fail(ParseError::kRequestLineTooLong) : wait();
    const unsigned char b = p[i];
    if (b == '\r') {
      if (i + 1 >= len) return wait();
      // "GET /" CRLF is HTTP/0.9, which we do not speak.
      return fail(p[i + 1] == '\n' ? ParseError::kBadRequestLine : ParseError::kBareCr);
    }
    if (b != ' ') return fail(strayByte(b, ParseError::kBadTarget));
    if (i == methodEnd_ + 1) return fail(ParseError::kBadRequestLine);  // two spaces
    targetEnd_ = i++;
    phase_ = Phase::kVersion;
  }

  // "HTTP/1.0" or "HTTP/1.1", byte by byte so a wrong byte is refused on arrival. Anything
  // else, "HTTP/2.0", "HTTP/1.10" and "http/1.1" included, is kBadVersion: a version we do
  // not speak is a request we cannot frame.
  static constexpr char kPrefix[] = "HTTP/1.";
  const size_t versionStart = targetEnd_ + 1;
  for (; i - versionStart < 8; ++i) {
    if (i >= lineLimit) return fail(ParseError::kRequestLineTooLong);
    if (i >= len) return wait();
    const unsigned char b = p[i];
    const size_t v = i - versionStart;
    const bool ok = v < 7 ? b == static_cast<unsigned char>(kPrefix[v]) : (b == '0' || b == '1');
    if (!ok)
      return fail(b == ' ' ? ParseError::kBadRequestLine : strayByte(b, ParseError::kBadVersion));
  }
  if (i >= len) return wait();
  if (p[i] != '\r') {
    return fail(p[i] == ' ' ? ParseError::kBadRequestLine
                            : strayByte(p[i], ParseError::kBadVersion));
  }
  if (i + 1 >= len) return wait();
  if (p[i + 1] != '\n') return fail(ParseError::kBareCr);

  head.method = std::string_view(data + lineStart_, methodEnd_ - lineStart_);
  head.target = std::string_view(data + methodEnd_ + 1, targetEnd_ - methodEnd_ - 1);
  head.versionMinor = p[i - 1] - '0';
  const ParseError targetError = checkTarget(head);
  if (targetError != ParseError::kNone) return fail(targetError);

  fields_ = {};
  fields_.lineStart = fields_.pos = i + 2;
  fields_.limit = saturatingAdd(fields_.pos, limits_.maxHeaderBytes);
  scanned_ = i + 2;
  phase_ = Phase::kFields;
  return ParseStatus::kDone;
}

// The four forms of RFC 9112 3.2, each only where it belongs: authority-form for CONNECT
// only (and CONNECT only with it), asterisk-form for OPTIONS only.
ParseError RequestParser::checkTarget(RequestHead& head) {
  const std::string_view t = head.target;
  if (head.method == "CONNECT") {
    return isValidHostPort(t, /*requirePort=*/true) ? ParseError::kNone : ParseError::kBadTarget;
  }
  if (t[0] == '/') return ParseError::kNone;
  if (t == "*") return head.method == "OPTIONS" ? ParseError::kNone : ParseError::kBadTarget;
  // Absolute-form. userinfo ("user@host") fails the host check, as RFC 9110 4.2.4 advises.
  TargetParts parts;
  if (!splitTarget(t, &parts) || !parts.absoluteForm ||
      !isValidHostPort(parts.authority, /*requirePort=*/false)) {
    return ParseError::kBadTarget;
  }
  absoluteForm_ = true;
  authorityOffset_ = static_cast<size_t>(parts.authority.data() - t.data());
  authorityLength_ = parts.authority.size();
  return ParseError::kNone;
}

ParseStatus RequestParser::finishHead(RequestHead& head) {
  const bool http11 = head.versionMinor == 1;
  if (facts_.transferEncodingSeen && !facts_.chunked) {
    return fail(ParseError::kBadTransferEncoding);  // an empty Transfer-Encoding list
  }
  if (http11 && facts_.hostCount == 0) return fail(ParseError::kMissingHost);
  if (absoluteForm_) {
    // RFC 9112 3.2.2 lets a server ignore Host for absolute-form; we demand agreement, since
    // a backend may route on the other one.
    const std::string_view authority = head.target.substr(authorityOffset_, authorityLength_);
    if (facts_.hostCount > 0 && !str::iequals(authority, head.host)) {
      return fail(ParseError::kHostMismatch);
    }
    head.host = authority;
  }
  if (facts_.chunked) {
    head.body = BodyKind::kChunked;
  } else if (facts_.contentLengthSeen) {
    head.body = BodyKind::kContentLength;
    head.contentLength = facts_.contentLength;
  } else {
    head.body = BodyKind::kNone;
  }
  head.keepAlive = !facts_.connectionClose && (http11 || facts_.connectionKeepAlive);
  // RFC 9110 10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored; RFC 9110
  // 7.8: so is Upgrade.
  head.expectContinue = http11 && facts_.expectContinue;
  head.expectOther = facts_.expectOther;
  // A tunnel is only for exactly one offered protocol, websocket: with a list we would have to
  // choose for the backend.
  head.upgradeWebsocket =
      http11 && facts_.connectionUpgrade && facts_.upgradeWebsocket && facts_.upgradeProtocols == 1;
  head.headLength = fields_.pos;
  phase_ = Phase::kDone;
  return ParseStatus::kDone;
}

// ---- ResponseParser ---------------------------------------------------------------------

void ResponseParser::reset() {
  error_ = ParseError::kNone;
  phase_ = Phase::kStart;
  base_ = nullptr;
  scanned_ = 0;
  fields_ = {};
  facts_ = {};
}

ParseStatus ResponseParser::fail(ParseError e) {
  error_ = e;
  phase_ = Phase::kError;
  return ParseStatus::kError;
}

ParseStatus ResponseParser::parse(const char* data, size_t len, bool requestMethodHead,
                                  ResponseHead& head) {
  if (phase_ == Phase::kError) return ParseStatus::kError;
  if (phase_ == Phase::kStart) {
    head.clear();
    if (head.headers.capacity() == 0) head.headers.reserve(kInitialHeaderCapacity);
    phase_ = Phase::kStatusLine;
  } else if (data != base_) {
    repoint(head.reason, base_, data);
    repointHeaders(head.headers, base_, data);
  }
  base_ = data;
  if (phase_ == Phase::kDone) return ParseStatus::kDone;

  if (phase_ == Phase::kStatusLine) {
    const ParseStatus s = parseStatusLine(data, len, head);
    if (s != ParseStatus::kDone) return s;
  }
  Header field;
  for (;;) {
    ParseError err = ParseError::kNone;
    switch (nextField(data, len, ParseError::kResponseHeadTooLarge, fields_, &field, &err)) {
      case FieldEvent::kNeedMore:
        return ParseStatus::kIncomplete;
      case FieldEvent::kError:
        return fail(err);
      case FieldEvent::kEnd:
        return finishHead(requestMethodHead, head);
      case FieldEvent::kField:
        // The size limit alone would allow ~15000 tiny fields; the count limit keeps the header
        // vector (which lives as long as the upstream connection) small. It is a 502 like any
        // oversized response head.
        if (head.headers.size() >= limits_.maxHeaderCount) {
          return fail(ParseError::kResponseHeadTooLarge);
        }
        head.headers.push_back(field);
        err = noteField(field, head.versionMinor, facts_, nullptr);
        if (err != ParseError::kNone) return fail(err);
        break;
    }
  }
}

// status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ] CRLF. The upstream is semi-trusted,
// so one leniency: the SP before an empty reason may be missing ("HTTP/1.1 200" CRLF).
ParseStatus ResponseParser::parseStatusLine(const char* data, size_t len, ResponseHead& head) {
  const unsigned char* p = bytesOf(data);
  const size_t limit = limits_.maxResponseHead;
  size_t i = scanned_;
  auto wait = [&] {
    scanned_ = i;
    return ParseStatus::kIncomplete;
  };
  // The fixed part, "HTTP/1.x SP DDD", is checked byte by byte as it arrives.
  static constexpr char kPrefix[] = "HTTP/1.";
  for (; i < 12; ++i) {
    if (i >= limit) return fail(ParseError::kResponseHeadTooLarge);
    if (i >= len) return wait();
    const unsigned char b = p[i];
    bool ok;
    if (i < 7) {
      ok = b == static_cast<unsigned char>(kPrefix[i]);
    } else if (i == 7) {
      ok = b == '0' || b == '1';
    } else if (i == 8) {
      ok = b == ' ';
    } else {
      ok = chars::isDigit(b);
    }
    if (!ok) return fail(strayByte(b, ParseError::kBadStatusLine));
  }
  const int status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
  if (status < 100 || status > 599) return fail(ParseError::kBadStatusLine);
  if (i == 12) {
    if (i >= limit) return fail(ParseError::kResponseHeadTooLarge);
    if (i >= len) return wait();
    if (p[i] == ' ') {
      ++i;
    } else if (p[i] != '\r') {
      return fail(strayByte(p[i], ParseError::kBadStatusLine));
    }
  }
  const size_t bound = std::min(len, limit);
  i = chars::skipFieldValue(p, i, bound);
  if (i >= bound) return i >= limit ? fail(ParseError::kResponseHeadTooLarge) : wait();
  if (p[i] != '\r') return fail(strayByte(p[i], ParseError::kBadStatusLine));
  if (i + 1 >= limit) return fail(ParseError::kResponseHeadTooLarge);
  if (i + 1 >= len) return wait();
  if (p[i + 1] != '\n') return fail(ParseError::kBareCr);

  head.versionMinor = p[7] - '0';
  head.status = status;
  head.reason = i > 13 ? std::string_view(data + 13, i - 13) : std::string_view();
  fields_ = {};
  fields_.lineStart = fields_.pos = i + 2;
  fields_.limit = limit;
  scanned_ = i + 2;
  phase_ = Phase::kFields;
  return ParseStatus::kDone;
}

ParseStatus ResponseParser::finishHead(bool requestMethodHead, ResponseHead& head) {
  if (facts_.transferEncodingSeen && !facts_.chunked) {
    return fail(ParseError::kBadTransferEncoding);
  }
  bool keepAlive =
      !facts_.connectionClose && (head.versionMinor == 1 || facts_.connectionKeepAlive);
  // RFC 9112 6.3: a response with both may be an attempt at response splitting; whatever we
  // make of it, the connection is not trusted for another exchange.
  if (facts_.chunked && facts_.contentLengthSeen) keepAlive = false;
  const int s = head.status;
  if (requestMethodHead || s < 200 || s == 204 || s == 304) {
    head.body = BodyKind::kNone;
  } else if (facts_.chunked) {
    head.body = BodyKind::kChunked;
  } else if (facts_.contentLengthSeen) {
    head.body = BodyKind::kContentLength;
    head.contentLength = facts_.contentLength;
  } else {
    head.body = BodyKind::kUntilClose;
    keepAlive = false;
  }
  head.keepAlive = keepAlive;
  head.headLength = fields_.pos;
  phase_ = Phase::kDone;
  return ParseStatus::kDone;
}

}  // namespace gh::http
