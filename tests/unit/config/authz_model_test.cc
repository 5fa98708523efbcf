// AuthorizationPolicy's configuration model (issue 5): decoding of every field of
// spec/authz.md, the refusals with their exact positions, MeshConfig rootNamespace and
// extensionProviders, the cross-resource checks, and the canonical forms (no `rules` vs
// `rules: [{}]` must survive).

#include <catch2/catch.hpp>

#include "core/config/decode.h"
#include "core/config/ip_block.h"
#include "tests/unit/config/config_test_util.h"

using namespace gh::config;
using gh::config::testing::decode;
using gh::config::testing::decodeAndValidate;
using gh::config::testing::withoutLocations;
using Errors = std::vector<std::string>;

namespace {

// The brief's example (spec/authz.md), verbatim.
constexpr const char* kBriefExample = R"(apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata:
  name: allow-frontend-to-orders
  namespace: production
spec:
  selector:
    matchLabels:
      app: orders-service
  rules:
    - from:
        - source:
            principals: ["frontend@cluster.local"]
      to:
        - operation:
            methods: ["GET", "POST"]
)";

constexpr const char* kEveryField = R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: every-field
  namespace: production
  annotations: {istio.io/dry-run: "true"}
spec:
  selector: {matchLabels: {app: orders, tier: api}}
  action: DENY
  rules:
    - from:
        - source:
            principals: ["cluster.local/ns/a/sa/b", "spiffe://cluster.local/ns/c/sa/d", "*/sa/e",
                         "f@cluster.local", "*"]
            notPrincipals: ["cluster.local/ns/x/*"]
            namespaces: [prod, "dev*", "*-test"]
            notNamespaces: [kube-system]
            ipBlocks: ["10.0.0.0/8", "192.168.1.7", "fd00::/8"]
            notIpBlocks: ["10.1.0.0/16"]
            remoteIpBlocks: ["203.0.113.0/24"]
            notRemoteIpBlocks: ["::1"]
        - source: {principals: ["g@td.example"]}
      to:
        - operation:
            hosts: ["shop.example.com", "shop.example.com:*", "*.example.com"]
            notHosts: ["admin.example.com"]
            ports: ["8080", 9090]
            notPorts: ["15000"]
            methods: [GET, "P*"]
            notMethods: [DELETE]
            paths: ["/api/*", "/exact", "*.html", "*"]
            notPaths: ["/api/admin*"]
      when:
        - {key: "request.headers[x-tenant]", values: ["acme", "beta*"], notValues: ["*-old"]}
        - {key: source.ip, values: ["10.0.0.0/8"]}
        - {key: remote.ip, notValues: ["1.2.3.4"]}
        - {key: source.principal, values: ["cluster.local/ns/a/sa/b"]}
        - {key: source.namespace, values: [prod]}
        - {key: destination.port, values: ["8080"]}
        - {key: connection.sni, values: ["*.example.com"]}
    - {}
)";

}  // namespace

TEST_CASE("AuthorizationPolicy: the brief's example decodes as written", "[config][authz]") {
  auto d = decode(kBriefExample);
  REQUIRE(d.errors == Errors{});
  REQUIRE(d.resources.size() == 1);
  const Resource& r = d.resources[0];
  CHECK(r.kind == Kind::kAuthorizationPolicy);
  CHECK(r.apiVersion == "security.istio.io/v1beta1");
  const AuthorizationPolicySpec& p = r.authorizationPolicy();
  CHECK(p.hasSelector);
  CHECK(p.matchLabels == std::map<std::string, std::string>{{"app", "orders-service"}});
  CHECK(p.action == AuthzAction::kAllow);
  CHECK_FALSE(p.dryRun);
  REQUIRE(p.rules.size() == 1);
  REQUIRE(p.rules[0].from.size() == 1);
  CHECK(p.rules[0].from[0].principals == std::vector<std::string>{"frontend@cluster.local"});
  REQUIRE(p.rules[0].to.size() == 1);
  CHECK(p.rules[0].to[0].methods == std::vector<std::string>{"GET", "POST"});
  CHECK(p.rules[0].when.empty());
}

TEST_CASE("AuthorizationPolicy: every field", "[config][authz]") {
  auto d = decode(kEveryField);
  REQUIRE(d.errors == Errors{});
  const AuthorizationPolicySpec& p = d.resources.at(0).authorizationPolicy();
  CHECK(p.action == AuthzAction::kDeny);
  CHECK(p.dryRun);
  REQUIRE(p.rules.size() == 2);
  const AuthzRule& r = p.rules[0];
  REQUIRE(r.from.size() == 2);
  CHECK(r.from[0].principals.size() == 5);
  CHECK(r.from[0].notPrincipals == std::vector<std::string>{"cluster.local/ns/x/*"});
  CHECK(r.from[0].namespaces == std::vector<std::string>{"prod", "dev*", "*-test"});
  CHECK(r.from[0].notNamespaces == std::vector<std::string>{"kube-system"});
  CHECK(r.from[0].ipBlocks.size() == 3);
  CHECK(r.from[0].notIpBlocks.size() == 1);
  CHECK(r.from[0].remoteIpBlocks.size() == 1);
  CHECK(r.from[0].notRemoteIpBlocks.size() == 1);
  const AuthzOperation& op = r.to.at(0);
  CHECK(op.hosts.size() == 3);
  CHECK(op.notHosts.size() == 1);
  CHECK(op.ports == std::vector<uint16_t>{8080, 9090});
  CHECK(op.notPorts == std::vector<uint16_t>{15000});
  CHECK(op.methods == std::vector<std::string>{"GET", "P*"});
  CHECK(op.notMethods == std::vector<std::string>{"DELETE"});
  CHECK(op.paths.size() == 4);
  CHECK(op.notPaths.size() == 1);
  REQUIRE(r.when.size() == 7);
  CHECK(r.when[0].key == "request.headers[x-tenant]");
  CHECK(r.when[0].values == std::vector<std::string>{"acme", "beta*"});
  CHECK(r.when[0].notValues == std::vector<std::string>{"*-old"});
  CHECK(r.when[2].values.empty());
  CHECK(p.rules[1] == AuthzRule{});
}

TEST_CASE("AuthorizationPolicy: both apiVersions, and no other", "[config][authz]") {
  for (const char* v : {"security.istio.io/v1", "security.istio.io/v1beta1"}) {
    auto d = decode(std::string("apiVersion: ") + v +
                    "\nkind: AuthorizationPolicy\nmetadata: {name: p}\nspec: {}\n");
    CHECK(d.errors == Errors{});
  }
  auto bad = decode("apiVersion: gatehouse.dev/v1\nkind: AuthorizationPolicy\n"
                    "metadata: {name: p}\nspec: {}\n");
  CHECK(bad.errors == Errors{"t.yaml:1:13: AuthorizationPolicy default/p: apiVersion: must be "
                             "security.istio.io/v1 or security.istio.io/v1beta1 for kind "
                             "AuthorizationPolicy"});
}

TEST_CASE("AuthorizationPolicy: no rules and rules: [{}] stay apart, in every form",
          "[config][authz]") {
  auto d = decode(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: none}
spec: {action: ALLOW}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: all}
spec: {rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: empty-list}
spec: {rules: []}
)");
  REQUIRE(d.errors == Errors{});
  REQUIRE(d.resources.size() == 3);
  CHECK(d.resources[0].authorizationPolicy().rules.empty());
  CHECK(d.resources[1].authorizationPolicy().rules.size() == 1);
  CHECK(d.resources[2].authorizationPolicy().rules.empty());  // Istio: same as no rules
  CHECK(canonicalJson(d.resources[1]).find("\"rules\":[{}]") != std::string::npos);
  CHECK(canonicalJson(d.resources[0]).find("rules") == std::string::npos);
  for (const Resource& r : d.resources) {
    // Canonical JSON and YAML decode back to the same resource.
    for (const std::string& text : {canonicalJson(r), toYaml(r)}) {
      auto again = decode(text);
      REQUIRE(again.errors == Errors{});
      CHECK(withoutLocations(again.resources.at(0)) == withoutLocations(r));
    }
    // So does the encoding of a Resource built in code (no stored JSON).
    Resource built = withoutLocations(r);
    built.json.clear();
    auto fromCode = decode(canonicalJson(built));
    REQUIRE(fromCode.errors == Errors{});
    Resource back = withoutLocations(fromCode.resources.at(0));
    back.json.clear();
    back.loc = {};
    CHECK(back.authorizationPolicy() == built.authorizationPolicy());
  }
}

TEST_CASE("AuthorizationPolicy: every field survives the encoding of a Resource built in code",
          "[config][authz]") {
  auto d = decode(kEveryField);
  REQUIRE(d.errors == Errors{});
  Resource built = withoutLocations(d.resources[0]);
  built.json.clear();
  std::string json = canonicalJson(built);
  auto again = decode(json);
  REQUIRE(again.errors == Errors{});
  CHECK(withoutLocations(again.resources[0]).authorizationPolicy() == built.authorizationPolicy());
  CHECK(json.find("\"ports\":[\"8080\",\"9090\"]") != std::string::npos);
  auto yaml = decode(toYaml(d.resources[0]));
  REQUIRE(yaml.errors == Errors{});
  CHECK(withoutLocations(yaml.resources[0]) == withoutLocations(d.resources[0]));
}

TEST_CASE("AuthorizationPolicy: targetRef and targetRefs", "[config][authz]") {
  auto d = decode(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: edge, namespace: web}
spec:
  targetRefs: [{group: gatehouse.dev, kind: Listener, name: public}]
  rules: [{to: [{operation: {paths: ["/admin*"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: one, namespace: web}
spec:
  targetRef: {group: gatehouse.dev, kind: Listener, name: public, namespace: web}
)");
  REQUIRE(d.errors == Errors{});
  CHECK(d.resources[0].authorizationPolicy().targetRefs.at(0).name == "public");
  CHECK(d.resources[1].authorizationPolicy().targetRefs.at(0).name == "public");
  CHECK_FALSE(d.resources[0].authorizationPolicy().hasSelector);
}

TEST_CASE("AuthorizationPolicy errors, each at its position", "[config][authz]") {
  auto d = decode(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: bad}
spec:
  selector: {matchLabels: {app: x}, matchExpressions: []}
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  action: allow
  rules:
    - from:
        - source: {principals: ["a*b"], ipBlocks: ["10.0.0.0/33", "10.0.0.x"]}
        - source: {requestPrincipals: ["*"]}
        - source: {}
        - {}
      to:
        - operation: {ports: ["0", 70000, "http"], paths: ["/a/{*}"], methods: ["G*T"]}
        - operation: {}
      when:
        - {key: "request.auth.claims[iss]", values: ["x"]}
        - {key: source.ip, values: ["not-an-ip"]}
        - {key: destination.ip, values: ["10.0.0.1"]}
        - {key: "request.header[x]", values: ["a"]}
        - {key: source.namespace}
        - {key: "request.headers[bad name]", values: [a]}
    - nope: 1
    - ~
)");
  CHECK(d.errors ==
        Errors{
            "t.yaml:5:13: AuthorizationPolicy default/bad: spec.selector: cannot be combined with targetRefs: a policy selects Workloads or targets Listeners, not both",
            "t.yaml:5:37: AuthorizationPolicy default/bad: spec.selector.matchExpressions: unknown field",
            "t.yaml:6:24: AuthorizationPolicy default/bad: spec.targetRefs[0].group: must be one of gatehouse.dev",
            "t.yaml:6:57: AuthorizationPolicy default/bad: spec.targetRefs[0].kind: must be one of Listener",
            "t.yaml:7:11: AuthorizationPolicy default/bad: spec.action: must be one of ALLOW, DENY, AUDIT or CUSTOM",
            "t.yaml:10:33: AuthorizationPolicy default/bad: spec.rules[0].from[0].source.principals[0]: principal \"a*b\": '*' may only be a prefix or suffix wildcard, once",
            "t.yaml:10:52: AuthorizationPolicy default/bad: spec.rules[0].from[0].source.ipBlocks[0]: has a prefix length above 32",
            "t.yaml:10:67: AuthorizationPolicy default/bad: spec.rules[0].from[0].source.ipBlocks[1]: must be an IPv4 or IPv6 address or CIDR block, such as 10.0.0.0/8 or fd00::/8",
            "t.yaml:11:39: AuthorizationPolicy default/bad: spec.rules[0].from[1].source.requestPrincipals: needs JWT (RequestAuthentication), which is not supported yet",
            "t.yaml:12:19: AuthorizationPolicy default/bad: spec.rules[0].from[2].source: must not be empty (Istio: a source needs at least one field)",
            "t.yaml:13:11: AuthorizationPolicy default/bad: spec.rules[0].from[3].source: is required",
            "t.yaml:15:31: AuthorizationPolicy default/bad: spec.rules[0].to[0].operation.ports[0]: must be a port number from 1 to 65535",
            "t.yaml:15:36: AuthorizationPolicy default/bad: spec.rules[0].to[0].operation.ports[1]: must be a port number from 1 to 65535",
            "t.yaml:15:43: AuthorizationPolicy default/bad: spec.rules[0].to[0].operation.ports[2]: must be a port number from 1 to 65535",
            "t.yaml:15:60: AuthorizationPolicy default/bad: spec.rules[0].to[0].operation.paths[0]: path templates ({*}, {**}) are not supported yet",
            "t.yaml:15:81: AuthorizationPolicy default/bad: spec.rules[0].to[0].operation.methods[0]: may hold '*' only once, as a prefix (\"*abc\") or suffix (\"abc*\") wildcard or alone (\"*\": any value)",
            "t.yaml:16:22: AuthorizationPolicy default/bad: spec.rules[0].to[1].operation: must not be empty (Istio: an operation needs at least one field)",
            "t.yaml:18:17: AuthorizationPolicy default/bad: spec.rules[0].when[0].key: key request.auth.claims[iss] needs JWT (RequestAuthentication), which is not supported yet",
            "t.yaml:19:37: AuthorizationPolicy default/bad: spec.rules[0].when[1].values[0]: must be an IPv4 or IPv6 address or CIDR block, such as 10.0.0.0/8 or fd00::/8",
            "t.yaml:20:17: AuthorizationPolicy default/bad: spec.rules[0].when[2].key: key destination.ip is not supported yet",
            "t.yaml:21:17: AuthorizationPolicy default/bad: spec.rules[0].when[3].key: unknown key \"request.header[x]\" (known: request.headers[NAME], source.ip, remote.ip, source.principal, source.namespace, destination.port, connection.sni)",
            "t.yaml:22:11: AuthorizationPolicy default/bad: spec.rules[0].when[4]: needs values or notValues (or both)",
            "t.yaml:23:17: AuthorizationPolicy default/bad: spec.rules[0].when[5].key: header name must be an HTTP field name: letters, digits and !#$%&'*+-.^_`|~",
            "t.yaml:24:7: AuthorizationPolicy default/bad: spec.rules[1].nope: unknown field",
            "t.yaml:25:7: AuthorizationPolicy default/bad: spec.rules[2]: must be an object, not null",
        });
}

TEST_CASE("AuthorizationPolicy: CUSTOM needs a provider, and only CUSTOM has one",
          "[config][authz]") {
  auto d = decode(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: c}
spec: {action: CUSTOM, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: a}
spec: {action: ALLOW, provider: {name: ext}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: d, annotations: {istio.io/dry-run: "yes"}}
spec: {action: DENY}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: e, annotations: {istio.io/dry-run: "true"}}
spec: {action: CUSTOM, provider: {name: ext}}
)");
  CHECK(d.errors ==
        Errors{
            "t.yaml:4:7: AuthorizationPolicy default/c: spec.provider: is required with action "
            "CUSTOM: name an extensionProviders[] entry of the MeshConfig",
            "t.yaml:9:33: AuthorizationPolicy default/a: spec.provider: must be set only with "
            "action CUSTOM",
            "t.yaml:14:7: AuthorizationPolicy default/d: "
            "metadata.annotations[\"istio.io/dry-run\"]: must be \"true\" or \"false\"",
            "t.yaml:19:7: AuthorizationPolicy default/e: "
            "metadata.annotations[\"istio.io/dry-run\"]: dry-run is not supported for action "
            "CUSTOM yet",
        });
}

TEST_CASE("MeshConfig: rootNamespace and extensionProviders", "[config][authz][mesh]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default}
spec:
  rootNamespace: mesh-root
  extensionProviders:
    - name: ext-authz
      envoyExtAuthzHttp:
        service: authz.security
        port: 8000
        pathPrefix: /check
        includeRequestHeadersInCheck: [Authorization, x-user]
        headersToUpstreamOnAllow: [x-user-id]
        timeout: 2s
        failOpen: true
)");
  REQUIRE(d.errors == Errors{});
  const MeshConfigSpec& m = d.resources.at(0).meshConfig();
  CHECK(m.rootNamespace == "mesh-root");
  REQUIRE(m.extensionProviders.size() == 1);
  const ExtensionProvider& p = m.extensionProviders[0];
  CHECK(p.name == "ext-authz");
  CHECK(p.http.service == "authz.security");
  CHECK(p.http.port == 8000);
  CHECK(p.http.pathPrefix == "/check");
  CHECK(p.http.includeRequestHeadersInCheck == std::vector<std::string>{"authorization", "x-user"});
  CHECK(p.http.headersToUpstreamOnAllow == std::vector<std::string>{"x-user-id"});
  CHECK(p.http.timeoutMs == 2000);
  CHECK(p.http.failOpen);
  CHECK(MeshConfigSpec{}.rootNamespace == "gatehouse-system");

  Resource built = withoutLocations(d.resources[0]);
  built.json.clear();
  auto again = decode(canonicalJson(built));
  REQUIRE(again.errors == Errors{});
  CHECK(withoutLocations(again.resources[0]).meshConfig() == built.meshConfig());

  auto bad = decode(R"(apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default}
spec:
  rootNamespace: Not_A_Label
  extensionProviders:
    - name: a
      envoyExtAuthzGrpc: {service: x, port: 1}
    - name: a
      envoyExtAuthzHttp: {service: "bad name", statusOnError: "500"}
)");
  CHECK(bad.errors ==
        Errors{
            "t.yaml:5:18: MeshConfig default/default: spec.rootNamespace: must be a lower-case "
            "DNS label: letters, digits and '-', starting and ending with a letter or digit, at "
            "most 63 characters",
            "t.yaml:7:7: MeshConfig default/default: spec.extensionProviders[0].envoyExtAuthzHttp: "
            "is required",
            "t.yaml:8:26: MeshConfig default/default: spec.extensionProviders[0].envoyExtAuthzGrpc: "
            "is not supported yet",
            "t.yaml:9:13: MeshConfig default/default: spec.extensionProviders[1].name: duplicate "
            "provider name \"a\"",
            "t.yaml:10:26: MeshConfig default/default: "
            "spec.extensionProviders[1].envoyExtAuthzHttp.port: is required",
            "t.yaml:10:36: MeshConfig default/default: "
            "spec.extensionProviders[1].envoyExtAuthzHttp.service: must name a Service: name, "
            "name.namespace or namespace/name",
            "t.yaml:10:63: MeshConfig default/default: "
            "spec.extensionProviders[1].envoyExtAuthzHttp.statusOnError: is not supported yet",
        });
}

TEST_CASE("AuthorizationPolicy: cross-resource checks", "[config][authz]") {
  const std::string mesh = R"(apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default}
spec:
  extensionProviders:
    - name: ext
      envoyExtAuthzHttp: {service: authz, port: 8000}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: authz}
spec: {endpoints: [{address: 127.0.0.1, port: 8000}]}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: public}
spec: {port: 8080}
---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: app}
spec: {serviceAccount: app, port: 9000}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: inbound}
spec: {port: 15006, protocol: MESH_INBOUND}
)";
  auto good = decodeAndValidate(mesh + R"(---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: custom}
spec: {action: CUSTOM, provider: {name: ext}, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: edge}
spec: {targetRef: {group: gatehouse.dev, kind: Listener, name: public}}
)");
  CHECK(good.errors == Errors{});

  auto bad = decodeAndValidate(mesh + R"(---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: custom}
spec: {action: CUSTOM, provider: {name: other}, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: edge}
spec:
  targetRefs:
    - {group: gatehouse.dev, kind: Listener, name: missing}
    - {group: gatehouse.dev, kind: Listener, name: inbound}
)");
  CHECK(bad.errors ==
        Errors{
            "t.yaml:32:41: AuthorizationPolicy default/custom: spec.provider.name: provider "
            "\"other\" is not declared in MeshConfig spec.extensionProviders (declared: ext)",
            "t.yaml:39:7: AuthorizationPolicy default/edge: spec.targetRefs[0]: Listener "
            "default/missing does not exist",
            "t.yaml:40:7: AuthorizationPolicy default/edge: spec.targetRefs[1]: Listener "
            "default/inbound is a mesh listener: targetRefs attach to edge listeners (HTTP, "
            "HTTPS); requests to a Workload are authorized by the policies that select it",
        });

  auto noService = decodeAndValidate(R"(apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default, namespace: mesh}
spec:
  extensionProviders:
    - {name: ext, envoyExtAuthzHttp: {service: authz.security, port: 8000}}
)");
  CHECK(noService.errors ==
        Errors{"t.yaml:6:48: MeshConfig mesh/default: "
               "spec.extensionProviders[0].envoyExtAuthzHttp.service: Service security/authz "
               "does not exist"});

  auto noMesh = decodeAndValidate(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: custom}
spec: {action: CUSTOM, provider: {name: ext}}
)");
  CHECK(noMesh.errors ==
        Errors{"t.yaml:4:41: AuthorizationPolicy default/custom: spec.provider.name: provider "
               "\"ext\" is not declared in MeshConfig spec.extensionProviders (there are none)"});
}

TEST_CASE("AuthorizationPolicy: kind names", "[config][authz]") {
  CHECK(std::string(kindName(Kind::kAuthorizationPolicy)) == "AuthorizationPolicy");
  Kind k = Kind::kListener;
  for (const char* name : {"AuthorizationPolicy", "authorizationpolicies", "ap"}) {
    k = Kind::kListener;
    CHECK(parseKindName(name, &k));
    CHECK(k == Kind::kAuthorizationPolicy);
  }
  CHECK(std::string(authzActionName(AuthzAction::kCustom)) == "CUSTOM");
}

TEST_CASE("IP blocks", "[config][authz]") {
  IpBlock b;
  std::string why;
  REQUIRE(parseIpBlock("10.0.0.0/8", &b, &why));
  IpAddress a;
  REQUIRE(parseIpAddress("10.200.1.1", &a));
  CHECK(b.contains(a));
  REQUIRE(parseIpAddress("11.0.0.1", &a));
  CHECK_FALSE(b.contains(a));
  REQUIRE(parseIpBlock("10.1.0.0/8", &b));  // bits beyond the prefix cleared, as Istio does
  CHECK(b.toString() == "10.0.0.0/8");
  REQUIRE(parseIpBlock("192.168.1.7", &b));
  CHECK(b.prefix == 32);
  REQUIRE(parseIpBlock("0.0.0.0/0", &b));
  REQUIRE(parseIpAddress("fd00::1", &a));
  CHECK_FALSE(b.contains(a));  // an IPv4 block holds no IPv6 address
  REQUIRE(parseIpBlock("fd00::/8", &b));
  CHECK(b.contains(a));
  REQUIRE(parseIpBlock("fd00::1/127", &b));
  CHECK(b.toString() == "fd00::/127");
  REQUIRE(parseIpAddress("::ffff:10.0.0.1", &a));
  REQUIRE(parseIpBlock("10.0.0.0/8", &b));
  CHECK_FALSE(b.contains(a));  // v4-mapped is IPv6, as in Envoy
  for (const char* bad : {"", "/8", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/-1", "10.0.0.0/33",
                          "::/129", "10.0.0", "010.0.0.1", "fe80::1%eth0", "10.0.0.0/8/8",
                          "10.0.0.0 /8", "host.example"})
    CHECK_FALSE(parseIpBlock(bad, &b, &why));
  // inet_pton stops at a NUL; the parser must not (found by tests/fuzz/ip_block_fuzzer).
  CHECK_FALSE(parseIpBlock(std::string_view("10.0.0.1\0junk", 13), &b, &why));
  CHECK_FALSE(parseIpAddress(std::string_view("::1\0", 4), &a));
}
