#include "core/config/snapshot.h"

#include <algorithm>
#include <map>
#include <utility>

#include "core/config/validate.h"

namespace gh::config {

namespace {

// Builds an HTTPRoute in code (never stored): how mesh listeners reuse the route table. The
// names of the services such routes lead to hold a ':' so they cannot meet a user's.
Resource syntheticRoute(std::vector<std::string> hostnames, const std::string& ns,
                        const std::string& service) {
  Resource r;
  r.kind = Kind::kHttpRoute;
  r.meta.ns = ns;
  r.meta.name = "mesh:" + service;
  HttpRouteSpec spec;
  spec.hostnames = std::move(hostnames);
  RouteRule rule;
  BackendRef b;
  b.name = service;
  b.ns = ns;
  rule.backendRefs.push_back(std::move(b));
  spec.rules.push_back(std::move(rule));
  r.spec = std::move(spec);
  return r;
}

}  // namespace

std::vector<std::pair<std::string, uint16_t>> dnsEndpoints(const std::vector<Resource>& resources) {
  std::vector<std::pair<std::string, uint16_t>> out;
  for (const Resource& r : resources) {
    if (r.kind != Kind::kService) continue;
    for (const Endpoint& e : r.service().endpoints) {
      net::Address a;
      if (net::Address::parse(e.address, e.port, &a)) continue;
      std::pair<std::string, uint16_t> key{e.address, e.port};
      if (std::find(out.begin(), out.end(), key) == out.end()) out.push_back(std::move(key));
    }
  }
  return out;
}

bool needsIdentity(const std::vector<Resource>& resources) {
  for (const Resource& r : resources) {
    if (r.kind == Kind::kService && r.service().mesh) return true;
    if (r.kind == Kind::kListener && (r.listener().protocol == Protocol::kMeshInbound ||
                                      r.listener().protocol == Protocol::kMeshOutbound))
      return true;
  }
  return false;
}

Result<std::shared_ptr<const Snapshot>> compile(int64_t version, std::vector<Resource> resources,
                                                const NodeIdentity* identity,
                                                const PolicySlotFn& slots,
                                                const TelemetryLabelFn& labels,
                                                const TrafficSlotFns& trafficSlots,
                                                const DnsLookupFn& dns) {
  auto snap = std::make_shared<Snapshot>();
  snap->version = version;

  // LuaScript resources: checked and ordered once per version (core/script); each worker's VM
  // compiles them when it first meets this snapshot. Attachments are "namespace/name".
  std::vector<script::ScriptSource> scripts;
  for (const Resource& r : resources) {
    if (r.kind != Kind::kLuaScript) continue;
    const LuaScriptSpec& l = r.luaScript();
    if (l.source.empty() && !l.file.empty())
      return Status::error("LuaScript " + r.meta.ns + "/" + r.meta.name +
                           ": source.file is not read by this build; inline the source");
    script::ScriptSource src;
    src.name = r.meta.name;
    src.source = l.source;
    for (const LuaAttachment& a : l.attachTo)
      src.attachTo.push_back({a.kind == LuaAttachment::Kind::kHttpRoute
                                  ? script::Attachment::Kind::kRoute
                                  : script::Attachment::Kind::kListener,
                              r.meta.ns + "/" + a.name});
    src.order = static_cast<int>(l.order);
    src.failOpen = l.failOpen;
    src.trusted = l.trusted;
    if (l.instructions) src.limits.instructions = l.instructions;
    if (l.wallMs) src.limits.wallMs = l.wallMs;
    scripts.push_back(std::move(src));
  }
  if (!scripts.empty()) {
    auto set = script::ScriptSet::build(std::move(scripts));
    if (!set.ok()) return Status::error("LuaScript " + set.status().message());
    snap->scripts = std::move(set.value());
  }

  MeshConfigSpec meshConfig;
  std::string meshNamespace = "default";
  for (const Resource& r : resources) {
    if (r.kind == Kind::kMeshConfig) {
      meshConfig = r.meshConfig();
      meshNamespace = r.meta.ns;
    }
  }
  snap->mesh.trustDomain = meshConfig.trustDomain;
  snap->mesh.mtls = meshConfig.mtls;
  snap->usesMesh = needsIdentity(resources);
  if (snap->usesMesh) {
    if (!identity)
      return Status::error(
          "the configuration has mesh listeners or Services but this node has no workload "
          "identity: run `gatehouse join` (or `gatehouse cert issue` on the CA node)");
    if (identity->trustDomain != meshConfig.trustDomain)
      return Status::error("this node's identity " + identity->spiffeId +
                           " is not in the mesh's trust domain " + meshConfig.trustDomain);
    snap->mesh.localIdentity = identity->spiffeId;
  }

  std::map<std::pair<std::string, std::string>, uint32_t> serviceIndex;
  bool anyMeshService = false;
  auto addService = [&](upstream::Service s, const std::vector<Endpoint>& endpoints,
                        upstream::LbOptions lb) -> Status {
    uint64_t cum = 0;
    auto add = [&](const net::Address& a, uint32_t weight, const std::string& hostname) {
      upstream::Endpoint ep;
      ep.address = a;
      ep.weight = weight;
      ep.label = a.toString();
      ep.hostname = hostname;
      // Endpoint state (health, pools) is keyed by the label: one endpoint per address.
      for (const upstream::Endpoint& other : s.endpoints)
        if (other.label == ep.label) return;
      cum += weight;
      s.cumulativeWeight.push_back(cum);
      s.endpoints.push_back(std::move(ep));
    };
    for (const Endpoint& e : endpoints) {
      net::Address literal;
      if (net::Address::parse(e.address, e.port, &literal)) {
        add(literal, e.weight, "");
        continue;
      }
      s.dnsNames.push_back(e.address + ":" + std::to_string(e.port));
      // Names are watched without a port (an edit of the port alone keeps the name's
      // addresses); the endpoint's port is applied here.
      const std::vector<net::Address>* resolved = dns ? dns(e.address, e.port) : nullptr;
      if (resolved)
        for (const net::Address& a : *resolved) {
          net::Address withPort;
          if (net::Address::parse(a.ip(), e.port, &withPort)) add(withPort, e.weight, e.address);
        }
    }
    if (s.health) s.health = std::make_shared<upstream::HealthTable>(s.endpoints.size(), true);
    s.index = static_cast<uint32_t>(snap->services.size());
    if (!s.endpoints.empty()) {
      std::string error;
      if (!upstream::Balancer::forService(s, lb, &s.balancer, &error))
        return Status::error("Service " + s.label + ": " + error);
    }
    s.usable.reset(s.endpoints.size(), true);
    serviceIndex[{s.ns, s.name}] = s.index;
    snap->services.push_back(std::move(s));
    return okStatus();
  };
  for (const Resource& r : resources) {
    if (r.kind != Kind::kService) continue;
    const ServiceSpec& spec = r.service();
    upstream::Service s;
    s.ns = r.meta.ns;
    s.name = r.meta.name;
    s.label = r.meta.ns + "/" + r.meta.name;
    s.directResponse = spec.directResponse;
    s.connectTimeoutMs = spec.connectTimeoutMs;
    s.idleTimeoutMs = spec.idleTimeoutMs;
    if (spec.maxConnections) s.limits.maxConnections = *spec.maxConnections;
    if (spec.http1MaxPendingRequests) s.limits.http1MaxPendingRequests = *spec.http1MaxPendingRequests;
    s.limits.maxRequestsPerConnection = spec.maxRequestsPerConnection;
    s.circuitBreaking = spec.maxConnections || spec.http1MaxPendingRequests;
    if (spec.mesh) {
      anyMeshService = true;
      s.mesh = true;
      s.identity = spec.identity;
      s.poolIdentity = spec.identity.empty() ? "*" : spec.identity;
    }
    upstream::LbOptions lb;
    static constexpr upstream::LbPolicy kPolicy[] = {
        upstream::LbPolicy::kRoundRobin, upstream::LbPolicy::kLeastRequest,
        upstream::LbPolicy::kRandom, upstream::LbPolicy::kRingHash, upstream::LbPolicy::kMaglev};
    lb.policy = kPolicy[static_cast<int>(spec.loadBalancer)];
    lb.minimumRingSize = spec.hash.minimumRingSize;
    if (spec.outlierDetection) {
      const OutlierDetectionSpec& o = *spec.outlierDetection;
      s.outlier.consecutive5xxErrors = o.consecutive5xxErrors;
      s.outlier.consecutiveGatewayErrors = o.consecutiveGatewayErrors;
      s.outlier.intervalMs = o.intervalMs;
      s.outlier.baseEjectionTimeMs = o.baseEjectionTimeMs;
      s.outlier.maxEjectionPercent = o.maxEjectionPercent;
      lb.minHealthPercent = o.minHealthPercent;
    }
    lb.maglevTableSize = static_cast<uint32_t>(spec.hash.tableSize);
    s.hash = spec.hash;
    if (spec.healthCheck) {
      const HealthCheckSpec& h = *spec.healthCheck;
      s.healthPolicy.intervalMs = h.intervalMs;
      s.healthPolicy.timeoutMs = h.timeoutMs;
      s.healthPolicy.healthyThreshold = h.healthyThreshold;
      s.healthPolicy.unhealthyThreshold = h.unhealthyThreshold;
      // An endpoint not yet probed takes traffic (docs/traffic.md): its first probe is sent as
      // soon as the snapshot is adopted and decides at once.
      s.healthPolicy.unknownIsHealthy = true;
      s.healthPath = h.path;
      s.health = std::make_shared<upstream::HealthTable>(spec.endpoints.size(), true);
    }
    if (Status st = addService(std::move(s), spec.endpoints, lb); !st.ok()) return st;
  }
  // The Workloads, as services a MESH_INBOUND listener forwards to.
  std::map<std::pair<std::string, std::string>, std::string> workloadService;
  for (const Resource& r : resources) {
    if (r.kind != Kind::kWorkload) continue;
    upstream::Service s;
    s.ns = r.meta.ns;
    s.name = "workload:" + r.meta.name;
    s.label = "workload/" + r.meta.ns + "/" + r.meta.name;
    workloadService[{r.meta.ns, r.meta.name}] = s.name;
    Endpoint e;
    e.address = r.workload().address;
    e.port = r.workload().port;
    if (Status st = addService(std::move(s), {e}, upstream::LbOptions()); !st.ok()) return st;
  }
  auto resolve = [&](std::string_view ns, std::string_view name) -> std::optional<uint32_t> {
    auto it = serviceIndex.find({std::string(ns), std::string(name)});
    if (it == serviceIndex.end()) return std::nullopt;
    return it->second;
  };

  // CUSTOM providers: their Service's first endpoint, at the provider's port.
  for (const Resource& r : resources) {
    if (r.kind != Kind::kMeshConfig) continue;
    for (const ExtensionProvider& p : r.meshConfig().extensionProviders) {
      if (!p.luaScript.empty()) {
        // A Lua provider: its script's index in the ScriptSet (absent: its checks fail).
        if (snap->scripts) {
          const auto& all = snap->scripts->scripts();
          for (size_t k = 0; k < all.size(); ++k)
            if (all[k].name == p.luaScript) snap->luaProviders.emplace(p.name, int(k));
        }
        continue;
      }
      auto [ns, name] = providerService(
          p.http.service, meshNamespace,
          [&](const std::string& n, const std::string& s) { return serviceIndex.count({n, s}); });
      auto it = serviceIndex.find({ns, name});
      if (it == serviceIndex.end() || snap->services[it->second].endpoints.empty()) continue;
      net::Address a;
      if (net::Address::parse(snap->services[it->second].endpoints.front().address.ip(),
                              p.http.port, &a))
        snap->authzProviders.emplace(p.name, a);
    }
  }
  auto policies = policy::PolicyIndex::compile(resources);
  if (!policies.ok()) return policies.status();
  snap->policies = std::move(policies.value());
  auto targetPolicies = [&](const policy::TargetPolicies* t) {
    if (slots) {
      for (const policy::PolicyRef* p : t->policies())
        if (p->action == AuthzAction::kDeny || p->action == AuthzAction::kCustom)
          snap->denySlots.emplace(p, slots(p->label()));
    }
    return t;
  };

  std::shared_ptr<const tls::ServerContext> inboundContext;
  if (anyMeshService) {
    if (identity->client) {
      snap->mesh.client = identity->client;
    } else {
      auto client = tls::ClientContext::build(identity->certificate, identity->trust);
      if (!client.ok()) return client.status();
      snap->mesh.client = std::move(client.value());
    }
  }

  for (const Resource& r : resources) {
    if (r.kind != Kind::kListener) continue;
    const ListenerSpec& spec = r.listener();
    CompiledListener l;
    l.ns = r.meta.ns;
    l.name = r.meta.name;
    l.label = l.ns + "/" + l.name;
    l.spec = spec;
    std::string what = "Listener " + l.ns + "/" + l.name + ": ";
    if (!net::Address::parse(spec.address, spec.port, &l.address))
      return Status::error(what + "bad address " + spec.address);
    l.key = l.address.toString();
    l.limits.maxRequestLine = spec.http.maxRequestLineBytes;
    l.limits.maxHeaderBytes = spec.http.maxHeaderBytes;
    l.limits.maxHeaderCount = spec.http.maxHeaders;
    l.limits.maxResponseHead = spec.http.maxResponseHeadBytes;
    if (spec.tls) {
      tls::ServerOptions options;
      for (const CertificateRef& c : spec.tls->certificates)
        options.certificates.push_back({c.certFile, c.keyFile});
      options.minVersion =
          spec.tls->minVersion == TlsVersion::kTls13 ? tls::Version::kTls13 : tls::Version::kTls12;
      auto context = tls::ServerContext::build(options);
      if (!context.ok()) return Status::error(what + context.status().message());
      l.tls = std::move(context.value());
    }

    std::vector<Resource> synthetic;  // kept alive until the table is compiled
    std::vector<const Resource*> attached;
    if (spec.protocol == Protocol::kMeshInbound) {
      // Everything that arrives goes to the Workload (authorization decides who may).
      if (!inboundContext) {
        auto context = tls::ServerContext::buildMesh(identity->certificate, identity->trust,
                                                     meshConfig.mtls == MtlsMode::kStrict);
        if (!context.ok()) return Status::error(what + context.status().message());
        inboundContext = std::move(context.value());
      }
      l.tls = inboundContext;
      l.plaintextAllowed = meshConfig.mtls == MtlsMode::kPermissive;
      std::pair<std::string, std::string> key{l.ns, spec.workload};
      if (spec.workload.empty() && workloadService.size() == 1)
        key = workloadService.begin()->first;
      auto it = workloadService.find(key);
      if (it == workloadService.end()) return Status::error(what + "no Workload to forward to");
      synthetic.push_back(syntheticRoute({}, key.first, it->second));
      l.authz = targetPolicies(snap->policies->forWorkload(key.first, key.second));
      attached.push_back(&synthetic.back());
    } else {
      l.authz = targetPolicies(snap->policies->forListener(l.ns, l.name));
      for (const Resource& rr : resources) {
        if (rr.kind != Kind::kHttpRoute) continue;
        for (const ParentRef& p : rr.route().parentRefs) {
          const std::string& pns = p.ns.empty() ? rr.meta.ns : p.ns;
          if (p.name == l.name && pns == l.ns) {
            attached.push_back(&rr);
            break;
          }
        }
      }
    }
    auto table = route::RouteTable::compile(attached, resolve);
    if (!table.ok()) return Status::error(what + table.status().message());
    l.routes = table.value();
    if (snap->scripts) {
      l.scriptChain = snap->scripts->chainFor(l.label, {});
      for (size_t i = 0; i < l.routes->ruleCount(); ++i) {
        const route::Rule& rule = l.routes->rule(i);
        std::vector<int> chain =
            snap->scripts->chainFor(l.label, rule.routeNamespace + "/" + rule.routeName);
        if (chain != l.scriptChain) l.ruleScriptChains.emplace(&rule, std::move(chain));
      }
    }

    if (spec.protocol == Protocol::kMeshOutbound) {
      // Host `name.namespace` always; bare `name` for the Service of that name in the
      // listener's namespace, else for the only Service of that name.
      std::map<std::string, std::vector<const upstream::Service*>> byName;
      for (const upstream::Service& s : snap->services)
        if (s.name.find(':') == std::string::npos) byName[s.name].push_back(&s);
      std::vector<Resource> routes;
      routes.reserve(snap->services.size());
      for (const auto& [name, services] : byName) {
        for (const upstream::Service* s : services) {
          std::vector<std::string> hosts{s->name + "." + s->ns};
          if (services.size() == 1 || s->ns == l.ns) hosts.push_back(s->name);
          routes.push_back(syntheticRoute(std::move(hosts), s->ns, s->name));
        }
      }
      std::vector<const Resource*> pointers;
      for (const Resource& rr : routes) pointers.push_back(&rr);
      auto byHost = route::RouteTable::compile(pointers, resolve);
      if (!byHost.ok()) return Status::error(what + byHost.status().message());
      l.serviceRoutes = byHost.value();
    }
    snap->listeners.push_back(std::move(l));
  }
  if (Status st = attachRequestPolicies(resources, snap->services, &snap->listeners, trafficSlots);
      !st.ok())
    return st;
  snap->resources = std::move(resources);
  if (labels) snap->telemetry = labels(*snap);
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

}  // namespace gh::config
