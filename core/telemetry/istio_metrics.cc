#include "core/telemetry/istio_metrics.h"

#include <string>

namespace gh::telemetry {

const char* responseFlagName(ResponseFlag f) {
  switch (f) {
    case ResponseFlag::kNone: return "-";
    case ResponseFlag::kNoRouteFound: return "NR";
    case ResponseFlag::kNoHealthyUpstream: return "UH";
    case ResponseFlag::kUpstreamConnectionFailure: return "UF";
    case ResponseFlag::kUpstreamConnectionTermination: return "UC";
    case ResponseFlag::kUpstreamRequestTimeout: return "UT";
    case ResponseFlag::kUpstreamRemoteReset: return "UR";
    case ResponseFlag::kDownstreamConnectionTermination: return "DC";
    case ResponseFlag::kUnauthorizedExternalService: return "UAEX";
    case ResponseFlag::kRbacAccessDenied: return "RBAC";
    case ResponseFlag::kRateLimited: return "RL";
    case ResponseFlag::kStreamIdleTimeout: return "SI";
    case ResponseFlag::kDownstreamProtocolError: return "DPE";
    case ResponseFlag::kUpstreamProtocolError: return "UPE";
    case ResponseFlag::kNoClusterFound: return "NC";
    case ResponseFlag::kUpstreamOverflow: return "UO";
    case ResponseFlag::kFaultInjected: return "FI";
    case ResponseFlag::kDelayInjected: return "DI";
    case ResponseFlag::kCount: break;
  }
  return "-";
}

PeerIds PeerIndex::find(std::string_view principal, const PeerIds& unknown) const {
  if (principal.empty()) return unknown;
  auto it = map_.find(principal);
  return it == map_.end() ? unknown : it->second;
}

IstioMetrics::IstioMetrics(MetricsRegistry& reg) : reg_(reg) {
  std::vector<std::string> labels(std::begin(kLabelNames), std::end(kLabelNames));
  std::vector<double> buckets(std::begin(kBuckets), std::end(kBuckets));
  requests_ = reg.addFamily("istio_requests_total", "Requests, by Istio's standard labels.",
                            MetricType::kCounter, labels);
  duration_ = reg.addFamily("istio_request_duration_milliseconds",
                            "Request duration in milliseconds, by Istio's standard labels.",
                            MetricType::kHistogram, labels, buckets);
  requestBytes_ = reg.addFamily("istio_request_bytes", "Request sizes in bytes (head and body).",
                                MetricType::kHistogram, labels, buckets);
  responseBytes_ = reg.addFamily("istio_response_bytes",
                                 "Response sizes in bytes (head and body).",
                                 MetricType::kHistogram, labels, buckets);
  codes_[0] = reg.intern("0");
  for (int c = 1; c < 600; ++c) codes_[c] = c < 100 ? codes_[0] : reg.intern(std::to_string(c));
  for (int f = 0; f < static_cast<int>(ResponseFlag::kCount); ++f)
    flags_[f] = reg.intern(responseFlagName(static_cast<ResponseFlag>(f)));
  mutualTls_ = reg.intern("mutual_tls");
  none_ = reg.intern("none");
  unknownValue_ = reg.intern("unknown");
  unknown_ = {unknownValue_, unknownValue_, unknownValue_};
  unknownDestination_ = {unknownValue_, unknown_, unknownValue_, unknownValue_};
}

PeerIds IstioMetrics::peer(std::string_view principal) {
  if (principal.empty()) return unknown_;
  PeerIds p{reg_.intern(principal), unknownValue_, unknownValue_};
  // spiffe://<trust domain>/ns/<namespace>/sa/<service account>
  constexpr std::string_view kScheme = "spiffe://";
  if (principal.substr(0, kScheme.size()) == kScheme) {
    std::string_view rest = principal.substr(kScheme.size());
    size_t slash = rest.find('/');
    if (slash != std::string_view::npos) {
      rest = rest.substr(slash);
      if (rest.substr(0, 4) == "/ns/") {
        rest = rest.substr(4);
        size_t sa = rest.find("/sa/");
        if (sa != std::string_view::npos && sa > 0 && rest.size() > sa + 4) {
          std::string_view account = rest.substr(sa + 4);
          if (account.find('/') == std::string_view::npos) {
            p.workloadNamespace = reg_.intern(rest.substr(0, sa));
            p.workload = reg_.intern(account);
          }
        }
      }
    }
  }
  return p;
}

IstioDestination IstioMetrics::destination(std::string_view reporter,
                                           std::string_view destinationPrincipal,
                                           std::string_view service, std::string_view protocol) {
  IstioDestination d;
  d.reporter = reg_.intern(reporter);
  d.destination = peer(destinationPrincipal);
  d.service = service.empty() ? unknownValue_ : reg_.intern(service);
  d.protocol = protocol.empty() ? unknownValue_ : reg_.intern(protocol);
  return d;
}

std::shared_ptr<const PeerIndex> IstioMetrics::makePeerIndex(
    const std::vector<std::string>& principals) {
  auto idx = std::make_shared<PeerIndex>();
  for (const std::string& p : principals)
    if (!p.empty()) idx->map_.emplace(p, peer(p));
  return idx;
}

LabelKey IstioMetrics::key(const IstioExchange& e) const {
  const IstioDestination& d = e.destination ? *e.destination : unknownDestination_;
  int code = e.responseCode >= 0 && e.responseCode < 600 ? e.responseCode : 0;
  int flag = static_cast<int>(e.flag) < static_cast<int>(ResponseFlag::kCount)
                 ? static_cast<int>(e.flag)
                 : 0;
  LabelKey k;
  k.v = {d.reporter,
         e.source.principal,
         e.source.workload,
         e.source.workloadNamespace,
         d.destination.principal,
         d.destination.workload,
         d.destination.workloadNamespace,
         d.service,
         d.protocol,
         codes_[code],
         flags_[flag],
         e.mutualTls ? mutualTls_ : none_};
  return k;
}

void IstioMetrics::record(WorkerMetrics& w, const IstioExchange& e) const {
  LabelKey k = key(e);
  w.add(requests_, k);
  w.observe(duration_, k, e.durationMs);
  w.observe(requestBytes_, k, static_cast<double>(e.requestBytes));
  w.observe(responseBytes_, k, static_cast<double>(e.responseBytes));
}

}  // namespace gh::telemetry
