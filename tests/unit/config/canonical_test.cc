// canonicalJson() and toYaml(): deterministic, and round-tripping through decode.

#include <catch2/catch.hpp>

#include "core/config/decode.h"
#include "tests/unit/config/config_test_util.h"

using namespace gh::config;
using gh::config::testing::decode;
using gh::config::testing::withoutLocations;
using Errors = std::vector<std::string>;

namespace {

// Every field of every kind this build decodes, written the way people write YAML: flow and
// block styles, keys out of schema order, quoting, hex, odd spacing.
constexpr const char* kEverything = R"(
kind: Listener
apiVersion: gatehouse.dev/v1
spec:
  port: 0x1F90
  http: {mergeSlashes: True, maxHeaders: 64, headTimeout: 2s, idleTimeout: 1m30s,
         maxRequestLineBytes: 4096, maxHeaderBytes: 8192, maxResponseHeadBytes: 8192,
         maxBodyBytes: 0, xffTrustedHops: 1}
  address: "::"
  protocol: HTTP
metadata:
  labels: {b: "2", a: "1"}
  namespace: edge-ns
  name: edge
  annotations: {note: "multi\nline \"quoted\" caf\u00e9 \u2028"}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: HTTPRoute
metadata: {name: shop, namespace: production}
spec:
  rules:
    - backendRefs: [{name: orders, weight: 9, port: 80, group: "", kind: Service},
                    {name: orders-v2, namespace: canary, weight: 0}]
      matches:
        - path: {type: Exact, value: "/api/orders"}
          queryParams: [{name: q, value: "yes"}, {type: RegularExpression, name: r, value: "^a+$"}]
          headers: [{name: X-Env, value: "8080"}]
          method: POST
        - {}
      timeouts: {backendRequest: 500ms, request: 10s}
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier: {add: [{name: x-a, value: "1"}], remove: [x-b],
                                  set: [{name: x-c, value: on}]}
        - {type: ResponseHeaderModifier, responseHeaderModifier: {remove: [server]}}
        - {type: RequestMirror, requestMirror: {backendRef: {name: shadow}, percent: 25}}
        - type: RequestMirror
          requestMirror: {backendRef: {name: shadow2, namespace: qa},
                          fraction: {numerator: 1, denominator: 3}}
        - type: URLRewrite
          urlRewrite: {hostname: Internal.Example.com,
                       path: {type: ReplaceFullPath, replaceFullPath: /v2}}
      name: main
    - filters:
        - type: RequestRedirect
          requestRedirect: {scheme: https, port: 443, statusCode: 308, hostname: example.com,
                            path: {type: ReplacePrefixMatch, replacePrefixMatch: /moved}}
  hostnames: ["*.Shop.example.com", shop.example.com]
  parentRefs: [{name: edge, namespace: edge-ns, kind: Listener, group: gatehouse.dev}]
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: orders, namespace: production}
spec:
  trafficPolicy: {connectionPool: {http: {idleTimeout: 30s}, tcp: {connectTimeout: 250ms}}}
  endpoints:
    - {port: 8080, address: 10.0.0.1, weight: 2}
    - address: "fd00::1"
      port: 8080
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: welcome}
spec:
  directResponse: {body: "<h1>Gatehouse is running</h1>\n", status: 503,
                   contentType: "text/html; charset=utf-8"}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: inbound, namespace: production}
spec: {workload: orders-app, protocol: MESH_INBOUND, port: 15006}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: outbound}
spec: {address: 127.0.0.1, port: 15001, protocol: MESH_OUTBOUND}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: payments, namespace: production}
spec:
  identity: spiffe://cluster.local/ns/production/sa/payments
  mesh: True
  endpoints: [{address: 10.0.0.7, port: 15006}]
---
kind: Workload
apiVersion: gatehouse.dev/v1
metadata: {name: orders-app, namespace: production, labels: {app: orders}}
spec: {port: 0x1F90, serviceAccount: orders, address: "::1"}
---
apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default}
spec: {mtls: PERMISSIVE, certificateTTL: 90m, caAddress: "[fd00::1]:15012",
       trustDomain: cluster.local}
)";

std::vector<Resource> decodeOk(std::string_view text, const std::string& file = "t.yaml") {
  auto d = decode(text, file);
  REQUIRE(d.errors == Errors{});
  return d.resources;
}

}  // namespace

TEST_CASE("canonical JSON orders the envelope, sorts the rest, drops nulls", "[config]") {
  auto rs = decodeOk(kEverything);
  REQUIRE(rs.size() == 9);
  CHECK(canonicalJson(rs[0]) ==
        R"({"apiVersion":"gatehouse.dev/v1","kind":"Listener",)"
        R"("metadata":{"name":"edge","namespace":"edge-ns","labels":{"a":"1","b":"2"},)"
        R"("annotations":{"note":"multi\nline \"quoted\" café \u2028"}},)"
        R"("spec":{"address":"::","http":{"headTimeout":"2s","idleTimeout":"1m30s",)"
        R"("maxBodyBytes":0,"maxHeaderBytes":8192,"maxHeaders":64,"maxRequestLineBytes":4096,)"
        R"("maxResponseHeadBytes":8192,"mergeSlashes":true,"xffTrustedHops":1},)"
        R"("port":8080,"protocol":"HTTP"}})");
  CHECK(canonicalJson(rs[3]) ==
        R"({"apiVersion":"gatehouse.dev/v1","kind":"Service",)"
        R"("metadata":{"name":"welcome"},"spec":{"directResponse":{)"
        R"("body":"<h1>Gatehouse is running</h1>\n","contentType":"text/html; charset=utf-8",)"
        R"("status":503}}})");
  for (const Resource& r : rs) CHECK(canonicalJson(r) == r.json);
}

TEST_CASE("canonical JSON decodes to an equal Resource and the same JSON", "[config]") {
  auto rs = decodeOk(kEverything);
  for (const Resource& r : rs) {
    INFO(r.json);
    auto again = decodeOk(canonicalJson(r), "store");
    REQUIRE(again.size() == 1);
    CHECK(again[0].json == r.json);
    CHECK(withoutLocations(again[0]) == withoutLocations(r));
  }
}

TEST_CASE("toYaml decodes to the same canonical JSON", "[config]") {
  auto rs = decodeOk(kEverything);
  for (const Resource& r : rs) {
    std::string yaml = toYaml(r);
    INFO(yaml);
    auto again = decodeOk(yaml, "get.yaml");
    REQUIRE(again.size() == 1);
    CHECK(again[0].json == r.json);
    CHECK(withoutLocations(again[0]) == withoutLocations(r));
  }
}

TEST_CASE("toYaml is readable block YAML", "[config]") {
  auto rs = decodeOk(R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: orders, labels: {version: "2"}}
spec:
  endpoints: [{address: 10.0.0.12, port: 15006}]
)");
  CHECK(toYaml(rs.at(0)) ==
        "apiVersion: gatehouse.dev/v1\n"
        "kind: Service\n"
        "metadata:\n"
        "  name: orders\n"
        "  labels:\n"
        "    version: \"2\"\n"
        "spec:\n"
        "  endpoints:\n"
        "    - address: 10.0.0.12\n"
        "      port: 15006\n");
}

TEST_CASE("equal configurations written differently have one canonical form", "[config]") {
  auto a = decodeOk(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: edge}
spec: {port: 8080, address: 0.0.0.0, http: {mergeSlashes: true}}
)");
  auto b = decodeOk(R"({"spec": {"http": {"mergeSlashes": TRUE}, "address": "0.0.0.0",
  "port": 0x1f90, "tls": null}, "metadata": {"name": "edge", "labels": ~},
  "kind": "Listener", "apiVersion": "gatehouse.dev/v1"})");
  CHECK(canonicalJson(a.at(0)) == canonicalJson(b.at(0)));
}

TEST_CASE("a Resource built in code is encoded with every field", "[config]") {
  auto rs = decodeOk(kEverything);
  for (Resource r : rs) {
    r.json.clear();  // as if built in code
    std::string json = canonicalJson(r);
    INFO(json);
    auto again = decodeOk(json, "encoded");
    REQUIRE(again.size() == 1);
    Resource expected = withoutLocations(r);
    Resource got = withoutLocations(again[0]);
    got.json.clear();
    CHECK(got == expected);
    CHECK(canonicalJson(again[0]) == json);  // the encoding is itself canonical
    r.json.clear();
    CHECK(decodeOk(toYaml(r), "encoded.yaml").at(0).json == json);
  }

  Resource built;
  built.kind = Kind::kService;
  built.meta.name = "welcome";
  ServiceSpec s;
  s.directResponse = DirectResponse{};
  built.spec = s;
  CHECK(canonicalJson(built) ==
        R"({"apiVersion":"gatehouse.dev/v1","kind":"Service",)"
        R"("metadata":{"name":"welcome","namespace":"default"},)"
        R"("spec":{"directResponse":{"body":"","contentType":"text/plain","status":200},)"
        R"("mesh":false,"trafficPolicy":{"connectionPool":{"http":{"idleTimeout":"1m"},)"
        R"("tcp":{"connectTimeout":"5s"}}}}})");
}
