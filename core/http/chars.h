#pragma once
// Character classes of HTTP/1.1 (RFC 9110, RFC 9112, RFC 3986) as one 256-entry table, plus the
// bulk scanners the codec runs over long runs of ordinary bytes.
//
// Internal to core/http. Every class is a bit in kClass, so testing a byte is one load and one
// AND whatever the class; the table is constexpr, so it costs no start-up work and sits in
// read-only data shared by all workers.
//
// The bulk scanners (skipFieldValue, skipTarget) return the offset of the first byte that is
// *not* ordinary for the context, so the caller's slow path only ever looks at the byte that
// ends a token. On x86-64 they test 16 bytes per step with SSE2 (part of the base ISA, so no
// run-time dispatch); elsewhere they fall back to the table.

#include <array>
#include <cstddef>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace gh::http::chars {

enum : uint8_t {
  kTchar = 1 << 0,       // token characters (RFC 9110 5.6.2): methods, field names, codings
  kTargetChar = 1 << 1,  // bytes allowed in a request-target (see kTargetChar below)
  kFieldChar = 1 << 2,   // field-value / reason-phrase bytes: VCHAR, obs-text, SP, HTAB
  kHexDigit = 1 << 3,
  kUnreserved = 1 << 4,  // RFC 3986 unreserved: ALPHA DIGIT - . _ ~
  kQdText = 1 << 5,      // quoted-string text (RFC 9110 5.6.4), without the escape
  kWhitespace = 1 << 6,  // SP and HTAB (OWS / BWS)
};

namespace detail {

constexpr bool isAlpha(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool isDigit(int c) {
  return c >= '0' && c <= '9';
}
constexpr bool isIn(int c, const char* set) {
  for (; *set; ++set)
    if (c == static_cast<unsigned char>(*set)) return true;
  return false;
}

constexpr std::array<uint8_t, 256> buildClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t bits = 0;
    if (isAlpha(c) || isDigit(c) || isIn(c, "!#$%&'*+-.^_`|~")) bits |= kTchar;
    // A request-target is VCHAR only. Beyond that we refuse two bytes RFC 3986 never allows
    // there and that backends read differently: '#' (some strip a "fragment", so the path they
    // route on is not the one our policy saw) and '\' (some treat it as '/', which lets
    // "/public\..\admin" escape a path rule). The other unwise characters ({ } | ^ ` " < >)
    // are harmless to path semantics and real clients send them unencoded in queries.
    if (c > 0x20 && c < 0x7f && c != '#' && c != '\\') bits |= kTargetChar;
    if (c == '\t' || c == ' ' || (c > 0x20 && c != 0x7f)) bits |= kFieldChar;
    if (isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) bits |= kHexDigit;
    if (isAlpha(c) || isDigit(c) || isIn(c, "-._~")) bits |= kUnreserved;
    if (c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
        (c >= 0x5d && c <= 0x7e) || c >= 0x80)
      bits |= kQdText;
    if (c == ' ' || c == '\t') bits |= kWhitespace;
    t[static_cast<size_t>(c)] = bits;
  }
  return t;
}

}  // namespace detail

inline constexpr std::array<uint8_t, 256> kClass = detail::buildClasses();

inline bool is(unsigned char c, uint8_t cls) {
  return (kClass[c] & cls) != 0;
}
inline bool isTchar(unsigned char c) {
  return is(c, kTchar);
}
inline bool isFieldChar(unsigned char c) {
  return is(c, kFieldChar);
}
inline bool isHexDigit(unsigned char c) {
  return is(c, kHexDigit);
}
inline bool isWhitespace(unsigned char c) {
  return is(c, kWhitespace);
}
inline bool isDigit(unsigned char c) {
  return c >= '0' && c <= '9';
}

// Value of a hex digit; the caller has checked isHexDigit.
inline unsigned hexValue(unsigned char c) {
  return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

// First offset in [i, end) whose byte is not kFieldChar, or end.
inline size_t skipFieldValue(const unsigned char* p, size_t i, size_t end) {
#if defined(__SSE2__)
  // A field byte is anything but a control character (other than HTAB) or DEL. Unsigned
  // "x <= 0x1f" is "min(x, 0x1f) == x"; HTAB is then taken back out.
  const __m128i kCtlMax = _mm_set1_epi8(0x1f);
  const __m128i kTab = _mm_set1_epi8('\t');
  const __m128i kDel = _mm_set1_epi8(0x7f);
  while (i + 16 <= end) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, kCtlMax), v);
    __m128i bad =
        _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, kTab), ctl), _mm_cmpeq_epi8(v, kDel));
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(bad));
    if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(mask));
    i += 16;
  }
#endif
  while (i < end && isFieldChar(p[i])) ++i;
  return i;
}

// First offset in [i, end) whose byte is not kTargetChar, or end.
inline size_t skipTarget(const unsigned char* p, size_t i, size_t end) {
#if defined(__SSE2__)
  // Out of range: x <= 0x20 or x >= 0x7f (unsigned), plus the two refused printables.
  const __m128i kLow = _mm_set1_epi8(0x20);
  const __m128i kHigh = _mm_set1_epi8(0x7f);
  const __m128i kHash = _mm_set1_epi8('#');
  const __m128i kBackslash = _mm_set1_epi8('\\');
  while (i + 16 <= end) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(v, kLow), v);
    __m128i high = _mm_cmpeq_epi8(_mm_max_epu8(v, kHigh), v);
    __m128i bad =
        _mm_or_si128(_mm_or_si128(low, high),
                     _mm_or_si128(_mm_cmpeq_epi8(v, kHash), _mm_cmpeq_epi8(v, kBackslash)));
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(bad));
    if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(mask));
    i += 16;
  }
#endif
  while (i < end && is(p[i], kTargetChar)) ++i;
  return i;
}

}  // namespace gh::http::chars
