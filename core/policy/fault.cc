#include "core/policy/fault.h"

#include <cmath>

namespace gh::policy {

uint32_t percentToPerMillion(double percent) {
  if (!(percent > 0)) return 0;  // also NaN
  if (percent >= 100) return 1'000'000;
  return static_cast<uint32_t>(std::llround(percent * 10'000));
}

namespace {

// True with probability perMillion / 10^6, from 32 uniform bits.
bool chance(uint32_t perMillion, uint32_t bits) {
  if (perMillion >= 1'000'000) return true;
  return (uint64_t{bits} * 1'000'000 >> 32) < perMillion;
}

}  // namespace

FaultDecision decideFault(const FaultSpec& spec, uint64_t random) {
  FaultDecision d;
  if (spec.delayMs && chance(spec.delayPerMillion, static_cast<uint32_t>(random)))
    d.delayMs = spec.delayMs;
  if (spec.abortStatus && chance(spec.abortPerMillion, static_cast<uint32_t>(random >> 32)))
    d.abortStatus = spec.abortStatus;
  return d;
}

}  // namespace gh::policy
