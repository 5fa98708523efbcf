// The examples of spec/config.md: what this build accepts, and what it names as not
// supported yet (every such field, none silently ignored).

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "core/config/decode.h"
#include "tests/unit/config/config_test_util.h"

using namespace gh::config;
using gh::config::testing::decode;
using gh::config::testing::decodeAndValidate;
using gh::config::testing::meshSpec;
using Errors = std::vector<std::string>;

namespace {

// spec/config.md, "Examples", verbatim.
constexpr const char* kSpecExamples = R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: edge}
spec:
  address: 0.0.0.0
  port: 8443
  protocol: HTTPS            # HTTP | HTTPS | MESH_INBOUND | MESH_OUTBOUND
  tls:
    certificates:            # chosen by SNI; first is the default
      - certFile: /etc/gatehouse/tls/shop.crt
        keyFile: /etc/gatehouse/tls/shop.key
    minVersion: TLS1_2
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: production}
spec:
  parentRefs: [{name: edge}]
  hostnames: ["shop.example.com", "*.shop.example.com"]
  rules:
    - matches:
        - path: {type: PathPrefix, value: /api/orders}      # Exact | PathPrefix | RegularExpression (RE2)
          method: GET
          headers: [{name: x-canary, value: "1"}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier: {set: [{name: x-env, value: prod}]}
        - type: RequestMirror
          requestMirror: {backendRef: {name: orders-shadow}}
      backendRefs:
        - {name: orders, weight: 90}
        - {name: orders-v2, weight: 10}
      timeouts: {request: 10s, backendRequest: 2s}
      retry: {attempts: 2, backoff: 25ms, codes: [502, 503]}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: orders, namespace: production}
spec:
  endpoints:
    - {address: 10.0.0.12, port: 15006}      # IP or DNS name (resolved without blocking)
  mesh: true                                  # originate mTLS with this node's identity
  identity: spiffe://cluster.local/ns/production/sa/orders   # the peer must present this
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST}     # ROUND_ROBIN | LEAST_REQUEST | RANDOM | consistentHash
    connectionPool:
      tcp: {maxConnections: 1000, connectTimeout: 1s}
      http: {http1MaxPendingRequests: 1024, idleTimeout: 60s}
    outlierDetection: {consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 50}
  healthCheck: {path: /healthz, interval: 5s, timeout: 1s, healthyThreshold: 2, unhealthyThreshold: 3}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: welcome}
spec:
  directResponse: {status: 200, contentType: text/html, body: "<h1>Gatehouse is running</h1>"}
---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata:
  name: orders-service
  namespace: production
  labels: {app: orders-service}
spec:
  serviceAccount: orders      # identity spiffe://<trustDomain>/ns/production/sa/orders
  address: 127.0.0.1
  port: 8080                  # where the local app listens; MESH_INBOUND forwards here
---
apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default}
spec:
  trustDomain: cluster.local
  mtls: STRICT                # STRICT | PERMISSIVE (accept plaintext too, and count it)
  certificateTTL: 24h         # renewed at half-life with jitter
  caAddress: ca.internal:15012   # where nodes enroll and renew; the CA node listens on its port
)";

}  // namespace

TEST_CASE("the spec's examples: everything beyond this build is named", "[config][examples]") {
  auto d = decode(kSpecExamples, "config.md");
  CHECK(d.errors ==
        Errors{
            "config.md:50:16: Service production/orders: spec.healthCheck: is not supported yet "
            "on mesh Services (probes would need the mesh's mutual TLS); use outlierDetection",
        });
}

TEST_CASE("the spec's examples, as far as this build goes, are valid", "[config][examples]") {
  // The spec's examples less what is not supported yet (mesh, identity, Workload and
  // MeshConfig are all in). Two changes beyond removal: the route names its Listener's
  // namespace (a parentRef defaults to the route's own namespace, and the Listener lives in
  // "default"), and orders-v2 and orders-shadow exist.
  auto d = decodeAndValidate(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: edge}
spec:
  address: 0.0.0.0
  port: 8443
  protocol: HTTP
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: production}
spec:
  parentRefs: [{name: edge, namespace: default}]
  hostnames: ["shop.example.com", "*.shop.example.com"]
  rules:
    - matches:
        - path: {type: PathPrefix, value: /api/orders}
          method: GET
          headers: [{name: x-canary, value: "1"}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier: {set: [{name: x-env, value: prod}]}
        - type: RequestMirror
          requestMirror: {backendRef: {name: orders-shadow}}
      backendRefs:
        - {name: orders, weight: 90}
        - {name: orders-v2, weight: 10}
      timeouts: {request: 10s, backendRequest: 2s}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: orders, namespace: production}
spec:
  endpoints:
    - {address: 10.0.0.12, port: 15006}
  mesh: true
  identity: spiffe://cluster.local/ns/production/sa/orders
  trafficPolicy:
    connectionPool:
      tcp: {connectTimeout: 1s}
      http: {idleTimeout: 60s}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: orders-v2, namespace: production}
spec:
  endpoints:
    - {address: 10.0.0.13, port: 15006}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: welcome}
spec:
  directResponse: {status: 200, contentType: text/html, body: "<h1>Gatehouse is running</h1>"}
---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata:
  name: orders-service
  namespace: production
  labels: {app: orders-service}
spec:
  serviceAccount: orders
  address: 127.0.0.1
  port: 8080
---
apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default}
spec:
  trustDomain: cluster.local
  mtls: STRICT
  certificateTTL: 24h
  caAddress: ca.internal:15012
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: orders-shadow, namespace: production}
spec:
  endpoints:
    - {address: 10.0.0.14, port: 8080}
)",
                             "config.md");
  CHECK(d.errors == Errors{});
  REQUIRE(d.resources.size() == 8);
  const RouteRule& rule = d.resources[1].route().rules.at(0);
  CHECK(rule.backendRefs.at(0).weight == 90);
  CHECK(rule.filters.at(1).mirror.backendRef.name == "orders-shadow");
  CHECK(rule.timeouts.backendRequestMs == 2000);
  CHECK(d.resources[2].service().connectTimeoutMs == 1000);
  CHECK(d.resources[2].service().mesh);
  CHECK(d.resources[2].service().identity == "spiffe://cluster.local/ns/production/sa/orders");
  const WorkloadSpec& w = d.resources[5].workload();
  CHECK(w == WorkloadSpec{"orders", "127.0.0.1", 8080});
  CHECK(d.resources[5].meta.labels.at("app") == "orders-service");
  CHECK(d.resources[6].meshConfig() ==
        meshSpec("cluster.local", MtlsMode::kStrict, 86'400'000, "ca.internal:15012"));
}

TEST_CASE("without its namespace the spec's parentRef does not resolve", "[config][examples]") {
  auto d = decodeAndValidate(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: edge}
spec: {port: 8443}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: production}
spec:
  parentRefs: [{name: edge}]
)");
  CHECK(d.errors == Errors{"t.yaml:10:16: HTTPRoute production/shop: spec.parentRefs[0]: "
                           "Listener production/edge does not exist"});
}

TEST_CASE("the examples of docs/configuration.md are valid", "[config][examples]") {
  // Run from the repository root (as `make unit` does); elsewhere there is nothing to check.
  std::ifstream in("docs/configuration.md");
  if (!in) {
    WARN("docs/configuration.md not found from the current directory; not checked");
    return;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> blocks;
  std::string doc = text.str();
  for (size_t at = doc.find("```yaml\n"); at != std::string::npos; at = doc.find("```yaml\n", at)) {
    at += 8;
    size_t end = doc.find("```", at);
    REQUIRE(end != std::string::npos);
    blocks.push_back(doc.substr(at, end - at));
    at = end + 3;
  }
  REQUIRE(blocks.size() >= 4);
  for (const std::string& block : blocks) {
    INFO(block);
    CHECK(decode(block, "configuration.md").errors == Errors{});
  }
  // The last one is a complete configuration: its references resolve too.
  CHECK(decodeAndValidate(blocks.back(), "configuration.md").errors == Errors{});
}
