// Cross-resource validation: duplicates, references, listener conflicts, RE2 patterns.

#include "core/config/validate.h"

#include <catch2/catch.hpp>

#include "tests/unit/config/config_test_util.h"

using namespace gh::config;
using gh::config::testing::decodeAndValidate;
using Errors = std::vector<std::string>;

TEST_CASE("a consistent configuration validates", "[config][validate]") {
  auto d = decodeAndValidate(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: edge, namespace: infra}
spec: {port: 8080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: production}
spec:
  parentRefs: [{name: edge, namespace: infra}]
  rules:
    - matches: [{path: {type: RegularExpression, value: "^/api/v[0-9]+/.*$"}}]
      backendRefs: [{name: orders}, {name: welcome, namespace: default}]
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: orders, namespace: production}
spec: {endpoints: [{address: 10.0.0.1, port: 80}]}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: welcome}
spec: {directResponse: {}}
)");
  CHECK(d.errors == Errors{});
  CHECK(d.ok);
}

TEST_CASE("the same kind, namespace and name twice is an error at the second",
          "[config][validate]") {
  auto d = decodeAndValidate(R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: app}
spec: {directResponse: {}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata:
  name: app
spec: {directResponse: {}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: app, namespace: other}
spec: {directResponse: {}}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: app}
spec: {port: 80}
)");
  CHECK(d.errors == Errors{"t.yaml:9:9: Service default/app: metadata.name: already defined at "
                           "t.yaml:3:18"});
}

TEST_CASE("duplicates across files name the other file", "[config][validate]") {
  std::vector<Resource> rs;
  std::vector<Diagnostic> diags;
  const char* doc =
      "apiVersion: gatehouse.dev/v1\nkind: Listener\nmetadata: {name: a}\n"
      "spec: {port: 80}\n";
  REQUIRE(decodeText(doc, "one.yaml", &rs, &diags));
  REQUIRE(decodeText(doc, "two.yaml", &rs, &diags));
  CHECK_FALSE(validate(rs, &diags));
  CHECK(testing::formatAll(diags) ==
        Errors{"two.yaml:3:18: Listener default/a: metadata.name: already defined at "
               "one.yaml:3:18",
               "two.yaml:4:14: Listener default/a: spec.port: 0.0.0.0 port 80 conflicts with "
               "Listener default/a (0.0.0.0 port 80, one.yaml:4:14)"});
}

TEST_CASE("references must resolve, in the route's namespace by default", "[config][validate]") {
  auto d = decodeAndValidate(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: edge}
spec: {port: 80}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: orders}
spec: {directResponse: {}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: production}
spec:
  parentRefs:
    - name: edge
    - {name: edge, namespace: default}
  rules:
    - backendRefs:
        - {name: orders}
        - {name: orders, namespace: default}
    - backendRefs:
        - name: orders-v2
          namespace: default
)");
  CHECK(d.errors == Errors{
                        "t.yaml:16:7: HTTPRoute production/shop: spec.parentRefs[0]: Listener "
                        "production/edge does not exist",
                        "t.yaml:20:11: HTTPRoute production/shop: spec.rules[0].backendRefs[0]: "
                        "Service production/orders does not exist",
                        "t.yaml:23:11: HTTPRoute production/shop: spec.rules[1].backendRefs[0]: "
                        "Service default/orders-v2 does not exist",
                    });
}

TEST_CASE("a reference must name the right kind", "[config][validate]") {
  auto d = decodeAndValidate(R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: edge}
spec: {directResponse: {}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop}
spec:
  parentRefs: [{name: edge}]
  rules: [{backendRefs: [{name: edge}]}]
)");
  CHECK(d.errors == Errors{"t.yaml:10:16: HTTPRoute default/shop: spec.parentRefs[0]: Listener "
                           "default/edge does not exist"});
}

TEST_CASE("listeners conflict on one port when their addresses overlap", "[config][validate]") {
  auto listeners = [](std::vector<std::pair<std::string, int>> binds) {
    std::string text;
    int i = 0;
    for (const auto& [address, port] : binds) {
      text += "---\napiVersion: gatehouse.dev/v1\nkind: Listener\nmetadata: {name: l" +
              std::to_string(i++) + "}\nspec: {address: \"" + address +
              "\", port: " + std::to_string(port) + "}\n";
    }
    return decodeAndValidate(text).errors;
  };
  // Different ports, or different specific addresses: fine.
  CHECK(listeners({{"0.0.0.0", 80}, {"0.0.0.0", 81}}).empty());
  CHECK(listeners({{"10.0.0.1", 80}, {"10.0.0.2", 80}, {"::1", 80}}).empty());
  // Same address, or a wildcard of either family against anything.
  CHECK(listeners({{"10.0.0.1", 80}, {"10.0.0.1", 80}}) ==
        Errors{"t.yaml:10:35: Listener default/l1: spec.port: 10.0.0.1 port 80 conflicts with "
               "Listener default/l0 (10.0.0.1 port 80, t.yaml:5:35)"});
  CHECK(listeners({{"10.0.0.1", 80}, {"0.0.0.0", 80}}).size() == 1);
  CHECK(listeners({{"0.0.0.0", 80}, {"10.0.0.1", 80}}).size() == 1);
  CHECK(listeners({{"::", 80}, {"10.0.0.1", 80}}).size() == 1);
  CHECK(listeners({{"0.0.0.0", 80}, {"::", 80}}).size() == 1);
  CHECK(listeners({{"0.0.0.0", 80}, {"fd00::1", 80}}).size() == 1);
  // The same address spelled two ways.
  CHECK(listeners({{"::ffff:10.0.0.1", 80}, {"10.0.0.1", 80}}).size() == 1);
  CHECK(listeners({{"fd00:0::1", 80}, {"fd00::0:1", 80}}).size() == 1);
  // Each later listener is reported once, against the first it collides with.
  CHECK(listeners({{"0.0.0.0", 80}, {"10.0.0.1", 80}, {"10.0.0.2", 80}}).size() == 2);
}

TEST_CASE("regular expressions must compile with RE2", "[config][validate]") {
  auto d = decodeAndValidate(R"yaml(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  rules:
    - matches:
        - path: {type: RegularExpression, value: "/a(["}
          headers: [{type: RegularExpression, name: x, value: "a{2,1}"}]
          queryParams: [{type: RegularExpression, name: q, value: "(?<name>x)"},
                        {name: exact, value: "(("}]
        - path: {type: RegularExpression, value: "/ok/.*"}
          headers: [{type: RegularExpression, name: y, value: "\\p{Greek}+"}]
)yaml");
  // RE2's own explanation follows the prefix; its wording is RE2's and varies by version.
  REQUIRE(d.errors.size() == 3);
  CHECK(d.errors[0] ==
        "t.yaml:7:50: HTTPRoute default/r: spec.rules[0].matches[0].path.value: invalid RE2 "
        "regular expression: missing ]: [");
  CHECK_THAT(d.errors[1], Catch::StartsWith("t.yaml:8:63: HTTPRoute default/r: spec.rules[0]."
                                            "matches[0].headers[0].value: invalid RE2 regular "
                                            "expression: ") &&
                              Catch::EndsWith("{2,1}"));
  CHECK_THAT(d.errors[2], Catch::StartsWith("t.yaml:9:67: HTTPRoute default/r: spec.rules[0]."
                                            "matches[0].queryParams[0].value: invalid RE2 "
                                            "regular expression: ") &&
                              Catch::EndsWith("(?<"));
}

TEST_CASE("every problem of the set is reported", "[config][validate]") {
  auto d = decodeAndValidate(R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: a}
spec: {port: 80}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: b}
spec: {port: 80}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: c}]
  rules: [{backendRefs: [{name: s}], matches: [{path: {type: RegularExpression, value: "("}}]}]
)");
  CHECK(d.errors.size() == 4);
}
