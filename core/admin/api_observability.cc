// The observability endpoints of the admin API (spec/observability.md "Admin endpoints"):
// the serving snapshot as JSON (config_dump), services and endpoints (clusters), and the last
// minute of traffic per route and Service (stats/live, which the UI's overview charts).

#include "core/admin/api_internal.h"
#include "core/telemetry/live_stats.h"
#include "core/upstream/health.h"

namespace gh::admin {
namespace {

using Call = AdminApi::Call;

json::Value optionalMs(const std::optional<double>& v) {
  return v ? json::Value(*v) : json::Value();
}

json::Value rowJson(const telemetry::LiveRow& r, bool route) {
  json::Value j = json::Value::object();
  if (route) j.set("route", r.route).set("listener", r.listener);
  j.set("service", r.service)
      .set("requests", r.requests)
      .set("rps", r.rps)
      .set("errorRate", r.errorRate)
      .set("p50", optionalMs(r.p50))
      .set("p95", optionalMs(r.p95))
      .set("p99", optionalMs(r.p99));
  return j;
}

}  // namespace

json::Value liveStatsJson(const Call& call) {
  json::Value routes = json::Value::array(), services = json::Value::array();
  json::Value out = json::Value::object();
  out.set("at", call.now).set("windowSeconds", 60);
  if (call.ctx.liveStats) {
    telemetry::LiveView v = call.ctx.liveStats();
    out.set("windowSeconds", v.windowSeconds).set("coveredSeconds", v.coveredSeconds);
    for (const telemetry::LiveRow& r : v.routes) routes.push(rowJson(r, true));
    for (const telemetry::LiveRow& r : v.services) services.push(rowJson(r, false));
  }
  out.set("routes", routes).set("services", services);
  return out;
}

AdminResponse handleObservability(Call& call) {
  const auto& seg = call.segments;
  const std::string& m = call.req.method;
  if (m != "GET" && m != "HEAD") return errorReply(405, "use GET");
  auto snap = call.ctx.snapshot ? call.ctx.snapshot() : nullptr;

  if (seg.size() == 2 && seg[0] == "stats" && seg[1] == "live")
    return jsonReply(200, liveStatsJson(call));

  if (seg.size() == 1 && seg[0] == "config_dump") {
    // The serving version as it was compiled: every resource's canonical document, in order.
    json::Value resources = json::Value::array();
    if (snap)
      for (const config::Resource& r : snap->resources) resources.push(documentJson(r.json));
    return jsonReply(200, json::Value::object()
                              .set("version", snap ? snap->version : 0)
                              .set("resources", resources));
  }

  if (seg.size() == 1 && seg[0] == "clusters") {
    // Services as the workers route to them. Health: with spec.healthCheck, what the node's
    // prober last decided per endpoint (healthy, unhealthy; an endpoint not yet probed counts as
    // healthy, as the balancer treats it), else "unchecked". Outlier detection ejects per
    // worker (each judges what it sees), so there is no single ejected set to show: the policy
    // is shown, and gatehouse_upstream_outlier_ejections_total counts ejections.
    json::Value services = json::Value::array();
    std::map<std::string, telemetry::LiveRow> live;
    if (call.ctx.liveStats)
      for (telemetry::LiveRow& r : call.ctx.liveStats().services) live[r.service] = std::move(r);
    if (snap) {
      for (const upstream::Service& s : snap->services) {
        json::Value eps = json::Value::array();
        for (size_t i = 0; i < s.endpoints.size(); ++i) {
          const upstream::Endpoint& e = s.endpoints[i];
          const char* health = "unchecked";
          if (s.health && i < s.health->size())
            health = s.health->routable(i) ? "healthy" : "unhealthy";
          eps.push(json::Value::object()
                       .set("address", e.label)
                       .set("weight", static_cast<uint64_t>(e.weight))
                       .set("health", health)
                       .set("hostname",
                            e.hostname.empty() ? json::Value() : json::Value(e.hostname)));
        }
        // Endpoints given as DNS names ("name:port"), answered or not: a name without an
        // answer yet has no entry in `endpoints`.
        json::Value names = json::Value::array();
        for (const std::string& n : s.dnsNames) names.push(json::Value(n));
        json::Value j = json::Value::object();
        j.set("name", s.label)
            .set("mesh", s.mesh)
            .set("identity", s.identity)
            .set("direct", s.directResponse.has_value())
            .set("connectTimeoutMs", s.connectTimeoutMs)
            .set("endpoints", eps)
            .set("dnsNames", names)
            .set("healthCheck", s.health ? json::Value::object().set("path", s.healthPath)
                                         : json::Value());
        if (s.outlier.enabled()) {
          j.set("outlierDetection",
                json::Value::object()
                    .set("consecutive5xxErrors", static_cast<uint64_t>(s.outlier.consecutive5xxErrors))
                    .set("consecutiveGatewayErrors",
                         static_cast<uint64_t>(s.outlier.consecutiveGatewayErrors))
                    .set("baseEjectionTimeMs", s.outlier.baseEjectionTimeMs)
                    .set("maxEjectionPercent", static_cast<uint64_t>(s.outlier.maxEjectionPercent))
                    .set("ejection", "per worker"));
        } else {
          j.set("outlierDetection", json::Value());
        }
        auto it = live.find(s.label);
        if (it != live.end()) j.set("lastMinute", rowJson(it->second, false));
        services.push(j);
      }
    }
    return jsonReply(200, json::Value::object()
                              .set("version", snap ? snap->version : 0)
                              .set("services", services));
  }
  return errorReply(404, "no such endpoint");
}

}  // namespace gh::admin
