// The mesh's configuration model (issue 4): Workload, MeshConfig, MESH_INBOUND and
// MESH_OUTBOUND listeners (spec.workload), Service mesh and identity. Each rule accepted and
// refused, with the exact position of the error.

#include <catch2/catch.hpp>

#include "core/config/decode.h"
#include "tests/unit/config/config_test_util.h"

using namespace gh::config;
using gh::config::testing::decode;
using gh::config::testing::decodeAndValidate;
using Errors = std::vector<std::string>;

namespace {

constexpr const char* kWorkload = R"(
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: app}
spec: {serviceAccount: app, port: 8080}
)";

}  // namespace

// --- Workload ----------------------------------------------------------------------------

TEST_CASE("Workload: defaults and every field", "[config][mesh]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: orders-service, namespace: production, labels: {app: orders}}
spec: {serviceAccount: orders, port: 8080}
---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: v6}
spec: {serviceAccount: Orders_v2.x, address: "::1", port: 65535}
)");
  REQUIRE(d.errors == Errors{});
  REQUIRE(d.resources.size() == 2);
  CHECK(d.resources[0].kind == Kind::kWorkload);
  CHECK(d.resources[0].workload() == WorkloadSpec{"orders", "127.0.0.1", 8080});
  CHECK(d.resources[0].meta.labels.at("app") == "orders");
  CHECK(d.resources[1].workload() == WorkloadSpec{"Orders_v2.x", "::1", 65535});
}

TEST_CASE("Workload errors", "[config][mesh]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: a}
spec: {address: localhost, port: 0, extra: 1}
---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: b}
spec: {serviceAccount: "a/b", port: 70000}
---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: c}
spec: {serviceAccount: "..", port: 80}
---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: d}
spec: {serviceAccount: "", port: 80}
)");
  const std::string segment =
      "must be a SPIFFE ID path segment: letters, digits, '.', '-' and '_', not '.' or '..' (it "
      "names the identity spiffe://<trustDomain>/ns/<namespace>/sa/<account>)";
  CHECK(d.errors ==
        Errors{
            "t.yaml:4:7: Workload default/a: spec.serviceAccount: is required",
            "t.yaml:4:17: Workload default/a: spec.address: must be an IPv4 or IPv6 address, "
            "such as 127.0.0.1 or ::1",
            "t.yaml:4:34: Workload default/a: spec.port: must be between 1 and 65535",
            "t.yaml:4:37: Workload default/a: spec.extra: unknown field",
            "t.yaml:9:24: Workload default/b: spec.serviceAccount: " + segment,
            "t.yaml:9:37: Workload default/b: spec.port: must be between 1 and 65535",
            "t.yaml:14:24: Workload default/c: spec.serviceAccount: " + segment,
            "t.yaml:19:24: Workload default/d: spec.serviceAccount: " + segment,
        });
  auto noPort = decode(
      "apiVersion: gatehouse.dev/v1\nkind: Workload\nmetadata: {name: a}\n"
      "spec: {serviceAccount: a}\n");
  CHECK(noPort.errors == Errors{"t.yaml:4:7: Workload default/a: spec.port: is required"});
}

// --- MeshConfig --------------------------------------------------------------------------

TEST_CASE("MeshConfig: defaults and every field", "[config][mesh]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default}
spec: {}
)");
  REQUIRE(d.errors == Errors{});
  CHECK(d.resources.at(0).kind == Kind::kMeshConfig);
  CHECK(d.resources.at(0).meshConfig() == MeshConfigSpec{});
  CHECK(MeshConfigSpec{}.trustDomain == "cluster.local");
  CHECK(MeshConfigSpec{}.mtls == MtlsMode::kStrict);
  CHECK(MeshConfigSpec{}.certificateTtlMs == 86'400'000);
  CHECK(MeshConfigSpec{}.caAddress.empty());

  for (auto [ttl, ms] : {std::pair{"10s", 10'000ull}, std::pair{"2160h", 7'776'000'000ull},
                         std::pair{"1h30m", 5'400'000ull}}) {
    auto t = decode(std::string("apiVersion: gatehouse.dev/v1\nkind: MeshConfig\n"
                                "metadata: {name: default}\nspec: {certificateTTL: ") +
                    ttl + "}\n");
    REQUIRE(t.errors == Errors{});
    CHECK(t.resources.at(0).meshConfig().certificateTtlMs == ms);
  }
  for (const char* ca : {"ca.internal:15012", "10.0.0.1:1", "[fd00::1]:65535", "ca:15012"}) {
    auto c = decode(std::string("apiVersion: gatehouse.dev/v1\nkind: MeshConfig\n"
                                "metadata: {name: default}\nspec: {caAddress: \"") +
                    ca + "\"}\n");
    INFO(ca);
    CHECK(c.errors == Errors{});
    if (!c.resources.empty()) CHECK(c.resources[0].meshConfig().caAddress == ca);
  }
  auto p = decode(R"(apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default, namespace: gatehouse-system}
spec: {trustDomain: prod.example.org, mtls: PERMISSIVE, certificateTTL: 1h}
)");
  REQUIRE(p.errors == Errors{});
  CHECK(p.resources.at(0).meshConfig() ==
        testing::meshSpec("prod.example.org", MtlsMode::kPermissive, 3'600'000, ""));
}

TEST_CASE("MeshConfig errors", "[config][mesh]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: mesh}
spec:
  trustDomain: Cluster.Local
  mtls: strict
  certificateTTL: 9s
  caAddress: ca.internal
  rootNamespace: X_y
---
apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default}
spec: {trustDomain: "td:80", certificateTTL: 2161h, caAddress: "fd00::1:15012"}
)");
  CHECK(d.errors ==
        Errors{
            "t.yaml:3:18: MeshConfig default/mesh: metadata.name: must be \"default\": "
            "MeshConfig is a singleton",
            "t.yaml:5:16: MeshConfig default/mesh: spec.trustDomain: must be a SPIFFE trust "
            "domain such as cluster.local: trust domain must be lower case",
            "t.yaml:6:9: MeshConfig default/mesh: spec.mtls: must be one of STRICT or PERMISSIVE",
            "t.yaml:7:19: MeshConfig default/mesh: spec.certificateTTL: must be at least 10s",
            "t.yaml:8:14: MeshConfig default/mesh: spec.caAddress: must be host:port, such as "
            "ca.internal:15012 or [fd00::1]:15012",
            "t.yaml:9:18: MeshConfig default/mesh: spec.rootNamespace: must be a lower-case DNS "
            "label: letters, digits and '-', starting and ending with a letter or digit, at most "
            "63 characters",
            "t.yaml:14:21: MeshConfig default/default: spec.trustDomain: must be a SPIFFE trust "
            "domain such as cluster.local: trust domain must not have a port",
            "t.yaml:14:46: MeshConfig default/default: spec.certificateTTL: must be at most "
            "2160h",
            "t.yaml:14:64: MeshConfig default/default: spec.caAddress: must write an IPv6 "
            "address in brackets, as [fd00::1]:15012",
        });

  struct Case {
    const char* ca;
    const char* error;
  };
  for (const Case& c : {
           Case{"ca.internal:0", "must end with a port number from 1 to 65535"},
           Case{"ca.internal:65536", "must end with a port number from 1 to 65535"},
           Case{"ca.internal:+80", "must end with a port number from 1 to 65535"},
           Case{"ca.internal:", "must end with a port number from 1 to 65535"},
           Case{":15012", "must be host:port, such as ca.internal:15012 or [fd00::1]:15012"},
           Case{"", "must be host:port, such as ca.internal:15012 or [fd00::1]:15012"},
           Case{"[fd00::1]", "must be host:port, such as ca.internal:15012 or [fd00::1]:15012"},
           Case{"[ca.internal]:1", "has \"[ca.internal]\", which is not an IPv6 address"},
           Case{"ca_x.internal:1",
                "host must be a DNS hostname such as shop.example.com: labels of letters, "
                "digits and '-', at most 63 characters each"},
       }) {
    auto e = decode(std::string("apiVersion: gatehouse.dev/v1\nkind: MeshConfig\n"
                                "metadata: {name: default}\nspec: {caAddress: \"") +
                    c.ca + "\"}\n");
    INFO(c.ca);
    CHECK(e.errors == Errors{"t.yaml:4:19: MeshConfig default/default: spec.caAddress: " +
                             std::string(c.error)});
  }
}

TEST_CASE("MeshConfig: one for the whole mesh", "[config][mesh]") {
  auto d = decodeAndValidate(R"(apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default}
spec: {}
---
apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default, namespace: other}
spec: {}
---
apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default}
spec: {}
)");
  CHECK(d.errors == Errors{
                        "t.yaml:13:18: MeshConfig default/default: metadata.name: already "
                        "defined at t.yaml:3:18",
                        "t.yaml:8:18: MeshConfig other/default: metadata.name: there is one "
                        "MeshConfig for the whole mesh; MeshConfig default/default is already "
                        "defined at t.yaml:3:18",
                    });
}

// --- Listeners ---------------------------------------------------------------------------

TEST_CASE("mesh listeners: workload, and no tls", "[config][mesh]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: in}
spec: {port: 15006, protocol: MESH_INBOUND, workload: app}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: out}
spec: {address: 127.0.0.1, port: 15001, protocol: MESH_OUTBOUND}
)");
  REQUIRE(d.errors == Errors{});
  const ListenerSpec& in = d.resources.at(0).listener();
  CHECK(in.protocol == Protocol::kMeshInbound);
  CHECK(in.workload == "app");
  CHECK(in.workloadLoc == SourceLoc{"t.yaml", 4, 55});
  CHECK_FALSE(in.tls);
  CHECK(d.resources.at(1).listener().protocol == Protocol::kMeshOutbound);
  CHECK(d.resources.at(1).listener().workload.empty());

  auto e = decode(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: in}
spec:
  port: 15006
  protocol: MESH_INBOUND
  tls: {certificates: [{certFile: /c, keyFile: /k}]}
  workload: App
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: out}
spec:
  port: 15001
  protocol: MESH_OUTBOUND
  tls: {}
  workload: app
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: http}
spec: {port: 80, workload: app}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: https}
spec: {port: 443, protocol: HTTPS, workload: app, tls: {certificates: [{certFile: /c, keyFile: /k}]}}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: typo}
spec: {port: 1, protocol: MESH, workload: app, tls: {}}
)");
  CHECK(e.errors ==
        Errors{
            "t.yaml:7:8: Listener default/in: spec.tls: must not be set for protocol "
            "MESH_INBOUND: mesh listeners use this node's workload certificate",
            "t.yaml:8:13: Listener default/in: spec.workload: must be a lower-case DNS name: "
            "letters, digits, '-' and '.', starting and ending with a letter or digit, at most "
            "253 characters",
            "t.yaml:16:8: Listener default/out: spec.tls: must not be set for protocol "
            "MESH_OUTBOUND: mesh listeners use this node's workload certificate",
            "t.yaml:22:28: Listener default/http: spec.workload: must not be set for protocol "
            "HTTP: a mesh listener belongs to a Workload, an edge one does not",
            "t.yaml:27:46: Listener default/https: spec.workload: must not be set for protocol "
            "HTTPS: a mesh listener belongs to a Workload, an edge one does not",
            "t.yaml:32:27: Listener default/typo: spec.protocol: must be one of HTTP, HTTPS, "
            "MESH_INBOUND or MESH_OUTBOUND",
        });
}

TEST_CASE("MESH_INBOUND forwards to a Workload that exists", "[config][mesh]") {
  const std::string inbound = R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: in}
spec: {port: 15006, protocol: MESH_INBOUND}
)";
  SECTION("unnamed: the only Workload") {
    auto d = decodeAndValidate(inbound + "---" + kWorkload);
    CHECK(d.errors == Errors{});
  }
  SECTION("unnamed: there is none") {
    auto d = decodeAndValidate(inbound);
    CHECK(d.errors == Errors{"t.yaml:4:7: Listener default/in: spec.workload: a MESH_INBOUND "
                             "listener forwards to a Workload; there is none"});
  }
  SECTION("unnamed: there are several") {
    auto d = decodeAndValidate(inbound + "---" + kWorkload + R"(---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: other, namespace: prod}
spec: {serviceAccount: other, port: 8081}
)");
    CHECK(d.errors == Errors{"t.yaml:4:7: Listener default/in: spec.workload: there are 2 "
                             "Workloads (default/app, prod/other); name one with spec.workload"});
  }
  SECTION("named, in the listener's namespace") {
    auto d = decodeAndValidate(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: in, namespace: prod}
spec: {port: 15006, protocol: MESH_INBOUND, workload: app}
---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: app, namespace: prod}
spec: {serviceAccount: app, port: 8080}
---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: app}
spec: {serviceAccount: app, port: 8081}
)");
    CHECK(d.errors == Errors{});
  }
  SECTION("named, in another namespace") {
    auto d = decodeAndValidate(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: in, namespace: prod}
spec:
  port: 15006
  protocol: MESH_INBOUND
  workload: app
)" + std::string("---") + kWorkload);
    CHECK(d.errors == Errors{"t.yaml:7:13: Listener prod/in: spec.workload: Workload prod/app "
                             "does not exist"});
  }
  SECTION("MESH_OUTBOUND needs no Workload") {
    auto d = decodeAndValidate(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: out}
spec: {port: 15001, protocol: MESH_OUTBOUND}
)");
    CHECK(d.errors == Errors{});
  }
}

TEST_CASE("routes attach to HTTP, HTTPS and MESH_OUTBOUND listeners, not MESH_INBOUND",
          "[config][mesh]") {
  auto d = decodeAndValidate(std::string(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: in}
spec: {port: 15006, protocol: MESH_INBOUND}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: out}
spec: {port: 15001, protocol: MESH_OUTBOUND}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: edge}
spec: {port: 80}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: out}, {name: edge}, {name: in}]
---)") + kWorkload);
  CHECK(d.errors == Errors{"t.yaml:20:43: HTTPRoute default/r: spec.parentRefs[2]: Listener "
                           "default/in is MESH_INBOUND: MESH_INBOUND forwards to its Workload; "
                           "routes attach to MESH_OUTBOUND or edge listeners"});
}

// --- Service mesh and identity -----------------------------------------------------------

TEST_CASE("Service: mesh and identity", "[config][mesh]") {
  auto d = decodeAndValidate(R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: orders, namespace: production}
spec:
  endpoints: [{address: 10.0.0.12, port: 15006}]
  mesh: true
  identity: spiffe://cluster.local/ns/production/sa/orders
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: any}
spec: {endpoints: [{address: 10.0.0.13, port: 15006}], mesh: true}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: plain}
spec: {endpoints: [{address: 10.0.0.14, port: 80}], mesh: false}
)");
  REQUIRE(d.errors == Errors{});
  const ServiceSpec& orders = d.resources.at(0).service();
  CHECK(orders.mesh);
  CHECK(orders.identity == "spiffe://cluster.local/ns/production/sa/orders");
  CHECK(orders.identityLoc == SourceLoc{"t.yaml", 7, 13});
  CHECK(d.resources.at(1).service().mesh);
  CHECK(d.resources.at(1).service().identity.empty());
  CHECK_FALSE(d.resources.at(2).service().mesh);
  CHECK_FALSE(ServiceSpec{}.mesh);
}

TEST_CASE("Service: mesh and identity errors", "[config][mesh]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: a}
spec:
  endpoints: [{address: 10.0.0.1, port: 80}]
  identity: spiffe://cluster.local/ns/default/sa/a
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: b}
spec:
  endpoints: [{address: 10.0.0.1, port: 80}]
  mesh: false
  identity: spiffe://cluster.local/ns/default/sa/b
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: c}
spec:
  directResponse: {status: 200}
  mesh: true
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: d}
spec:
  endpoints: [{address: 10.0.0.1, port: 80}]
  mesh: "yes"
  identity: cluster.local/ns/default/sa/d
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: e}
spec:
  endpoints: [{address: 10.0.0.1, port: 80}]
  mesh: true
  identity: spiffe://Cluster.local/ns/default/sa/e
)");
  CHECK(d.errors.size() == 6);
  const std::string needsMesh =
      "needs mesh: true (the identity is checked on the mesh's mutual TLS, which only a mesh "
      "Service uses)";
  CHECK(d.errors.at(0) == "t.yaml:6:13: Service default/a: spec.identity: " + needsMesh);
  CHECK(d.errors.at(1) == "t.yaml:14:13: Service default/b: spec.identity: " + needsMesh);
  CHECK(d.errors.at(2) ==
        "t.yaml:21:9: Service default/c: spec.mesh: cannot be combined with directResponse: a "
        "direct response is answered by this node and never reaches a mesh peer");
  CHECK(d.errors.at(3) == "t.yaml:28:9: Service default/d: spec.mesh: must be true or false, "
                          "not a string");
  CHECK(d.errors.at(4) ==
        "t.yaml:29:13: Service default/d: spec.identity: must be a SPIFFE ID such as "
        "spiffe://cluster.local/ns/production/sa/orders: SPIFFE ID "
        "\"cluster.local/ns/default/sa/d\": must start with spiffe://");
  CHECK(d.errors.at(5) ==
        "t.yaml:37:13: Service default/e: spec.identity: must be a SPIFFE ID such as "
        "spiffe://cluster.local/ns/production/sa/orders: SPIFFE ID "
        "\"spiffe://Cluster.local/ns/default/sa/e\": trust domain must be lower case");
}

TEST_CASE("Service identity: the mesh's trust domain", "[config][mesh]") {
  const std::string service = R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: orders}
spec:
  endpoints: [{address: 10.0.0.1, port: 80}]
  mesh: true
  identity: spiffe://prod.example.org/ns/default/sa/orders
)";
  SECTION("no MeshConfig: cluster.local") {
    auto d = decodeAndValidate(service);
    CHECK(d.errors == Errors{"t.yaml:7:13: Service default/orders: spec.identity: trust domain "
                             "\"prod.example.org\" is not this mesh's (\"cluster.local\"); "
                             "federation with other trust domains is not supported yet"});
  }
  SECTION("the MeshConfig's trust domain") {
    auto d = decodeAndValidate(service + R"(---
apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default}
spec: {trustDomain: prod.example.org}
)");
    CHECK(d.errors == Errors{});
  }
  SECTION("another trust domain than the MeshConfig's") {
    auto d = decodeAndValidate(service + R"(---
apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default}
spec: {trustDomain: staging.example.org}
)");
    CHECK(d.errors == Errors{"t.yaml:7:13: Service default/orders: spec.identity: trust domain "
                             "\"prod.example.org\" is not this mesh's (\"staging.example.org\"); "
                             "federation with other trust domains is not supported yet"});
  }
}

TEST_CASE("mesh resources round-trip through canonical JSON", "[config][mesh]") {
  Resource built;
  built.apiVersion = "gatehouse.dev/v1";
  built.kind = Kind::kMeshConfig;
  built.meta.name = "default";
  built.spec = testing::meshSpec("cluster.local", MtlsMode::kPermissive, 3'600'000, "ca:15012");
  CHECK(canonicalJson(built) ==
        R"({"apiVersion":"gatehouse.dev/v1","kind":"MeshConfig",)"
        R"("metadata":{"name":"default","namespace":"default"},)"
        R"("spec":{"caAddress":"ca:15012","certificateTTL":"1h","mtls":"PERMISSIVE",)"
        R"("rootNamespace":"gatehouse-system","trustDomain":"cluster.local"}})");
  Resource w;
  w.apiVersion = "gatehouse.dev/v1";
  w.kind = Kind::kWorkload;
  w.meta.name = "app";
  w.spec = WorkloadSpec{"app", "127.0.0.1", 8080};
  CHECK(canonicalJson(w) ==
        R"({"apiVersion":"gatehouse.dev/v1","kind":"Workload",)"
        R"("metadata":{"name":"app","namespace":"default"},)"
        R"("spec":{"address":"127.0.0.1","port":8080,"serviceAccount":"app"}})");
  for (const Resource& r : {built, w}) {
    auto again = decode(canonicalJson(r), "encoded");
    REQUIRE(again.errors == Errors{});
    Resource got = gh::config::testing::withoutLocations(again.resources.at(0));
    got.json.clear();
    CHECK(got == r);
  }
}
