#pragma once
// IP addresses and CIDR blocks as AuthorizationPolicy writes them (ipBlocks, remoteIpBlocks,
// and the `when` keys source.ip and remote.ip): "10.0.0.0/8", "192.168.1.7" (a single
// address: /32), "fd00::/8", "::1" (/128).
//
// Kept in config because both the decoder (which refuses a bad block at its position) and the
// authorization engine (core/policy, which matches requests) need it, and policy already
// depends on config; core/net's Address is a socket address with a loop behind it, more than
// matching needs. Plain values; pure functions; any thread.
//
// Strictness, so that two spellings of one block cannot mean different things: the address is
// what inet_pton accepts (no zone "%eth0", no leading zeros in IPv4 octets), the prefix length
// is decimal without sign or leading zeros, at most 32 (IPv4) or 128 (IPv6). Bits beyond the
// prefix are cleared, as Istio (Go's net.ParseCIDR) and Envoy do: "10.1.0.0/8" is 10.0.0.0/8.
// An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is IPv6
// here and matches only IPv6 blocks, as in Envoy.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace gh::config {

struct IpAddress {
  std::array<uint8_t, 16> bytes{};  // IPv4 in the first 4
  bool v6 = false;

  bool operator==(const IpAddress&) const = default;
  std::string toString() const;
};

struct IpBlock {
  IpAddress base;      // the block's first address (bits beyond the prefix cleared)
  uint8_t prefix = 0;  // 0..32 or 0..128

  bool contains(const IpAddress& a) const;
  std::string toString() const;  // "10.0.0.0/8" (always with the prefix length)

  bool operator==(const IpBlock&) const = default;
};

// Parses an address literal; false when `s` is not one.
bool parseIpAddress(std::string_view s, IpAddress* out);
// Parses a block (or a single address, as /32 or /128); false with what is wrong in *why.
bool parseIpBlock(std::string_view s, IpBlock* out, std::string* why = nullptr);

}  // namespace gh::config
