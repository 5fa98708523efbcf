#pragma once
// Small string helpers for protocol work: ASCII-only, locale-free, allocation-free unless the
// name says otherwise.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gh::str {

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

inline std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

inline std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

inline bool startsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
inline bool endsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// Parses a non-negative decimal integer that fits in uint64_t; no sign, no spaces.
inline bool parseU64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// Splits on a single character; empty fields are kept.
std::vector<std::string_view> split(std::string_view s, char sep);

// Go-style duration ("250ms", "10s", "1m30s", "1h"); false on anything else.
bool parseDuration(std::string_view s, uint64_t* millis);

// Writes the decimal form of v at out (room for 20 digits needed); returns the digit count.
inline size_t formatU64(uint64_t v, char* out) {
  char buf[20];
  size_t n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; ++i) out[i] = buf[n - 1 - i];
  return n;
}

// Appends the decimal form of v.
inline void appendU64(std::string& out, uint64_t v) {
  char buf[20];
  out.append(buf, formatU64(v, buf));
}

}  // namespace gh::str
