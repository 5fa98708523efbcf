#pragma once
// Fault injection decisions for resilience drills (HTTPRoute fault: delay and abort, each by
// percentage).
//
// Pure: the caller passes 64 random bits per request (the worker's Rng); the delay uses the
// low 32 bits and the abort the high 32, so the two are independent draws, as in Envoy. When
// both fire the request is delayed, then aborted. Percentages are kept in parts per million
// (Envoy's FractionalPercent precision), so 0.1% is exact.

#include <cstdint>

namespace gh::policy {

struct FaultSpec {
  uint32_t delayPerMillion = 0;  // 0..1'000'000
  uint64_t delayMs = 0;
  uint32_t abortPerMillion = 0;
  uint16_t abortStatus = 0;  // e.g. 503; 0: no abort
};

struct FaultDecision {
  uint64_t delayMs = 0;      // 0: no delay
  uint16_t abortStatus = 0;  // 0: no abort; else answer with this status (after the delay)
};

// 12.5 -> 125'000; clamped to [0, 100].
uint32_t percentToPerMillion(double percent);

FaultDecision decideFault(const FaultSpec& spec, uint64_t random);

}  // namespace gh::policy
