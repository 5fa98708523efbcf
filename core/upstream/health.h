#pragma once
// HealthTracker: the active health-check state machine of a Service's endpoints.
//
// Pure: feed it probe results, it says when an endpoint's state changes. It neither sends
// probes nor keeps time (health_probe.h, if present, or the caller does; the caller runs one
// probe per endpoint every policy.intervalMs, each bounded by policy.timeoutMs).
//
// Where it lives: on the control thread, one per Service per node — probing from each worker
// would multiply the probe traffic by the number of workers for no gain. State changes are
// published to the workers (Loop::post), each of which keeps its own EndpointMask; no worker
// reads the tracker.
//
// The machine, per endpoint (Envoy's rules, healthCheck field names of spec/config.md):
//
//            pass                  healthyThreshold passes in a row
//   kUnknown ------> kHealthy <------------------------------------- kUnhealthy
//       |                  ------------------------------------->        ^
//       |                    unhealthyThreshold failures in a row        |
//       +----------------------------------------------------------------+
//                                   fail
//
//   - A new endpoint is kUnknown. Its first result decides at once (one pass makes it healthy,
//     one failure unhealthy): waiting for healthyThreshold passes would keep a fresh node or
//     endpoint out of service for thresholds x interval.
//   - Whether kUnknown is routable is policy.unknownIsHealthy. Default false (Envoy: a host
//     under active checking takes traffic only after a pass). Either way the caller should
//     carry states across a reload (copyEndpoint) so that endpoints kept in the new snapshot
//     do not go back to kUnknown.
//   - A timeout is a failure. Passes reset the failure run and vice versa.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/upstream/balancer.h"

namespace gh::upstream {

struct HealthCheckPolicy {
  uint32_t healthyThreshold = 2;
  uint32_t unhealthyThreshold = 3;
  uint64_t intervalMs = 5'000;
  uint64_t timeoutMs = 1'000;
  bool unknownIsHealthy = false;
};

enum class HealthState : uint8_t { kUnknown, kHealthy, kUnhealthy };
enum class ProbeResult : uint8_t { kPass, kFail, kTimeout };

class HealthTracker {
 public:
  HealthTracker() = default;
  void reset(const HealthCheckPolicy& policy, size_t endpoints);  // allocates; all kUnknown

  // Records one probe result. Returns true when the endpoint's routability changed (the
  // caller then publishes routable() or the one bit to the workers).
  bool record(uint32_t endpoint, ProbeResult result);

  HealthState state(uint32_t endpoint) const { return state_[endpoint].state; }
  bool routable(uint32_t endpoint) const { return routable_.test(endpoint); }
  const EndpointMask& routable() const { return routable_; }
  void copyEndpoint(const HealthTracker& from, uint32_t fromIndex, uint32_t toIndex);
  const HealthCheckPolicy& policy() const { return policy_; }

 private:
  struct PerEndpoint {
    HealthState state = HealthState::kUnknown;
    uint32_t passes = 0;    // in a row
    uint32_t failures = 0;  // in a row
  };
  bool routableIn(HealthState s) const {
    return s == HealthState::kHealthy ||
           (s == HealthState::kUnknown && policy_.unknownIsHealthy);
  }

  HealthCheckPolicy policy_;
  std::vector<PerEndpoint> state_;
  EndpointMask routable_;
};

}  // namespace gh::upstream
