// Configuration endpoints: resources by kind, validate, versions, diff and rollback. Every
// write is core/change's path (the one `gatehouse apply` takes) and is based on the version
// the client read: `version` in the body, 409 when another version is active by then.

#include <algorithm>

#include "core/admin/api_internal.h"
#include "core/base/strings.h"
#include "core/change/change.h"
#include "core/config/decode.h"

namespace gh::admin {
namespace {

using Call = AdminApi::Call;

json::Value versionJson(const store::VersionInfo& v) {
  return json::Value::object()
      .set("id", v.id)
      .set("createdAt", v.createdAtUnixMs)
      .set("author", v.author)
      .set("message", v.message)
      .set("hash", v.hash)
      .set("resources", v.resourceCount);
}

json::Value storedJson(const store::StoredResource& r) {
  return json::Value::object()
      .set("kind", r.kind)
      .set("namespace", r.ns)
      .set("name", r.name)
      .set("document", documentJson(r.body));
}

AdminResponse storeFailure(const Status& s) { return errorReply(500, s.message()); }

// The documents of a request: `yaml` (text, several documents allowed), `document` (one JSON
// object) or `documents` (an array of them). Diagnostics name "request" as their file.
bool decodeBody(const json::Value& body, std::vector<config::Resource>* out,
                std::vector<config::Diagnostic>* diags, std::string* error) {
  if (const json::Value* y = body.find("yaml"); y && y->isString()) {
    config::decodeText(y->asString(), "request", out, diags);
  } else if (const json::Value* d = body.find("document"); d && d->isObject()) {
    config::decodeText(d->dump(), "request", out, diags);
  } else if (const json::Value* ds = body.find("documents"); ds && ds->isArray()) {
    for (const json::Value& d : ds->items()) config::decodeText(d.dump(), "request", out, diags);
  } else {
    *error = "the body needs `yaml` (text), `document` (an object) or `documents` (an array)";
    return false;
  }
  if (out->empty() && diags->empty()) {
    *error = "no resource in the request";
    return false;
  }
  return true;
}

// The base version of a write: required, so that no client overwrites what it never saw.
bool baseVersion(const Call& call, int64_t* base) {
  const json::Value* v = call.body.find("version");
  if (v && v->isNumber()) {
    *base = call.body.getInt("version", -1);
    return *base >= 0;
  }
  int64_t q = call.intParam("version", -1);
  if (q >= 0) {
    *base = q;
    return true;
  }
  return false;
}

AdminResponse conflict(int64_t base, int64_t active) {
  return errorReply(409,
                    "conflict: the change is based on version " + std::to_string(base) +
                        " but version " + std::to_string(active) +
                        " is active; reload and apply the change again",
                    json::Value::object().set("activeVersion", active).set("baseVersion", base));
}

// Validates `set`, diffs it against `before`, and commits it (or, dry run, only says what
// would change). The one write path of the API.
AdminResponse writeSet(Call& call, int64_t base, const std::vector<config::Resource>& before,
                       const std::vector<const config::Resource*>& set, const std::string& action,
                       const std::string& lead) {
  std::vector<config::Diagnostic> diags;
  if (!change::validateSet(set, &diags)) {
    return errorReply(422, lead + ": refused: the configuration would not be valid",
                      json::Value::object().set("diagnostics", diagnosticsJson(diags)));
  }
  std::vector<const config::Resource*> old;
  for (const config::Resource& r : before) old.push_back(&r);
  config::ConfigDiff diff = config::diffResources(old, set);
  if (call.body.getBool("dryRun", false)) {
    return jsonReply(200, json::Value::object()
                              .set("dryRun", true)
                              .set("baseVersion", base)
                              .set("diff", diffJson(diff)));
  }
  change::CommitRequest request;
  request.author = call.who.user;
  request.source = call.source();
  request.message = call.body.getString("message", "admin UI: " + lead);
  request.action = action;
  request.summaryLead = lead;
  request.base = base;
  auto v = change::commitSet(call.store, set, diff, request);
  if (!v.ok()) {
    if (store::isConflict(v.status())) {
      auto active = call.store.activeVersion();
      return conflict(base, active.ok() ? active.value() : -1);
    }
    return storeFailure(v.status());
  }
  return jsonReply(200, json::Value::object()
                            .set("version", v.value())
                            .set("baseVersion", base)
                            .set("changed", v.value() != base)
                            .set("diff", diffJson(diff)));
}

struct Active {
  int64_t version = 0;
  std::vector<config::Resource> resources;
};

// Loads the active version; on failure fills *error.
bool loadActive(Call& call, Active* out, AdminResponse* error) {
  std::vector<config::Diagnostic> diags;
  Status s = change::loadActive(call.store, &out->version, &out->resources, &diags);
  if (!s.ok()) {
    *error = errorReply(500, s.message(),
                        json::Value::object().set("diagnostics", diagnosticsJson(diags)));
    return false;
  }
  return true;
}

bool parseKind(const std::string& text, config::Kind* kind) {
  return config::parseKindName(text, kind);
}

AdminResponse listResources(Call& call) {
  auto active = call.store.activeVersion();
  if (!active.ok()) return storeFailure(active.status());
  std::vector<store::StoredResource> stored;
  if (active.value() != 0) {
    auto s = call.store.loadVersion(active.value());
    if (!s.ok()) return storeFailure(s.status());
    stored = std::move(s.value());
  }
  std::string kindText = call.param("kind"), ns = call.param("namespace");
  config::Kind kind;
  if (!kindText.empty() && !parseKind(kindText, &kind))
    return errorReply(400, "unknown kind " + kindText);
  json::Value items = json::Value::array();
  for (const store::StoredResource& r : stored) {
    if (!kindText.empty() && r.kind != config::kindName(kind)) continue;
    if (!ns.empty() && r.ns != ns) continue;
    items.push(storedJson(r));
  }
  return jsonReply(200, json::Value::object().set("version", active.value()).set("items", items));
}

AdminResponse oneResource(Call& call) {
  const auto& seg = call.segments;
  config::Kind kind;
  if (!parseKind(seg[1], &kind)) return errorReply(400, "unknown kind " + seg[1]);
  const std::string kindName = config::kindName(kind), ns = seg[2], name = seg[3];
  const std::string lead = call.req.method == "DELETE"
                               ? "delete " + kindName + " " + ns + "/" + name
                               : "replace " + kindName + " " + ns + "/" + name;
  Active active;
  AdminResponse error;
  if (!loadActive(call, &active, &error)) return error;
  const config::Resource* current = nullptr;
  for (const config::Resource& r : active.resources)
    if (r.kind == kind && r.meta.ns == ns && r.meta.name == name) current = &r;

  if (call.req.method == "GET" || call.req.method == "HEAD") {
    if (!current) return errorReply(404, kindName + " " + ns + "/" + name + " does not exist");
    return jsonReply(200, json::Value::object()
                              .set("version", active.version)
                              .set("kind", kindName)
                              .set("namespace", ns)
                              .set("name", name)
                              .set("document", documentJson(current->json))
                              .set("yaml", config::toYaml(*current)));
  }
  int64_t base = -1;
  if (!baseVersion(call, &base))
    return errorReply(400, "`version` is required: the version this change is based on");
  if (base != active.version) return conflict(base, active.version);

  if (call.req.method == "DELETE") {
    if (!current) return errorReply(404, kindName + " " + ns + "/" + name + " does not exist");
    std::vector<const config::Resource*> after;
    for (const config::Resource& r : active.resources)
      if (&r != current) after.push_back(&r);
    return writeSet(call, base, active.resources, after, "delete", lead);
  }
  if (call.req.method != "PUT") return errorReply(405, "use GET, PUT or DELETE");
  std::vector<config::Resource> given;
  std::vector<config::Diagnostic> diags;
  std::string why;
  if (!decodeBody(call.body, &given, &diags, &why)) return errorReply(400, why);
  if (!diags.empty())
    return errorReply(422, lead + ": the document is not valid",
                      json::Value::object().set("diagnostics", diagnosticsJson(diags)));
  if (given.size() != 1 || given[0].kind != kind || given[0].meta.ns != ns ||
      given[0].meta.name != name) {
    return errorReply(400, "the body must hold exactly the resource " + kindName + " " + ns + "/" +
                               name + " (rename by creating the new one and deleting the old)");
  }
  return writeSet(call, base, active.resources,
                  change::mergeApply(active.resources, given, false), "apply", lead);
}

AdminResponse createResources(Call& call) {
  Active active;
  AdminResponse error;
  if (!loadActive(call, &active, &error)) return error;
  int64_t base = -1;
  if (!baseVersion(call, &base))
    return errorReply(400, "`version` is required: the version this change is based on");
  if (base != active.version) return conflict(base, active.version);
  std::vector<config::Resource> given;
  std::vector<config::Diagnostic> diags;
  std::string why;
  if (!decodeBody(call.body, &given, &diags, &why)) return errorReply(400, why);
  if (!diags.empty())
    return errorReply(422, "the documents are not valid",
                      json::Value::object().set("diagnostics", diagnosticsJson(diags)));
  std::string lead = "apply";
  for (size_t i = 0; i < given.size() && i < 3; ++i) lead += " " + config::resourceKey(given[i]);
  if (given.size() > 3) lead += " and " + std::to_string(given.size() - 3) + " more";
  return writeSet(call, base, active.resources,
                  change::mergeApply(active.resources, given, call.body.getBool("prune", false)),
                  "apply", lead);
}

// Validates a draft as apply would see it (merged over the active version) without storing
// anything: the editor's live validation and dry-run diff.
AdminResponse validateDraft(Call& call) {
  if (call.req.method != "POST") return errorReply(405, "use POST");
  Active active;
  AdminResponse error;
  if (!loadActive(call, &active, &error)) return error;
  std::vector<config::Resource> given;
  std::vector<config::Diagnostic> diags;
  std::string why;
  if (!decodeBody(call.body, &given, &diags, &why)) return errorReply(400, why);
  json::Value out = json::Value::object();
  out.set("version", active.version);
  if (diags.empty()) {
    auto set = change::mergeApply(active.resources, given, call.body.getBool("prune", false));
    if (change::validateSet(set, &diags)) {
      std::vector<const config::Resource*> old;
      for (const config::Resource& r : active.resources) old.push_back(&r);
      out.set("diff", diffJson(config::diffResources(old, set)));
    }
  }
  out.set("valid", diags.empty());
  out.set("diagnostics", diagnosticsJson(diags));
  return jsonReply(200, out);
}

AdminResponse versions(Call& call) {
  if (call.segments.size() == 2) {
    uint64_t id = 0;
    if (!str::parseU64(call.segments[1], &id)) return errorReply(400, "a version is a number");
    auto info = call.store.versionInfo(static_cast<int64_t>(id));
    if (!info.ok()) return errorReply(404, info.status().message());
    auto stored = call.store.loadVersion(static_cast<int64_t>(id));
    if (!stored.ok()) return storeFailure(stored.status());
    json::Value items = json::Value::array();
    for (const store::StoredResource& r : stored.value()) items.push(storedJson(r));
    return jsonReply(200, versionJson(info.value()).set("items", items));
  }
  int64_t before = call.intParam("before", 0), limit = call.intParam("limit", 50);
  limit = std::clamp<int64_t>(limit, 1, 500);
  auto all = call.store.history(-1);
  if (!all.ok()) return storeFailure(all.status());
  auto runtime = call.store.runtime();
  auto refusals = call.store.refusals();
  json::Value items = json::Value::array();
  int64_t last = 0;
  bool more = false;
  for (const store::VersionInfo& v : all.value()) {
    if (before != 0 && v.id >= before) continue;
    if (static_cast<int64_t>(items.items().size()) == limit) {
      more = true;
      break;
    }
    json::Value j = versionJson(v);
    if (refusals.ok())
      for (const store::Refusal& r : refusals.value())
        if (r.version == v.id) j.set("refused", r.reason);
    items.push(std::move(j));
    last = v.id;
  }
  auto active = call.store.activeVersion();
  json::Value out = json::Value::object();
  out.set("active", active.ok() ? active.value() : 0);
  out.set("running", runtime.ok() ? runtime.value().runningVersion : 0);
  out.set("items", items);
  out.set("next", more ? json::Value(last) : json::Value());
  return jsonReply(200, out);
}

AdminResponse diffVersions(Call& call) {
  int64_t from = call.intParam("from", -1), to = call.intParam("to", -1);
  if (from < 0 || to < 0) return errorReply(400, "diff needs ?from=VERSION&to=VERSION");
  std::vector<config::Resource> a, b;
  std::vector<config::Diagnostic> diags;
  if (Status s = change::loadVersion(call.store, from, &a, &diags); !s.ok())
    return errorReply(404, s.message());
  if (Status s = change::loadVersion(call.store, to, &b, &diags); !s.ok())
    return errorReply(404, s.message());
  config::ConfigDiff diff = config::diffResources(a, b);
  return jsonReply(200,
                   json::Value::object().set("from", from).set("to", to).set("diff", diffJson(diff)));
}

AdminResponse rollback(Call& call) {
  if (call.req.method != "POST") return errorReply(405, "use POST");
  int64_t to = call.body.getInt("to", -1);
  if (to <= 0) return errorReply(400, "`to` (the version to bring back) is required");
  Active active;
  AdminResponse error;
  if (!loadActive(call, &active, &error)) return error;
  int64_t base = -1;
  if (!baseVersion(call, &base))
    return errorReply(400, "`version` is required: the version this change is based on");
  if (base != active.version) return conflict(base, active.version);
  std::vector<config::Resource> old;
  std::vector<config::Diagnostic> diags;
  if (Status s = change::loadVersion(call.store, to, &old, &diags); !s.ok())
    return errorReply(404, s.message());
  std::vector<const config::Resource*> set;
  for (const config::Resource& r : old) set.push_back(&r);
  return writeSet(call, base, active.resources, set, "rollback",
                  "rollback to version " + std::to_string(to));
}

}  // namespace

json::Value documentJson(const std::string& text) {
  json::Value v;
  std::string why;
  if (json::parse(text, &v, &why)) return v;
  return json::Value(text);
}

json::Value diagnosticsJson(const std::vector<config::Diagnostic>& diags) {
  json::Value out = json::Value::array();
  for (const config::Diagnostic& d : diags) {
    // "HTTPRoute default/shop: spec.rules[0].weight: must be ...": the field path is the part
    // between the resource and the reason, when there is one.
    std::string path, message = d.message;
    size_t a = d.message.find(": ");
    if (a != std::string::npos) {
      size_t b = d.message.find(": ", a + 2);
      std::string candidate =
          d.message.substr(a + 2, b == std::string::npos ? std::string::npos : b - a - 2);
      if (b != std::string::npos &&
          (str::startsWith(candidate, "spec") || str::startsWith(candidate, "metadata") ||
           str::startsWith(candidate, "apiVersion") || str::startsWith(candidate, "kind"))) {
        path = candidate;
        message = d.message.substr(b + 2);
      }
    }
    out.push(json::Value::object()
                 .set("file", d.loc.file)
                 .set("line", d.loc.line)
                 .set("column", d.loc.column)
                 .set("path", path)
                 .set("message", message)
                 .set("text", d.format()));
  }
  return out;
}

json::Value diffJson(const config::ConfigDiff& diff) {
  json::Value changes = json::Value::array();
  for (const config::ResourceChange& c : diff.changes) {
    json::Value fields = json::Value::array();
    for (const config::FieldChange& f : c.fields)
      fields.push(
          json::Value::object().set("path", f.path).set("before", f.before).set("after", f.after));
    changes.push(json::Value::object()
                     .set("op", c.op == config::ResourceChange::Op::kCreated   ? "created"
                                : c.op == config::ResourceChange::Op::kDeleted ? "deleted"
                                                                               : "changed")
                     .set("key", c.key)
                     .set("fields", fields));
  }
  return json::Value::object()
      .set("created", static_cast<uint64_t>(diff.created))
      .set("changed", static_cast<uint64_t>(diff.changed))
      .set("deleted", static_cast<uint64_t>(diff.deleted))
      .set("unchanged", static_cast<uint64_t>(diff.unchanged))
      .set("summary", config::formatCounts(diff))
      .set("text", config::formatDiff(diff))
      .set("changes", changes);
}

AdminResponse handleConfig(AdminApi::Call& call) {
  const auto& seg = call.segments;
  const std::string& m = call.req.method;
  if (seg[0] == "kinds") {
    json::Value kinds = json::Value::array();
    for (auto k : {config::Kind::kListener, config::Kind::kHttpRoute, config::Kind::kService,
                   config::Kind::kWorkload, config::Kind::kMeshConfig,
                   config::Kind::kAuthorizationPolicy})
      kinds.push(config::kindName(k));
    return jsonReply(200, json::Value::object().set("kinds", kinds));
  }
  if (seg[0] == "resources") {
    if (seg.size() == 1) {
      if (m == "GET" || m == "HEAD") return listResources(call);
      if (m == "POST") return createResources(call);
      return errorReply(405, "use GET or POST");
    }
    if (seg.size() == 4) return oneResource(call);
    return errorReply(404, "resources are at /api/v1/resources/KIND/NAMESPACE/NAME");
  }
  if (seg[0] == "validate" && seg.size() == 1) return validateDraft(call);
  if (seg[0] == "versions" && seg.size() <= 2) return versions(call);
  if (seg[0] == "diff" && seg.size() == 1) return diffVersions(call);
  if (seg[0] == "rollback" && seg.size() == 1) return rollback(call);
  return errorReply(404, "no such endpoint");
}

}  // namespace gh::admin
