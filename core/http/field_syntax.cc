#include "core/http/field_syntax.h"

#include <cstdint>

namespace gh::http {

namespace {

constexpr uint64_t kMaxContentLength = INT64_MAX;

inline unsigned char byteAt(std::string_view s, size_t i) {
  return static_cast<unsigned char>(s[i]);
}

}  // namespace

bool parseContentLength(std::string_view value, uint64_t* out) {
  // One pass over "OWS 1*DIGIT OWS" elements separated by commas. Unlike forEachListElement
  // this refuses empty elements: "5," is more likely a truncation or a smuggling probe than a
  // list, and nothing legitimate sends it.
  const size_t n = value.size();
  size_t i = 0;
  bool have = false;
  uint64_t first = 0;
  for (;;) {
    while (i < n && chars::isWhitespace(byteAt(value, i))) ++i;
    const size_t digitsStart = i;
    uint64_t v = 0;
    while (i < n && chars::isDigit(byteAt(value, i))) {
      uint64_t d = byteAt(value, i) - '0';
      if (v > (kMaxContentLength - d) / 10) return false;
      v = v * 10 + d;
      ++i;
    }
    if (i == digitsStart) return false;
    while (i < n && chars::isWhitespace(byteAt(value, i))) ++i;
    if (!have) {
      first = v;
      have = true;
    } else if (v != first) {
      return false;
    }
    if (i == n) break;
    if (value[i] != ',') return false;
    ++i;
  }
  *out = first;
  return true;
}

bool isValidIpv4(std::string_view s) {
  size_t i = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
    const size_t start = i;
    unsigned v = 0;
    while (i < s.size() && i - start < 3 && chars::isDigit(byteAt(s, i))) {
      v = v * 10 + (byteAt(s, i) - '0');
      ++i;
    }
    const size_t len = i - start;
    if (len == 0 || v > 255 || (len > 1 && s[start] == '0')) return false;
  }
  return i == s.size();
}

bool isValidIpv6(std::string_view s) {
  const size_t n = s.size();
  size_t i = 0;
  int groups = 0;
  bool compressed = false;
  if (n >= 2 && s[0] == ':' && s[1] == ':') {
    compressed = true;
    i = 2;
    if (i == n) return true;  // "::"
  }
  for (;;) {
    const size_t start = i;
    while (i < n && chars::isHexDigit(byteAt(s, i))) ++i;
    if (i < n && s[i] == '.') {
      // The dotted tail stands for the last two groups and must end the address.
      if (!isValidIpv4(s.substr(start))) return false;
      groups += 2;
      break;
    }
    const size_t len = i - start;
    if (len == 0 || len > 4) return false;
    ++groups;
    if (i == n) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < n && s[i] == ':') {
      if (compressed) return false;
      compressed = true;
      ++i;
      if (i == n) break;
    } else if (i == n) {
      return false;  // a single trailing ':'
    }
  }
  return compressed ? groups <= 7 : groups == 8;
}

bool isValidHostPort(std::string_view value, bool requirePort) {
  const size_t n = value.size();
  size_t hostEnd = 0;
  if (n > 0 && value[0] == '[') {
    const size_t close = value.find(']');
    if (close == std::string_view::npos || !isValidIpv6(value.substr(1, close - 1))) return false;
    hostEnd = close + 1;
  } else {
    while (hostEnd < n && chars::is(byteAt(value, hostEnd), chars::kUnreserved)) ++hostEnd;
    if (hostEnd == 0) return false;
  }
  if (hostEnd == n) return !requirePort;
  if (value[hostEnd] != ':') return false;
  const std::string_view port = value.substr(hostEnd + 1);
  if (port.empty() || port.size() > 5) return false;
  unsigned v = 0;
  for (char c : port) {
    if (!chars::isDigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return v <= 65535;
}

}  // namespace gh::http
