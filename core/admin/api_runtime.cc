// What the running server knows: overview, live stats, topology, certificates, join tokens and
// the authorization explain endpoint.

#include <cstdio>
#include <map>
#include <cstdlib>

#include "core/admin/api_internal.h"
#include "core/base/strings.h"
#include "core/identity/ca.h"
#include "core/identity/encoding.h"
#include "core/identity/token.h"
#include "core/telemetry/live_stats.h"

namespace gh::admin {
namespace {

using Call = AdminApi::Call;

constexpr int64_t kExpiryWarningSeconds = 14 * 86400;

const char* protocolName(config::Protocol p) {
  switch (p) {
    case config::Protocol::kHttp: return "HTTP";
    case config::Protocol::kHttps: return "HTTPS";
    case config::Protocol::kMeshInbound: return "MESH_INBOUND";
    case config::Protocol::kMeshOutbound: return "MESH_OUTBOUND";
  }
  return "?";
}

std::shared_ptr<const config::Snapshot> snapshotOf(const Call& call) {
  return call.ctx.snapshot ? call.ctx.snapshot() : nullptr;
}

std::string fingerprintHex(const uint8_t* fp) {
  return identity::hexEncode(std::string_view(reinterpret_cast<const char*>(fp), 32));
}

json::Value certificateJson(const tls::Certificate& c, int64_t nowS) {
  json::Value names = json::Value::array();
  for (const std::string& n : c.dnsNames()) names.push(n);
  return json::Value::object()
      .set("subject", c.subject())
      .set("dnsNames", names)
      .set("keyType", c.keyType())
      .set("notBefore", c.notBefore())
      .set("notAfter", c.notAfter())
      .set("fingerprint", fingerprintHex(c.fingerprint()))
      .set("serial", c.serialHex())
      .set("expiresInSeconds", c.notAfter() - nowS);
}

// Every certificate this node serves with: its workload identity and the HTTPS listeners'.
json::Value certificatesJson(const Call& call, json::Value* warnings) {
  const int64_t nowS = call.now / 1000;
  json::Value out = json::Value::object();
  const config::NodeIdentity* id = call.ctx.identity ? call.ctx.identity() : nullptr;
  if (id && id->certificate) {
    json::Value j = certificateJson(*id->certificate, nowS);
    j.set("spiffeId", id->spiffeId).set("trustDomain", id->trustDomain);
    if (id->notAfter - nowS < kExpiryWarningSeconds)
      warnings->push("the workload certificate " + id->spiffeId + " expires in " +
                     std::to_string((id->notAfter - nowS) / 3600) + " h");
    out.set("identity", j);
  } else {
    out.set("identity", json::Value());
  }
  json::Value listeners = json::Value::array();
  if (auto snap = snapshotOf(call)) {
    for (const config::CompiledListener& l : snap->listeners) {
      if (l.spec.protocol != config::Protocol::kHttps || !l.tls) continue;
      for (size_t i = 0; i < l.tls->certificateCount(); ++i) {
        const tls::Certificate& c = l.tls->certificate(i);
        json::Value j = certificateJson(c, nowS);
        j.set("listener", l.ns + "/" + l.name);
        if (i < l.spec.tls->certificates.size()) j.set("certFile", l.spec.tls->certificates[i].certFile);
        if (c.notAfter() - nowS < kExpiryWarningSeconds)
          warnings->push("the certificate of listener " + l.ns + "/" + l.name + " (" +
                         c.subject() + ") expires in " +
                         std::to_string((c.notAfter() - nowS) / 86400) + " days");
        listeners.push(std::move(j));
      }
    }
  }
  out.set("listeners", listeners);
  const std::string caDir = call.ctx.dataDir + "/ca";
  if (identity::CertificateAuthority::existsIn(caDir)) {
    auto ca = identity::CertificateAuthority::load(caDir);
    if (ca.ok()) {
      out.set("ca", json::Value::object()
                        .set("trustDomain", (*ca)->trustDomain())
                        .set("fingerprint", (*ca)->fingerprint()));
    } else {
      out.set("ca", json::Value::object().set("error", ca.status().message()));
    }
  } else {
    out.set("ca", json::Value());
  }
  return out;
}

AdminResponse overview(Call& call) {
  json::Value out = json::Value::object();
  auto active = call.store.activeVersion();
  auto runtime = call.store.runtime();
  auto snap = snapshotOf(call);
  out.set("activeVersion", active.ok() ? active.value() : 0);
  out.set("servingVersion", snap ? snap->version : 0);
  if (auto info = call.store.versionInfo(active.ok() ? active.value() : 0); info.ok()) {
    out.set("activeAuthor", info.value().author)
        .set("activeMessage", info.value().message)
        .set("activeAt", info.value().createdAtUnixMs);
  }
  json::Value refused = json::Value::array();
  if (auto r = call.store.refusals(); r.ok())
    for (const store::Refusal& x : r.value())
      refused.push(json::Value::object().set("version", x.version).set("reason", x.reason));
  out.set("refused", refused);
  json::Value listeners = json::Value::array();
  size_t routes = 0, services = 0, policies = 0, workloads = 0;
  if (snap) {
    for (const config::CompiledListener& l : snap->listeners) {
      listeners.push(json::Value::object()
                         .set("namespace", l.ns)
                         .set("name", l.name)
                         .set("address", l.key)
                         .set("protocol", protocolName(l.spec.protocol))
                         .set("state", "listening"));
    }
    for (const config::Resource& r : snap->resources) {
      routes += r.kind == config::Kind::kHttpRoute;
      services += r.kind == config::Kind::kService;
      policies += r.kind == config::Kind::kAuthorizationPolicy;
      workloads += r.kind == config::Kind::kWorkload;
    }
  }
  out.set("listeners", listeners);
  out.set("counts", json::Value::object()
                        .set("routes", static_cast<uint64_t>(routes))
                        .set("services", static_cast<uint64_t>(services))
                        .set("policies", static_cast<uint64_t>(policies))
                        .set("workloads", static_cast<uint64_t>(workloads)));
  json::Value warnings = json::Value::array();
  certificatesJson(call, &warnings);
  out.set("warnings", warnings);
  return jsonReply(200, out);
}

// /metrics as JSON: every sample, labels parsed. The UI turns counters into rates between two
// polls. `latency` is /api/v1/stats/live: per route and Service over the last minute.
AdminResponse stats(Call& call) {
  json::Value series = json::Value::array();
  std::string text = call.ctx.metricsText ? call.ctx.metricsText() : "";
  for (std::string_view line : str::split(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    if (sp == std::string_view::npos) continue;
    std::string_view key = line.substr(0, sp);
    std::string valueText(line.substr(sp + 1));
    json::Value labels = json::Value::object();
    std::string_view name = key;
    size_t brace = key.find('{');
    if (brace != std::string_view::npos && key.back() == '}') {
      name = key.substr(0, brace);
      std::string_view rest = key.substr(brace + 1, key.size() - brace - 2);
      // label="value",label="value" (values as the exposition escapes them; ours hold no
      // quotes or commas).
      for (std::string_view pair : str::split(rest, ',')) {
        size_t eq = pair.find('=');
        if (eq == std::string_view::npos) continue;
        std::string_view v = pair.substr(eq + 1);
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
        labels.set(std::string(pair.substr(0, eq)), std::string(v));
      }
    }
    series.push(json::Value::object()
                    .set("name", std::string(name))
                    .set("labels", labels)
                    .set("value", strtod(valueText.c_str(), nullptr)));
  }
  return jsonReply(200, json::Value::object()
                            .set("at", call.now)
                            .set("series", series)
                            .set("latency", liveStatsJson(call)));
}

// The last minute of one route or Service (from stats/live) as the topology shows it.
json::Value trafficJson(const telemetry::LiveRow& r) {
  json::Value t = json::Value::object();
  t.set("requests", r.requests).set("rps", r.rps).set("errorRate", r.errorRate);
  t.set("p99", r.p99 ? json::Value(*r.p99) : json::Value());
  return t;
}

// Listeners -> routes -> services (and workloads behind mesh listeners), from the serving
// configuration; mTLS marks the edges that the mesh protects. Traffic over the last minute
// (stats/live) is attached where this node measures it: a listener -> route edge carries the
// route's requests on that listener, a Service node and the edges into it carry everything
// sent to that Service (from any route), and a route node its total. A node of the mesh sees
// its own hops only: the graph is this node's view, not the fleet's.
AdminResponse topology(Call& call) {
  json::Value nodes = json::Value::array(), edges = json::Value::array();
  auto snap = snapshotOf(call);
  std::map<std::string, telemetry::LiveRow> byListenerRoute, byService;
  // Summed over listeners (a route node) and over routes (a mesh listener's workload edge).
  std::map<std::string, telemetry::LiveRow> byRoute, byListener;
  auto add = [](telemetry::LiveRow& sum, const telemetry::LiveRow& r) {
    double errors = sum.errorRate * static_cast<double>(sum.requests) +
                    r.errorRate * static_cast<double>(r.requests);
    sum.requests += r.requests;
    sum.rps += r.rps;
    sum.errorRate = sum.requests ? errors / static_cast<double>(sum.requests) : 0;
    if (r.p99 && (!sum.p99 || *r.p99 > *sum.p99)) sum.p99 = r.p99;  // the worse one's
  };
  bool measured = static_cast<bool>(call.ctx.liveStats);
  if (measured) {
    telemetry::LiveView v = call.ctx.liveStats();
    for (telemetry::LiveRow& r : v.routes) {
      add(byRoute[r.route], r);
      add(byListener[r.listener], r);
      byListenerRoute[r.listener + "|" + r.route] = std::move(r);
    }
    for (telemetry::LiveRow& r : v.services) byService[r.service] = std::move(r);
  }
  auto traffic = [](const std::map<std::string, telemetry::LiveRow>& m, const std::string& key) {
    auto it = m.find(key);
    return it == m.end() ? json::Value() : trafficJson(it->second);
  };
  if (snap) {
    auto id = [](const char* kind, const config::Resource& r) {
      return std::string(kind) + "/" + r.meta.ns + "/" + r.meta.name;
    };
    for (const config::Resource& r : snap->resources) {
      json::Value n = json::Value::object();
      n.set("id", id(config::kindName(r.kind), r))
          .set("kind", config::kindName(r.kind))
          .set("namespace", r.meta.ns)
          .set("name", r.meta.name);
      switch (r.kind) {
        case config::Kind::kListener:
          n.set("protocol", protocolName(r.listener().protocol))
              .set("port", static_cast<int>(r.listener().port));
          if (r.listener().protocol == config::Protocol::kMeshInbound) {
            std::string w = r.listener().workload;
            for (const config::Resource& o : snap->resources)
              if (o.kind == config::Kind::kWorkload && o.meta.ns == r.meta.ns &&
                  (w.empty() || o.meta.name == w))
                edges.push(json::Value::object()
                               .set("from", id("Listener", r))
                               .set("to", id("Workload", o))
                               .set("mtls", true)
                               .set("traffic",
                                    traffic(byListener, r.meta.ns + "/" + r.meta.name)));
          }
          break;
        case config::Kind::kHttpRoute: {
          const std::string routeKey = r.meta.ns + "/" + r.meta.name;
          for (const config::ParentRef& p : r.route().parentRefs) {
            std::string listenerKey = (p.ns.empty() ? r.meta.ns : p.ns) + "/" + p.name;
            edges.push(json::Value::object()
                           .set("from", "Listener/" + listenerKey)
                           .set("to", id("HTTPRoute", r))
                           .set("mtls", false)
                           .set("traffic", traffic(byListenerRoute, listenerKey + "|" + routeKey)));
          }
          for (const config::RouteRule& rule : r.route().rules)
            for (const config::BackendRef& b : rule.backendRefs) {
              std::string serviceKey = (b.ns.empty() ? r.meta.ns : b.ns) + "/" + b.name;
              std::string to = "Service/" + serviceKey;
              bool mesh = false;
              for (const config::Resource& o : snap->resources)
                if (o.kind == config::Kind::kService && id("Service", o) == to)
                  mesh = o.service().mesh;
              edges.push(json::Value::object()
                             .set("from", id("HTTPRoute", r))
                             .set("to", to)
                             .set("weight", static_cast<uint64_t>(b.weight))
                             .set("mtls", mesh)
                             .set("traffic", traffic(byService, serviceKey)));
            }
          n.set("traffic", traffic(byRoute, routeKey));
          break;
        }
        case config::Kind::kService:
          n.set("mesh", r.service().mesh)
              .set("endpoints", static_cast<uint64_t>(r.service().endpoints.size()))
              .set("direct", r.service().directResponse.has_value())
              .set("traffic", traffic(byService, r.meta.ns + "/" + r.meta.name));
          break;
        default: break;
      }
      if (r.kind == config::Kind::kListener || r.kind == config::Kind::kHttpRoute ||
          r.kind == config::Kind::kService || r.kind == config::Kind::kWorkload)
        nodes.push(std::move(n));
    }
  }
  return jsonReply(200, json::Value::object()
                            .set("version", snap ? snap->version : 0)
                            .set("nodes", nodes)
                            .set("edges", edges)
                            .set("measured", measured)
                            .set("windowSeconds", 60));
}

AdminResponse joinTokens(Call& call) {
  const std::string caDir = call.ctx.dataDir + "/ca";
  if (!identity::CertificateAuthority::existsIn(caDir))
    return errorReply(404, "this node holds no mesh CA (gatehouse ca init creates one)");
  identity::TokenStore tokens(caDir);
  if (call.req.method == "GET" || call.req.method == "HEAD") {
    auto list = tokens.list();
    if (!list.ok()) return errorReply(500, list.status().message());
    json::Value items = json::Value::array();
    for (const auto& r : list.value())
      items.push(json::Value::object()
                     .set("id", r.id)
                     .set("spiffeId", r.spiffeId)
                     .set("createdAt", r.createdAt)
                     .set("expiresAt", r.expiresAt)
                     .set("usedAt", r.usedAt));
    return jsonReply(200, json::Value::object().set("items", items));
  }
  if (call.req.method != "POST") return errorReply(405, "use GET or POST");
  std::string workload = call.body.getString("workload");
  std::string ns = call.body.getString("namespace", "default");
  std::string ttlText = call.body.getString("ttl", "1h");
  uint64_t ttlMs = 0;
  if (workload.empty()) return errorReply(400, "`workload` is required");
  if (!str::parseDuration(ttlText, &ttlMs) || ttlMs < 1000 ||
      ttlMs > static_cast<uint64_t>(identity::JoinToken::kMaxTtlSeconds) * 1000)
    return errorReply(400, "`ttl` must be a duration from 1s to 168h");
  auto ca = identity::CertificateAuthority::load(caDir);
  if (!ca.ok()) return errorReply(500, ca.status().message());
  auto sid = identity::SpiffeId::forWorkload((*ca)->trustDomain(), ns, workload);
  if (!sid.ok()) return errorReply(400, sid.status().message());
  auto token = tokens.create(**ca, *sid, static_cast<int64_t>(ttlMs / 1000), call.now / 1000);
  if (!token.ok()) return errorReply(500, token.status().message());
  store::AuditEntry entry;
  entry.actor = call.who.user;
  entry.source = call.source();
  entry.action = "join-token";
  auto active = call.store.activeVersion();
  entry.versionBefore = entry.versionAfter = active.ok() ? active.value() : 0;
  entry.summary = "created join token " + token->id + " for " + sid->uri();
  call.store.appendAudit(entry);
  return jsonReply(200, json::Value::object()
                            .set("token", token->format())
                            .set("id", token->id)
                            .set("spiffeId", sid->uri())
                            .set("expiresAt", token->expiresAt)
                            .set("caFingerprint", token->caFingerprint));
}

}  // namespace

AdminResponse handleRuntime(AdminApi::Call& call) {
  const auto& seg = call.segments;
  const std::string& m = call.req.method;
  bool get = m == "GET" || m == "HEAD";
  if (seg.size() == 1 && seg[0] == "overview" && get) return overview(call);
  if (seg.size() == 1 && seg[0] == "stats" && get) return stats(call);
  if ((seg.size() == 2 && seg[0] == "stats" && seg[1] == "live") ||
      (seg.size() == 1 && (seg[0] == "config_dump" || seg[0] == "clusters")))
    return handleObservability(call);
  if (seg.size() == 1 && seg[0] == "topology" && get) return topology(call);
  if (seg.size() == 1 && (seg[0] == "certificates" || seg[0] == "certs") && get) {
    json::Value warnings = json::Value::array();
    json::Value out = certificatesJson(call, &warnings);
    out.set("warnings", warnings);
    return jsonReply(200, out);
  }
  if (seg.size() == 1 && seg[0] == "join-tokens") return joinTokens(call);
  if (seg.size() == 2 && seg[0] == "authz" && seg[1] == "explain") {
    if (m != "POST") return errorReply(405, "use POST");
    return handleExplain(call);
  }
  return errorReply(404, "no such endpoint");
}

}  // namespace gh::admin
