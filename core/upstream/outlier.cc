#include "core/upstream/outlier.h"

#include <algorithm>

namespace gh::upstream {

Outcome outcomeForStatus(int status) {
  if (status < 500) return Outcome::kSuccess;
  if (status >= 502 && status <= 504) return Outcome::kGatewayError;
  return Outcome::kServerError;
}

void OutlierDetector::reset(const OutlierPolicy& policy, size_t endpoints) {
  policy_ = policy;
  state_.assign(endpoints, PerEndpoint{});
  available_.reset(endpoints, true);
}

size_t OutlierDetector::maxEjected() const {
  if (policy_.maxEjectionPercent == 0) return 0;
  const size_t n = state_.size();
  return std::max<size_t>(1, n * std::min<uint32_t>(policy_.maxEjectionPercent, 100) / 100);
}

bool OutlierDetector::report(uint32_t i, Outcome outcome, uint64_t nowMs) {
  if (i >= state_.size()) return false;  // an attempt that began on an older snapshot
  PerEndpoint& e = state_[i];
  if (outcome == Outcome::kSuccess) {
    e.consecutive5xx = 0;
    e.consecutiveGateway = 0;
    return false;
  }
  if (ejected(i)) return false;  // in flight when it was ejected: already judged
  ++e.consecutive5xx;  // every failure kind is a 5xx to this counter
  if (outcome != Outcome::kServerError) ++e.consecutiveGateway;
  const bool trip =
      (policy_.consecutive5xxErrors && e.consecutive5xx >= policy_.consecutive5xxErrors) ||
      (policy_.consecutiveGatewayErrors &&
       e.consecutiveGateway >= policy_.consecutiveGatewayErrors);
  return trip && eject(i, nowMs);
}

bool OutlierDetector::eject(uint32_t i, uint64_t nowMs) {
  if (ejectedCount() >= maxEjected()) {
    ++overflow_;
    return false;
  }
  PerEndpoint& e = state_[i];
  ++e.ejections;
  const uint64_t base = policy_.baseEjectionTimeMs;
  const uint64_t cap = std::max(policy_.maxEjectionTimeMs, base);
  e.until = nowMs + std::min(cap, base * e.ejections);
  e.consecutive5xx = 0;
  e.consecutiveGateway = 0;
  available_.clear(i);
  ++ejectionsTotal_;
  return true;
}

size_t OutlierDetector::tick(uint64_t nowMs) {
  size_t returned = 0;
  for (uint32_t i = 0; i < state_.size(); ++i) {
    PerEndpoint& e = state_[i];
    if (ejected(i)) {
      if (nowMs >= e.until) {
        available_.set(i);
        e.inServiceSince = nowMs;
        ++returned;
      }
    } else if (e.ejections > 0 && nowMs - e.inServiceSince >= policy_.intervalMs) {
      --e.ejections;  // a whole interval in service: forgive one ejection
      e.inServiceSince = nowMs;
    }
  }
  return returned;
}

void OutlierDetector::copyEndpoint(const OutlierDetector& from, uint32_t fromIndex,
                                   uint32_t toIndex) {
  state_[toIndex] = from.state_[fromIndex];
  available_.assign(toIndex, from.available_.test(fromIndex));
}

}  // namespace gh::upstream
