// Fuzzes parseIpBlock / parseIpAddress / IpBlock::contains (core/config/ip_block.h), the CIDR
// parser of AuthorizationPolicy ipBlocks, remoteIpBlocks and the source.ip / remote.ip
// conditions.
//
// Invariants: a block that parses prints as "address/prefix", which parses back to the same
// block (a fixed point); its prefix is within the family's width; it contains its own base
// address and, when it is not a single address, the last address of the block, and never an
// address of the other family; an address that parses is a /32 or /128 block of itself. The
// input is also split in two at a '|' to check containment against an arbitrary address with
// a reference computed bit by bit.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/config/ip_block.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using gh::config::IpAddress;
using gh::config::IpBlock;

bool referenceContains(const IpBlock& b, const IpAddress& a) {
  if (a.v6 != b.base.v6) return false;
  for (unsigned bit = 0; bit < b.prefix; ++bit) {
    unsigned byte = bit / 8, shift = 7 - bit % 8;
    if (((a.bytes[byte] >> shift) & 1) != ((b.base.bytes[byte] >> shift) & 1)) return false;
  }
  return true;
}

void checkBlock(std::string_view s) {
  IpBlock b;
  std::string why;
  if (!gh::config::parseIpBlock(s, &b, &why)) {
    FUZZ_CHECK(!why.empty());
    return;
  }
  FUZZ_CHECK(b.prefix <= (b.base.v6 ? 128 : 32));
  std::string text = b.toString();
  IpBlock again;
  FUZZ_CHECK(gh::config::parseIpBlock(text, &again));
  FUZZ_CHECK(again == b);
  FUZZ_CHECK(again.toString() == text);
  FUZZ_CHECK(b.contains(b.base));
  IpAddress last = b.base;
  for (unsigned bit = b.prefix; bit < (b.base.v6 ? 128u : 32u); ++bit)
    last.bytes[bit / 8] |= static_cast<uint8_t>(1u << (7 - bit % 8));
  FUZZ_CHECK(b.contains(last));
  IpAddress other = b.base;
  other.v6 = !other.v6;
  FUZZ_CHECK(!b.contains(other));
}

void checkAddress(std::string_view s) {
  IpAddress a;
  if (!gh::config::parseIpAddress(s, &a)) return;
  IpBlock b;
  FUZZ_CHECK(gh::config::parseIpBlock(s, &b));
  FUZZ_CHECK(b.prefix == (a.v6 ? 128 : 32));
  FUZZ_CHECK(b.base == a);
  IpAddress back;
  FUZZ_CHECK(gh::config::parseIpAddress(a.toString(), &back));
  FUZZ_CHECK(back == a);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  checkBlock(input);
  checkAddress(input);
  size_t bar = input.find('|');
  if (bar != std::string_view::npos) {
    IpBlock b;
    IpAddress a;
    if (gh::config::parseIpBlock(input.substr(0, bar), &b) &&
        gh::config::parseIpAddress(input.substr(bar + 1), &a))
      FUZZ_CHECK(b.contains(a) == referenceContains(b, a));
  }
  return 0;
}
