#pragma once
// Grammar of the few field values the codec itself must understand (RFC 9110): list syntax,
// Content-Length, and uri-host[:port] for Host and for the authority of a request-target.
//
// Internal to core/http. Pure functions of their input; nothing allocates. Every function is
// as strict as the codec: where the RFC lets a recipient choose, these refuse.

#include <cstdint>
#include <string_view>

#include "core/http/chars.h"

namespace gh::http {

// Calls fn(element) for each element of a comma-separated list (RFC 9110 5.6.1), with the OWS
// around it removed. Empty elements are skipped, as the RFC requires of recipients. Stops early
// (and returns false) when fn returns false.
template <typename Fn>
bool forEachListElement(std::string_view value, Fn&& fn) {
  size_t i = 0;
  const size_t n = value.size();
  while (i <= n) {
    size_t comma = value.find(',', i);
    if (comma == std::string_view::npos) comma = n;
    size_t b = i;
    size_t e = comma;
    while (b < e && chars::isWhitespace(static_cast<unsigned char>(value[b]))) ++b;
    while (e > b && chars::isWhitespace(static_cast<unsigned char>(value[e - 1]))) --e;
    if (e > b && !fn(value.substr(b, e - b))) return false;
    i = comma + 1;
  }
  return true;
}

// Content-Length = 1*DIGIT, also accepted as a list of identical values ("5, 5", RFC 9110
// 8.6). Refuses empty values, empty list elements, signs, and values above INT64_MAX (no body
// is that large, and every consumer can hold the result in a signed 64-bit offset).
bool parseContentLength(std::string_view value, uint64_t* out);

// uri-host [ ":" port ] (RFC 3986 3.2.2). The host is an IP-literal holding an IPv6 address,
// or a reg-name restricted to unreserved characters (which covers DNS names and IPv4): the
// sub-delims and percent-encodings RFC 3986 also allows never name a real host, and in a Host
// value they are only good for confusing whoever parses it next (',' splits lists, ';' and '='
// look like parameters). IPvFuture and IPv6 zone identifiers are refused for the same reason.
// A port is 1 to 5 digits not above 65535; with requirePort it must be present.
bool isValidHostPort(std::string_view value, bool requirePort);

// The strict IPv6address of RFC 3986 (8 groups, or fewer around one "::", optionally ending
// in a dotted IPv4 address).
bool isValidIpv6(std::string_view s);

// dec-octet "." dec-octet "." dec-octet "." dec-octet, without leading zeros.
bool isValidIpv4(std::string_view s);

}  // namespace gh::http
