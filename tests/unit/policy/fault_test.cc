// Fault injection decisions: percentages hold over 10 000 requests (fixed seed), delay and
// abort independent.

#include "core/policy/fault.h"

#include <catch2/catch.hpp>
#include <cstdint>

using namespace gh::policy;

namespace {
uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace

TEST_CASE("percentToPerMillion", "[policy][fault]") {
  CHECK(percentToPerMillion(12.5) == 125'000);
  CHECK(percentToPerMillion(0.1) == 1'000);
  CHECK(percentToPerMillion(100) == 1'000'000);
  CHECK(percentToPerMillion(150) == 1'000'000);
  CHECK(percentToPerMillion(-1) == 0);
}

TEST_CASE("fault percentages within 5% over 10 000 requests", "[policy][fault]") {
  for (double pct : {1.0, 10.0, 25.0, 50.0, 90.0}) {
    FaultSpec f;
    f.delayPerMillion = percentToPerMillion(pct);
    f.delayMs = 100;
    f.abortPerMillion = percentToPerMillion(100 - pct);
    f.abortStatus = 503;
    uint64_t seed = 1234;
    int delays = 0, aborts = 0, both = 0;
    for (int k = 0; k < 10'000; ++k) {
      FaultDecision d = decideFault(f, splitmix(seed));
      delays += d.delayMs == 100;
      aborts += d.abortStatus == 503;
      both += d.delayMs && d.abortStatus;
    }
    INFO(pct << "% delays " << delays << " aborts " << aborts << " both " << both);
    CHECK(std::abs(delays - pct * 100) <= 0.05 * pct * 100 + 10);
    CHECK(std::abs(aborts - (100 - pct) * 100) <= 0.05 * (100 - pct) * 100 + 10);
    // Independent draws: both fire about pct x (100 - pct) of the time.
    const double expectBoth = pct * (100 - pct);
    CHECK(std::abs(both - expectBoth) <= 0.1 * expectBoth + 15);
  }
}

TEST_CASE("0% never fires, 100% always; no status means no abort", "[policy][fault]") {
  FaultSpec f;
  f.delayMs = 5;
  f.abortStatus = 500;
  uint64_t seed = 1;
  for (int k = 0; k < 1000; ++k) {
    FaultDecision d = decideFault(f, splitmix(seed));
    CHECK(d.delayMs == 0);
    CHECK(d.abortStatus == 0);
  }
  f.delayPerMillion = f.abortPerMillion = 1'000'000;
  CHECK(decideFault(f, 0).delayMs == 5);
  CHECK(decideFault(f, ~uint64_t{0}).abortStatus == 500);
  f.abortStatus = 0;
  CHECK(decideFault(f, 0).abortStatus == 0);
}
