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

HealthTable::HealthTable(size_t endpoints, bool routable)
    : bits_(new std::atomic<uint8_t>[endpoints == 0 ? 1 : endpoints]), size_(endpoints) {
  for (size_t i = 0; i < size_; ++i) bits_[i].store(routable ? 1 : 0, std::memory_order_relaxed);
}

void HealthTable::set(size_t i, bool routable) {
  if (i >= size_) return;
  bits_[i].store(routable ? 1 : 0, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
}

void HealthTable::copyTo(EndpointMask* out) const {
  for (size_t i = 0; i < size_ && i < out->size(); ++i) out->assign(i, routable(i));
}

}  // namespace gh::upstream
