// LuaScript (gatehouse.dev/v1): decode, errors at their file:line:column, the Lua syntax check
// at the YAML line of the Lua line at fault, canonical JSON and YAML, attachTo resolution.
//
// core/config does not link LuaJIT: these tests install a stand-in checker (a script holding
// "SYNTAX ERROR" fails at that line); the real one, gh::script::checkSyntax, is tested in
// tests/unit/script.

#include <catch2/catch.hpp>
#include <cstring>

#include "core/config/decode.h"
#include "tests/unit/config/config_test_util.h"

using namespace gh::config;
using namespace gh::config::testing;

namespace {

bool fakeChecker(std::string_view, std::string_view source, int* line, std::string* message) {
  size_t at = source.find("SYNTAX ERROR");
  if (at == std::string_view::npos) return true;
  *line = 1 + int(std::count(source.begin(), source.begin() + at, '\n'));
  *message = "unexpected symbol near 'SYNTAX'";
  return false;
}

struct WithChecker {
  WithChecker() { setLuaSyntaxChecker(fakeChecker); }
  ~WithChecker() { setLuaSyntaxChecker(nullptr); }
};

const char* kListenerAndRoute = R"(
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: public}
spec: {protocol: HTTP, port: 8080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api}
spec:
  parentRefs: [{name: public}]
  rules: [{backendRefs: [{name: backend}]}]
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: backend}
spec:
  endpoints: [{address: 127.0.0.1, port: 9000}]
)";

}  // namespace

TEST_CASE("LuaScript decodes with every field", "[config][lua]") {
  WithChecker checker;
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: LuaScript
metadata:
  name: add-tenant
spec:
  source:
    inline: |
      function envoy_on_request(h)
        h:headers():add("x-tenant", "acme")
      end
  attachTo:
    - kind: Listener
      name: public
    - kind: HTTPRoute
      name: api
  order: 10
  failOpen: true
  trusted: false
  limits:
    instructions: 50000
    wallMs: 20
)");
  INFO((d.errors.empty() ? std::string() : d.errors[0]));
  REQUIRE(d.ok);
  REQUIRE(d.resources.size() == 1);
  const Resource& r = d.resources[0];
  CHECK(r.kind == Kind::kLuaScript);
  CHECK(std::string(kindName(r.kind)) == "LuaScript");
  const LuaScriptSpec& l = r.luaScript();
  CHECK(l.source.find("envoy_on_request") != std::string::npos);
  REQUIRE(l.attachTo.size() == 2);
  CHECK(l.attachTo[0].kind == LuaAttachment::Kind::kListener);
  CHECK(l.attachTo[1].kind == LuaAttachment::Kind::kHttpRoute);
  CHECK(l.attachTo[1].name == "api");
  CHECK(l.attachTo[1].loc.line == 14);
  CHECK(l.order == 10);
  CHECK(l.failOpen);
  CHECK_FALSE(l.trusted);
  CHECK(l.instructions == 50000);
  CHECK(l.wallMs == 20);
  CHECK(l.sourceLoc.line == 7);

  Kind k;
  CHECK(parseKindName("luascripts", &k));
  CHECK(k == Kind::kLuaScript);
}

TEST_CASE("LuaScript: canonical JSON and YAML round-trip", "[config][lua]") {
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: LuaScript
metadata: {name: s}
spec:
  source: {inline: "function envoy_on_request(h) end"}
  attachTo: [{kind: Listener, name: public}]
)");
  REQUIRE(d.ok);
  const Resource& r = d.resources[0];
  auto again = decode(r.json);
  REQUIRE(again.ok);
  CHECK(withoutLocations(again.resources[0]) == withoutLocations(r));
  CHECK(again.resources[0].json == r.json);
  auto yaml = decode(toYaml(r));
  REQUIRE(yaml.ok);
  CHECK(withoutLocations(yaml.resources[0]) == withoutLocations(r));

  // Built in code: encoded with every field, decodes to the same Resource.
  Resource built;
  built.apiVersion = "gatehouse.dev/v1";
  built.kind = Kind::kLuaScript;
  built.meta.name = "coded";
  built.meta.ns = "default";
  LuaScriptSpec spec;
  spec.source = "function envoy_on_response(h) end";
  spec.attachTo.push_back({LuaAttachment::Kind::kHttpRoute, "api", {}});
  spec.order = -3;
  spec.trusted = true;
  spec.wallMs = 5;
  built.spec = spec;
  auto coded = decode(canonicalJson(built));
  INFO(canonicalJson(built));
  REQUIRE(coded.ok);
  Resource expect = built;
  CHECK(withoutLocations(coded.resources[0]).luaScript() == withoutLocations(expect).luaScript());
}

TEST_CASE("LuaScript errors point at the field", "[config][lua]") {
  auto both = decode(R"(apiVersion: gatehouse.dev/v1
kind: LuaScript
metadata: {name: s}
spec:
  source: {inline: "x = 1", file: s.lua}
  attachTo: [{kind: Listener, name: public}]
)");
  REQUIRE_FALSE(both.ok);
  CHECK(both.errors[0].find("t.yaml:5:") == 0);
  CHECK(both.errors[0].find("spec.source.file") != std::string::npos);
  CHECK(both.errors[0].find("not both") != std::string::npos);

  auto none = decode(R"(apiVersion: gatehouse.dev/v1
kind: LuaScript
metadata: {name: s}
spec:
  source: {}
  attachTo: []
)");
  REQUIRE_FALSE(none.ok);
  std::string all;
  for (auto& e : none.errors) all += e + "\n";
  CHECK(all.find("must have inline (the Lua text) or file") != std::string::npos);
  CHECK(all.find("must name at least one Listener or HTTPRoute") != std::string::npos);

  auto badKind = decode(R"(apiVersion: gatehouse.dev/v1
kind: LuaScript
metadata: {name: s}
spec:
  source: {inline: "x = 1"}
  attachTo: [{kind: Gateway, name: public}]
  limits: {instructions: 5}
  color: blue
)");
  REQUIRE_FALSE(badKind.ok);
  all.clear();
  for (auto& e : badKind.errors) all += e + "\n";
  CHECK(all.find("t.yaml:6:") != std::string::npos);
  CHECK(all.find("spec.attachTo[0].kind") != std::string::npos);
  CHECK(all.find("spec.limits.instructions") != std::string::npos);
  CHECK(all.find("spec.color") != std::string::npos);
}

TEST_CASE("a Lua syntax error rejects the document at the YAML line of the Lua line",
          "[config][lua]") {
  WithChecker checker;
  auto d = decode(R"(apiVersion: gatehouse.dev/v1
kind: LuaScript
metadata: {name: broken}
spec:
  source:
    inline: |
      function envoy_on_request(h)
        SYNTAX ERROR
      end
  attachTo: [{kind: Listener, name: public}]
)");
  REQUIRE_FALSE(d.ok);
  REQUIRE(!d.errors.empty());
  INFO(d.errors[0]);
  CHECK(d.errors[0].find("t.yaml:8:") == 0);
  CHECK(d.errors[0].find("spec.source.inline") != std::string::npos);
  CHECK(d.errors[0].find("Lua syntax error (script line 2): unexpected symbol near 'SYNTAX'") !=
        std::string::npos);

  auto oneLine = decode(R"(apiVersion: gatehouse.dev/v1
kind: LuaScript
metadata: {name: broken}
spec:
  source: {inline: "SYNTAX ERROR"}
  attachTo: [{kind: Listener, name: public}]
)");
  REQUIRE_FALSE(oneLine.ok);
  CHECK(oneLine.errors[0].find("t.yaml:5:") == 0);
}

TEST_CASE("LuaScript attachTo must name existing Listeners and HTTPRoutes", "[config][lua]") {
  std::string good = std::string(kListenerAndRoute) + R"(---
apiVersion: gatehouse.dev/v1
kind: LuaScript
metadata: {name: s}
spec:
  source: {inline: "x = 1"}
  attachTo: [{kind: Listener, name: public}, {kind: HTTPRoute, name: api}]
)";
  auto ok = decodeAndValidate(good);
  INFO((ok.errors.empty() ? "" : ok.errors[0]));
  CHECK(ok.ok);

  std::string bad = std::string(kListenerAndRoute) + R"(---
apiVersion: gatehouse.dev/v1
kind: LuaScript
metadata: {name: s}
spec:
  source: {inline: "x = 1"}
  attachTo: [{kind: HTTPRoute, name: nope}]
)";
  auto d = decodeAndValidate(bad);
  REQUIRE_FALSE(d.ok);
  REQUIRE(d.errors.size() == 1);
  CHECK(d.errors[0].find("spec.attachTo[0]") != std::string::npos);
  CHECK(d.errors[0].find("HTTPRoute default/nope does not exist") != std::string::npos);
}
