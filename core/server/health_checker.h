#pragma once
// HealthChecker: runs the active HTTP health checks (Service spec.healthCheck) of the serving
// snapshot, one node-wide prober on the control thread.
//
// One prober per node, not one per worker (a decision; Envoy probes from every worker
// thread): probes from W workers would multiply the probe load on every endpoint by W and
// could make workers disagree about an endpoint. The control thread's loop is idle between
// reloads and admin calls; a probe is one connect, one small write and one read per endpoint
// per interval. Results go through a HealthTracker per Service (health.h: thresholds, first
// result decides) into the Service's HealthTable, which workers read with relaxed atomics.
//
// Scheduling: every endpoint's first probe is sent when its snapshot is adopted, the next ones
// every interval after the previous probe *ended* (so a slow endpoint is never probed twice
// at once); the first probe of each endpoint is spread over the first 10% of the interval
// (at most 1 s) so a large Service does not send every probe in the same millisecond.
//
// Reloads: adopt() is called with each new snapshot before it is published. Endpoints that
// stay (same Service, same address) keep their state, counters and schedule; new ones start
// as not yet probed (routable, docs/traffic.md); probes of endpoints that are gone stop.
//
// Owned by the Server; control thread only.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config/snapshot.h"
#include "core/event/loop.h"
#include "core/telemetry/counters.h"
#include "core/upstream/health.h"
#include "core/upstream/health_probe.h"

namespace gh::server {

class HealthChecker {
 public:
  explicit HealthChecker(event::Loop& loop);
  ~HealthChecker();

  void adopt(const config::Snapshot& snapshot);
  void stop();  // no more probes (drain)

  // gatehouse_upstream_health_checks_total{result} and
  // gatehouse_upstream_health_transitions_total{to}.
  void renderMetrics(std::string& out) const;
  size_t probedEndpoints() const;

 private:
  struct Checked;
  struct Target {
    HealthChecker* owner = nullptr;
    Checked* service = nullptr;
    uint32_t index = 0;
    net::Address address;
    std::string label;
    std::unique_ptr<upstream::HealthProbe> probe;
    std::unique_ptr<event::Timer> timer;
  };
  struct Checked {  // one Service under health checks
    std::string label;
    std::string host;
    std::string path;
    std::shared_ptr<upstream::HealthTable> table;
    upstream::HealthTracker tracker;
    std::vector<std::unique_ptr<Target>> targets;
  };
  static void onTimer(void* arg);
  static void onResult(void* arg, upstream::ProbeResult result);

  event::Loop& loop_;
  std::vector<std::unique_ptr<Checked>> services_;
  telemetry::Counter results_[3];      // by ProbeResult
  telemetry::Counter transitions_[2];  // [0] to unhealthy, [1] to healthy
  uint64_t seed_ = 0x9e3779b97f4a7c15ull;
};

}  // namespace gh::server
