// ExchangeMetrics (telemetry/exchange_metrics.h): label values resolved once per compiled
// snapshot, and one exchange recorded into Istio's families and the gatehouse_* ones.

#include "core/telemetry/exchange_metrics.h"

#include <catch2/catch.hpp>

#include "core/config/snapshot.h"
#include "tests/unit/config/config_test_util.h"

using namespace gh;
using namespace gh::telemetry;

namespace {

constexpr const char* kConfig = R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: edge}
spec: {address: 127.0.0.1, port: 18080, protocol: HTTP}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: app, namespace: shop}
spec: {endpoints: [{address: 127.0.0.1, port: 18081}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cart}
spec:
  parentRefs: [{name: edge}]
  rules: [{backendRefs: [{name: app, namespace: shop}]}]
)";

std::string labelsOf(const MetricsRegistry& reg, FamilyId f, const LabelKey& k) {
  std::string out;
  const auto& fam = reg.family(f);
  for (size_t i = 0; i < fam.labels.size(); ++i)
    out += fam.labels[i] + "=" + std::string(reg.value(k.v[i])) + ";";
  return out;
}

}  // namespace

TEST_CASE("ExchangeMetrics: labels per snapshot, one record per exchange", "[telemetry]") {
  auto d = config::testing::decodeAndValidate(kConfig);
  INFO((d.errors.empty() ? "" : d.errors.front()));
  REQUIRE(d.ok);
  MetricsRegistry reg;
  ExchangeMetrics m(reg);
  auto snap = config::compile(1, std::move(d.resources), nullptr, {},
                              [&](const config::Snapshot& s) { return m.labelsFor(s); });
  REQUIRE(snap.ok());
  const config::Snapshot& s = *snap.value();
  REQUIRE(s.telemetry);
  const SnapshotLabels& l = *s.telemetry;
  REQUIRE(l.listeners.size() == 1);
  CHECK(reg.value(l.listeners[0].name) == "default/edge");
  CHECK(l.listeners[0].sourceReporter);  // an edge listener reports as Istio's gateways do
  REQUIRE(l.routes.size() == 1);
  const route::Rule* rule = l.routes.begin()->first;
  CHECK(reg.value(l.routes.begin()->second) == "default/cart");
  CHECK(reg.value(l.routeService.at(l.routes.begin()->second)) == "shop/app");

  auto w = reg.makeWorker();
  ExchangeRecord r;
  r.listener = 0;
  r.rule = rule;
  r.service = 0;
  r.peer = m.peerIds(l, "spiffe://td/ns/x/sa/unknown-to-the-config");
  r.status = 503;
  r.flag = ResponseFlag::kUpstreamConnectionFailure;
  r.durationMs = 2;
  r.upstreamMs = 1;
  r.requestBytes = 100;
  r.responseBytes = 50;
  m.record(*w, l, r);
  m.record(*w, l, r);

  auto istio = reg.readAll(m.istio().requestsTotal());
  REQUIRE(istio.size() == 1);
  CHECK(istio[0].second.value == 2);
  CHECK(labelsOf(reg, m.istio().requestsTotal(), istio[0].first) ==
        "reporter=source;source_principal=unknown;source_workload=unknown;"
        "source_workload_namespace=unknown;destination_principal=unknown;"
        "destination_workload=unknown;destination_workload_namespace=unknown;"
        "destination_service=app.shop;request_protocol=http;response_code=503;"
        "response_flags=UF;connection_security_policy=none;");
  auto routes = reg.readAll(m.requests());
  REQUIRE(routes.size() == 1);
  CHECK(labelsOf(reg, m.requests(), routes[0].first) ==
        "listener=default/edge;route=default/cart;code_class=5xx;");
  auto dur = reg.readAll(m.serviceDuration());
  REQUIRE(dur.size() == 1);
  CHECK(dur[0].second.count == 2);
  CHECK(dur[0].second.sum == Approx(0.002));  // seconds
  reg.forgetWorker(w.get());
}
