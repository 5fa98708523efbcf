#pragma once
// HealthTracker: the active health-check state machine of a Service's endpoints.
//
// Pure: feed it probe results, it says when an endpoint's state changes. It neither sends
// probes nor keeps time (HealthProbe in health_probe.h sends them; server/health_checker.h
// runs one probe per endpoint every policy.intervalMs, each bounded by policy.timeoutMs).
//
// Where it lives: on the control thread, one per Service per node — probing from each worker
// would multiply the probe traffic by the number of workers for no gain. State changes are
// written to the Service's HealthTable (below), from which each worker refreshes its own
// EndpointMask when the table's generation moves; no worker reads the tracker.
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

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
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

// HealthTable: the routable bit of each endpoint of one Service under active health checks,
// shared by one writer (the server's HealthChecker, on the control thread) and every worker
// (readers). Created with the compiled Service; the Service holds it by shared_ptr, so a
// snapshot's table lives as long as the snapshot.
//
// Why atomics and not posted updates: a worker reads generation() once per request to the
// Service (a plain load on x86) and copies the bits into its own EndpointMask only when the
// generation moved, so the request path takes no lock and does no read-modify-write; a
// health change reaches every worker by its next request, without a task per worker.
// The writer stores the bit, then bumps the generation (release); a reader that loads the
// generation (acquire) and then the bits sees at least that change, and any later change
// bumps the generation again, so a worker's copy is never stale for more than one request.
class HealthTable {
 public:
  HealthTable(size_t endpoints, bool routable);
  HealthTable(const HealthTable&) = delete;
  HealthTable& operator=(const HealthTable&) = delete;

  size_t size() const { return size_; }
  bool routable(size_t i) const { return bits_[i].load(std::memory_order_relaxed) != 0; }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // Writer only (one thread).
  void set(size_t i, bool routable);
  // Reader: *out = the bits (out must already have size() bits: no allocation).
  void copyTo(EndpointMask* out) const;

 private:
  std::unique_ptr<std::atomic<uint8_t>[]> bits_;
  size_t size_;
  std::atomic<uint64_t> generation_{1};
};

}  // namespace gh::upstream
