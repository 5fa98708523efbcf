// IP addresses and CIDR blocks (ip_block.h).

#include "core/config/ip_block.h"

#include <arpa/inet.h>

#include <cstring>

namespace gh::config {

std::string IpAddress::toString() const {
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf) == nullptr) return "?";
  return buf;
}

bool IpBlock::contains(const IpAddress& a) const {
  if (a.v6 != base.v6) return false;
  unsigned full = prefix / 8, rest = prefix % 8;
  if (memcmp(a.bytes.data(), base.bytes.data(), full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == base.bytes[full];
}

std::string IpBlock::toString() const {
  return base.toString() + "/" + std::to_string(prefix);
}

bool parseIpAddress(std::string_view s, IpAddress* out) {
  if (s.empty() || s.size() >= INET6_ADDRSTRLEN) return false;
  // inet_pton stops at a NUL: "10.0.0.1\0junk" must not read as 10.0.0.1 (found by the
  // fuzzer). Only the characters of address literals pass.
  for (char c : s) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
              c == '.' || c == ':';
    if (!ok) return false;
  }
  char buf[INET6_ADDRSTRLEN];
  memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  IpAddress a;
  if (s.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, a.bytes.data()) != 1) return false;
  } else {
    if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return false;
    a.v6 = true;
  }
  *out = a;
  return true;
}

bool parseIpBlock(std::string_view s, IpBlock* out, std::string* why) {
  auto fail = [&](const char* w) {
    if (why != nullptr) *why = w;
    return false;
  };
  size_t slash = s.find('/');
  IpBlock b;
  if (!parseIpAddress(s.substr(0, slash), &b.base))
    return fail("must be an IPv4 or IPv6 address or CIDR block, such as 10.0.0.0/8 or fd00::/8");
  unsigned max = b.base.v6 ? 128 : 32;
  b.prefix = static_cast<uint8_t>(max);
  if (slash != std::string_view::npos) {
    std::string_view len = s.substr(slash + 1);
    if (len.empty() || len.size() > 3 || (len.size() > 1 && len[0] == '0'))
      return fail("must have a decimal prefix length after '/'");
    unsigned v = 0;
    for (char c : len) {
      if (c < '0' || c > '9') return fail("must have a decimal prefix length after '/'");
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > max)
      return fail(b.base.v6 ? "has a prefix length above 128" : "has a prefix length above 32");
    b.prefix = static_cast<uint8_t>(v);
  }
  IpBlock masked = b;
  unsigned full = b.prefix / 8, rest = b.prefix % 8;
  if (full < 16) {
    if (rest != 0) masked.base.bytes[full] &= static_cast<uint8_t>(0xff << (8 - rest));
    for (unsigned i = full + (rest != 0 ? 1 : 0); i < 16; ++i) masked.base.bytes[i] = 0;
  }
  *out = masked;
  return true;
}

}  // namespace gh::config
