// ChunkedDecoder: the chunked transfer coding (RFC 9112 7.1), decoded strictly and in place.
//
// The decoder is a byte-level state machine over the framing (size lines, extensions, the CRLF
// after data, trailers) and a bulk copy-free pass over chunk data. Because every position in
// the grammar is a state, input may be split anywhere, even inside "\r\n", and nothing is ever
// buffered: the framing is validated as it streams past and the data is handed back as a view
// into the caller's bytes. Framing is a few bytes per chunk, so a switch per framing byte
// costs nothing next to the data.
//
// Strictness (where RFC 9112 lets a recipient choose, or a backend might read it otherwise):
//   - chunk-size is 1 to 16 hex digits: enough for any uint64 size and never an overflow;
//     leading zeros count, so a 17-digit "00..05" is refused rather than trimmed.
//   - whitespace is accepted only where the grammar's BWS puts it (around ';' and '=' of an
//     extension); "5 \r\n" is refused, as some servers read trailing junk as a size.
//   - extensions are parsed to the grammar and ignored; quoted-string escapes are checked.
//   - bare LF or anything other than CRLF where a line ends is kBadChunkFraming.
//   - trailer fields are validated like header fields (no obs-fold, tchar names, field-value
//     bytes) and discarded; every trailer problem is kBadChunkFraming.
//   - a size or trailer line over maxLine_ bytes (CRLF excluded), or a trailer section over
//     16 * maxLine_ bytes, is refused, so a peer cannot keep us parsing framing forever.

#include <algorithm>

#include "core/http/chars.h"
#include "core/http/parser.h"

namespace gh::http {

namespace {

constexpr size_t kMaxSizeDigits = 16;
constexpr size_t kMaxTrailerLines = 16;

// What an unexpected byte inside a chunk extension means: a line end in the wrong place is a
// framing error, anything else a malformed extension.
inline ParseError extensionError(unsigned char b) {
  return b == '\n' ? ParseError::kBadChunkFraming : ParseError::kBadChunkExtension;
}

}  // namespace

void ChunkedDecoder::reset() {
  state_ = State::kSize;
  error_ = ParseError::kNone;
  remaining_ = 0;
  sizeDigits_ = 0;
  lineBytes_ = 0;
  trailerBytes_ = 0;
}

ChunkedDecoder::Step ChunkedDecoder::fail(Step step, ParseError e) {
  state_ = State::kError;
  error_ = e;
  step.error = e;
  return step;
}

ChunkedDecoder::Step ChunkedDecoder::feed(const char* data, size_t len) {
  Step step;
  if (state_ == State::kDone) {
    step.done = true;
    return step;
  }
  if (state_ == State::kError) {
    step.error = error_;
    return step;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  const size_t maxTrailer =
      maxLine_ > SIZE_MAX / kMaxTrailerLines ? SIZE_MAX : maxLine_ * kMaxTrailerLines;
  size_t i = 0;
  while (i < len) {
    if (state_ == State::kData) {
      // One run of data per call, so the caller can forward it before anything after it is
      // looked at.
      const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, len - i));
      step.data = std::string_view(data + i, n);
      i += n;
      remaining_ -= n;
      if (remaining_ == 0) state_ = State::kDataCr;
      step.consumed = i;
      return step;
    }

    const unsigned char b = p[i];
    ++i;
    if (state_ <= State::kExtAfterQuoted && b != '\r' && ++lineBytes_ > maxLine_) {
      return fail(step, state_ == State::kSize ? ParseError::kBadChunkSize
                                               : ParseError::kBadChunkExtension);
    }
    if (state_ >= State::kTrailerStart && state_ <= State::kEndLf) {
      if (++trailerBytes_ > maxTrailer) return fail(step, ParseError::kBadChunkFraming);
      if (state_ <= State::kTrailerValue && b != '\r' && ++lineBytes_ > maxLine_) {
        return fail(step, ParseError::kBadChunkFraming);
      }
    }

    switch (state_) {
      case State::kSize:
        if (chars::isHexDigit(b)) {
          if (++sizeDigits_ > kMaxSizeDigits) return fail(step, ParseError::kBadChunkSize);
          remaining_ = remaining_ << 4 | chars::hexValue(b);
        } else if (sizeDigits_ == 0) {
          return fail(step, ParseError::kBadChunkSize);
        } else if (b == '\r') {
          state_ = State::kSizeLf;
        } else if (b == ';') {
          state_ = State::kExtNameStart;
        } else if (chars::isWhitespace(b)) {
          state_ = State::kExtSemicolon;
        } else {
          return fail(step, b == '\n' ? ParseError::kBadChunkFraming : ParseError::kBadChunkSize);
        }
        break;
      case State::kExtSemicolon:
        if (b == ';') {
          state_ = State::kExtNameStart;
        } else if (!chars::isWhitespace(b)) {
          return fail(step, extensionError(b));
        }
        break;
      case State::kExtNameStart:
        if (chars::isTchar(b)) {
          state_ = State::kExtName;
        } else if (!chars::isWhitespace(b)) {
          return fail(step, extensionError(b));
        }
        break;
      case State::kExtName:
        if (chars::isTchar(b)) break;
        if (b == '=') {
          state_ = State::kExtValueStart;
        } else if (b == ';') {
          state_ = State::kExtNameStart;
        } else if (chars::isWhitespace(b)) {
          state_ = State::kExtAfterName;
        } else if (b == '\r') {
          state_ = State::kSizeLf;
        } else {
          return fail(step, extensionError(b));
        }
        break;
      case State::kExtAfterName:
        if (b == '=') {
          state_ = State::kExtValueStart;
        } else if (b == ';') {
          state_ = State::kExtNameStart;
        } else if (!chars::isWhitespace(b)) {
          return fail(step, extensionError(b));
        }
        break;
      case State::kExtValueStart:
        if (b == '"') {
          state_ = State::kExtQuoted;
        } else if (chars::isTchar(b)) {
          state_ = State::kExtToken;
        } else if (!chars::isWhitespace(b)) {
          return fail(step, extensionError(b));
        }
        break;
      case State::kExtToken:
        if (chars::isTchar(b)) break;
        if (b == ';') {
          state_ = State::kExtNameStart;
        } else if (chars::isWhitespace(b)) {
          state_ = State::kExtSemicolon;
        } else if (b == '\r') {
          state_ = State::kSizeLf;
        } else {
          return fail(step, extensionError(b));
        }
        break;
      case State::kExtQuoted:
        if (b == '"') {
          state_ = State::kExtAfterQuoted;
        } else if (b == '\\') {
          state_ = State::kExtQuotedPair;
        } else if (!chars::is(b, chars::kQdText)) {
          return fail(step, extensionError(b));
        }
        break;
      case State::kExtQuotedPair:
        if (!chars::isFieldChar(b)) return fail(step, extensionError(b));
        state_ = State::kExtQuoted;
        break;
      case State::kExtAfterQuoted:
        if (b == ';') {
          state_ = State::kExtNameStart;
        } else if (chars::isWhitespace(b)) {
          state_ = State::kExtSemicolon;
        } else if (b == '\r') {
          state_ = State::kSizeLf;
        } else {
          return fail(step, extensionError(b));
        }
        break;
      case State::kSizeLf:
        if (b != '\n') return fail(step, ParseError::kBadChunkFraming);
        sizeDigits_ = 0;
        lineBytes_ = 0;
        state_ = remaining_ == 0 ? State::kTrailerStart : State::kData;
        break;
      case State::kDataCr:
        if (b != '\r') return fail(step, ParseError::kBadChunkFraming);
        state_ = State::kDataLf;
        break;
      case State::kDataLf:
        if (b != '\n') return fail(step, ParseError::kBadChunkFraming);
        state_ = State::kSize;
        break;
      case State::kTrailerStart:
        if (b == '\r') {
          state_ = State::kEndLf;
        } else if (chars::isTchar(b)) {
          state_ = State::kTrailerName;
        } else {
          return fail(step, ParseError::kBadChunkFraming);  // obs-fold, bad name, bare LF
        }
        break;
      case State::kTrailerName:
        if (b == ':') {
          state_ = State::kTrailerValue;
        } else if (!chars::isTchar(b)) {
          return fail(step, ParseError::kBadChunkFraming);
        }
        break;
      case State::kTrailerValue:
        if (b == '\r') {
          state_ = State::kTrailerLf;
        } else if (!chars::isFieldChar(b)) {
          return fail(step, ParseError::kBadChunkFraming);
        }
        break;
      case State::kTrailerLf:
        if (b != '\n') return fail(step, ParseError::kBadChunkFraming);
        lineBytes_ = 0;
        state_ = State::kTrailerStart;
        break;
      case State::kEndLf:
        if (b != '\n') return fail(step, ParseError::kBadChunkFraming);
        state_ = State::kDone;
        step.consumed = i;
        step.done = true;
        return step;
      case State::kData:
      case State::kDone:
      case State::kError:
        break;  // handled before the switch
    }
  }
  step.consumed = i;
  return step;
}

}  // namespace gh::http
