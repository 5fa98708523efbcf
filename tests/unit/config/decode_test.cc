// Decoding of the envelope (apiVersion, kind, metadata), Listener and Service.

#include "core/config/decode.h"

#include <catch2/catch.hpp>

#include "tests/unit/config/config_test_util.h"

using namespace gh::config;
using gh::config::testing::decode;
using Errors = std::vector<std::string>;

TEST_CASE("a minimal Listener decodes with defaults", "[config]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata:
  name: edge
spec:
  port: 8080
)");
  REQUIRE(d.errors == Errors{});
  REQUIRE(d.ok);
  REQUIRE(d.resources.size() == 1);
  const Resource& r = d.resources[0];
  CHECK(r.kind == Kind::kListener);
  CHECK(r.apiVersion == "gatehouse.dev/v1");
  CHECK(r.meta.name == "edge");
  CHECK(r.meta.ns == "default");
  CHECK(r.meta.nameLoc == SourceLoc{"t.yaml", 4, 9});
  CHECK(r.loc == SourceLoc{"t.yaml", 1, 1});
  const ListenerSpec& l = r.listener();
  CHECK(l.address == "0.0.0.0");
  CHECK(l.port == 8080);
  CHECK(l.portLoc == SourceLoc{"t.yaml", 6, 9});
  CHECK(l.protocol == Protocol::kHttp);
  CHECK(l.http == HttpSettings{});
  CHECK(r.json ==
        R"({"apiVersion":"gatehouse.dev/v1","kind":"Listener","metadata":{"name":"edge"},)"
        R"("spec":{"port":8080}})");
}

TEST_CASE("every Listener field decodes", "[config]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: edge, namespace: infra, labels: {tier: edge}, annotations: {note: "x: y"}}
spec:
  address: "::1"
  port: 8443
  protocol: HTTP
  http:
    maxRequestLineBytes: 4096
    maxHeaderBytes: 32768
    maxHeaders: 50
    maxResponseHeadBytes: 16384
    maxBodyBytes: 1048576
    headTimeout: 5s
    idleTimeout: 2m
    mergeSlashes: true
    xffTrustedHops: 2
)");
  REQUIRE(d.errors == Errors{});
  const Resource& r = d.resources.at(0);
  CHECK(r.meta.ns == "infra");
  CHECK(r.meta.labels == std::map<std::string, std::string>{{"tier", "edge"}});
  CHECK(r.meta.annotations == std::map<std::string, std::string>{{"note", "x: y"}});
  const ListenerSpec& l = r.listener();
  CHECK(l.address == "::1");
  CHECK(l.port == 8443);
  CHECK(l.http.maxRequestLineBytes == 4096);
  CHECK(l.http.maxHeaderBytes == 32768);
  CHECK(l.http.maxHeaders == 50);
  CHECK(l.http.maxResponseHeadBytes == 16384);
  CHECK(l.http.maxBodyBytes == 1048576);
  CHECK(l.http.headTimeoutMs == 5000);
  CHECK(l.http.idleTimeoutMs == 120'000);
  CHECK(l.http.mergeSlashes);
  CHECK(l.http.xffTrustedHops == 2);
}

TEST_CASE("Listener field errors point at the offending value", "[config]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: edge}
spec:
  address: localhost
  port: 70000
  protocol: http
  http: {maxHeaders: 0, maxRequestLineBytes: "8192", headTimeout: 10, idleTimeout: 0s,
         mergeSlashes: yes, xffTrustedHops: -1, maxBodyBytes: 1.5}
)");
  CHECK_FALSE(d.ok);
  CHECK(d.resources.empty());
  CHECK(d.errors ==
        Errors{
            "t.yaml:5:12: Listener default/edge: spec.address: must be an IPv4 or IPv6 address, "
            "such as 0.0.0.0 or ::",
            "t.yaml:6:9: Listener default/edge: spec.port: must be between 1 and 65535",
            "t.yaml:7:13: Listener default/edge: spec.protocol: must be one of HTTP, HTTPS, "
            "MESH_INBOUND or MESH_OUTBOUND",
            "t.yaml:8:22: Listener default/edge: spec.http.maxHeaders: must be between 1 and "
            "10000",
            "t.yaml:8:46: Listener default/edge: spec.http.maxRequestLineBytes: must be an "
            "integer, not a string (write it without quotes)",
            "t.yaml:8:67: Listener default/edge: spec.http.headTimeout: must be a duration such "
            "as \"10s\", \"250ms\" or \"1m30s\"",
            "t.yaml:8:84: Listener default/edge: spec.http.idleTimeout: must be at least 1ms",
            "t.yaml:9:24: Listener default/edge: spec.http.mergeSlashes: must be true or false, "
            "not a string",
            "t.yaml:9:45: Listener default/edge: spec.http.xffTrustedHops: must be between 0 and "
            "64",
            "t.yaml:9:63: Listener default/edge: spec.http.maxBodyBytes: must be an integer, not "
            "a number",
        });
}

TEST_CASE("HTTPS listeners need tls; HTTP listeners refuse it", "[config]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: edge}
spec:
  port: 443
  protocol: HTTPS
  tls: {certificates: [{certFile: a, keyFile: /k}], minVersion: TLS1_1}
)");
  CHECK(d.errors ==
        Errors{
            "t.yaml:7:35: Listener default/edge: spec.tls.certificates[0].certFile: must be an "
            "absolute path (the server reads it, from its own directory)",
            "t.yaml:7:65: Listener default/edge: spec.tls.minVersion: must be one of TLS1_2 or "
            "TLS1_3",
        });
  auto missing = decode(
      "apiVersion: gatehouse.dev/v1\nkind: Listener\nmetadata: {name: e}\n"
      "spec: {port: 443, protocol: HTTPS}\n");
  CHECK(missing.errors ==
        Errors{"t.yaml:4:7: Listener default/e: spec.tls: is required for protocol HTTPS"});
  auto plain = decode(
      "apiVersion: gatehouse.dev/v1\nkind: Listener\nmetadata: {name: e}\n"
      "spec: {port: 80, tls: {certificates: []}}\n");
  CHECK(plain.errors == Errors{"t.yaml:4:23: Listener default/e: spec.tls: must not be set for "
                               "protocol HTTP (use protocol: HTTPS)"});
  auto good = decode(
      "apiVersion: gatehouse.dev/v1\nkind: Listener\nmetadata: {name: e}\n"
      "spec: {port: 443, protocol: HTTPS, tls: {certificates: [{certFile: /c, "
      "keyFile: /k}], minVersion: TLS1_3}}\n");
  REQUIRE(good.errors.empty());
  const ListenerSpec& l = good.resources.at(0).listener();
  REQUIRE(l.tls);
  CHECK(l.tls->minVersion == TlsVersion::kTls13);
  CHECK(l.tls->certificates.at(0).certFile == "/c");
  CHECK(l.tls->certificates.at(0).keyFile == "/k");
}

TEST_CASE("mesh protocols decode", "[config]") {
  for (const char* p : {"MESH_INBOUND", "MESH_OUTBOUND"}) {
    auto m = decode(std::string("apiVersion: gatehouse.dev/v1\nkind: Listener\nmetadata: {name: "
                                "m}\nspec: {port: 1, protocol: ") +
                    p + "}\n");
    CHECK(m.errors == Errors{});
  }
}

TEST_CASE("unknown fields are errors at the key, with the full path", "[config]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: edge, uid: 1234}
spec:
  port: 80
  adress: 0.0.0.0
  http:
    maxHeader: 10
status: {}
)");
  CHECK(d.errors == Errors{
                        "t.yaml:3:24: Listener default/edge: metadata.uid: unknown field",
                        "t.yaml:6:3: Listener default/edge: spec.adress: unknown field",
                        "t.yaml:8:5: Listener default/edge: spec.http.maxHeader: unknown field",
                        "t.yaml:9:1: Listener default/edge: status: unknown field",
                    });
}

TEST_CASE("required fields are reported at the enclosing object", "[config]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata:
  namespace: infra
spec:
  address: 0.0.0.0
)");
  CHECK(d.errors == Errors{
                        "t.yaml:4:3: Listener infra/<unnamed>: metadata.name: is required",
                        "t.yaml:6:3: Listener infra/<unnamed>: spec.port: is required",
                    });
  auto e = decode("apiVersion: gatehouse.dev/v1\nkind: Listener\nmetadata: {name: a}\n");
  CHECK(e.errors == Errors{"t.yaml:1:1: Listener default/a: spec: is required"});
  auto f = decode("spec: {}\n");
  CHECK(f.errors == Errors{
                        "t.yaml:1:1: resource default/<unnamed>: apiVersion: is required",
                        "t.yaml:1:1: resource default/<unnamed>: kind: is required",
                        "t.yaml:1:1: resource default/<unnamed>: metadata: is required",
                    });
}

TEST_CASE("kinds: known, unknown; apiVersion must match the kind", "[config]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: RateLimit
metadata: {name: allow}
spec: {action: ALLOW}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec: {}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Listener
metadata: {name: l}
spec: {port: 80}
---
apiVersion: gatehouse.dev/v1
kind: HTTPRoute
metadata: {name: r}
spec: {}
---
apiVersion: gatehouse.dev/v1
kind: ""
metadata: {name: e}
)");
  CHECK(d.errors ==
        Errors{
            "t.yaml:4:7: RateLimit default/allow: spec.targetRefs: is required",
            "t.yaml:4:7: RateLimit default/allow: spec.limit: is required",
            "t.yaml:4:8: RateLimit default/allow: spec.action: unknown field",
            "t.yaml:7:7: Gateway default/gw: kind: unknown kind \"Gateway\" (this build knows "
            "Listener, HTTPRoute, Service, Workload, MeshConfig, AuthorizationPolicy, LuaScript, "
            "RateLimit and EgressPolicy)",
            "t.yaml:11:13: Listener default/l: apiVersion: must be gatehouse.dev/v1 for kind "
            "Listener",
            "t.yaml:16:13: HTTPRoute default/r: apiVersion: must be gateway.networking.k8s.io/v1 "
            "or gateway.networking.k8s.io/v1beta1 for kind HTTPRoute",
            "t.yaml:22:7: resource default/e: kind: must not be empty",
        });
}

TEST_CASE("HTTPRoute accepts v1 and v1beta1", "[config]") {
  for (const char* v : {"gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"}) {
    auto d = decode(std::string("apiVersion: ") + v +
                    "\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {}\n");
    CHECK(d.errors == Errors{});
    REQUIRE(d.resources.size() == 1);
    CHECK(d.resources[0].apiVersion == v);
  }
}

TEST_CASE("names and namespaces follow Kubernetes' DNS rules", "[config]") {
  auto named = [](std::string name, std::string ns = "default") {
    return decode("apiVersion: gatehouse.dev/v1\nkind: Listener\nmetadata: {name: \"" + name +
                  "\", namespace: \"" + ns + "\"}\nspec: {port: 80}\n");
  };
  CHECK(named("edge").ok);
  CHECK(named("edge-1.example").ok);
  CHECK(named(std::string(253, 'a')).ok);
  CHECK(named("a", std::string(63, 'b')).ok);
  for (const std::string& bad : std::vector<std::string>{"Edge", "-edge", "edge-", "ed_ge", "a..b",
                                                         ".a", "", "a b", std::string(254, 'a')}) {
    INFO(bad);
    auto d = named(bad);
    REQUIRE(d.errors.size() == 1);
    CHECK(d.errors[0].find(": metadata.name: must be a lower-case DNS name") != std::string::npos);
  }
  for (const std::string& bad : std::vector<std::string>{"a.b", "A", std::string(64, 'b'), "-a"}) {
    INFO(bad);
    auto d = named("edge", bad);
    REQUIRE(d.errors.size() == 1);
    CHECK(d.errors[0].find(": metadata.namespace: must be a lower-case DNS label") !=
          std::string::npos);
  }
  auto d = named("Edge");
  CHECK(d.errors[0].rfind("t.yaml:3:18: Listener default/Edge: metadata.name: ", 0) == 0);
}

TEST_CASE("labels and annotations are maps of strings with qualified keys", "[config]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata:
  name: edge
  labels:
    app.kubernetes.io/name: edge
    version: 2
    "bad key!": x
    tier: "not a label value"
    empty: ""
  annotations:
    description: "Any text: even this."
    a/b/c: x
spec: {port: 80}
)");
  CHECK(d.errors ==
        Errors{
            "t.yaml:7:14: Listener default/edge: metadata.labels.version: must be a string, not "
            "an integer (quote it: \"2\")",
            "t.yaml:8:5: Listener default/edge: metadata.labels[\"bad key!\"]: must be a "
            "qualified name: an optional DNS-name prefix and '/', then 1-63 letters, digits, '-', "
            "'_' or '.', starting and ending with a letter or digit",
            "t.yaml:9:11: Listener default/edge: metadata.labels.tier: must be at most 63 "
            "letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
            "t.yaml:13:5: Listener default/edge: metadata.annotations[\"a/b/c\"]: must be a "
            "qualified name: an optional DNS-name prefix and '/', then 1-63 letters, digits, "
            "'-', '_' or '.', starting and ending with a letter or digit",
        });
  auto ok = decode(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata:
  name: edge
  labels: {app.kubernetes.io/name: edge, empty: ""}
  annotations: {description: "Any text: even this."}
spec: {port: 80}
)");
  REQUIRE(ok.ok);
  CHECK(ok.resources[0].meta.labels.at("app.kubernetes.io/name") == "edge");
  CHECK(ok.resources[0].meta.labels.at("empty") == "");
  CHECK(ok.resources[0].meta.annotations.at("description") == "Any text: even this.");
}

TEST_CASE("null values read as absent", "[config]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: edge, namespace: ~, labels: null}
spec:
  port: 80
  address:
  tls: ~
  http:
)");
  REQUIRE(d.errors == Errors{});
  CHECK(d.resources[0].meta.ns == "default");
  CHECK(d.resources[0].listener().address == "0.0.0.0");
  CHECK(d.resources[0].json ==
        R"({"apiVersion":"gatehouse.dev/v1","kind":"Listener","metadata":{"name":"edge"},)"
        R"("spec":{"port":80}})");
}

TEST_CASE("a document must be a mapping", "[config]") {
  auto d = decode("- a\n- b\n---\n\"just text\"\n");
  CHECK(d.errors == Errors{
                        "t.yaml:1:1: document: a resource must be an object with apiVersion, "
                        "kind, metadata and spec",
                        "t.yaml:4:1: document: a resource must be an object with apiVersion, "
                        "kind, metadata and spec",
                    });
}

TEST_CASE("YAML problems carry the resource they are in", "[config]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: edge}
spec:
  port: 80
  port: 81
  http: &h {maxHeaders: 10}
)");
  CHECK(d.errors == Errors{
                        "t.yaml:6:3: Listener default/edge: spec.port: duplicate key \"port\" "
                        "(first at line 5)",
                        "t.yaml:7:9: Listener default/edge: spec.http: anchors (&h) are not "
                        "supported",
                    });
}

TEST_CASE("every document is decoded and every error reported", "[config]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: a}
spec: {port: 0}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: b}
spec: {port: 81}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: c}
spec: {port: 82, extra: true}
)");
  CHECK_FALSE(d.ok);
  CHECK(d.errors == Errors{
                        "t.yaml:4:14: Listener default/a: spec.port: must be between 1 and 65535",
                        "t.yaml:14:18: Listener default/c: spec.extra: unknown field",
                    });
  // The good document is decoded (the caller must not use it: the call failed).
  REQUIRE(d.resources.size() == 1);
  CHECK(d.resources[0].meta.name == "b");
}

TEST_CASE("a syntax error ends the file but earlier documents are checked", "[config]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: a}
spec: {port: 0}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: b
spec: {port: 81}
)");
  REQUIRE(d.errors.size() == 2);
  CHECK(d.errors[0] == "t.yaml:4:14: Listener default/a: spec.port: must be between 1 and 65535");
  CHECK(d.errors[1].rfind("t.yaml:9:5: invalid YAML: ", 0) == 0);
}

TEST_CASE("JSON documents decode with positions", "[config]") {
  auto d = decode(R"({
  "apiVersion": "gatehouse.dev/v1",
  "kind": "Listener",
  "metadata": {"name": "edge"},
  "spec": {"port": "80", "address": "0.0.0.0"}
})",
                  "l.json");
  CHECK(d.errors == Errors{"l.json:5:20: Listener default/edge: spec.port: must be an integer, "
                           "not a string (write it without quotes)"});
  auto ok =
      decode(R"({"apiVersion":"gatehouse.dev/v1","kind":"Listener","metadata":{"name":"edge"},)"
             R"("spec":{"port":80}})");
  REQUIRE(ok.errors == Errors{});
  CHECK(ok.resources[0].listener().port == 80);
}

TEST_CASE("a Service with endpoints", "[config]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: orders, namespace: production}
spec:
  endpoints:
    - {address: 10.0.0.12, port: 15006}
    - {address: "fd00::12", port: 15006, weight: 3}
  trafficPolicy:
    connectionPool:
      tcp: {connectTimeout: 1s}
      http: {idleTimeout: 90s}
)");
  REQUIRE(d.errors == Errors{});
  const ServiceSpec& s = d.resources.at(0).service();
  REQUIRE(s.endpoints.size() == 2);
  CHECK(s.endpoints[0] == Endpoint{"10.0.0.12", 15006, 1});
  CHECK(s.endpoints[1] == Endpoint{"fd00::12", 15006, 3});
  CHECK_FALSE(s.directResponse);
  CHECK(s.connectTimeoutMs == 1000);
  CHECK(s.idleTimeoutMs == 90'000);
}

TEST_CASE("a Service with a direct response", "[config]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: welcome}
spec:
  directResponse: {status: 200, contentType: text/html, body: "<h1>Gatehouse is running</h1>"}
)");
  REQUIRE(d.errors == Errors{});
  const ServiceSpec& s = d.resources.at(0).service();
  CHECK(s.endpoints.empty());
  REQUIRE(s.directResponse);
  CHECK(*s.directResponse == DirectResponse{200, "text/html", "<h1>Gatehouse is running</h1>"});
  CHECK(s.connectTimeoutMs == 5000);

  auto defaults = decode(R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: empty}
spec:
  directResponse: {}
)");
  REQUIRE(defaults.errors == Errors{});
  CHECK(*defaults.resources.at(0).service().directResponse == DirectResponse{});
}

TEST_CASE("Service errors", "[config]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: s}
spec:
  endpoints:
    - {address: Orders.Internal, port: 80}
    - {address: "[::1]", port: 80}
    - {address: 10.0.0.300, port: 80}
    - {address: 10.0.0.1}
    - {address: 10.0.0.2, port: 80, weight: 0}
    - {address: 10.0.0.2, port: 80}
  mesh: true
  identity: spiffe://cluster.local/ns/production/sa/orders
  healthCheck: {path: /healthz}
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST}
    outlierDetection: {consecutive5xxErrors: 5}
    connectionPool:
      tcp: {maxConnections: 1000, connectTimeout: 0s}
      http: {http1MaxPendingRequests: 1024, idleTimeout: 2d}
      udp: {}
)");
  CHECK(d.errors ==
        Errors{
            "t.yaml:6:17: Service default/s: spec.endpoints[0].address: a DNS name must be "
            "written in lower case: orders.internal",
            "t.yaml:7:17: Service default/s: spec.endpoints[1].address: must be written without "
            "brackets",
            "t.yaml:8:17: Service default/s: spec.endpoints[2].address: must be an IPv4 or IPv6 "
            "address or a DNS name such as api.example.com",
            "t.yaml:9:7: Service default/s: spec.endpoints[3].port: is required",
            "t.yaml:10:45: Service default/s: spec.endpoints[4].weight: must be between 1 and "
            "1000000",
            "t.yaml:11:7: Service default/s: spec.endpoints[5]: duplicate endpoint 10.0.0.2 port "
            "80",
            "t.yaml:14:16: Service default/s: spec.healthCheck: is not supported yet on mesh "
            "Services (probes would need the mesh's mutual TLS); use outlierDetection",
            "t.yaml:19:51: Service default/s: spec.trafficPolicy.connectionPool.tcp."
            "connectTimeout: must be at least 1ms",
            "t.yaml:20:58: Service default/s: spec.trafficPolicy.connectionPool.http.idleTimeout: "
            "must be a duration such as \"10s\", \"250ms\" or \"1m30s\"",
            "t.yaml:21:7: Service default/s: spec.trafficPolicy.connectionPool.udp: unknown field",
        });
}

TEST_CASE("a Service has endpoints or a direct response, not both", "[config]") {
  auto both = decode(R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: s}
spec:
  endpoints: [{address: 10.0.0.1, port: 80}]
  directResponse: {status: 200}
)");
  CHECK(both.errors == Errors{"t.yaml:6:19: Service default/s: spec.directResponse: cannot be "
                              "combined with endpoints: a Service has one or the other"});
  auto neither = decode(R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: s}
spec:
  trafficPolicy: {}
)");
  CHECK(neither.errors ==
        Errors{"t.yaml:5:3: Service default/s: spec: needs endpoints or a directResponse"});
  auto empty = decode(R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: s}
spec:
  endpoints: []
)");
  CHECK(empty.errors == Errors{"t.yaml:5:14: Service default/s: spec.endpoints: must not be "
                               "empty (or give a directResponse instead)"});
  auto emptyAndDirect = decode(R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: s}
spec: {endpoints: [], directResponse: {}}
)");
  CHECK(emptyAndDirect.errors == Errors{});
}

TEST_CASE("direct response checks", "[config]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: s}
spec:
  directResponse: {status: 204, contentType: "text/plain\r\nx: y", body: "not empty"}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: t}
spec:
  directResponse: {status: 199, contentType: ""}
)");
  CHECK(d.errors == Errors{
                        "t.yaml:5:46: Service default/s: spec.directResponse.contentType: must "
                        "not contain CR, LF or NUL",
                        "t.yaml:5:74: Service default/s: spec.directResponse.body: must be empty: "
                        "a 204 response has no body",
                        "t.yaml:11:28: Service default/t: spec.directResponse.status: must be "
                        "between 200 and 599",
                        "t.yaml:11:46: Service default/t: spec.directResponse.contentType: must "
                        "not be empty",
                    });
}

TEST_CASE("a Kubernetes List holds resources, as `get -o json` prints them", "[config]") {
  auto single = decode(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: a}
spec: {port: 80}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: s, namespace: x}
spec: {directResponse: {}}
)");
  REQUIRE(single.errors == Errors{});
  std::string list = R"({"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},)"
                     R"("items":[)" +
                     single.resources[0].json + "," + single.resources[1].json + "]}";
  auto d = decode(list);
  REQUIRE(d.errors == Errors{});
  REQUIRE(d.resources.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(d.resources[i].json == single.resources[i].json);
    CHECK(testing::withoutLocations(d.resources[i]) ==
          testing::withoutLocations(single.resources[i]));
  }
  CHECK(d.resources[1].loc.column == static_cast<int>(list.find(single.resources[1].json)) + 1);
}

TEST_CASE("List errors, and errors of its items at their positions", "[config]") {
  auto d = decode(R"(apiVersion: v2
kind: List
metadata: {labels: {}}
items:
  - apiVersion: gatehouse.dev/v1
    kind: Listener
    metadata: {name: a}
    spec: {port: 0}
  - {apiVersion: v1, kind: List, items: []}
---
apiVersion: v1
kind: List
)");
  CHECK(d.errors == Errors{
                        "t.yaml:1:13: List: apiVersion: must be v1 for kind List",
                        "t.yaml:3:12: List: metadata.labels: unknown field",
                        "t.yaml:8:18: Listener default/a: spec.port: must be between 1 and 65535",
                        "t.yaml:9:28: List: items[1].kind: a List cannot hold a List",
                        "t.yaml:11:1: List: items: is required",
                    });
}

TEST_CASE("Service endpoints given as DNS names", "[config][dns]") {
  auto ok = decode(R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: s}
spec:
  endpoints:
    - {address: api.test.internal, port: 8080, weight: 3}
    - {address: localhost, port: 8080}
    - {address: 10.0.0.1, port: 8080}
)");
  REQUIRE(ok.errors == Errors{});
  const auto& eps = ok.resources.at(0).service().endpoints;
  REQUIRE(eps.size() == 3);
  CHECK(eps[0].address == "api.test.internal");
  CHECK(eps[0].weight == 3);
  CHECK(eps[1].address == "localhost");

  auto bad = decode(R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: s}
spec:
  endpoints:
    - {address: api.test.internal., port: 80}
    - {address: api_x.test, port: 80}
    - {address: -api.test, port: 80}
    - {address: api..test, port: 80}
    - {address: api.test.internal, port: 80}
    - {address: api.test.internal, port: 80}
)");
  CHECK(bad.errors ==
        Errors{
            "t.yaml:6:17: Service default/s: spec.endpoints[0].address: a DNS name must be "
            "written without the trailing dot",
            "t.yaml:7:17: Service default/s: spec.endpoints[1].address: must be an IPv4 or IPv6 "
            "address or a DNS name such as api.example.com",
            "t.yaml:8:17: Service default/s: spec.endpoints[2].address: must be an IPv4 or IPv6 "
            "address or a DNS name such as api.example.com",
            "t.yaml:9:17: Service default/s: spec.endpoints[3].address: must be an IPv4 or IPv6 "
            "address or a DNS name such as api.example.com",
            "t.yaml:11:7: Service default/s: spec.endpoints[5]: duplicate endpoint "
            "api.test.internal port 80",
        });
}
