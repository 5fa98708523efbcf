// The authorization engine against Istio's documented semantics: a table of cases, each a set
// of policies (YAML decoded and validated through core/config, so the real decoder is part of
// every case), a request, the expected decision and the policy/rule that decides it, and the
// Istio documentation rule it checks.
//
// Fixture: Workload production/orders (labels app: orders-service, version: v1), edge Listener
// production/public, MeshConfig with the CUSTOM provider ext-authz. Policies are in namespace
// production unless a case says otherwise. The default request: peer
// spiffe://cluster.local/ns/production/sa/frontend, GET /, Host orders.production, port 8080,
// source 10.0.0.5.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/config/decode.h"
#include "core/config/validate.h"
#include "core/policy/authz.h"

using namespace gh;
using By = policy::Decision::By;


// The case tables below name only what differs from a field's default (C++20 designated and
// brace initializers); GCC's -Wmissing-field-initializers reports every member left out even
// when it has a default member initializer, which is the point of these tables.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

constexpr const char* kFrontend = "spiffe://cluster.local/ns/production/sa/frontend";
constexpr const char* kFrontendStaging = "spiffe://cluster.local/ns/staging/sa/frontend";
constexpr const char* kFrontendOtherTd = "spiffe://other.example/ns/production/sa/frontend";
constexpr const char* kBilling = "spiffe://cluster.local/ns/billing/sa/billing";
constexpr const char* kNonWorkload = "spiffe://cluster.local/custom/path";
constexpr const char* kNoPeer = "";

constexpr const char* kBase = R"(apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: orders, namespace: production, labels: {app: orders-service, version: v1}}
spec: {serviceAccount: orders, port: 9000}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: public, namespace: production}
spec: {port: 8443}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: authz}
spec: {directResponse: {status: 200}}
)";

constexpr const char* kMesh = R"(---
apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default}
spec:
  extensionProviders:
    - {name: ext-authz, envoyExtAuthzHttp: {service: authz, port: 9000}}
)";

// An AuthorizationPolicy document; `spec` is the content of a flow mapping.
std::string P(const std::string& name, const std::string& spec, const std::string& ns = "production",
              const std::string& annotations = "") {
  std::string meta = "{name: " + name + ", namespace: " + ns;
  if (!annotations.empty()) meta += ", annotations: {" + annotations + "}";
  meta += "}";
  return "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: " + meta +
         "\nspec: {" + spec + "}\n";
}
std::string Allow(const std::string& name, const std::string& rules) {
  return P(name, "action: ALLOW, rules: " + rules);
}
std::string Deny(const std::string& name, const std::string& rules) {
  return P(name, "action: DENY, rules: " + rules);
}
// One rule with a single source / operation / condition.
std::string from(const std::string& source) { return "[{from: [{source: {" + source + "}}]}]"; }
std::string to(const std::string& op) { return "[{to: [{operation: {" + op + "}}]}]"; }
std::string when(const std::string& cond) { return "[{when: [{" + cond + "}]}]"; }

struct Req {
  std::string principal = kFrontend;
  std::string method = "GET";
  std::string path = "/";
  std::string host = "orders.production";
  uint16_t port = 8080;
  std::string sourceIp = "10.0.0.5";  // "" for none
  std::string remoteIp;               // "" for none (then the source address)
  std::string sni;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct Expect {
  bool allow;
  By by;
  std::string policy;  // "" when no policy decides
  int rule = -1;
};

struct Case {
  std::string istio;  // the Istio documentation rule the case checks
  std::string policies;
  Req req;
  Expect want;
  std::string explainHas;  // a substring of explain(), when set
  bool atListener = false;  // evaluate at Listener production/public instead of the Workload
  bool customDenies = false;  // the CUSTOM provider answers "deny"
  std::string mesh = kMesh;
};

Req R(Req r) { return r; }
Req method(const char* m) { return Req{.method = m}; }
Req path(const char* p) { return Req{.path = p}; }
Req peer(const char* p) { return Req{.principal = p}; }
Req host(const char* h) { return Req{.host = h}; }
Req header(const char* n, const char* v) { return Req{.headers = {{n, v}}}; }

const Expect kNoAllowPolicy{true, By::kNoAllowPolicy, ""};
const Expect kNoAllowMatched{false, By::kNoAllowMatched, ""};
Expect allowedBy(const char* p, int rule = 0) { return Expect{true, By::kAllow, p, rule}; }
Expect deniedBy(const char* p, int rule = 0) { return Expect{false, By::kDeny, p, rule}; }

// A single ALLOW policy "p" holding `rules`: the request is allowed by it, or not.
Case allowIf(const char* istio, const std::string& rules, Req req, bool matches) {
  return Case{istio, Allow("p", rules), std::move(req),
              matches ? allowedBy("p") : kNoAllowMatched};
}

std::vector<Case> cases() {
  const std::string brief = R"(---
apiVersion: security.istio.io/v1beta1
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
  const char* kBrief = "allow-frontend-to-orders";
  std::vector<Case> c = {
      // --- the brief's example (spec/authz.md) -------------------------------------------
      {"brief: frontend may GET orders", brief, Req{}, allowedBy(kBrief)},
      {"brief: frontend may POST orders", brief, method("POST"), allowedBy(kBrief)},
      {"brief: frontend may not DELETE (ALLOW applies, none matches)", brief, method("DELETE"),
       kNoAllowMatched},
      {"brief: another workload is denied", brief, peer(kBilling), kNoAllowMatched},
      {"brief: a plaintext request has no principal", brief, peer(kNoPeer), kNoAllowMatched},
      {"principal name@td: any namespace", brief, peer(kFrontendStaging), allowedBy(kBrief)},
      {"principal name@td: that trust domain only", brief, peer(kFrontendOtherTd),
       kNoAllowMatched},
      {"selector: a policy whose selector does not match does not apply",
       P("other", "selector: {matchLabels: {app: billing}}, rules: [{}]"), Req{}, kNoAllowPolicy},

      // --- the decision order ------------------------------------------------------------
      {"no policy: allow", "", Req{}, kNoAllowPolicy},
      {"only DENY policies, none matching: allow (no ALLOW policy)",
       Deny("d", to("methods: [DELETE]")), Req{}, kNoAllowPolicy},
      {"ALLOW with no rules allows nothing", P("nothing", "action: ALLOW"), Req{},
       kNoAllowMatched},
      {"ALLOW with no action field is ALLOW (default action)", P("p", "rules: [{}]"), Req{},
       allowedBy("p")},
      {"rules: [{}] matches everything", Allow("all", "[{}]"), Req{}, allowedBy("all")},
      {"rules: [] is no rules: matches nothing", Allow("none", "[]"), Req{}, kNoAllowMatched},
      {"DENY rules: [{}] denies everything", Deny("all", "[{}]"), Req{}, deniedBy("all")},
      {"DENY with no rules denies nothing", P("d", "action: DENY"), Req{}, kNoAllowPolicy},
      {"DENY is evaluated before ALLOW", Deny("d", "[{}]") + Allow("a", "[{}]"), Req{},
       deniedBy("d")},
      {"DENY before ALLOW, both matching on fields",
       Deny("d", to("paths: [\"/admin*\"]")) + Allow("a", to("methods: [GET]")),
       path("/admin/x"), deniedBy("d")},
      {"DENY not matching, ALLOW matching: allow",
       Deny("d", to("paths: [\"/admin*\"]")) + Allow("a", to("methods: [GET]")), Req{},
       allowedBy("a")},
      {"DENY and ALLOW not matching: deny",
       Deny("d", to("paths: [\"/admin*\"]")) + Allow("a", to("methods: [POST]")), Req{},
       kNoAllowMatched},
      {"any ALLOW policy matching allows", Allow("a", to("methods: [POST]")) +
                                               Allow("b", to("methods: [GET]")),
       Req{}, allowedBy("b")},
      {"the first matching DENY (namespace/name order) is reported",
       Deny("b-second", "[{}]") + Deny("a-first", "[{}]"), Req{}, deniedBy("a-first")},
      {"a policy matches if any rule matches; the rule is reported",
       Allow("a", "[{to: [{operation: {methods: [POST]}}]}, {to: [{operation: {methods: [GET]}}]}]"),
       Req{}, allowedBy("a", 1)},
      {"AUDIT does not change the outcome (no ALLOW policy: allow)",
       P("audit", "action: AUDIT, rules: [{}]"), Req{}, kNoAllowPolicy,
       "audited by AUDIT policy production/audit rule 0"},
      {"AUDIT does not change the outcome (ALLOW not matched: deny)",
       P("audit", "action: AUDIT, rules: [{}]") + Allow("a", to("methods: [POST]")), Req{},
       kNoAllowMatched, "audited by AUDIT policy production/audit rule 0"},
      {"AUDIT does not count as an ALLOW policy",
       P("audit", "action: AUDIT, rules: " + to("methods: [POST]")), Req{}, kNoAllowPolicy},
      {"AUDIT with DENY: denied and audited",
       P("audit", "action: AUDIT, rules: [{}]") + Deny("d", "[{}]"), Req{}, deniedBy("d"),
       "; audited by AUDIT policy production/audit rule 0"},

      // --- principals ----------------------------------------------------------------------
      allowIf("principals: Istio form (SPIFFE ID without spiffe://), exact",
              from("principals: [\"cluster.local/ns/production/sa/frontend\"]"), Req{}, true),
      allowIf("principals: exact, another identity does not match",
              from("principals: [\"cluster.local/ns/production/sa/frontend\"]"), peer(kBilling),
              false),
      allowIf("principals: the spiffe:// URI form",
              from("principals: [\"spiffe://cluster.local/ns/production/sa/frontend\"]"), Req{},
              true),
      allowIf("principals: prefix match abc*", from("principals: [\"cluster.local/ns/production/*\"]"),
              Req{}, true),
      allowIf("principals: prefix match, other namespace",
              from("principals: [\"cluster.local/ns/production/*\"]"), peer(kBilling), false),
      allowIf("principals: suffix match *abc", from("principals: [\"*/sa/frontend\"]"),
              peer(kFrontendOtherTd), true),
      allowIf("principals: suffix match, other account", from("principals: [\"*/sa/frontend\"]"),
              peer(kBilling), false),
      allowIf("principals: * is any authenticated peer", from("principals: [\"*\"]"),
              peer(kBilling), true),
      allowIf("principals: * never matches a request without mTLS peer",
              from("principals: [\"*\"]"), peer(kNoPeer), false),
      allowIf("principals: exact never matches a request without peer",
              from("principals: [\"cluster.local/ns/production/sa/frontend\"]"), peer(kNoPeer),
              false),
      allowIf("notPrincipals: another identity matches",
              from("notPrincipals: [\"cluster.local/ns/billing/sa/billing\"]"), Req{}, true),
      allowIf("notPrincipals: the identity itself does not match",
              from("notPrincipals: [\"cluster.local/ns/production/sa/frontend\"]"), Req{}, false),
      allowIf("notPrincipals: a request without peer matches",
              from("notPrincipals: [\"cluster.local/ns/production/sa/frontend\"]"),
              peer(kNoPeer), true),
      {"notPrincipals [*]: DENY plaintext (Istio's require-mTLS pattern)",
       Deny("require-mtls", from("notPrincipals: [\"*\"]")), peer(kNoPeer),
       deniedBy("require-mtls")},
      {"notPrincipals [*]: an mTLS peer is not denied",
       Deny("require-mtls", from("notPrincipals: [\"*\"]")), Req{}, kNoAllowPolicy},
      allowIf("principals and notPrincipals are ANDed",
              from("principals: [\"cluster.local/ns/production/*\"], notPrincipals: "
                   "[\"cluster.local/ns/production/sa/frontend\"]"),
              Req{}, false),
      allowIf("principals and notPrincipals: another account of the namespace",
              from("principals: [\"cluster.local/ns/production/*\"], notPrincipals: "
                   "[\"cluster.local/ns/production/sa/frontend\"]"),
              peer("spiffe://cluster.local/ns/production/sa/web"), true),
      allowIf("principals: values are ORed",
              from("principals: [\"a@cluster.local\", \"frontend@cluster.local\"]"), Req{}, true),
      allowIf("principal name@td with a prefix account", from("principals: [\"front*@cluster.local\"]"),
              Req{}, true),
      allowIf("principal *@td: any account of the trust domain",
              from("principals: [\"*@cluster.local\"]"), peer(kBilling), true),
      allowIf("principal *@td: not another trust domain", from("principals: [\"*@cluster.local\"]"),
              peer(kFrontendOtherTd), false),
      allowIf("principal name@*: any trust domain", from("principals: [\"frontend@*\"]"),
              peer(kFrontendOtherTd), true),
      allowIf("principal name@td: a non-workload ID has no account",
              from("principals: [\"path@cluster.local\"]"), peer(kNonWorkload), false),
      allowIf("principal name@td: no peer", from("principals: [\"frontend@cluster.local\"]"),
              peer(kNoPeer), false),
      allowIf("when source.principal values",
              when("key: source.principal, values: [\"cluster.local/ns/production/sa/frontend\"]"),
              Req{}, true),
      allowIf("when source.principal values, other peer",
              when("key: source.principal, values: [\"cluster.local/ns/production/sa/frontend\"]"),
              peer(kBilling), false),
      allowIf("when source.principal notValues",
              when("key: source.principal, notValues: [\"frontend@cluster.local\"]"), Req{}, false),
      allowIf("when source.principal values: no peer never matches",
              when("key: source.principal, values: [\"*\"]"), peer(kNoPeer), false),
      allowIf("when source.principal notValues: no peer matches",
              when("key: source.principal, notValues: [\"*\"]"), peer(kNoPeer), true),

      // --- namespaces ----------------------------------------------------------------------
      allowIf("namespaces: the peer's namespace, exact", from("namespaces: [production]"), Req{},
              true),
      allowIf("namespaces: another namespace", from("namespaces: [billing]"), Req{}, false),
      allowIf("namespaces: prefix", from("namespaces: [\"prod*\"]"), Req{}, true),
      allowIf("namespaces: suffix", from("namespaces: [\"*tion\"]"), Req{}, true),
      allowIf("namespaces: * needs a peer", from("namespaces: [\"*\"]"), peer(kNoPeer), false),
      allowIf("namespaces: * with a peer", from("namespaces: [\"*\"]"), peer(kBilling), true),
      allowIf("namespaces: values ORed", from("namespaces: [billing, production]"), Req{}, true),
      allowIf("notNamespaces: another namespace", from("notNamespaces: [billing]"), Req{}, true),
      allowIf("notNamespaces: the peer's namespace", from("notNamespaces: [production]"), Req{},
              false),
      allowIf("notNamespaces: no peer matches", from("notNamespaces: [production]"), peer(kNoPeer),
              true),
      allowIf("namespaces: an ID that is not /ns/X/sa/Y has no namespace",
              from("namespaces: [\"*\"]"), peer(kNonWorkload), false),
      allowIf("when source.namespace values", when("key: source.namespace, values: [production]"),
              Req{}, true),
      allowIf("when source.namespace values, other", when("key: source.namespace, values: [billing]"),
              Req{}, false),
      allowIf("when source.namespace notValues",
              when("key: source.namespace, notValues: [production]"), Req{}, false),
      allowIf("when source.namespace notValues: no peer", when("key: source.namespace, notValues: [production]"),
              peer(kNoPeer), true),

      // --- ipBlocks / remoteIpBlocks -------------------------------------------------------
      allowIf("ipBlocks: CIDR v4", from("ipBlocks: [\"10.0.0.0/8\"]"), Req{}, true),
      allowIf("ipBlocks: CIDR v4 not containing", from("ipBlocks: [\"192.168.0.0/16\"]"), Req{},
              false),
      allowIf("ipBlocks: single address", from("ipBlocks: [\"10.0.0.5\"]"), Req{}, true),
      allowIf("ipBlocks: single address, another", from("ipBlocks: [\"10.0.0.6\"]"), Req{}, false),
      allowIf("ipBlocks: CIDR v6", from("ipBlocks: [\"fd00::/8\"]"), R({.sourceIp = "fd00::1"}),
              true),
      allowIf("ipBlocks: v6 block, v4 peer", from("ipBlocks: [\"fd00::/8\"]"), Req{}, false),
      allowIf("ipBlocks: v6 single address", from("ipBlocks: [\"::1\"]"), R({.sourceIp = "::1"}),
              true),
      allowIf("ipBlocks: /0 is every v4 address", from("ipBlocks: [\"0.0.0.0/0\"]"),
              R({.sourceIp = "203.0.113.1"}), true),
      allowIf("ipBlocks: bits past the prefix are ignored (10.1.0.0/8 is 10.0.0.0/8)",
              from("ipBlocks: [\"10.1.0.0/8\"]"), R({.sourceIp = "10.2.3.4"}), true),
      allowIf("ipBlocks: values ORed", from("ipBlocks: [\"192.168.0.0/16\", \"10.0.0.0/24\"]"),
              Req{}, true),
      allowIf("notIpBlocks: containing", from("notIpBlocks: [\"10.0.0.0/8\"]"), Req{}, false),
      allowIf("notIpBlocks: not containing", from("notIpBlocks: [\"192.168.0.0/16\"]"), Req{},
              true),
      allowIf("ipBlocks: unknown source address never matches", from("ipBlocks: [\"0.0.0.0/0\"]"),
              R({.sourceIp = ""}), false),
      allowIf("notIpBlocks: unknown source address matches", from("notIpBlocks: [\"10.0.0.0/8\"]"),
              R({.sourceIp = ""}), true),
      allowIf("remoteIpBlocks: the client address (X-Forwarded-For)",
              from("remoteIpBlocks: [\"203.0.113.0/24\"]"), R({.remoteIp = "203.0.113.9"}), true),
      allowIf("remoteIpBlocks: not the peer address when a client address is known",
              from("remoteIpBlocks: [\"10.0.0.0/8\"]"), R({.remoteIp = "203.0.113.9"}), false),
      allowIf("remoteIpBlocks: without X-Forwarded-For the peer address",
              from("remoteIpBlocks: [\"10.0.0.0/8\"]"), Req{}, true),
      allowIf("notRemoteIpBlocks", from("notRemoteIpBlocks: [\"203.0.113.0/24\"]"),
              R({.remoteIp = "203.0.113.9"}), false),
      allowIf("notRemoteIpBlocks: other client", from("notRemoteIpBlocks: [\"203.0.113.0/24\"]"),
              R({.remoteIp = "198.51.100.1"}), true),
      allowIf("ipBlocks is the peer, not the client",
              from("ipBlocks: [\"203.0.113.0/24\"]"), R({.remoteIp = "203.0.113.9"}), false),
      allowIf("when source.ip values", when("key: source.ip, values: [\"10.0.0.0/8\"]"), Req{},
              true),
      allowIf("when source.ip notValues", when("key: source.ip, notValues: [\"10.0.0.5\"]"), Req{},
              false),
      allowIf("when remote.ip values", when("key: remote.ip, values: [\"203.0.113.0/24\"]"),
              R({.remoteIp = "203.0.113.9"}), true),
      allowIf("when remote.ip: without a client address, the peer's",
              when("key: remote.ip, values: [\"10.0.0.0/8\"]"), Req{}, true),

      // --- ports ---------------------------------------------------------------------------
      allowIf("ports: the destination port", to("ports: [\"8080\"]"), Req{}, true),
      allowIf("ports: another port", to("ports: [\"9090\"]"), Req{}, false),
      allowIf("ports: values ORed (numbers or strings)", to("ports: [9090, \"8080\"]"), Req{},
              true),
      allowIf("notPorts: the destination port", to("notPorts: [\"8080\"]"), Req{}, false),
      allowIf("notPorts: another port", to("notPorts: [\"9090\"]"), Req{}, true),
      allowIf("when destination.port values", when("key: destination.port, values: [\"8080\"]"),
              Req{}, true),
      allowIf("when destination.port values, other", when("key: destination.port, values: [\"80\"]"),
              Req{}, false),
      allowIf("when destination.port notValues", when("key: destination.port, notValues: [\"8080\"]"),
              Req{}, false),

      // --- methods -------------------------------------------------------------------------
      allowIf("methods: exact", to("methods: [GET]"), Req{}, true),
      allowIf("methods: case-sensitive", to("methods: [get]"), Req{}, false),
      allowIf("methods: prefix P*", to("methods: [\"P*\"]"), method("PATCH"), true),
      allowIf("methods: prefix P*, GET", to("methods: [\"P*\"]"), Req{}, false),
      allowIf("methods: suffix *T", to("methods: [\"*T\"]"), method("POST"), true),
      allowIf("methods: * is any method", to("methods: [\"*\"]"), method("OPTIONS"), true),
      allowIf("notMethods: another method", to("notMethods: [DELETE]"), Req{}, true),
      allowIf("notMethods: the method", to("notMethods: [DELETE]"), method("DELETE"), false),
      allowIf("methods and notMethods ANDed", to("methods: [\"*\"], notMethods: [GET]"), Req{},
              false),

      // --- paths ---------------------------------------------------------------------------
      allowIf("paths: exact", to("paths: [/api]"), path("/api"), true),
      allowIf("paths: exact is not a prefix", to("paths: [/api]"), path("/api/x"), false),
      allowIf("paths: prefix /api/*", to("paths: [\"/api/*\"]"), path("/api/x/y"), true),
      allowIf("paths: prefix /api/* does not match /api", to("paths: [\"/api/*\"]"), path("/api"),
              false),
      allowIf("paths: prefix is by characters, not segments", to("paths: [\"/api*\"]"),
              path("/apiary"), true),
      allowIf("paths: suffix *.html", to("paths: [\"*.html\"]"), path("/a/b.html"), true),
      allowIf("paths: suffix, other", to("paths: [\"*.html\"]"), path("/a/b.htm"), false),
      allowIf("paths: * is any path", to("paths: [\"*\"]"), path("/anything"), true),
      allowIf("paths: case-sensitive", to("paths: [/API]"), path("/api"), false),
      allowIf("paths: values ORed", to("paths: [/a, \"/b/*\"]"), path("/b/c"), true),
      allowIf("notPaths: prefix excludes", to("notPaths: [\"/admin*\"]"), path("/admin/users"),
              false),
      allowIf("notPaths: other paths", to("notPaths: [\"/admin*\"]"), path("/api"), true),
      allowIf("paths and notPaths ANDed", to("paths: [\"/api/*\"], notPaths: [\"/api/admin*\"]"),
              path("/api/admin/x"), false),
      allowIf("paths and notPaths: allowed part", to("paths: [\"/api/*\"], notPaths: [\"/api/admin*\"]"),
              path("/api/orders"), true),

      // --- hosts ---------------------------------------------------------------------------
      allowIf("hosts: exact", to("hosts: [orders.example.com]"), host("orders.example.com"), true),
      allowIf("hosts: case-insensitive", to("hosts: [orders.example.com]"),
              host("Orders.Example.COM"), true),
      allowIf("hosts: exact does not match the host with a port", to("hosts: [orders.example.com]"),
              host("orders.example.com:8080"), false),
      allowIf("hosts: host:* matches the host with a port", to("hosts: [\"orders.example.com:*\"]"),
              host("orders.example.com:8080"), true),
      allowIf("hosts: host:* does not match the host without port",
              to("hosts: [\"orders.example.com:*\"]"), host("orders.example.com"), false),
      allowIf("hosts: both forms listed, with port", to("hosts: [orders.example.com, \"orders.example.com:*\"]"),
              host("orders.example.com:443"), true),
      allowIf("hosts: suffix *.example.com", to("hosts: [\"*.example.com\"]"),
              host("orders.example.com"), true),
      allowIf("hosts: prefix orders.*", to("hosts: [\"orders.*\"]"), host("orders.internal"), true),
      allowIf("hosts: * needs a Host", to("hosts: [\"*\"]"), host(""), false),
      allowIf("notHosts: the host", to("notHosts: [\"*.example.com\"]"), host("a.example.com"),
              false),
      allowIf("notHosts: another host", to("notHosts: [\"*.example.com\"]"), host("a.example.org"),
              true),

      // --- fields, items and rules: AND / OR ----------------------------------------------
      allowIf("to: operations are ORed",
              "[{to: [{operation: {methods: [POST]}}, {operation: {paths: [\"/\"]}}]}]", Req{}, true),
      allowIf("from: sources are ORed",
              "[{from: [{source: {namespaces: [billing]}}, {source: {ipBlocks: [\"10.0.0.0/8\"]}}]}]",
              Req{}, true),
      allowIf("source: fields are ANDed", from("principals: [\"*\"], namespaces: [billing]"), Req{},
              false),
      allowIf("operation: fields are ANDed", to("methods: [GET], paths: [/x]"), Req{}, false),
      allowIf("rule: from and to are ANDed",
              "[{from: [{source: {namespaces: [production]}}], to: [{operation: {methods: [POST]}}]}]",
              Req{}, false),
      allowIf("rule: from, to and when all hold",
              "[{from: [{source: {namespaces: [production]}}], to: [{operation: {methods: [GET]}}], "
              "when: [{key: destination.port, values: [\"8080\"]}]}]",
              Req{}, true),
      allowIf("rule: when conditions are ANDed",
              "[{when: [{key: destination.port, values: [\"8080\"]}, {key: source.namespace, "
              "values: [billing]}]}]",
              Req{}, false),
      allowIf("when: values and notValues together",
              when("key: \"request.headers[x-env]\", values: [\"prod*\"], notValues: [prod-eu]"),
              header("x-env", "prod-us"), true),
      allowIf("when: values and notValues together, excluded",
              when("key: \"request.headers[x-env]\", values: [\"prod*\"], notValues: [prod-eu]"),
              header("x-env", "prod-eu"), false),

      // --- request headers -----------------------------------------------------------------
      allowIf("request.headers: exact", when("key: \"request.headers[x-tenant]\", values: [acme]"),
              header("x-tenant", "acme"), true),
      allowIf("request.headers: the name is case-insensitive",
              when("key: \"request.headers[X-Tenant]\", values: [acme]"), header("x-TENANT", "acme"),
              true),
      allowIf("request.headers: the value is case-sensitive",
              when("key: \"request.headers[x-tenant]\", values: [acme]"), header("x-tenant", "ACME"),
              false),
      allowIf("request.headers: missing header, values", when("key: \"request.headers[x-tenant]\", values: [acme]"),
              Req{}, false),
      allowIf("request.headers: missing header, notValues",
              when("key: \"request.headers[x-tenant]\", notValues: [acme]"), Req{}, true),
      allowIf("request.headers: * is presence (an empty value is present)",
              when("key: \"request.headers[x-debug]\", values: [\"*\"]"), header("x-debug", ""), true),
      allowIf("request.headers: * needs the header", when("key: \"request.headers[x-debug]\", values: [\"*\"]"),
              Req{}, false),
      allowIf("request.headers: notValues * means absent",
              when("key: \"request.headers[x-debug]\", notValues: [\"*\"]"), header("x-debug", "1"),
              false),
      allowIf("request.headers: prefix", when("key: \"request.headers[x-tenant]\", values: [\"ac*\"]"),
              header("x-tenant", "acme"), true),
      allowIf("request.headers: suffix", when("key: \"request.headers[x-tenant]\", values: [\"*me\"]"),
              header("x-tenant", "acme"), true),
      allowIf("request.headers: a repeated header is its values joined by ','",
              when("key: \"request.headers[x-a]\", values: [\"1,2\"]"),
              R({.headers = {{"x-a", "1"}, {"x-a", "2"}}}), true),
      allowIf("request.headers: a repeated header does not match one value",
              when("key: \"request.headers[x-a]\", values: [\"1\"]"),
              R({.headers = {{"x-a", "1"}, {"x-a", "2"}}}), false),

      // --- SNI -----------------------------------------------------------------------------
      allowIf("connection.sni: exact", when("key: connection.sni, values: [orders.example.com]"),
              R({.sni = "orders.example.com"}), true),
      allowIf("connection.sni: suffix", when("key: connection.sni, values: [\"*.example.com\"]"),
              R({.sni = "orders.example.com"}), true),
      allowIf("connection.sni: no SNI never matches values",
              when("key: connection.sni, values: [\"*\"]"), Req{}, false),
      allowIf("connection.sni: no SNI matches notValues",
              when("key: connection.sni, notValues: [orders.example.com]"), Req{}, true),

      // --- which policies apply -------------------------------------------------------------
      {"root namespace: a policy there applies to every workload",
       P("root-deny", "action: DENY, rules: [{}]", "gatehouse-system"), Req{},
       Expect{false, By::kDeny, "root-deny", 0}},
      {"root namespace: its selector matches the workload's labels",
       P("root", "selector: {matchLabels: {app: orders-service}}, action: DENY, rules: [{}]",
         "gatehouse-system"),
       Req{}, Expect{false, By::kDeny, "root", 0}},
      {"root namespace: a selector that does not match",
       P("root", "selector: {matchLabels: {app: web}}, action: DENY, rules: [{}]",
         "gatehouse-system"),
       Req{}, kNoAllowPolicy},
      {"another namespace's policy does not apply",
       P("elsewhere", "action: DENY, rules: [{}]", "billing"), Req{}, kNoAllowPolicy},
      {"selector: a subset of the workload's labels matches",
       P("sel", "selector: {matchLabels: {version: v1}}, action: DENY, rules: [{}]"), Req{},
       deniedBy("sel")},
      {"selector: every label must match",
       P("sel", "selector: {matchLabels: {app: orders-service, version: v2}}, action: DENY, "
                "rules: [{}]"),
       Req{}, kNoAllowPolicy},
      {"selector: an empty selector selects every workload of the namespace",
       P("sel", "selector: {}, action: DENY, rules: [{}]"), Req{}, deniedBy("sel")},
      {"targetRefs: a policy attached to a listener does not apply to workloads",
       P("edge", "targetRefs: [{group: gatehouse.dev, kind: Listener, name: public}], action: "
                 "DENY, rules: [{}]"),
       Req{}, kNoAllowPolicy},
      {"rootNamespace: MeshConfig sets it",
       P("root-deny", "action: DENY, rules: [{}]", "mesh-root"), Req{},
       Expect{false, By::kDeny, "root-deny", 0}, "", false, false,
       "---\napiVersion: gatehouse.dev/v1\nkind: MeshConfig\nmetadata: {name: default}\n"
       "spec: {rootNamespace: mesh-root}\n"},
      {"rootNamespace: the default is no longer root when MeshConfig sets another",
       P("old-root", "action: DENY, rules: [{}]", "gatehouse-system"), Req{}, kNoAllowPolicy, "",
       false, false,
       "---\napiVersion: gatehouse.dev/v1\nkind: MeshConfig\nmetadata: {name: default}\n"
       "spec: {rootNamespace: mesh-root}\n"},

      // --- edge listeners (targetRefs) ------------------------------------------------------
      {"targetRefs: applies at the listener it names",
       P("edge", "targetRefs: [{group: gatehouse.dev, kind: Listener, name: public}], action: "
                 "DENY, rules: " + to("paths: [\"/admin*\"]")),
       path("/admin"), deniedBy("edge"), "", true},
      {"targetRef (singular) applies at the listener",
       P("edge", "targetRef: {group: gatehouse.dev, kind: Listener, name: public}, rules: "
                 "[{}]"),
       Req{}, allowedBy("edge"), "", true},
      {"listener: workload policies (selector or namespace-wide) do not apply",
       P("ns-wide", "action: DENY, rules: [{}]"), Req{}, kNoAllowPolicy, "", true},
      {"listener: root-namespace policies without selector apply everywhere",
       P("root-deny", "action: DENY, rules: [{}]", "gatehouse-system"), Req{},
       Expect{false, By::kDeny, "root-deny", 0}, "", true},
      {"listener: root-namespace policies with a selector select workloads only",
       P("root", "selector: {matchLabels: {app: orders-service}}, action: DENY, rules: [{}]",
         "gatehouse-system"),
       Req{}, kNoAllowPolicy, "", true},
      {"listener: an ALLOW attached turns on deny-by-default there",
       P("edge", "targetRefs: [{group: gatehouse.dev, kind: Listener, name: public}], rules: " +
                     to("methods: [POST]")),
       Req{}, kNoAllowMatched, "", true},

      // --- dry-run ---------------------------------------------------------------------------
      {"dry-run: a DENY in dry-run enforces nothing, and says what it would do",
       P("try-deny", "action: DENY, rules: [{}]", "production", "istio.io/dry-run: \"true\""),
       Req{}, kNoAllowPolicy,
       "allowed: no ALLOW policy applies; dry-run: would be denied by DENY policy "
       "production/try-deny rule 0"},
      {"dry-run: an ALLOW in dry-run does not turn on deny-by-default",
       P("try-allow", "rules: " + to("methods: [POST]"), "production",
         "istio.io/dry-run: \"true\""),
       Req{}, kNoAllowPolicy, "dry-run: would be denied: no ALLOW matched"},
      {"dry-run: an ALLOW in dry-run that would allow what is denied",
       P("try-allow", "rules: [{}]", "production", "istio.io/dry-run: \"true\"") +
           Allow("a", to("methods: [POST]")),
       Req{}, kNoAllowMatched,
       "dry-run: would be allowed by ALLOW policy production/try-allow rule 0"},
      {"dry-run: \"false\" is enforced",
       P("d", "action: DENY, rules: [{}]", "production", "istio.io/dry-run: \"false\""), Req{},
       deniedBy("d")},
      {"dry-run: an enforced DENY still denies, and the dry-run says so too",
       Deny("d", "[{}]") + P("try", "action: DENY, rules: [{}]", "production",
                             "istio.io/dry-run: \"true\""),
       Req{}, deniedBy("d"), "dry-run: would be denied by DENY policy production/d rule 0"},
      {"dry-run: an AUDIT in dry-run does not audit",
       P("a", "action: AUDIT, rules: [{}]", "production", "istio.io/dry-run: \"true\""), Req{},
       kNoAllowPolicy, "allowed: no ALLOW policy applies; dry-run: would be allowed"},

      // --- CUSTOM ----------------------------------------------------------------------------
      {"CUSTOM: a matching policy is handed to the caller, who asks the provider",
       P("ext", "action: CUSTOM, provider: {name: ext-authz}, rules: [{}]"), Req{},
       kNoAllowPolicy, "CUSTOM check pending: provider ext-authz (policy production/ext rule 0)"},
      {"CUSTOM: a policy whose rules do not match is not asked",
       P("ext", "action: CUSTOM, provider: {name: ext-authz}, rules: " + to("paths: [/x]")), Req{},
       kNoAllowPolicy, "allowed: no ALLOW policy applies"},
      {"CUSTOM: the provider's denial denies",
       P("ext", "action: CUSTOM, provider: {name: ext-authz}, rules: [{}]"), Req{},
       Expect{false, By::kCustom, "ext", 0},
       "denied by CUSTOM policy production/ext rule 0 (provider ext-authz)", false, true},
      {"CUSTOM is evaluated before ALLOW: its denial wins over a matching ALLOW",
       P("ext", "action: CUSTOM, provider: {name: ext-authz}, rules: [{}]") + Allow("a", "[{}]"),
       Req{}, Expect{false, By::kCustom, "ext", 0}, "", false, true},
      {"CUSTOM allowing: DENY still applies", P("ext", "action: CUSTOM, provider: {name: ext-authz}, rules: [{}]") +
                                                  Deny("d", "[{}]"),
       Req{}, deniedBy("d")},
      {"CUSTOM does not count as an ALLOW policy",
       P("ext", "action: CUSTOM, provider: {name: ext-authz}, rules: " + to("paths: [/x]")),
       path("/y"), kNoAllowPolicy},
  };
  return c;
}

policy::Request toRequest(const Req& r, std::vector<http::Header>* headers) {
  policy::Request q;
  q.principal = r.principal;
  q.method = r.method;
  q.path = r.path;
  q.host = r.host;
  q.port = r.port;
  config::IpAddress ip;
  if (!r.sourceIp.empty() && config::parseIpAddress(r.sourceIp, &ip)) q.sourceIp = ip;
  if (!r.remoteIp.empty() && config::parseIpAddress(r.remoteIp, &ip)) q.remoteIp = ip;
  q.sni = r.sni;
  for (const auto& [n, v] : r.headers) headers->push_back(http::Header{n, v});
  q.headers = *headers;
  return q;
}

}  // namespace

TEST_CASE("authorization decisions, case by case", "[policy]") {
  const std::vector<Case> all = cases();
  CHECK(all.size() >= 150);
  int n = 0;
  for (const Case& c : all) {
    ++n;
    INFO("case " << n << ": " << c.istio);
    std::vector<config::Resource> resources;
    std::vector<config::Diagnostic> diags;
    std::string text = kBase + c.mesh + c.policies;
    bool decoded = config::decodeText(text, "case.yaml", &resources, &diags);
    for (const auto& d : diags) UNSCOPED_INFO(d.format());
    REQUIRE(decoded);
    REQUIRE(config::validate(resources, &diags));
    auto index = policy::PolicyIndex::compile(resources);
    REQUIRE(index.ok());
    const policy::TargetPolicies* target = c.atListener
                                               ? (*index)->forListener("production", "public")
                                               : (*index)->forWorkload("production", "orders");
    std::vector<http::Header> headers;
    policy::Request request = toRequest(c.req, &headers);
    policy::Decision d = target->evaluate(request);
    if (c.customDenies) {
      REQUIRE(d.custom.size() == 1);
      policy::denyByCustom(&d, d.custom[0]);
    }
    INFO("explain: " << policy::explain(d));
    CHECK(d.allow == c.want.allow);
    CHECK(policy::byName(d.by) == std::string(policy::byName(c.want.by)));
    CHECK((d.policy ? d.policy->name : std::string()) == c.want.policy);
    CHECK(d.rule == c.want.rule);
    if (!c.explainHas.empty()) CHECK_THAT(policy::explain(d), Catch::Contains(c.explainHas));
  }
}
