#pragma once
// ExchangeMetrics: what the log phase records per finished exchange, in the MetricsRegistry:
// Istio's standard metrics (IstioMetrics) and Gatehouse's per-listener/route and per-service
// families:
//
//   gatehouse_requests_total{listener,route,code_class}                     counter
//   gatehouse_request_duration_seconds{listener,route}                      histogram
//   gatehouse_service_requests_total{service,code_class}                    counter
//   gatehouse_service_upstream_errors_total{service,response_flags}         counter
//   gatehouse_service_upstream_retries_total{service}                       counter
//   gatehouse_service_upstream_request_duration_seconds{service}            histogram
//
// Gatehouse's own durations are in seconds, Prometheus' base unit; only Istio's family keeps
// its historical `_milliseconds` name, which its dashboards query.
//
// Label values are resolved per snapshot, never per request. When a snapshot is compiled,
// labelsFor() (control thread) interns every name the snapshot can produce — listeners, the
// HTTPRoute of each rule, services, the principals it knows — and returns SnapshotLabels:
// vectors indexed by listener and service index, and a table from rule to route value, all
// read-only afterwards and owned by the snapshot. On the worker, record() only indexes those
// vectors and writes per-worker cells (no string is hashed; the rule table is keyed by the
// rule's address). The peer principal is resolved once per connection (peerIds()), not per
// request.
//
// Threads: construction and labelsFor(): control thread, before/between compiles. record()
// and peerIds(): any worker, with its own WorkerMetrics. SnapshotLabels: immutable, shared.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/telemetry/counters.h"
#include "core/telemetry/istio_metrics.h"
#include "core/telemetry/metrics_registry.h"

namespace gh::config {
struct Snapshot;
}
namespace gh::route {
struct Rule;
}

namespace gh::telemetry {

// The Envoy response flag of a local reply's reason ("-" for a plain 4xx such as a bad path).
ResponseFlag responseFlagFor(LocalReason r);

// Per snapshot: every label value the workers may need, by index.
struct SnapshotLabels {
  struct Listener {
    ValueId name = kOtherValue;  // "ns/name"
    bool sourceReporter = false;  // edge and MESH_OUTBOUND report as Istio's gateways: source
  };
  struct Service {
    ValueId name = kOtherValue;  // "ns/name" (gatehouse_*)
    IstioDestination asDestination;  // reporter="destination" (MESH_INBOUND)
    IstioDestination asSource;       // reporter="source" (edge, MESH_OUTBOUND)
    bool mesh = false;               // we originate mutual TLS to it
  };
  std::vector<Listener> listeners;  // by index in Snapshot::listeners
  std::vector<Service> services;    // by Service::index
  std::unordered_map<const route::Rule*, ValueId> routes;  // the rule's HTTPRoute "ns/name"
  // HTTPRoute value -> the Service value of its first rule's first backend (for the admin's
  // live stats, which show a route beside the Service it sends to).
  std::unordered_map<ValueId, ValueId> routeService;
  IstioDestination noServiceDestination;  // no route / no backend, reporter destination
  IstioDestination noServiceSource;       // likewise, reporter source
  PeerIds self;                           // this node's identity (or unknown)
  std::shared_ptr<const PeerIndex> peers;
};

// One finished exchange as the session saw it. Indexes refer to the pinned snapshot.
struct ExchangeRecord {
  static constexpr uint32_t kNone = UINT32_MAX;
  uint32_t listener = kNone;
  const route::Rule* rule = nullptr;
  uint32_t service = kNone;
  PeerIds peer;           // peerIds() of the downstream connection
  bool peerMutualTls = false;
  int status = 0;         // 0: no response was sent
  ResponseFlag flag = ResponseFlag::kNone;
  double durationMs = 0;
  double upstreamMs = -1;  // < 0: no upstream request was sent
  uint64_t requestBytes = 0;
  uint64_t responseBytes = 0;
  uint32_t retries = 0;  // retries the rule's retry policy made (tries after the first)
};

class ExchangeMetrics {
 public:
  // Declares the families (Istio's first) in `reg`, before its first worker.
  explicit ExchangeMetrics(MetricsRegistry& reg);

  // Control thread, once per compiled snapshot (this node's identity: snap.mesh).
  std::shared_ptr<const SnapshotLabels> labelsFor(const config::Snapshot& snap);
  // Worker: the source labels of a downstream peer (its verified principal, or empty).
  PeerIds peerIds(const SnapshotLabels& labels, std::string_view principal) const;
  // Worker: counts one exchange in every family.
  void record(WorkerMetrics& w, const SnapshotLabels& labels, const ExchangeRecord& r) const;

  const IstioMetrics& istio() const { return istio_; }
  FamilyId requests() const { return requests_; }
  FamilyId duration() const { return duration_; }
  FamilyId serviceRequests() const { return serviceRequests_; }
  FamilyId serviceDuration() const { return serviceDuration_; }
  ValueId codeClass(int status) const;
  ValueId noRoute() const { return none_; }

  // Seconds; finer than Istio's for the per-route percentiles of /api/v1/stats/live.
  static constexpr double kLatencyBuckets[] = {
      0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075,
      0.1,     0.15,   0.2,   0.3,   0.5,   0.75,  1,      2,    5,     10,   30,   60};

 private:
  MetricsRegistry& reg_;
  IstioMetrics istio_;
  FamilyId requests_, duration_, serviceRequests_, serviceErrors_, serviceRetries_,
      serviceDuration_;
  ValueId classes_[6];  // [0] "none" (no response), "1xx".."5xx"
  ValueId flags_[static_cast<int>(ResponseFlag::kCount)];
  ValueId none_;
  ValueId unknown_;
};

}  // namespace gh::telemetry
