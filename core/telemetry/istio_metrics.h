#pragma once
// IstioMetrics: Istio's standard HTTP metrics on top of the MetricsRegistry, so existing Istio
// Grafana dashboards read Gatehouse as they read an Envoy sidecar.
//
//   istio_requests_total                 counter    one per finished exchange
//   istio_request_duration_milliseconds  histogram  request start to last response byte
//   istio_request_bytes                  histogram  request size (head + body as received)
//   istio_response_bytes                 histogram  response size (head + body as sent)
//
// all with the labels of spec/observability.md (kLabelNames, in that order). Buckets are
// Envoy's defaults, which Istio's telemetry v2 uses for all three histograms (kBuckets).
//
// Label values are ids, never strings, on the worker (see metrics_registry.h). The control
// thread builds them per snapshot:
//   - IstioMetrics::destination(...)  the labels fixed by the listener/route/backend: reporter,
//     destination_*, request_protocol (an IstioDestination to store in the compiled route);
//   - IstioMetrics::peer(...)          the three labels of a principal (SPIFFE ID ->
//     principal, workload = service account, namespace), for every principal the snapshot knows
//     (mesh Services, AuthorizationPolicy principals, this node's own identity), stored in a
//     PeerIndex the workers look up read-only. A verified peer the snapshot does not know is
//     recorded as kUnknownPeer ("unknown", as Istio does when metadata is missing), so a
//     client cannot grow the label set by presenting new identities.
// Response codes (100..599) and response flags are interned up front.
//
// What the session must call: in the log phase, once per finished exchange (also local
// replies, denials and failures), fill an IstioExchange and call record() with the worker's
// WorkerMetrics. Nothing else.
//
// Threads: construction, destination(), peer(), makePeerIndex(): control thread. record():
// the owning worker, with its own WorkerMetrics. A PeerIndex is immutable and shared.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/telemetry/metrics_registry.h"

namespace gh::telemetry {

// Envoy-style response flags Gatehouse can produce; one per exchange (the first that applied).
enum class ResponseFlag : uint8_t {
  kNone,                       // "-"
  kNoRouteFound,               // NR
  kNoHealthyUpstream,          // UH
  kUpstreamConnectionFailure,  // UF
  kUpstreamConnectionTermination,  // UC
  kUpstreamRequestTimeout,     // UT
  kUpstreamRemoteReset,        // UR
  kDownstreamConnectionTermination,  // DC
  kUnauthorizedExternalService,      // UAEX (ext_authz denied)
  kRbacAccessDenied,           // RBAC
  kRateLimited,                // RL
  kStreamIdleTimeout,          // SI (head/request timeout)
  kDownstreamProtocolError,    // DPE
  kUpstreamProtocolError,      // UPE
  kNoClusterFound,             // NC (no backend)
  kUpstreamOverflow,           // UO (circuit breaking: over the connectionPool limits)
  kFaultInjected,              // FI (a route's fault.abort answered)
  kDelayInjected,              // DI (a route's fault.delay held the request, no abort)
  kCount
};
const char* responseFlagName(ResponseFlag f);

// The labels one peer principal contributes (source_* when we are the destination).
struct PeerIds {
  ValueId principal = kOtherValue;
  ValueId workload = kOtherValue;
  ValueId workloadNamespace = kOtherValue;
};

// The labels a listener/route/backend fixes (built on the control thread, kept in the snapshot).
struct IstioDestination {
  ValueId reporter = kOtherValue;
  PeerIds destination;  // principal, workload, workload namespace
  ValueId service = kOtherValue;
  ValueId protocol = kOtherValue;
};

// Per finished exchange, on the worker.
struct IstioExchange {
  const IstioDestination* destination = nullptr;  // null: recorded with every label "unknown"
  PeerIds source;      // PeerIndex::find(peer principal), or IstioMetrics::unknownPeer()
  bool mutualTls = false;
  int responseCode = 0;  // 0 when no response was sent (rendered "0", as Istio does)
  ResponseFlag flag = ResponseFlag::kNone;
  double durationMs = 0;
  uint64_t requestBytes = 0;
  uint64_t responseBytes = 0;
};

// Principal -> PeerIds for the principals a snapshot knows. Immutable; shared by workers.
class PeerIndex {
 public:
  // The peer's ids, or `unknown` when the snapshot does not know it (or it is empty).
  PeerIds find(std::string_view principal, const PeerIds& unknown) const;

 private:
  friend class IstioMetrics;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, PeerIds, Hash, std::equal_to<>> map_;
};

class IstioMetrics {
 public:
  static constexpr const char* kLabelNames[] = {
      "reporter", "source_principal", "source_workload", "source_workload_namespace",
      "destination_principal", "destination_workload", "destination_workload_namespace",
      "destination_service", "request_protocol", "response_code", "response_flags",
      "connection_security_policy"};
  static constexpr double kBuckets[] = {0.5,   1,     5,      10,     25,      50,     100,
                                        250,   500,   1000,   2500,   5000,    10000,  30000,
                                        60000, 300000, 600000, 1800000, 3600000};

  // Declares the four families in `reg` (before its first worker).
  explicit IstioMetrics(MetricsRegistry& reg);

  // Control thread. `reporter` is "source" (we originated the hop) or "destination" (we
  // received it); `destinationPrincipal` is a SPIFFE ID or empty ("unknown"); `service` is the
  // destination service's name (e.g. "svc.ns" or the Service resource's ns/name); `protocol`
  // "http" (or "grpc" when the session knows it).
  IstioDestination destination(std::string_view reporter, std::string_view destinationPrincipal,
                               std::string_view service, std::string_view protocol);
  // A principal's labels: SPIFFE spiffe://td/ns/NS/sa/SA -> (principal, SA, NS); any other
  // non-empty string -> (principal, "unknown", "unknown"); empty -> all "unknown".
  PeerIds peer(std::string_view principal);
  PeerIds unknownPeer() const { return unknown_; }
  std::shared_ptr<const PeerIndex> makePeerIndex(const std::vector<std::string>& principals);

  // Worker: counts one exchange in all four families.
  void record(WorkerMetrics& w, const IstioExchange& e) const;

  FamilyId requestsTotal() const { return requests_; }
  FamilyId duration() const { return duration_; }
  FamilyId requestBytes() const { return requestBytes_; }
  FamilyId responseBytes() const { return responseBytes_; }
  // The key record() uses, for tests and readers.
  LabelKey key(const IstioExchange& e) const;

 private:
  FamilyId requests_, duration_, requestBytes_, responseBytes_;
  MetricsRegistry& reg_;
  ValueId codes_[600];  // "0", "100".."599"; other codes -> "0"
  ValueId flags_[static_cast<int>(ResponseFlag::kCount)];
  ValueId mutualTls_, none_, unknownValue_;
  PeerIds unknown_;
  IstioDestination unknownDestination_;
};

}  // namespace gh::telemetry
