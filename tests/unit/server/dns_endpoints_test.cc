// DnsEndpoints' republish pacing: DNS-driven recompiles are at least kMinRepublishMs apart.

#include "core/server/dns_endpoints.h"

#include <catch2/catch.hpp>

using gh::server::DnsEndpoints;

TEST_CASE("dns endpoints: republishes are at least the minimum interval apart", "[dns]") {
  constexpr uint64_t kMin = DnsEndpoints::kMinRepublishMs;
  STATIC_REQUIRE(kMin >= 1'000);
  // The first change ever is applied at once.
  CHECK(DnsEndpoints::republishDelayMs(5'000'000, 0) == 0);
  // A change right after a republish waits out the interval; later ones wait less.
  CHECK(DnsEndpoints::republishDelayMs(5'000'000, 5'000'000) == kMin);
  CHECK(DnsEndpoints::republishDelayMs(5'000'000 + 300, 5'000'000) == kMin - 300);
  // Once the interval has passed, at once again.
  CHECK(DnsEndpoints::republishDelayMs(5'000'000 + kMin, 5'000'000) == 0);
  CHECK(DnsEndpoints::republishDelayMs(9'000'000, 5'000'000) == 0);
}
