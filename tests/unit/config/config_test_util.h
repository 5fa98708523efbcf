#pragma once
// Helpers shared by the config tests: decode a YAML text and look at the result as the user
// would (formatted diagnostics), and compare Resources by what they say (not where they were
// read).

#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/decode.h"
#include "core/config/model.h"
#include "core/config/validate.h"

namespace gh::config::testing {

struct Decoded {
  bool ok = false;
  std::vector<Resource> resources;
  std::vector<std::string> errors;  // Diagnostic::format() of each
};

inline std::vector<std::string> formatAll(const std::vector<Diagnostic>& diags) {
  std::vector<std::string> out;
  for (const Diagnostic& d : diags) out.push_back(d.format());
  return out;
}

// A MeshConfig spec with the four fields most tests state; the rest keep their defaults.
inline MeshConfigSpec meshSpec(std::string trustDomain, MtlsMode mtls, uint64_t ttlMs,
                               std::string caAddress) {
  MeshConfigSpec m;
  m.trustDomain = std::move(trustDomain);
  m.mtls = mtls;
  m.certificateTtlMs = ttlMs;
  m.caAddress = std::move(caAddress);
  return m;
}

inline Decoded decode(std::string_view text, const std::string& file = "t.yaml") {
  Decoded d;
  std::vector<Diagnostic> diags;
  d.ok = decodeText(text, file, &d.resources, &diags);
  d.errors = formatAll(diags);
  return d;
}

// Decodes, then validates the set when decoding succeeded.
inline Decoded decodeAndValidate(std::string_view text, const std::string& file = "t.yaml") {
  Decoded d = decode(text, file);
  if (!d.ok) return d;
  std::vector<Diagnostic> diags;
  d.ok = validate(d.resources, &diags);
  d.errors = formatAll(diags);
  return d;
}

// The resource with every SourceLoc cleared: what it says, not where it was written.
inline Resource withoutLocations(Resource r) {
  r.loc = {};
  r.meta.nameLoc = {};
  if (auto* l = std::get_if<ListenerSpec>(&r.spec)) {
    l->portLoc = {};
    l->workloadLoc = {};
  }
  if (auto* s = std::get_if<ServiceSpec>(&r.spec)) s->identityLoc = {};
  if (auto* m = std::get_if<MeshConfigSpec>(&r.spec)) {
    for (ExtensionProvider& p : m->extensionProviders) {
      p.loc = {};
      p.http.serviceLoc = {};
    }
  }
  if (auto* a = std::get_if<AuthorizationPolicySpec>(&r.spec)) {
    a->providerLoc = {};
    for (PolicyTargetRef& t : a->targetRefs) t.loc = {};
  }
  if (auto* lua = std::get_if<LuaScriptSpec>(&r.spec)) {
    lua->sourceLoc = {};
    for (LuaAttachment& a : lua->attachTo) a.loc = {};
  }
  if (auto* rl = std::get_if<RateLimitSpec>(&r.spec))
    for (RateLimitTargetRef& t : rl->targetRefs) t.loc = {};
  if (auto* e = std::get_if<EgressPolicySpec>(&r.spec)) {
    e->workloadLoc = {};
    for (EgressDestination& d : e->egress) d.loc = {};
  }
  if (auto* route = std::get_if<HttpRouteSpec>(&r.spec)) {
    for (ParentRef& p : route->parentRefs) p.loc = {};
    for (RouteRule& rule : route->rules) {
      for (BackendRef& b : rule.backendRefs) b.loc = {};
      for (RouteFilter& f : rule.filters) f.mirror.backendRef.loc = {};
      for (RouteMatch& m : rule.matches) {
        m.path.loc = {};
        for (NameValueMatch& h : m.headers) h.loc = {};
        for (NameValueMatch& q : m.queryParams) q.loc = {};
      }
    }
  }
  return r;
}

}  // namespace gh::config::testing

namespace Catch {
template <>
struct StringMaker<gh::config::SourceLoc> {
  static std::string convert(const gh::config::SourceLoc& loc) {
    return loc.file + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.column);
  }
};
}  // namespace Catch
