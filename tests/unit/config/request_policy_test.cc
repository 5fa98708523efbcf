// RateLimit, EgressPolicy and rules[].fault: what decodes to what, what is refused (with its
// position), canonical JSON round trips, validation of references, and what compile() attaches
// to listeners (docs/traffic.md).

#include <catch2/catch.hpp>

#include "core/config/snapshot.h"
#include "core/http/request_policy.h"
#include "tests/unit/config/config_test_util.h"

using namespace gh::config;
using namespace gh::config::testing;
using Errors = std::vector<std::string>;

namespace {

void roundTrips(const Decoded& d) {
  for (const Resource& r : d.resources) {
    Decoded again = decode(r.json, "json");
    REQUIRE(again.ok);
    CHECK(withoutLocations(again.resources[0]).spec == withoutLocations(r).spec);
    // A Resource built in code (no JSON) encodes to the same thing too.
    Resource bare = r;
    bare.json.clear();
    Decoded encoded = decode(canonicalJson(bare), "json");
    REQUIRE(encoded.ok);
    CHECK(withoutLocations(encoded.resources[0]).spec == withoutLocations(r).spec);
  }
}

const char* kBase = R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: edge}
spec: {port: 8080}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: app}
spec: {endpoints: [{address: 127.0.0.1, port: 9000}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop}
spec:
  parentRefs: [{name: edge}]
  rules: [{backendRefs: [{name: app}]}]
---
)";

}  // namespace

TEST_CASE("RateLimit decodes targets, limit, key and size", "[config][traffic]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: RateLimit
metadata: {name: per-client}
spec:
  targetRefs: [{kind: HTTPRoute, name: shop}, {group: gatehouse.dev, kind: Listener, name: edge}]
  limit: {requests: 50, per: 1s, burst: 10}
  key: {type: Header, name: X-Api-Key}
  maxKeys: 1000
---
apiVersion: gatehouse.dev/v1
kind: RateLimit
metadata: {name: whole}
spec:
  targetRefs: [{kind: Listener, name: edge}]
  limit: {requests: 600, per: 1m}
)");
  REQUIRE(d.errors == Errors{});
  const RateLimitSpec& r = d.resources[0].rateLimit();
  REQUIRE(r.targetRefs.size() == 2);
  CHECK(r.targetRefs[0].kind == RateLimitTargetRef::Kind::kHttpRoute);
  CHECK(r.targetRefs[1].kind == RateLimitTargetRef::Kind::kListener);
  CHECK(r.limit == RateLimitValue{50, 1000, 10});
  CHECK(r.key == RateLimitKeyType::kHeader);
  CHECK(r.header == "x-api-key");
  CHECK(r.maxKeys == 1000);
  const RateLimitSpec& w = d.resources[1].rateLimit();
  CHECK(w.key == RateLimitKeyType::kNone);
  CHECK(w.limit == RateLimitValue{600, 60'000, 0});
  CHECK(w.maxKeys == 10'000);
  roundTrips(d);
}

TEST_CASE("RateLimit refuses what it cannot enforce, with positions", "[config][traffic]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: RateLimit
metadata: {name: bad}
spec:
  targetRefs: [{kind: Gateway, name: edge}, {kind: HTTPRoute, name: shop, namespace: other}]
  limit: {requests: 0, per: 1x}
  key: {type: ClientIP, name: x-forwarded-for}
  maxKeys: 4
)");
  CHECK(d.errors ==
        Errors{
            "t.yaml:5:23: RateLimit default/bad: spec.targetRefs[0].kind: must be one of "
            "Listener or HTTPRoute",
            "t.yaml:5:86: RateLimit default/bad: spec.targetRefs[1].namespace: must be the "
            "RateLimit's own namespace (\"default\")",
            "t.yaml:6:21: RateLimit default/bad: spec.limit.requests: must be between 1 and "
            "1000000000",
            "t.yaml:6:29: RateLimit default/bad: spec.limit.per: must be a duration such as "
            "\"10s\", \"250ms\" or \"1m30s\"",
            "t.yaml:7:31: RateLimit default/bad: spec.key.name: is only for type Header",
            "t.yaml:8:12: RateLimit default/bad: spec.maxKeys: must be between 8 and 1048576",
        });
  auto h = decode(R"(apiVersion: gatehouse.dev/v1
kind: RateLimit
metadata: {name: h}
spec: {targetRefs: [{kind: Listener, name: edge}], limit: {requests: 1, per: 1s}, key: {type: Header}}
)");
  CHECK(h.errors == Errors{"t.yaml:4:88: RateLimit default/h: spec.key.name: is required when "
                           "type is Header"});
}

TEST_CASE("RateLimit targets must exist", "[config][traffic]") {
  auto d = decodeAndValidate(std::string(kBase) + R"(apiVersion: gatehouse.dev/v1
kind: RateLimit
metadata: {name: rl}
spec:
  targetRefs: [{kind: HTTPRoute, name: shop}, {kind: HTTPRoute, name: gone}, {kind: Listener, name: nope}]
  limit: {requests: 1, per: 1s}
)");
  CHECK(d.errors == Errors{
                        "t.yaml:22:47: RateLimit default/rl: spec.targetRefs[1]: HTTPRoute "
                        "default/gone does not exist",
                        "t.yaml:22:78: RateLimit default/rl: spec.targetRefs[2]: Listener "
                        "default/nope does not exist",
                    });
}

TEST_CASE("EgressPolicy decodes workload, selector and destinations", "[config][traffic]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: EgressPolicy
metadata: {name: front, namespace: shop}
spec:
  workload: frontend
  egress:
    - {service: orders}
    - {service: payments, namespace: pay, rateLimit: {requests: 10, per: 1s}}
    - {host: "*.Example.com"}
---
apiVersion: gatehouse.dev/v1
kind: EgressPolicy
metadata: {name: none}
spec: {selector: {matchLabels: {app: batch}}, egress: []}
)");
  REQUIRE(d.errors == Errors{});
  const EgressPolicySpec& e = d.resources[0].egressPolicy();
  CHECK(e.workload == "frontend");
  REQUIRE(e.egress.size() == 3);
  CHECK(e.egress[0].service == "orders");
  CHECK(e.egress[0].serviceNs == "shop");
  CHECK(e.egress[1].serviceNs == "pay");
  CHECK(e.egress[1].rateLimit == RateLimitValue{10, 1000, 0});
  CHECK(e.egress[2].host == "*.example.com");
  const EgressPolicySpec& n = d.resources[1].egressPolicy();
  CHECK(n.hasSelector);
  CHECK(n.matchLabels.at("app") == "batch");
  CHECK(n.egress.empty());
  roundTrips(d);

  auto bad = decode(R"(apiVersion: gatehouse.dev/v1
kind: EgressPolicy
metadata: {name: bad}
spec:
  workload: w
  selector: {}
  egress:
    - {service: a, host: a.example.com}
    - {rateLimit: {requests: 1, per: 1s}}
    - {host: "a.*.com"}
    - {host: a.example.com}
)");
  CHECK(bad.errors ==
        Errors{
            "t.yaml:6:13: EgressPolicy default/bad: spec.selector: cannot be combined with "
            "workload",
            "t.yaml:8:26: EgressPolicy default/bad: spec.egress[0].host: cannot be combined with "
            "service: one destination each",
            "t.yaml:9:7: EgressPolicy default/bad: spec.egress[1]: must have a service or a host",
            "t.yaml:10:14: EgressPolicy default/bad: spec.egress[2].host: may contain '*' only "
            "as the whole first label, as in *.example.com",
            "t.yaml:11:7: EgressPolicy default/bad: spec.egress[3]: duplicate destination "
            "host a.example.com",
        });
}

TEST_CASE("EgressPolicy references, and whose outbound listener it is", "[config][traffic]") {
  std::string mesh = R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: orders}
spec: {endpoints: [{address: 127.0.0.1, port: 9000}]}
---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: a, labels: {app: a}}
spec: {serviceAccount: a, port: 8080}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: out}
spec: {address: 127.0.0.1, port: 15001, protocol: MESH_OUTBOUND}
---
apiVersion: gatehouse.dev/v1
kind: EgressPolicy
metadata: {name: e}
spec: {workload: a, egress: [{service: orders}, {service: nope}]}
)";
  auto d = decodeAndValidate(mesh);
  CHECK(d.errors == Errors{"t.yaml:19:49: EgressPolicy default/e: spec.egress[1]: Service "
                           "default/nope does not exist"});
  // A second Workload makes the outbound listener's owner ambiguous.
  auto two = decodeAndValidate(mesh.substr(0, mesh.rfind("---")) + R"(---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: b}
spec: {serviceAccount: b, port: 8081}
---
apiVersion: gatehouse.dev/v1
kind: EgressPolicy
metadata: {name: e}
spec: {workload: ghost, egress: []}
)");
  CHECK(two.errors ==
        Errors{
            "t.yaml:24:18: EgressPolicy default/e: spec.workload: Workload default/ghost does not "
            "exist",
            "t.yaml:14:7: Listener default/out: spec.workload: there are 2 Workloads and "
            "EgressPolicies: name the Workload whose app sends through this listener with "
            "spec.workload",
        });
}

TEST_CASE("rules[].fault decodes Istio's spelling", "[config][traffic]") {
  auto d = decode(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  rules:
    - fault:
        delay: {percentage: {value: 12.5}, fixedDelay: 200ms}
        abort: {percentage: {value: 0.1}, httpStatus: 503}
      backendRefs: [{name: app}]
    - fault: {abort: {percentage: {value: 100}, httpStatus: 418}}
)");
  REQUIRE(d.errors == Errors{});
  const auto& f = *d.resources[0].route().rules[0].fault;
  CHECK(f == FaultInjection{125'000, 200, 1'000, 503});
  CHECK(*d.resources[0].route().rules[1].fault == FaultInjection{0, 0, 1'000'000, 418});
  roundTrips(d);

  auto bad = decode(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  rules:
    - fault: {delay: {percentage: {value: 101}}, abort: {percentage: {value: x}, httpStatus: 99}}
    - fault: {}
)");
  CHECK(bad.errors ==
        Errors{
            "t.yaml:6:22: HTTPRoute default/r: spec.rules[0].fault.delay.fixedDelay: is required",
            "t.yaml:6:43: HTTPRoute default/r: spec.rules[0].fault.delay.percentage.value: must "
            "be a number from 0 to 100",
            "t.yaml:6:78: HTTPRoute default/r: spec.rules[0].fault.abort.percentage.value: must "
            "be a number from 0 to 100",
            "t.yaml:6:94: HTTPRoute default/r: spec.rules[0].fault.abort.httpStatus: must be "
            "between 200 and 599",
            "t.yaml:7:14: HTTPRoute default/r: spec.rules[1].fault: must have delay, abort or "
            "both",
        });
}

TEST_CASE("compile attaches rate limits and egress to listeners", "[config][traffic]") {
  auto d = decodeAndValidate(std::string(kBase) + R"(apiVersion: gatehouse.dev/v1
kind: RateLimit
metadata: {name: l}
spec: {targetRefs: [{kind: Listener, name: edge}], limit: {requests: 5, per: 1s}}
---
apiVersion: gatehouse.dev/v1
kind: RateLimit
metadata: {name: r}
spec: {targetRefs: [{kind: HTTPRoute, name: shop}], limit: {requests: 5, per: 1s}, key: {type: ClientIP}}
)");
  REQUIRE(d.errors == Errors{});
  auto snap = compile(1, d.resources);
  REQUIRE(snap.ok());
  const CompiledListener& l = snap.value()->listeners.at(0);
  REQUIRE(l.rateLimits.size() == 1);
  CHECK(l.rateLimits[0]->label == "default/l");
  REQUIRE(l.routeRateLimits.size() == 1);
  CHECK(l.routeRateLimits[0].name == "shop");
  CHECK(l.routeRateLimits[0].limits[0]->key == RateLimitKeyType::kClientIp);
  CHECK_FALSE(l.egress);
  // The same limit in the next version keeps its buckets; a changed one starts afresh.
  auto again = compile(2, d.resources);
  REQUIRE(again.ok());
  CHECK(again.value()->listeners[0].rateLimits[0]->table == l.rateLimits[0]->table);
}

TEST_CASE("egress: hosts first, then the Service; wildcards need a label", "[config][traffic]") {
  CompiledEgress e;
  e.entries.resize(3);
  e.serviceEntry = {-1, 2, -1};
  e.hosts.push_back({"api.example.com", false, 0});
  e.hosts.push_back({".example.org", true, 1});
  CHECK(e.allow(0, "api.example.com") == 0);
  CHECK(e.allow(0, "x.example.org") == 1);
  CHECK(e.allow(0, "example.org") == -1);
  CHECK(e.allow(1, "orders") == 2);
  CHECK(e.allow(2, "orders") == -1);
  CHECK(e.allow(7, "x") == -1);
}

TEST_CASE("rate-limit keys and the trusted X-Forwarded-For entry", "[http][traffic]") {
  using gh::http::Header;
  std::vector<Header> headers{{"X-Api-Key", "k1"}, {"X-Forwarded-For", "1.1.1.1, 2.2.2.2"},
                              {"x-forwarded-for", "3.3.3.3"}};
  CHECK(gh::http::trustedForwardedFor(headers, 0).empty());
  CHECK(gh::http::trustedForwardedFor(headers, 1) == "3.3.3.3");
  CHECK(gh::http::trustedForwardedFor(headers, 2) == "2.2.2.2");
  CHECK(gh::http::trustedForwardedFor(headers, 3) == "1.1.1.1");
  CHECK(gh::http::trustedForwardedFor(headers, 4).empty());

  CompiledRateLimit limit;
  gh::http::RateLimitRequest rq{"", "9.9.9.9", &headers};
  CHECK(gh::http::rateLimitKey(limit, rq).empty());
  limit.key = RateLimitKeyType::kClientIp;
  CHECK(gh::http::rateLimitKey(limit, rq) == "9.9.9.9");
  limit.key = RateLimitKeyType::kPrincipal;
  CHECK(gh::http::rateLimitKey(limit, rq) == "9.9.9.9");
  rq.principal = "spiffe://td/ns/a/sa/b";
  CHECK(gh::http::rateLimitKey(limit, rq) == "spiffe://td/ns/a/sa/b");
  limit.key = RateLimitKeyType::kHeader;
  limit.header = "x-api-key";
  CHECK(gh::http::rateLimitKey(limit, rq) == "k1");
  limit.header = "x-other";
  CHECK(gh::http::rateLimitKey(limit, rq) == "9.9.9.9");
}
