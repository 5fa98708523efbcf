#pragma once
// OutlierDetector: passive health — ejects endpoints that keep failing real requests.
//
// Owned by one worker, one per Service (the worker's view of that Service's endpoints); not
// thread-safe; pure: the clock is passed in, nothing is scheduled here. The worker reports the
// outcome of every upstream attempt (report()) and calls tick() every policy.intervalMs from a
// Timer; available() is the mask of endpoints not ejected, to be ANDed with the active health
// mask and handed to Balancer::pick().
//
// Rules (Istio's outlierDetection fields, Envoy's behaviour):
//   - consecutive5xxErrors (0 = off): that many 5xx in a row eject the endpoint at once.
//     Local failures count as 5xx as Envoy counts them when it does not split local-origin
//     errors: a failed connect or a reset as 503, a per-try timeout as 504.
//   - consecutiveGatewayErrors (0 = off): that many 502/503/504 (and connect failures,
//     resets, timeouts) in a row eject. Any other answer (1xx-4xx) resets both counters.
//   - The k-th ejection in a row lasts baseEjectionTime * k, at most maxEjectionTime. An
//     endpoint that stays in service for a whole interval has k decreased by one.
//   - maxEjectionPercent: never more than that share of the endpoints is ejected at once
//     (floor, but at least one endpoint when the percent is above 0 — Envoy's rule). An
//     ejection refused by this cap is counted (overflowEjections) and retried on the next
//     error.
//   - Ejected endpoints return at the first tick() at or after their time is up (so an
//     ejection lasts up to one interval longer, as in Envoy); counters start afresh.
//
// Per worker, not per process. Envoy aggregates outlier detection on its main thread; here each
// worker judges from the traffic it sees, which keeps the request path free of shared state.
// The consequence: a dead endpoint is ejected by each worker after that worker's own run of
// errors (with W workers, up to W * consecutive5xxErrors failed attempts in all, most of them
// retried on another endpoint when a retry policy allows), and maxEjectionPercent holds per
// worker, hence everywhere.
//
// Panic threshold: see balancer.h (minHealthPercent, default 0 as in Istio: with nothing
// usable the request gets 503 no_healthy_upstream rather than a known-bad endpoint).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/upstream/balancer.h"

namespace gh::upstream {

struct OutlierPolicy {
  uint32_t consecutive5xxErrors = 5;      // Istio default
  uint32_t consecutiveGatewayErrors = 0;  // Istio default: off
  uint64_t intervalMs = 10'000;
  uint64_t baseEjectionTimeMs = 30'000;
  uint64_t maxEjectionTimeMs = 300'000;   // Envoy's default cap
  uint32_t maxEjectionPercent = 10;       // Istio default
  bool enabled() const { return consecutive5xxErrors != 0 || consecutiveGatewayErrors != 0; }
};

// What one upstream attempt came to.
enum class Outcome : uint8_t {
  kSuccess,         // any status below 500 (a 4xx is the client's problem, not the endpoint's)
  kServerError,     // 500, 501, 505..599
  kGatewayError,    // 502, 503, 504
  kConnectFailure,  // connect refused, unreachable, connect timeout, TLS handshake failure
  kReset,           // the connection closed or failed before a complete response head
  kTimeout,         // the per-try (backendRequest) timeout fired
};
Outcome outcomeForStatus(int status);

class OutlierDetector {
 public:
  OutlierDetector() = default;
  // Allocates; every endpoint in service with clean counters.
  void reset(const OutlierPolicy& policy, size_t endpoints);

  // One attempt's outcome. Returns true if this report ejected the endpoint.
  bool report(uint32_t endpoint, Outcome outcome, uint64_t nowMs);
  // Every intervalMs: returns ejected endpoints whose time is up (how many returned) and decays
  // the ejection multiplier of endpoints in service.
  size_t tick(uint64_t nowMs);

  const EndpointMask& available() const { return available_; }
  bool ejected(uint32_t endpoint) const { return !available_.test(endpoint); }
  size_t ejectedCount() const { return available_.size() - available_.count(); }
  uint32_t ejections(uint32_t endpoint) const { return state_[endpoint].ejections; }
  uint64_t ejectedUntilMs(uint32_t endpoint) const { return state_[endpoint].until; }
  // The most endpoints that may be ejected at once.
  size_t maxEjected() const;
  // Copies one endpoint's state from another detector (carrying state across a reload for an
  // endpoint that is still there, by whatever identity the caller matches on).
  void copyEndpoint(const OutlierDetector& from, uint32_t fromIndex, uint32_t toIndex);

  uint64_t ejectionsTotal() const { return ejectionsTotal_; }
  uint64_t overflowEjections() const { return overflow_; }
  const OutlierPolicy& policy() const { return policy_; }

 private:
  struct PerEndpoint {
    uint32_t consecutive5xx = 0;
    uint32_t consecutiveGateway = 0;
    uint32_t ejections = 0;    // the multiplier
    uint64_t until = 0;        // ejected until (ms); meaningful while ejected
    uint64_t inServiceSince = 0;
  };
  bool eject(uint32_t endpoint, uint64_t nowMs);

  OutlierPolicy policy_;
  std::vector<PerEndpoint> state_;
  EndpointMask available_;
  uint64_t ejectionsTotal_ = 0;
  uint64_t overflow_ = 0;
};

}  // namespace gh::upstream
