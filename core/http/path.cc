// Request-target splitting and path normalisation.
//
// Routing and policy decide on the normalised path, so normalisation must leave no two
// spellings of one resource: "/a/%7Euser", "/a/./~user" and "/a/b/../~user" all become
// "/a/~user". It must also never decode what would change the path's *structure*: "%2F" stays
// an encoded byte inside a segment (decoding it would turn one segment into two, and backends
// differ on whether they do), so only unreserved characters are decoded. Dot segments are
// removed after decoding, so "%2e%2e" is a ".." like any other.
//
// normalizePath writes into the caller's string in one pass, treating the output as a stack
// of segments: a finished "." is dropped, a finished ".." pops the segment below it. The
// output is never longer than the input, so the string is sized once and written through a
// raw pointer.

#include <algorithm>
#include <string>
#include <string_view>

#include "core/base/strings.h"
#include "core/http/chars.h"
#include "core/http/parser.h"

namespace gh::http {

namespace {

bool startsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && str::iequals(s.substr(0, prefix.size()), prefix);
}

inline char upperHex(char c) {
  return (c >= 'a' && c <= 'f') ? static_cast<char>(c - 32) : c;
}

}  // namespace

bool splitTarget(std::string_view target, TargetParts* out) {
  *out = TargetParts();
  if (target.empty()) return false;
  if (target == "*") {
    out->path = target;
    return true;
  }
  std::string_view rest = target;
  if (target[0] != '/') {
    size_t schemeLength = 0;
    if (startsWithIgnoreCase(target, "http://")) {
      schemeLength = 7;
    } else if (startsWithIgnoreCase(target, "https://")) {
      schemeLength = 8;
    } else {
      return false;
    }
    const std::string_view afterScheme = target.substr(schemeLength);
    const size_t authorityEnd = std::min(afterScheme.find_first_of("/?#"), afterScheme.size());
    out->authority = afterScheme.substr(0, authorityEnd);
    if (out->authority.empty()) return false;  // RFC 9110 4.2.1: an http URI has a host
    out->absoluteForm = true;
    rest = afterScheme.substr(authorityEnd);
  }
  // A fragment never belongs in a request; a backend that strips it sees another path.
  if (rest.find('#') != std::string_view::npos) return false;
  const size_t question = rest.find('?');
  if (question != std::string_view::npos) {
    out->query = rest.substr(question + 1);
    rest = rest.substr(0, question);
  }
  out->path = rest.empty() ? std::string_view("/") : rest;
  return true;
}

bool normalizePath(std::string_view path, bool mergeSlashes, std::string* out) {
  out->clear();
  if (path.empty() || path[0] != '/') return false;
  out->resize(path.size());
  char* o = out->data();
  size_t n = 1;         // bytes of output so far
  size_t segStart = 1;  // where the segment being built starts in the output
  o[0] = '/';

  // Finishes the segment o[segStart, n), ended by a '/' (more follows) or by the end of the
  // path. Leaves the output ending with '/', or with the kept segment at the end. False when
  // ".." would climb above the root.
  auto endSegment = [&](bool atSlash) {
    const size_t segLen = n - segStart;
    if (segLen == 0) {
      // An empty segment: "//" in the input (or the end after a '/').
      if (atSlash && !mergeSlashes) {
        o[n++] = '/';
        segStart = n;
      }
      return true;
    }
    if (o[segStart] == '.' && (segLen == 1 || (segLen == 2 && o[segStart + 1] == '.'))) {
      if (segLen == 1) {
        n = segStart;
        return true;
      }
      if (segStart == 1) return false;
      n = segStart - 1;  // the '/' that ended the previous segment
      while (o[n - 1] != '/') --n;
      segStart = n;
      return true;
    }
    if (atSlash) {
      o[n++] = '/';
      segStart = n;
    }
    return true;
  };

  auto refuse = [&] {
    out->clear();
    return false;
  };
  const size_t len = path.size();
  size_t i = 1;
  while (i < len) {
    const char c = path[i];
    if (c == '/') {
      if (!endSegment(true)) return refuse();
      ++i;
    } else if (c != '%') {
      o[n++] = c;
      ++i;
    } else {
      if (len - i < 3) return refuse();
      const auto h1 = static_cast<unsigned char>(path[i + 1]);
      const auto h2 = static_cast<unsigned char>(path[i + 2]);
      if (!chars::isHexDigit(h1) || !chars::isHexDigit(h2)) return refuse();
      const auto decoded =
          static_cast<unsigned char>(chars::hexValue(h1) << 4 | chars::hexValue(h2));
      if (chars::is(decoded, chars::kUnreserved)) {
        o[n++] = static_cast<char>(decoded);
      } else {
        o[n++] = '%';
        o[n++] = upperHex(static_cast<char>(h1));
        o[n++] = upperHex(static_cast<char>(h2));
      }
      i += 3;
    }
  }
  if (!endSegment(false)) return refuse();
  out->resize(n);
  return true;
}

}  // namespace gh::http
