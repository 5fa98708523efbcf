// Cross-resource validation of a configuration (validate.h).
//
// Decoding has already checked each resource on its own; what is left needs the whole set:
// identity (no two resources share kind, namespace and name), references (parentRefs name
// Listeners, backendRefs name Services), listener sockets (no two Listeners can bind the same
// address and port), RE2 compilation, kept here so decoding stays free of the regex
// engine, TLS certificates, which need the files they name, and the mesh: a MESH_INBOUND
// listener forwards to one Workload, routes attach to listeners that route, a mesh Service's
// identity is of this mesh's trust domain, and there is one MeshConfig at most; a CUSTOM
// AuthorizationPolicy names a declared provider, whose Service exists, and targetRefs name edge
// Listeners. Problems are reported at the
// field that causes them, and the first definition wins: a duplicate or a conflicting Listener
// is reported where the second one is written.

#include "core/config/validate.h"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <array>
#include <cstring>
#include <ctime>
#include <map>
#include <tuple>

#include "core/base/log.h"
#include "core/identity/spiffe.h"
#include "core/tls/server_context.h"

namespace gh::config {

namespace {

using ResourceKey = std::tuple<Kind, std::string_view, std::string_view>;

ResourceKey keyOf(Kind kind, const std::string& ns, const std::string& name) {
  return ResourceKey{kind, ns, name};
}

// "file:line:column", for messages that point at another definition.
std::string formatLoc(const SourceLoc& loc) {
  return loc.file + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.column);
}

std::string identity(const Resource& r) {
  return std::string(kindName(r.kind)) + " " + r.meta.ns + "/" + r.meta.name;
}

class Reporter {
 public:
  explicit Reporter(std::vector<Diagnostic>* diags) : diags_(diags) {}

  // `at` may be unknown (a Resource built in code): the resource's own position stands in.
  void add(const Resource& r, const SourceLoc& at, const std::string& path,
           const std::string& what) {
    Diagnostic d;
    d.loc = at.line > 0 ? at : r.loc;
    d.message = identity(r) + ": " + path + ": " + what;
    diags_->push_back(std::move(d));
    failed_ = true;
  }
  bool failed() const { return failed_; }

 private:
  std::vector<Diagnostic>* diags_;
  bool failed_ = false;
};

// A listening address as the kernel sees it: IPv4 as v4-mapped IPv6, so 10.0.0.1 and
// ::ffff:10.0.0.1 compare equal.
struct BindAddress {
  std::array<unsigned char, 16> bytes{};
  bool wildcard = false;  // 0.0.0.0 or ::
};

bool parseBindAddress(const std::string& text, BindAddress* out) {
  unsigned char v4[4];
  if (inet_pton(AF_INET, text.c_str(), v4) == 1) {
    out->bytes = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, v4[0], v4[1], v4[2], v4[3]};
    out->wildcard = v4[0] == 0 && v4[1] == 0 && v4[2] == 0 && v4[3] == 0;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), out->bytes.data()) != 1) return false;
  out->wildcard = out->bytes == std::array<unsigned char, 16>{};
  return true;
}

// Two listeners on one port collide when their addresses are equal or either is a wildcard.
// (A wildcard of one family against an address of the other could sometimes be bound on
// Linux, depending on IPV6_V6ONLY; refusing it keeps the rule simple and portable.)
bool overlaps(const BindAddress& a, const BindAddress& b) {
  return a.wildcard || b.wildcard || a.bytes == b.bytes;
}

void checkDuplicates(const std::vector<Resource>& resources, Reporter& report) {
  std::map<ResourceKey, const Resource*> seen;
  for (const Resource& r : resources) {
    auto [it, inserted] = seen.emplace(keyOf(r.kind, r.meta.ns, r.meta.name), &r);
    if (inserted) continue;
    const Resource& first = *it->second;
    SourceLoc firstAt = first.meta.nameLoc.line > 0 ? first.meta.nameLoc : first.loc;
    report.add(r, r.meta.nameLoc, "metadata.name", "already defined at " + formatLoc(firstAt));
  }
}

void checkListenerConflicts(const std::vector<Resource>& resources, Reporter& report) {
  struct Bound {
    const Resource* resource;
    BindAddress address;
  };
  std::map<uint16_t, std::vector<Bound>> byPort;
  for (const Resource& r : resources) {
    const auto* spec = std::get_if<ListenerSpec>(&r.spec);
    if (spec == nullptr) continue;
    const ListenerSpec& l = *spec;
    Bound b{&r, {}};
    if (!parseBindAddress(l.address, &b.address)) continue;  // decoding reported it
    std::vector<Bound>& others = byPort[l.port];
    for (const Bound& other : others) {
      if (!overlaps(b.address, other.address)) continue;
      const ListenerSpec& o = std::get<ListenerSpec>(other.resource->spec);
      SourceLoc at = o.portLoc.line > 0 ? o.portLoc : other.resource->loc;
      report.add(r, l.portLoc, "spec.port",
                 l.address + " port " + std::to_string(l.port) + " conflicts with " +
                     identity(*other.resource) + " (" + o.address + " port " +
                     std::to_string(o.port) + ", " + formatLoc(at) + ")");
      break;
    }
    others.push_back(b);
  }
}

std::string formatTime(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Every certificate of an HTTPS listener is loaded as the server will load it. A problem is
// reported at certFile or keyFile, whichever is to blame.
//
// A certificate outside its validity period is only a warning (in the log, which `apply` and
// `validate` print): the server validates every version it loads, at start-up too, and an error
// here would make a restart after a certificate expired serve nothing at all, on every
// listener, instead of one stale certificate that clients refuse by themselves.
void checkTls(const Resource& r, Reporter& report) {
  const auto* spec = std::get_if<ListenerSpec>(&r.spec);
  if (spec == nullptr || !spec->tls) return;
  int64_t now = static_cast<int64_t>(::time(nullptr));
  for (size_t i = 0; i < spec->tls->certificates.size(); ++i) {
    const CertificateRef& c = spec->tls->certificates[i];
    std::string path = "spec.tls.certificates[" + std::to_string(i) + "]";
    bool keyAtFault = false;
    auto cert = tls::Certificate::load(c.certFile, c.keyFile, &keyAtFault);
    if (!cert.ok()) {
      if (keyAtFault)
        report.add(r, c.keyLoc, path + ".keyFile", cert.status().message());
      else
        report.add(r, c.certLoc, path + ".certFile", cert.status().message());
      continue;
    }
    const tls::Certificate& x = *cert.value();
    std::string problem;
    if (x.notAfter() < now)
      problem = "certificate expired at " + formatTime(x.notAfter());
    else if (x.notBefore() > now)
      problem = "certificate is not valid before " + formatTime(x.notBefore());
    if (!problem.empty()) {
      Diagnostic d;
      d.loc = c.certLoc.line > 0 ? c.certLoc : r.loc;
      d.message = identity(r) + ": " + path + ".certFile: " + c.certFile + ": " + problem +
                  " (clients will refuse it)";
      LOG_WARN("%s", d.format().c_str());
    }
  }
}

void checkRegex(const Resource& r, const std::string& pattern, const SourceLoc& at,
                const std::string& path, Reporter& report) {
  RE2 re(pattern, RE2::Quiet);
  if (!re.ok()) report.add(r, at, path, "invalid RE2 regular expression: " + re.error());
}

void checkRoute(const Resource& r, const std::map<ResourceKey, const Resource*>& index,
                Reporter& report) {
  const auto* spec = std::get_if<HttpRouteSpec>(&r.spec);
  if (spec == nullptr) return;
  const HttpRouteSpec& route = *spec;
  for (size_t i = 0; i < route.parentRefs.size(); ++i) {
    const ParentRef& p = route.parentRefs[i];
    auto parent = index.find(keyOf(Kind::kListener, p.ns, p.name));
    if (parent == index.end()) {
      report.add(r, p.loc, "spec.parentRefs[" + std::to_string(i) + "]",
                 "Listener " + p.ns + "/" + p.name + " does not exist");
    } else if (parent->second->listener().protocol == Protocol::kMeshInbound) {
      report.add(r, p.loc, "spec.parentRefs[" + std::to_string(i) + "]",
                 "Listener " + p.ns + "/" + p.name +
                     " is MESH_INBOUND: MESH_INBOUND forwards to its Workload; routes attach to "
                     "MESH_OUTBOUND or edge listeners");
    }
  }
  for (size_t i = 0; i < route.rules.size(); ++i) {
    const RouteRule& rule = route.rules[i];
    std::string rulePath = "spec.rules[" + std::to_string(i) + "]";
    for (size_t j = 0; j < rule.matches.size(); ++j) {
      const RouteMatch& m = rule.matches[j];
      std::string matchPath = rulePath + ".matches[" + std::to_string(j) + "]";
      if (m.path.type == PathMatchType::kRegularExpression)
        checkRegex(r, m.path.value, m.path.loc, matchPath + ".path.value", report);
      auto checkValues = [&](const std::vector<NameValueMatch>& values, const char* field) {
        for (size_t k = 0; k < values.size(); ++k) {
          if (values[k].type != ValueMatchType::kRegularExpression) continue;
          checkRegex(r, values[k].value, values[k].loc,
                     matchPath + "." + field + "[" + std::to_string(k) + "].value", report);
        }
      };
      checkValues(m.headers, "headers");
      checkValues(m.queryParams, "queryParams");
    }
    for (size_t j = 0; j < rule.backendRefs.size(); ++j) {
      const BackendRef& b = rule.backendRefs[j];
      if (index.count(keyOf(Kind::kService, b.ns, b.name)) == 0) {
        report.add(r, b.loc, rulePath + ".backendRefs[" + std::to_string(j) + "]",
                   "Service " + b.ns + "/" + b.name + " does not exist");
      }
    }
    for (size_t j = 0; j < rule.filters.size(); ++j) {
      if (rule.filters[j].type != FilterType::kRequestMirror) continue;
      const BackendRef& b = rule.filters[j].mirror.backendRef;
      auto svc = index.find(keyOf(Kind::kService, b.ns, b.name));
      std::string at = rulePath + ".filters[" + std::to_string(j) + "].requestMirror.backendRef";
      if (svc == index.end()) {
        report.add(r, b.loc, at, "Service " + b.ns + "/" + b.name + " does not exist");
      } else if (svc->second->service().directResponse) {
        report.add(r, b.loc, at,
                   "Service " + b.ns + "/" + b.name + " answers with a directResponse: a mirror "
                   "needs endpoints");
      }
    }
  }
}

// A MESH_INBOUND listener forwards to one Workload: the one it names (in its namespace), or
// the configuration's only one.
void checkInbound(const Resource& r, const std::vector<const Resource*>& workloads,
                  const std::map<ResourceKey, const Resource*>& index, Reporter& report) {
  const auto* spec = std::get_if<ListenerSpec>(&r.spec);
  if (spec == nullptr || spec->protocol != Protocol::kMeshInbound) return;
  if (!spec->workload.empty()) {
    if (index.count(keyOf(Kind::kWorkload, r.meta.ns, spec->workload)) == 0)
      report.add(r, spec->workloadLoc, "spec.workload",
                 "Workload " + r.meta.ns + "/" + spec->workload + " does not exist");
    return;
  }
  if (workloads.empty()) {
    report.add(r, spec->workloadLoc, "spec.workload",
               "a MESH_INBOUND listener forwards to a Workload; there is none");
  } else if (workloads.size() > 1) {
    std::string names;
    for (size_t i = 0; i < workloads.size(); ++i)
      names += (i ? ", " : "") + workloads[i]->meta.ns + "/" + workloads[i]->meta.name;
    report.add(r, spec->workloadLoc, "spec.workload",
               "there are " + std::to_string(workloads.size()) + " Workloads (" + names +
                   "); name one with spec.workload");
  }
}

// The first MeshConfig (a second is an error, reported here); nullptr when there is none.
const Resource* checkMeshConfigs(const std::vector<Resource>& resources, Reporter& report) {
  const Resource* first = nullptr;
  for (const Resource& r : resources) {
    if (r.kind != Kind::kMeshConfig) continue;
    if (first == nullptr) {
      first = &r;
      continue;
    }
    if (first->meta.ns == r.meta.ns) continue;  // a duplicate, reported by checkDuplicates
    SourceLoc at = first->meta.nameLoc.line > 0 ? first->meta.nameLoc : first->loc;
    report.add(r, r.meta.nameLoc, "metadata.name",
               "there is one MeshConfig for the whole mesh; " + identity(*first) +
                   " is already defined at " + formatLoc(at));
  }
  return first;
}

// A mesh Service's expected identity is of this mesh's trust domain: peers' certificates are
// verified against the local trust bundle only (no federation yet), so an identity of another
// trust domain could never be presented.
void checkServiceIdentity(const Resource& r, std::string_view trustDomain, Reporter& report) {
  const auto* spec = std::get_if<ServiceSpec>(&r.spec);
  if (spec == nullptr || spec->identity.empty()) return;
  auto id = gh::identity::SpiffeId::parse(spec->identity);
  if (!id.ok()) return;  // decoding reported it
  if (id.value().trustDomain() == trustDomain) return;
  report.add(r, spec->identityLoc, "spec.identity",
             "trust domain \"" + std::string(id.value().trustDomain()) +
                 "\" is not this mesh's (\"" + std::string(trustDomain) +
                 "\"); federation with other trust domains is not supported yet");
}

// A CUSTOM policy's provider is declared in the MeshConfig; targetRefs name edge Listeners of
// the policy's namespace (a mesh listener's requests are authorized by its Workload's
// policies, so a policy attached to one would never be consulted).
void checkAuthorizationPolicy(const Resource& r, const MeshConfigSpec& mesh,
                              const std::map<ResourceKey, const Resource*>& index,
                              Reporter& report) {
  const auto* spec = std::get_if<AuthorizationPolicySpec>(&r.spec);
  if (spec == nullptr) return;
  if (spec->action == AuthzAction::kCustom && !spec->provider.empty()) {
    bool declared = false;
    std::string names;
    for (const ExtensionProvider& p : mesh.extensionProviders) {
      declared |= p.name == spec->provider;
      names += (names.empty() ? "" : ", ") + p.name;
    }
    if (!declared)
      report.add(r, spec->providerLoc, "spec.provider.name",
                 "provider \"" + spec->provider +
                     "\" is not declared in MeshConfig spec.extensionProviders (" +
                     (names.empty() ? std::string("there are none") : "declared: " + names) + ")");
  }
  for (size_t i = 0; i < spec->targetRefs.size(); ++i) {
    const PolicyTargetRef& t = spec->targetRefs[i];
    std::string path = spec->targetRefs.size() == 1 && r.json.find("\"targetRef\"") !=
                                                           std::string::npos
                           ? std::string("spec.targetRef")
                           : "spec.targetRefs[" + std::to_string(i) + "]";
    auto it = index.find(keyOf(Kind::kListener, r.meta.ns, t.name));
    if (it == index.end()) {
      report.add(r, t.loc, path, "Listener " + r.meta.ns + "/" + t.name + " does not exist");
      continue;
    }
    Protocol p = it->second->listener().protocol;
    if (p == Protocol::kMeshInbound || p == Protocol::kMeshOutbound)
      report.add(r, t.loc, path,
                 "Listener " + r.meta.ns + "/" + t.name +
                     " is a mesh listener: targetRefs attach to edge listeners (HTTP, HTTPS); "
                     "requests to a Workload are authorized by the policies that select it");
  }
}

// Each extension provider's Service exists ("name", "name.namespace" or "namespace/name";
// the namespace defaults to the MeshConfig's).
void checkExtensionProviders(const Resource& mesh,
                             const std::map<ResourceKey, const Resource*>& index,
                             Reporter& report) {
  const MeshConfigSpec& m = mesh.meshConfig();
  for (size_t i = 0; i < m.extensionProviders.size(); ++i) {
    const ExtensionProvider& p = m.extensionProviders[i];
    if (!p.luaScript.empty()) {
      if (index.count(keyOf(Kind::kLuaScript, mesh.meta.ns, p.luaScript)) == 0)
        report.add(mesh, p.luaLoc,
                   "spec.extensionProviders[" + std::to_string(i) + "].lua.script",
                   "LuaScript " + mesh.meta.ns + "/" + p.luaScript + " does not exist");
      continue;
    }
    const ExtAuthzHttpProvider& h = p.http;
    auto exists = [&](const std::string& ns, const std::string& name) {
      return index.count(keyOf(Kind::kService, ns, name)) != 0;
    };
    auto [ns, name] = providerService(h.service, mesh.meta.ns, exists);
    if (!exists(ns, name))
      report.add(mesh, h.serviceLoc,
                 "spec.extensionProviders[" + std::to_string(i) + "].envoyExtAuthzHttp.service",
                 "Service " + ns + "/" + name + " does not exist");
  }
}

// A LuaScript attaches to Listeners and HTTPRoutes of its own namespace that exist.
void checkLuaScript(const Resource& r, const std::map<ResourceKey, const Resource*>& index,
                    Reporter& report) {
  const auto* spec = std::get_if<LuaScriptSpec>(&r.spec);
  if (spec == nullptr) return;
  for (size_t i = 0; i < spec->attachTo.size(); ++i) {
    const LuaAttachment& a = spec->attachTo[i];
    const bool route = a.kind == LuaAttachment::Kind::kHttpRoute;
    if (index.find(keyOf(route ? Kind::kHttpRoute : Kind::kListener, r.meta.ns, a.name)) ==
        index.end())
      report.add(r, a.loc, "spec.attachTo[" + std::to_string(i) + "]",
                 std::string(route ? "HTTPRoute " : "Listener ") + r.meta.ns + "/" + a.name +
                     " does not exist");
  }
}

// A RateLimit targets Listeners and HTTPRoutes of its namespace that exist.
void checkRateLimit(const Resource& r, const std::map<ResourceKey, const Resource*>& index,
                    Reporter& report) {
  const auto* spec = std::get_if<RateLimitSpec>(&r.spec);
  if (spec == nullptr) return;
  for (size_t i = 0; i < spec->targetRefs.size(); ++i) {
    const RateLimitTargetRef& t = spec->targetRefs[i];
    const bool route = t.kind == RateLimitTargetRef::Kind::kHttpRoute;
    if (index.count(keyOf(route ? Kind::kHttpRoute : Kind::kListener, r.meta.ns, t.name)) == 0)
      report.add(r, t.loc, "spec.targetRefs[" + std::to_string(i) + "]",
                 std::string(route ? "HTTPRoute " : "Listener ") + r.meta.ns + "/" + t.name +
                     " does not exist");
  }
}

// An EgressPolicy names a Workload that exists and Services that exist; a MESH_OUTBOUND
// listener it could apply to must say whose it is when that is ambiguous.
void checkEgressPolicy(const Resource& r, const std::vector<const Resource*>& workloads,
                       const std::map<ResourceKey, const Resource*>& index, Reporter& report) {
  const auto* spec = std::get_if<EgressPolicySpec>(&r.spec);
  if (spec == nullptr) return;
  if (!spec->workload.empty() &&
      index.count(keyOf(Kind::kWorkload, r.meta.ns, spec->workload)) == 0)
    report.add(r, spec->workloadLoc, "spec.workload",
               "Workload " + r.meta.ns + "/" + spec->workload + " does not exist");
  for (size_t i = 0; i < spec->egress.size(); ++i) {
    const EgressDestination& d = spec->egress[i];
    if (!d.service.empty() && index.count(keyOf(Kind::kService, d.serviceNs, d.service)) == 0)
      report.add(r, d.loc, "spec.egress[" + std::to_string(i) + "]",
                 "Service " + d.serviceNs + "/" + d.service + " does not exist");
  }
}

void checkOutbound(const Resource& r, const std::vector<const Resource*>& workloads,
                   const std::map<ResourceKey, const Resource*>& index, bool anyEgress,
                   Reporter& report) {
  const auto* spec = std::get_if<ListenerSpec>(&r.spec);
  if (spec == nullptr || spec->protocol != Protocol::kMeshOutbound) return;
  if (!spec->workload.empty()) {
    if (index.count(keyOf(Kind::kWorkload, r.meta.ns, spec->workload)) == 0)
      report.add(r, spec->workloadLoc, "spec.workload",
                 "Workload " + r.meta.ns + "/" + spec->workload + " does not exist");
    return;
  }
  if (anyEgress && workloads.size() > 1)
    report.add(r, spec->workloadLoc, "spec.workload",
               "there are " + std::to_string(workloads.size()) +
                   " Workloads and EgressPolicies: name the Workload whose app sends through "
                   "this listener with spec.workload");
}

}  // namespace

std::pair<std::string, std::string> providerService(
    std::string_view service, const std::string& meshNamespace,
    const std::function<bool(const std::string& ns, const std::string& name)>& exists) {
  std::string name(service);
  if (size_t slash = name.find('/'); slash != std::string::npos)
    return {name.substr(0, slash), name.substr(slash + 1)};
  if (!exists(meshNamespace, name)) {
    if (size_t dot = name.find('.'); dot != std::string::npos)
      return {name.substr(dot + 1), name.substr(0, dot)};
  }
  return {meshNamespace, name};
}

bool validate(const std::vector<Resource>& resources, std::vector<Diagnostic>* diags) {
  Reporter report(diags);
  checkDuplicates(resources, report);
  checkListenerConflicts(resources, report);

  std::map<ResourceKey, const Resource*> index;
  for (const Resource& r : resources) index.emplace(keyOf(r.kind, r.meta.ns, r.meta.name), &r);
  for (const Resource& r : resources) checkRoute(r, index, report);
  for (const Resource& r : resources) checkTls(r, report);

  std::vector<const Resource*> workloads;
  for (const Resource& r : resources)
    if (r.kind == Kind::kWorkload) workloads.push_back(&r);
  for (const Resource& r : resources) checkInbound(r, workloads, index, report);
  const Resource* mesh = checkMeshConfigs(resources, report);
  std::string trustDomain =
      mesh != nullptr ? mesh->meshConfig().trustDomain : MeshConfigSpec{}.trustDomain;
  for (const Resource& r : resources) checkServiceIdentity(r, trustDomain, report);
  MeshConfigSpec meshSpec = mesh != nullptr ? mesh->meshConfig() : MeshConfigSpec{};
  if (mesh != nullptr) checkExtensionProviders(*mesh, index, report);
  for (const Resource& r : resources) checkAuthorizationPolicy(r, meshSpec, index, report);
  for (const Resource& r : resources) checkLuaScript(r, index, report);
  for (const Resource& r : resources) checkRateLimit(r, index, report);
  bool anyEgress = false;
  for (const Resource& r : resources) {
    checkEgressPolicy(r, workloads, index, report);
    anyEgress = anyEgress || r.kind == Kind::kEgressPolicy;
  }
  for (const Resource& r : resources) checkOutbound(r, workloads, index, anyEgress, report);
  return !report.failed();
}

}  // namespace gh::config
