#include "core/telemetry/exchange_metrics.h"

#include "core/config/snapshot.h"
#include "core/route/route_table.h"

namespace gh::telemetry {
namespace {

// Istio names a destination service by its host; ours is `name.namespace` (spec/mesh.md).
// A Workload behind MESH_INBOUND is compiled as Service "workload:NAME": Istio calls it by the
// workload's own name.
std::string istioServiceName(const upstream::Service& s) {
  std::string_view name = s.name;
  if (name.rfind("workload:", 0) == 0) name.remove_prefix(9);
  return std::string(name) + "." + s.ns;
}

}  // namespace

ResponseFlag responseFlagFor(LocalReason r) {
  switch (r) {
    case LocalReason::kNoRoute: return ResponseFlag::kNoRouteFound;
    case LocalReason::kNoBackend: return ResponseFlag::kNoClusterFound;
    case LocalReason::kHeadTimeout:
    case LocalReason::kRequestTimeout: return ResponseFlag::kUpstreamRequestTimeout;
    case LocalReason::kUpstreamConnectFailed:
    case LocalReason::kUpstreamConnectTimeout:
    case LocalReason::kUpstreamTlsFailed: return ResponseFlag::kUpstreamConnectionFailure;
    case LocalReason::kUpstreamReset: return ResponseFlag::kUpstreamRemoteReset;
    case LocalReason::kUpstreamBadResponse: return ResponseFlag::kUpstreamProtocolError;
    case LocalReason::kUpstreamTimeout: return ResponseFlag::kUpstreamRequestTimeout;
    case LocalReason::kNoHealthyUpstream: return ResponseFlag::kNoHealthyUpstream;
    case LocalReason::kOverflow: return ResponseFlag::kUpstreamOverflow;
    case LocalReason::kFaultAbort: return ResponseFlag::kFaultInjected;
    case LocalReason::kRbacDenied: return ResponseFlag::kRbacAccessDenied;
    case LocalReason::kExtAuthzDenied:
    case LocalReason::kExtAuthzError: return ResponseFlag::kUnauthorizedExternalService;
    case LocalReason::kRateLimited: return ResponseFlag::kRateLimited;
    default: break;
  }
  return ResponseFlag::kNone;
}

ExchangeMetrics::ExchangeMetrics(MetricsRegistry& reg) : reg_(reg), istio_(reg) {
  std::vector<double> latency(std::begin(kLatencyBuckets), std::end(kLatencyBuckets));
  requests_ = reg.addFamily("gatehouse_requests_total",
                            "Finished exchanges by listener, HTTPRoute and status class "
                            "(route \"none\": no route matched; code_class \"none\": no response).",
                            MetricType::kCounter, {"listener", "route", "code_class"});
  duration_ = reg.addFamily("gatehouse_request_duration_seconds",
                            "Seconds from request head received to last response byte, by "
                            "listener and HTTPRoute.",
                            MetricType::kHistogram, {"listener", "route"}, latency);
  serviceRequests_ = reg.addFamily(
      "gatehouse_service_requests_total",
      "Finished exchanges routed to a Service, by Service and status class.",
      MetricType::kCounter, {"service", "code_class"});
  serviceErrors_ = reg.addFamily(
      "gatehouse_service_upstream_errors_total",
      "Exchanges a Service's upstream failed (no healthy endpoint, connect failure, reset, "
      "timeout, bad response, circuit breaker overflow), by Service and Envoy response flag.",
      MetricType::kCounter, {"service", "response_flags"});
  serviceRetries_ = reg.addFamily(
      "gatehouse_service_upstream_retries_total",
      "Retries of requests to a Service made by routes' retry policies, by Service.",
      MetricType::kCounter, {"service"});
  serviceDuration_ = reg.addFamily(
      "gatehouse_service_upstream_request_duration_seconds",
      "Seconds from upstream request sent to last upstream response byte, by Service.",
      MetricType::kHistogram, {"service"}, latency);
  classes_[0] = reg.intern("none");
  for (int c = 1; c <= 5; ++c) classes_[c] = reg.intern(std::to_string(c) + "xx");
  for (int f = 0; f < static_cast<int>(ResponseFlag::kCount); ++f)
    flags_[f] = reg.intern(responseFlagName(static_cast<ResponseFlag>(f)));
  none_ = reg.intern("none");
  unknown_ = reg.intern("unknown");
}

ValueId ExchangeMetrics::codeClass(int status) const {
  int c = status / 100;
  return c >= 1 && c <= 5 ? classes_[c] : classes_[0];
}

std::shared_ptr<const SnapshotLabels> ExchangeMetrics::labelsFor(const config::Snapshot& snap) {
  auto l = std::make_shared<SnapshotLabels>();
  const std::string& self = snap.mesh.localIdentity;
  l->self = istio_.peer(self);
  for (const config::CompiledListener& cl : snap.listeners) {
    SnapshotLabels::Listener x;
    x.name = reg_.intern(cl.label);
    x.sourceReporter = cl.spec.protocol != config::Protocol::kMeshInbound;
    l->listeners.push_back(x);
    for (const auto* table : {cl.routes.get(), cl.serviceRoutes.get()}) {
      if (!table) continue;
      for (size_t i = 0; i < table->ruleCount(); ++i) {
        const route::Rule& r = table->rule(i);
        ValueId id = reg_.intern(r.routeNamespace + "/" + r.routeName);
        l->routes.emplace(&r, id);
        if (!r.backends.empty() && r.backends.front().service < snap.services.size())
          l->routeService.emplace(id, reg_.intern(snap.services[r.backends.front().service].label));
      }
    }
  }
  // The principals this snapshot knows: ours, the mesh Services', and the exact ones
  // AuthorizationPolicies name (Istio writes them without the spiffe:// scheme).
  std::vector<std::string> principals;
  if (!self.empty()) principals.push_back(self);
  for (const upstream::Service& s : snap.services) {
    SnapshotLabels::Service x;
    x.name = reg_.intern(s.label);
    std::string istioName = istioServiceName(s);
    x.asDestination = istio_.destination("destination", self, istioName, "http");
    x.asSource = istio_.destination("source", s.mesh ? s.identity : "", istioName, "http");
    x.mesh = s.mesh;
    if (s.mesh && !s.identity.empty() && s.identity.find('*') == std::string::npos)
      principals.push_back(s.identity);
    l->services.push_back(x);
  }
  for (const config::Resource& r : snap.resources) {
    if (r.kind != config::Kind::kAuthorizationPolicy) continue;
    for (const config::AuthzRule& rule : r.authorizationPolicy().rules)
      for (const config::AuthzSource& from : rule.from)
        for (const std::string& p : from.principals)
          if (!p.empty() && p.find_first_of("*@") == std::string::npos)
            principals.push_back(p.rfind("spiffe://", 0) == 0 ? p : "spiffe://" + p);
  }
  l->peers = istio_.makePeerIndex(principals);
  l->noServiceDestination = istio_.destination("destination", self, "", "http");
  l->noServiceSource = istio_.destination("source", "", "", "http");
  return l;
}

PeerIds ExchangeMetrics::peerIds(const SnapshotLabels& labels, std::string_view principal) const {
  return labels.peers->find(principal, istio_.unknownPeer());
}

void ExchangeMetrics::record(WorkerMetrics& w, const SnapshotLabels& labels,
                             const ExchangeRecord& r) const {
  const SnapshotLabels::Listener* li =
      r.listener < labels.listeners.size() ? &labels.listeners[r.listener] : nullptr;
  const SnapshotLabels::Service* svc =
      r.service < labels.services.size() ? &labels.services[r.service] : nullptr;
  bool source = li && li->sourceReporter;

  IstioExchange e;
  if (source) {
    // We originate the hop: the source is this node, the destination the Service.
    e.destination = svc ? &svc->asSource : &labels.noServiceSource;
    e.source = labels.self;
    e.mutualTls = svc && svc->mesh;
  } else {
    e.destination = svc ? &svc->asDestination : &labels.noServiceDestination;
    e.source = r.peer;
    e.mutualTls = r.peerMutualTls;
  }
  e.responseCode = r.status;
  e.flag = r.flag;
  e.durationMs = r.durationMs;
  e.requestBytes = r.requestBytes;
  e.responseBytes = r.responseBytes;
  istio_.record(w, e);

  ValueId route = none_;
  if (r.rule) {
    auto it = labels.routes.find(r.rule);
    if (it != labels.routes.end()) route = it->second;
  }
  ValueId cls = codeClass(r.status);
  LabelKey k;
  k.v[0] = li ? li->name : unknown_;
  k.v[1] = route;
  k.v[2] = cls;
  w.add(requests_, k);
  k.v[2] = 0;
  w.observe(duration_, k, r.durationMs / 1000.0);
  if (svc) {
    LabelKey s;
    s.v[0] = svc->name;
    s.v[1] = cls;
    w.add(serviceRequests_, s);
    switch (r.flag) {
      case ResponseFlag::kNoHealthyUpstream:
      case ResponseFlag::kUpstreamConnectionFailure:
      case ResponseFlag::kUpstreamConnectionTermination:
      case ResponseFlag::kUpstreamRequestTimeout:
      case ResponseFlag::kUpstreamRemoteReset:
      case ResponseFlag::kUpstreamProtocolError:
      case ResponseFlag::kUpstreamOverflow:
        s.v[1] = flags_[static_cast<int>(r.flag)];
        w.add(serviceErrors_, s);
        break;
      default:
        break;
    }
    if (r.retries) {
      LabelKey t;
      t.v[0] = svc->name;
      w.add(serviceRetries_, t, r.retries);
    }
    if (r.upstreamMs >= 0) {
      LabelKey d;
      d.v[0] = svc->name;
      w.observe(serviceDuration_, d, r.upstreamMs / 1000.0);
    }
  }
}

}  // namespace gh::telemetry
