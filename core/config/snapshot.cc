#include "core/config/snapshot.h"

#include <map>
#include <utility>

namespace gh::config {

Result<std::shared_ptr<const Snapshot>> compile(int64_t version, std::vector<Resource> resources) {
  auto snap = std::make_shared<Snapshot>();
  snap->version = version;

  std::map<std::pair<std::string, std::string>, uint32_t> serviceIndex;
  for (const Resource& r : resources) {
    if (r.kind != Kind::kService) continue;
    const ServiceSpec& spec = r.service();
    upstream::Service s;
    s.ns = r.meta.ns;
    s.name = r.meta.name;
    s.label = r.meta.ns + "/" + r.meta.name;
    s.index = static_cast<uint32_t>(snap->services.size());
    s.directResponse = spec.directResponse;
    s.connectTimeoutMs = spec.connectTimeoutMs;
    s.idleTimeoutMs = spec.idleTimeoutMs;
    uint64_t cum = 0;
    for (const Endpoint& e : spec.endpoints) {
      upstream::Endpoint ep;
      if (!net::Address::parse(e.address, e.port, &ep.address))
        return Status::error("Service " + s.label + ": bad endpoint address " + e.address);
      ep.weight = e.weight;
      ep.label = ep.address.toString();
      cum += e.weight;
      s.cumulativeWeight.push_back(cum);
      s.endpoints.push_back(std::move(ep));
    }
    serviceIndex[{s.ns, s.name}] = s.index;
    snap->services.push_back(std::move(s));
  }
  auto resolve = [&](std::string_view ns, std::string_view name) -> std::optional<uint32_t> {
    auto it = serviceIndex.find({std::string(ns), std::string(name)});
    if (it == serviceIndex.end()) return std::nullopt;
    return it->second;
  };

  for (const Resource& r : resources) {
    if (r.kind != Kind::kListener) continue;
    const ListenerSpec& spec = r.listener();
    CompiledListener l;
    l.ns = r.meta.ns;
    l.name = r.meta.name;
    l.spec = spec;
    if (!net::Address::parse(spec.address, spec.port, &l.address))
      return Status::error("Listener " + l.ns + "/" + l.name + ": bad address " + spec.address);
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
      if (!context.ok())
        return Status::error("Listener " + l.ns + "/" + l.name + ": " + context.status().message());
      l.tls = std::move(context.value());
    }

    std::vector<const Resource*> attached;
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
    auto table = route::RouteTable::compile(attached, resolve);
    if (!table.ok())
      return Status::error("Listener " + l.ns + "/" + l.name + ": " + table.status().message());
    l.routes = table.value();
    snap->listeners.push_back(std::move(l));
  }
  snap->resources = std::move(resources);
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

}  // namespace gh::config
