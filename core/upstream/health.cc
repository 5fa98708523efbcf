#include "core/upstream/health.h"

#include <algorithm>

namespace gh::upstream {

void HealthTracker::reset(const HealthCheckPolicy& policy, size_t endpoints) {
  policy_ = policy;
  policy_.healthyThreshold = std::max<uint32_t>(1, policy_.healthyThreshold);
  policy_.unhealthyThreshold = std::max<uint32_t>(1, policy_.unhealthyThreshold);
  state_.assign(endpoints, PerEndpoint{});
  routable_.reset(endpoints, policy_.unknownIsHealthy);
}

bool HealthTracker::record(uint32_t i, ProbeResult result) {
  if (i >= state_.size()) return false;
  PerEndpoint& e = state_[i];
  const bool pass = result == ProbeResult::kPass;
  if (pass) {
    ++e.passes;
    e.failures = 0;
  } else {
    ++e.failures;
    e.passes = 0;
  }
  HealthState next = e.state;
  switch (e.state) {
    case HealthState::kUnknown:
      next = pass ? HealthState::kHealthy : HealthState::kUnhealthy;
      break;
    case HealthState::kHealthy:
      if (!pass && e.failures >= policy_.unhealthyThreshold) next = HealthState::kUnhealthy;
      break;
    case HealthState::kUnhealthy:
      if (pass && e.passes >= policy_.healthyThreshold) next = HealthState::kHealthy;
      break;
  }
  e.state = next;
  const bool now = routableIn(next);
  if (now == routable_.test(i)) return false;
  routable_.assign(i, now);
  return true;
}

void HealthTracker::copyEndpoint(const HealthTracker& from, uint32_t fromIndex,
                                 uint32_t toIndex) {
  state_[toIndex] = from.state_[fromIndex];
  routable_.assign(toIndex, routableIn(state_[toIndex].state));
}

}  // namespace gh::upstream
