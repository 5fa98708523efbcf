// POST /api/v1/authz/explain: the authorization engine's decision for one request, and why —
// against the active configuration, or (with `yaml`/`document(s)` in the body) against the
// active configuration with those drafts applied, which is the Policies screen's "test a
// request" before saving. The engine is core/policy's, the one the data path runs.

#include "core/admin/api_internal.h"
#include "core/change/change.h"
#include "core/config/decode.h"
#include "core/config/ip_block.h"
#include "core/policy/authz.h"

namespace gh::admin {

AdminResponse handleExplain(AdminApi::Call& call) {
  const json::Value& b = call.body;
  std::vector<config::Resource> active, given;
  std::vector<config::Diagnostic> diags;
  int64_t version = 0;
  if (Status s = change::loadActive(call.store, &version, &active, &diags); !s.ok())
    return errorReply(500, s.message());
  if (b.find("yaml") || b.find("document") || b.find("documents")) {
    if (const json::Value* y = b.find("yaml"); y && y->isString()) {
      config::decodeText(y->asString(), "request", &given, &diags);
    } else if (const json::Value* d = b.find("document"); d && d->isObject()) {
      config::decodeText(d->dump(), "request", &given, &diags);
    } else if (const json::Value* ds = b.find("documents"); ds && ds->isArray()) {
      for (const json::Value& d : ds->items()) config::decodeText(d.dump(), "request", &given, &diags);
    }
    if (!diags.empty())
      return errorReply(422, "the draft is not valid",
                        json::Value::object().set("diagnostics", diagnosticsJson(diags)));
  }
  auto set = change::mergeApply(active, given, false);
  auto index = policy::PolicyIndex::compile(set);
  if (!index.ok()) return errorReply(422, index.status().message());

  // The target: a Workload (mesh inbound) or an edge Listener; by default the only Workload,
  // else the first edge Listener.
  std::string kind = b.getString("targetKind"), ns = b.getString("namespace", "default"),
              name = b.getString("target");
  if (name.empty()) {
    for (const config::Resource* r : set)
      if (r->kind == config::Kind::kWorkload && kind != "Listener") {
        kind = "Workload", ns = r->meta.ns, name = r->meta.name;
        break;
      }
    if (name.empty())
      for (const config::Resource* r : set)
        if (r->kind == config::Kind::kListener &&
            (r->listener().protocol == config::Protocol::kHttp ||
             r->listener().protocol == config::Protocol::kHttps)) {
          kind = "Listener", ns = r->meta.ns, name = r->meta.name;
          break;
        }
  }
  if (name.empty()) return errorReply(400, "no Workload or edge Listener to evaluate for");
  const policy::TargetPolicies* target = kind == "Workload"
                                             ? (*index)->forWorkload(ns, name)
                                             : (*index)->forListener(ns, name);
  if (!target) return errorReply(404, kind + " " + ns + "/" + name + " is not a target");

  std::string method = b.getString("method", "GET"), path = b.getString("path", "/"),
              host = b.getString("host"), principal = b.getString("principal"),
              sni = b.getString("sni");
  std::vector<std::pair<std::string, std::string>> headerStore;
  if (const json::Value* h = b.find("headers"); h && h->isObject())
    for (const auto& [k, v] : h->members())
      if (v.isString()) headerStore.emplace_back(k, v.asString());
  std::vector<http::Header> headers;
  for (const auto& [k, v] : headerStore) headers.push_back({k, v});
  policy::Request req;
  req.principal = principal;
  req.method = method;
  req.path = path;
  req.host = host;
  req.sni = sni;
  req.port = static_cast<uint16_t>(b.getInt("port", 0));
  req.headers = headers;
  config::IpAddress ip;
  if (std::string s = b.getString("sourceIp"); !s.empty()) {
    if (!config::parseIpAddress(s, &ip)) return errorReply(400, "sourceIp: not an IP address");
    req.sourceIp = ip;
  }
  policy::Decision d = target->evaluate(req);
  json::Value applied = json::Value::array();
  for (const policy::PolicyRef* p : target->policies()) applied.push(p->label());
  json::Value out = json::Value::object();
  out.set("version", version)
      .set("draft", !given.empty())
      .set("target", kind + " " + ns + "/" + name)
      .set("allow", d.allow)
      .set("by", policy::byName(d.by))
      .set("policy", d.policy ? json::Value(d.policy->label()) : json::Value())
      .set("rule", d.rule)
      .set("explain", policy::explain(d))
      .set("policies", applied);
  return jsonReply(200, out);
}

}  // namespace gh::admin
