// Policy checks: the baseline rule language (paths, operators, selectors, assertions), the
// reading of baseline files, the built-in lint, and the shipped example baseline.
//
// Most resources here are of kinds the decoder does not accept yet (AuthorizationPolicy,
// Workload, MeshConfig): the engine works on document trees, so the tests build them straight
// from YAML text, bypassing the decoder.

#include "core/config/baseline.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "core/config/baseline_document.h"
#include "core/config/baseline_lint.h"
#include "core/config/baseline_rules.h"
#include "core/config/decode.h"
#include "tests/unit/config/config_test_util.h"

using namespace gh::config;
using Lines = std::vector<std::string>;

namespace {

// "file:line:column" of the n-th occurrence of `needle` in `text`.
std::string at(std::string_view text, std::string_view needle, int occurrence = 1,
               const std::string& file = "t.yaml") {
  size_t pos = std::string_view::npos;
  for (int i = 0; i < occurrence; ++i) {
    pos = text.find(needle, pos == std::string_view::npos ? 0 : pos + 1);
    REQUIRE(pos != std::string_view::npos);
  }
  int line = 1;
  size_t lineStart = 0;
  for (size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++line;
      lineStart = i + 1;
    }
  }
  return file + ":" + std::to_string(line) + ":" + std::to_string(pos - lineStart + 1);
}

std::vector<ConfigDocument> docs(std::string_view text, const std::string& file = "t.yaml") {
  std::vector<ConfigDocument> out;
  documentsFromText(text, file, &out);
  return out;
}

Lines formatAll(const std::vector<Finding>& findings) {
  Lines out;
  for (const Finding& f : findings) out.push_back(f.format());
  return out;
}

// Problems of a baseline text, formatted ("b.yaml:3:5: baseline: ...").
Lines baselineErrors(std::string_view text) {
  Baseline b;
  std::vector<Diagnostic> diags;
  bool ok = parseBaseline(text, "b.yaml", &b, &diags);
  Lines out = testing::formatAll(diags);
  CHECK(ok == out.empty());
  return out;
}

Baseline baseline(std::string_view text, const std::string& file = "b.yaml") {
  Baseline b;
  std::vector<Diagnostic> diags;
  bool ok = parseBaseline(text, file, &b, &diags);
  INFO(testing::formatAll(diags).size()
       << " problems, first: " << (diags.empty() ? "" : diags[0].format()));
  REQUIRE(ok);
  return b;
}

Baseline loadFile(const std::string& path) {
  Baseline b;
  std::vector<Diagnostic> diags;
  bool ok = loadBaseline(path, &b, &diags);
  INFO((diags.empty() ? "" : diags[0].format()));
  REQUIRE(ok);
  return b;
}

// The findings of the rules (a bare YAML list) over the documents (lint not included).
Lines run(std::string_view rules, std::string_view documents) {
  return formatAll(evaluateRules(baseline(rules).rules, docs(documents)));
}

// Only the findings of one rule.
Lines only(const std::string& rule, const std::vector<Finding>& findings) {
  Lines out;
  for (const Finding& f : findings)
    if (f.rule == rule) out.push_back(f.format());
  return out;
}

}  // namespace

// --- Paths and globs -----------------------------------------------------------------------

TEST_CASE("field paths: keys, indexes, any element, quoted keys, the root", "[config][baseline]") {
  FieldPath p;
  std::string error;
  REQUIRE(parseFieldPath("spec.rules[*].from[0].source.principals[*]", &p, &error));
  REQUIRE(p.steps.size() == 8);
  CHECK(p.steps[1].key == "rules");
  CHECK(p.steps[2].type == FieldPath::Step::Type::kAny);
  CHECK(p.steps[4].type == FieldPath::Step::Type::kIndex);
  CHECK(p.steps[4].index == 0);
  CHECK(p.steps[7].type == FieldPath::Step::Type::kAny);
  REQUIRE(parseFieldPath(R"(metadata.labels["app.kubernetes.io/name"])", &p, &error));
  REQUIRE(p.steps.size() == 3);
  CHECK(p.steps[2].key == "app.kubernetes.io/name");
  REQUIRE(parseFieldPath("$.metadata.namespace", &p, &error));
  CHECK(p.fromRoot);
  CHECK(p.steps.size() == 2);
  REQUIRE(parseFieldPath("", &p, &error));
  CHECK(p.empty());
  REQUIRE(parseFieldPath(".", &p, &error));
  CHECK(p.empty());

  for (const char* bad : {"spec..rules", "spec.", ".spec", "spec.rules[", "spec.rules[x]",
                          "spec.rules.*", "spec.rules[0]x", R"(a["b)", "spec rules"}) {
    INFO(bad);
    CHECK_FALSE(parseFieldPath(bad, &p, &error));
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("globs: '*' is any run of characters, nothing else is special", "[config][baseline]") {
  CHECK(globMatch("*", ""));
  CHECK(globMatch("*", "anything"));
  CHECK(globMatch("prod-*", "prod-eu"));
  CHECK_FALSE(globMatch("prod-*", "staging"));
  CHECK(globMatch("*.internal", "a.b.internal"));
  CHECK(globMatch("a*b*c", "axxbyyc"));
  CHECK_FALSE(globMatch("a*b*c", "axxbyy"));
  CHECK(globMatch("a?c", "a?c"));
  CHECK_FALSE(globMatch("a?c", "abc"));
  CHECK(globMatch("exact", "exact"));
  CHECK_FALSE(globMatch("exact", "exactly"));
}

// --- Documents ---------------------------------------------------------------------------

TEST_CASE("documents: kind, namespace (default filled in), name, position; Lists expanded",
          "[config][baseline]") {
  const std::string text = R"(apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: orders}
spec: {port: 8080}
---
apiVersion: v1
kind: List
items:
  - {apiVersion: gatehouse.dev/v1, kind: Service, metadata: {name: a, namespace: shop}}
---
- not a resource
)";
  auto d = docs(text);
  REQUIRE(d.size() == 2);
  CHECK(d[0].kind == "Workload");
  CHECK(d[0].ns == "default");
  CHECK(d[0].name == "orders");
  CHECK(d[0].loc.line == 1);
  const YamlNode* ns = d[0].root.find("metadata")->find("namespace");
  REQUIRE(ns != nullptr);
  CHECK(ns->value == "default");
  CHECK(d[1].kind == "Service");
  CHECK(d[1].ns == "shop");
  CHECK(at(text, "{apiVersion: gatehouse.dev/v1, kind: Service") ==
        d[1].loc.file + ":" + std::to_string(d[1].loc.line) + ":" +
            std::to_string(d[1].loc.column));
}

TEST_CASE("documents start where the decoder's resources start", "[config][baseline]") {
  const std::string text = R"(# comment
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: a}
spec: {directResponse: {}}
---
apiVersion: v1
kind: List
items:
  - apiVersion: gatehouse.dev/v1
    kind: Service
    metadata: {name: b}
    spec: {directResponse: {}}
)";
  std::vector<Resource> resources;
  std::vector<Diagnostic> diags;
  REQUIRE(decodeText(text, "t.yaml", &resources, &diags));
  auto d = docs(text);
  REQUIRE(d.size() == resources.size());
  for (size_t i = 0; i < d.size(); ++i) CHECK(d[i].loc == resources[i].loc);
}

TEST_CASE("readConfigSources reads what decodePaths reads", "[config][baseline]") {
  namespace fs = std::filesystem;
  std::string dir = (fs::temp_directory_path() / "gh-baseline-XXXXXX").string();
  REQUIRE(mkdtemp(dir.data()) != nullptr);
  auto write = [&](const std::string& rel, const std::string& text) {
    fs::path p = fs::path(dir) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  };
  write("b.yaml", "b");
  write("a/c.json", "c");
  write("a/.hidden.yaml", "h");
  write(".git/x.yaml", "g");
  write("notes.txt", "n");
  std::vector<ConfigSource> sources;
  std::vector<Diagnostic> diags;
  CHECK(readConfigSources({dir, dir + "/missing.yaml"}, &sources, &diags) == false);
  REQUIRE(sources.size() == 2);
  CHECK(sources[0].file == dir + "/a/c.json");
  CHECK(sources[0].text == "c");
  CHECK(sources[1].file == dir + "/b.yaml");
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].format() == dir + "/missing.yaml: cannot open: No such file or directory");
  fs::remove_all(dir);
}

// --- Operators ---------------------------------------------------------------------------

namespace {

const std::string kListeners = R"(apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: a, namespace: production, labels: {team: edge}}
spec: {address: 0.0.0.0, port: 8080, protocol: HTTP}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: b, namespace: staging}
spec: {address: 10.0.0.1, port: 443, protocol: HTTPS, tls: {minVersion: TLS1_0}}
)";

}  // namespace

TEST_CASE("require exists / absent", "[config][baseline]") {
  auto found = run(R"(
- name: r
  select: {kinds: [Listener]}
  require:
    - {path: metadata.labels.team, exists: true}
    - {path: spec.tls, absent: true}
)",
                   kListeners);
  CHECK(found == Lines{
                     at(kListeners, "{name: b") +
                         ": error: r: Listener staging/b: metadata.labels.team: is required",
                     at(kListeners, "{minVersion") +
                         ": error: r: Listener staging/b: spec.tls: must not be set",
                 });
}

TEST_CASE("a missing field is reported at the closest node that exists", "[config][baseline]") {
  auto found = run(R"(
- name: r
  select: {kinds: [Listener]}
  require: [{path: spec.tls.minVersion, in: [TLS1_2, TLS1_3]}]
)",
                   kListeners);
  CHECK(found ==
        Lines{
            at(kListeners, "{address: 0.0.0.0") +
                ": error: r: Listener production/a: spec.tls.minVersion: must be one of TLS1_2, "
                "TLS1_3 (not set)",
            at(kListeners, "TLS1_0") +
                ": error: r: Listener staging/b: spec.tls.minVersion: must be one of TLS1_2, "
                "TLS1_3 (is TLS1_0)",
        });
}

TEST_CASE("equals, in, notIn: pass and fail", "[config][baseline]") {
  const char* rules = R"(
- name: eq
  select: {kinds: [Listener]}
  require: [{path: spec.protocol, equals: HTTP}]
- name: in
  select: {kinds: [Listener]}
  require: [{path: spec.port, in: [80, 8080]}]
- name: notin
  select: {kinds: [Listener]}
  require: [{path: spec.address, notIn: ["0.0.0.0", "::"]}]
)";
  auto found = run(rules, kListeners);
  // evaluateRules lists findings rule by rule (checkPolicies orders them by position).
  CHECK(found == Lines{
                     at(kListeners, "HTTPS") +
                         ": error: eq: Listener staging/b: spec.protocol: must be HTTP (is HTTPS)",
                     at(kListeners, "443") +
                         ": error: in: Listener staging/b: spec.port: must be one of 80, 8080 "
                         "(is 443)",
                     at(kListeners, "0.0.0.0") +
                         ": error: notin: Listener production/a: spec.address: must not be one "
                         "of 0.0.0.0, :: (is 0.0.0.0)",
                 });
}

TEST_CASE("numbers compare by value, other scalars by text", "[config][baseline]") {
  const std::string text = R"(kind: Thing
metadata: {name: t}
spec: {a: 0x1F90, b: "8080", c: true, d: True, e: 1.50}
)";
  auto found = run(R"(
- name: r
  select: {kinds: [Thing]}
  require:
    - {path: spec.a, equals: 8080}
    - {path: spec.b, equals: 8080}
    - {path: spec.c, equals: true}
    - {path: spec.d, equals: true}
    - {path: spec.e, equals: 1.5}
)",
                   text);
  CHECK(found == Lines{});
}

TEST_CASE("matches (RE2, full match) and like (glob)", "[config][baseline]") {
  const char* rules = R"(
- name: re
  select: {kinds: [Listener]}
  require: [{path: metadata.name, matches: "[a-z]"}]
  forbid: [{path: spec.address, matches: "10\\..*"}]
- name: glob
  select: {kinds: [Listener]}
  forbid: [{path: metadata.namespace, like: "prod*"}]
)";
  auto found = run(rules, kListeners);
  CHECK(found == Lines{
                     at(kListeners, "10.0.0.1") +
                         ": error: re: Listener staging/b: spec.address: must not match "
                         "\"10\\..*\" (is 10.0.0.1)",
                     at(kListeners, "production") +
                         ": error: glob: Listener production/a: metadata.namespace: must not be "
                         "like \"prod*\" (is production)",
                 });
  // A pattern that would match part of the name is not enough: the match is anchored.
  CHECK(run(R"(
- name: re
  select: {kinds: [Listener]}
  require: [{path: metadata.namespace, matches: "prod"}]
)",
            kListeners)
            .size() == 2);
}

TEST_CASE("gte / lte on numbers and on durations", "[config][baseline]") {
  const std::string text = R"(kind: HTTPRoute
metadata: {name: r}
spec:
  rules:
    - timeouts: {request: 90s}
    - timeouts: {request: 500ms}
    - timeouts: {request: 1m}
  weight: 5
)";
  auto found = run(R"(
- name: t
  select: {kinds: [HTTPRoute]}
  forbid: [{path: "spec.rules[*].timeouts.request", gte: 61s}]
  require:
    - {path: spec.weight, lte: 4}
    - {path: spec.weight, gte: 5}
    - {path: "spec.rules[*].timeouts.request", lte: 1s}
)",
                   text);
  CHECK(found ==
        Lines{
            at(text, "5\n") + ": error: t: HTTPRoute default/r: spec.weight: must be at most 4 "
                              "(is 5)",
            at(text, "90s") + ": error: t: HTTPRoute default/r: spec.rules[0].timeouts.request: "
                              "must be less than 61s (is 90s)",
        });
  // A value that is not a number (or duration) never satisfies a bound.
  CHECK(run(R"(
- name: t
  select: {kinds: [HTTPRoute]}
  require: [{path: metadata.name, gte: 1}]
)",
            text)
            .size() == 1);
}

TEST_CASE("default: what an absent field reads as", "[config][baseline]") {
  const std::string text = R"(kind: Listener
metadata: {name: a, namespace: production}
spec: {port: 80}
---
kind: Listener
metadata: {name: b, namespace: production}
spec: {port: 81, address: 10.1.1.1}
)";
  auto found = run(R"(
- name: r
  select: {kinds: [Listener]}
  forbid: [{path: spec.address, in: ["0.0.0.0", "::"], default: "0.0.0.0"}]
  require: [{path: spec.protocol, equals: HTTPS, default: HTTP}]
)",
                   text);
  CHECK(found ==
        Lines{
            at(text, "{port: 80") + ": error: r: Listener production/a: spec.protocol: must be "
                                    "HTTPS (not set; defaults to HTTP)",
            at(text, "{port: 80") + ": error: r: Listener production/a: spec.address: must not "
                                    "be one of 0.0.0.0, :: (not set; defaults to 0.0.0.0)",
            at(text, "{port: 81") + ": error: r: Listener production/b: spec.protocol: must be "
                                    "HTTPS (not set; defaults to HTTP)",
        });
}

TEST_CASE("[*]: a condition holds if any element does; forbid reports each element",
          "[config][baseline]") {
  const std::string text = R"(kind: AuthorizationPolicy
metadata: {name: p, namespace: production}
spec:
  rules:
    - from:
        - source: {principals: ["a@cluster.local", "*"]}
        - source: {principals: ["*"]}
)";
  auto found = run(R"(
- name: r
  select: {kinds: [AuthorizationPolicy]}
  forbid: [{path: "spec.rules[*].from[*].source.principals[*]", equals: "*"}]
  require: [{path: "spec.rules[*].from[*].source.principals[*]", like: "*@cluster.local"}]
)",
                   text);
  CHECK(found ==
        Lines{
            at(text, "\"*\"") + ": error: r: AuthorizationPolicy production/p: "
                                "spec.rules[0].from[0].source.principals[1]: must not be *",
            at(text, "\"*\"", 2) + ": error: r: AuthorizationPolicy production/p: "
                                   "spec.rules[0].from[1].source.principals[0]: must not be *",
        });
}

TEST_CASE("[*] over an object reaches each of its values", "[config][baseline]") {
  const std::string text = R"(kind: Service
metadata: {name: s, labels: {team: shop, tier: "Gold Plus"}}
)";
  CHECK(run(R"(
- name: r
  select: {kinds: [Service]}
  forbid: [{path: "metadata.labels[*]", matches: ".* .*"}]
)",
            text) == Lines{at(text, "\"Gold Plus\"") +
                           ": error: r: Service default/s: metadata.labels.tier: must not match "
                           "\".* .*\" (is Gold Plus)"});
}

TEST_CASE("quoted keys reach labels with dots", "[config][baseline]") {
  const std::string text = R"(kind: Service
metadata: {name: s, labels: {app.kubernetes.io/name: shop}}
)";
  CHECK(run(R"(
- name: r
  select: {kinds: [Service]}
  require: [{path: 'metadata.labels["app.kubernetes.io/name"]', equals: shop}]
)",
            text) == Lines{});
  CHECK(run(R"(
- name: r
  select: {kinds: [Service]}
  require: [{path: 'metadata.labels["app.kubernetes.io/name"]', equals: orders}]
)",
            text) == Lines{at(text, "shop") +
                           ": error: r: Service default/s: metadata.labels[\"app.kubernetes.io/"
                           "name\"]: must be orders (is shop)"});
}

TEST_CASE("where: all sub-conditions on the same element", "[config][baseline]") {
  const std::string text = R"(kind: HTTPRoute
metadata: {name: r}
spec:
  rules:
    - {name: one, timeouts: {request: 10s}}
    - {name: two}
    - {name: three, timeouts: {backendRequest: 1s}}
)";
  // "Every rule sets timeouts.request" is "no rule where it is absent".
  auto found = run(R"(
- name: t
  select: {kinds: [HTTPRoute]}
  forbid:
    - path: "spec.rules[*]"
      where: [{path: timeouts.request, absent: true}]
)",
                   text);
  CHECK(found == Lines{
                     at(text, "{name: two}") + ": error: t: HTTPRoute default/r: spec.rules[1]: "
                                               "forbidden: timeouts.request is not set",
                     at(text, "{name: three") + ": error: t: HTTPRoute default/r: spec.rules[2]: "
                                                "forbidden: timeouts.request is not set",
                 });
  // Conditions on two elements are not mixed up: no single rule is named "two" and has a
  // timeout, though some rule has each.
  CHECK(run(R"(
- name: t
  select: {kinds: [HTTPRoute]}
  require:
    - path: "spec.rules[*]"
      where: [{path: name, equals: two}, {path: timeouts.request, exists: true}]
)",
            text) ==
        Lines{at(text, "{name: one") + ": error: t: HTTPRoute default/r: spec.rules[0]: required: "
                                       "spec.rules[*] has an element where name is two and "
                                       "timeouts.request is set"});
}

TEST_CASE("anyOf and allOf", "[config][baseline]") {
  const std::string text = R"(kind: AuthorizationPolicy
metadata: {name: a}
spec: {action: DENY}
---
kind: AuthorizationPolicy
metadata: {name: b}
spec: {}
---
kind: AuthorizationPolicy
metadata: {name: c}
spec: {action: ALLOW, rules: [{}]}
)";
  auto found = run(R"(
- name: allow
  select:
    kinds: [AuthorizationPolicy]
    where:
      - anyOf:
          - {path: spec.action, absent: true}
          - {path: spec.action, equals: ALLOW}
  forbid:
    - allOf:
        - {path: "spec.rules[*]", exists: true}
        - {path: spec.action, equals: ALLOW}
)",
                   text);
  CHECK(found == Lines{at(text, "{}]}") +
                       ": error: allow: AuthorizationPolicy default/c: spec.rules[0]: forbidden: "
                       "spec.rules[*] is set and spec.action is ALLOW"});
}

TEST_CASE("$.: from the resource's root inside a where", "[config][baseline]") {
  const std::string text = R"(kind: HTTPRoute
metadata: {name: r, namespace: shop}
spec:
  parentRefs: [{name: edge}, {name: edge, namespace: infra}]
)";
  auto found = run(R"(
- name: t
  select: {kinds: [HTTPRoute]}
  forbid:
    - path: "spec.parentRefs[*]"
      where:
        - {path: namespace, absent: true}
        - {path: "$.metadata.namespace", equals: shop}
)",
                   text);
  CHECK(found == Lines{at(text, "{name: edge}") +
                       ": error: t: HTTPRoute shop/r: spec.parentRefs[0]: forbidden: namespace "
                       "is not set and $.metadata.namespace is shop"});
}

TEST_CASE("null values count as absent", "[config][baseline]") {
  const std::string text = R"(kind: Service
metadata: {name: s}
spec: {owner: ~, list: [~]}
)";
  CHECK(run(R"(
- name: r
  select: {kinds: [Service]}
  forbid:
    - {path: spec.owner, exists: true}
    - {path: "spec.list[*]", exists: true}
)",
            text) == Lines{});
}

// --- Selectors ---------------------------------------------------------------------------

TEST_CASE("selectors: kinds, namespaces and names are globs; where filters", "[config][baseline]") {
  const std::string text = R"(kind: Service
metadata: {name: shop-api, namespace: prod-eu}
---
kind: Service
metadata: {name: shop-web, namespace: prod-us}
---
kind: Service
metadata: {name: shop-api, namespace: staging}
---
kind: Listener
metadata: {name: shop-api, namespace: prod-eu}
spec: {protocol: HTTPS}
---
kind: Listener
metadata: {name: x, namespace: prod-eu}
)";
  auto names = [&](const std::string& select) {
    auto found = evaluateRules(baseline("- name: r\n  select: " + select +
                                        "\n  require: [{path: nothing, exists: true}]\n")
                                   .rules,
                               docs(text));
    Lines out;
    for (const Finding& f : found) out.push_back(f.kind + " " + f.ns + "/" + f.name);
    return out;
  };
  CHECK(names("{kinds: [Service], namespaces: [\"prod-*\"]}") ==
        Lines{"Service prod-eu/shop-api", "Service prod-us/shop-web"});
  CHECK(names("{names: [\"*-api\"]}") ==
        Lines{"Service prod-eu/shop-api", "Service staging/shop-api", "Listener prod-eu/shop-api"});
  CHECK(names("{kinds: Listener}") == Lines{"Listener prod-eu/shop-api", "Listener prod-eu/x"});
  CHECK(names("{kinds: [Listener], where: [{path: spec.protocol, equals: HTTPS}]}") ==
        Lines{"Listener prod-eu/shop-api"});
  CHECK(names("{}") == Lines{"Service prod-eu/shop-api", "Service prod-us/shop-web",
                             "Service staging/shop-api", "Listener prod-eu/shop-api",
                             "Listener prod-eu/x"});
}

TEST_CASE("onlyIf: a rule applies only when some resource matches", "[config][baseline]") {
  const char* rules = R"(
- name: r
  onlyIf:
    - {kinds: [Workload]}
    - {kinds: [Listener], where: [{path: spec.protocol, equals: MESH_INBOUND}]}
  requireExists: {kinds: [MeshConfig]}
)";
  CHECK(run(rules, "kind: Listener\nmetadata: {name: l}\nspec: {protocol: HTTP}\n") == Lines{});
  CHECK(
      run(rules, "kind: Listener\nmetadata: {name: l}\nspec: {protocol: MESH_INBOUND}\n").size() ==
      1);
  CHECK(run(rules, "kind: Workload\nmetadata: {name: w}\n").size() == 1);
  // A single selector may be written without the list.
  CHECK(run(R"(
- name: r
  onlyIf: {kinds: [Workload]}
  requireExists: {kinds: [MeshConfig]}
)",
            "kind: Workload\nmetadata: {name: w}\n")
            .size() == 1);
}

// --- requireRelated and requireExists ----------------------------------------------------

TEST_CASE("requireRelated with {selected: PATH}: a Listener needs a route naming it",
          "[config][baseline]") {
  const std::string text = R"(kind: Listener
metadata: {name: edge, namespace: infra}
---
kind: Listener
metadata: {name: lonely, namespace: infra}
---
kind: Listener
metadata: {name: local, namespace: shop}
---
kind: HTTPRoute
metadata: {name: r, namespace: shop}
spec:
  parentRefs: [{name: edge, namespace: infra}, {name: local}, {name: lonely}]
)";
  auto found = run(R"(
- name: routed
  select: {kinds: [Listener]}
  requireRelated:
    kinds: [HTTPRoute]
    where:
      - path: "spec.parentRefs[*]"
        where:
          - {path: name, equals: {selected: metadata.name}}
          - anyOf:
              - {path: namespace, equals: {selected: metadata.namespace}}
              - allOf:
                  - {path: namespace, absent: true}
                  - {path: "$.metadata.namespace", equals: {selected: metadata.namespace}}
)",
                   text);
  // `lonely` is named without a namespace, so the route means shop/lonely, not infra/lonely.
  CHECK(found == Lines{at(text, "kind: Listener", 2) +
                       ": error: routed: Listener infra/lonely: no HTTPRoute where "
                       "spec.parentRefs[*] has an element where name is the selected "
                       "resource's metadata.name and (namespace is the selected resource's "
                       "metadata.namespace or (namespace is not set and $.metadata.namespace is "
                       "the selected resource's metadata.namespace))"});
}

namespace {

const std::string kMesh = R"(kind: Workload
metadata: {name: orders, namespace: production, labels: {app: orders, tier: back}}
---
kind: Workload
metadata: {name: web, namespace: production, labels: {app: web}}
---
kind: Workload
metadata: {name: batch, namespace: jobs, labels: {app: batch}}
---
kind: AuthorizationPolicy
metadata: {name: orders-allow, namespace: production}
spec:
  selector: {matchLabels: {app: orders}}
  rules: [{from: [{source: {principals: ["web@cluster.local"]}}]}]
---
kind: AuthorizationPolicy
metadata: {name: web-deny, namespace: production}
spec:
  action: DENY
  selector: {matchLabels: {app: web}}
  rules: [{}]
)";

const char* kNeedsAllow = R"(
- name: allow
  select: {kinds: [Workload]}
  requireRelated:
    kinds: [AuthorizationPolicy]
    relation: selects
    where: [{path: spec.action, equals: ALLOW, default: ALLOW}]
)";

}  // namespace

TEST_CASE("relation selects: namespace and label selector", "[config][baseline]") {
  CHECK(run(kNeedsAllow, kMesh) ==
        Lines{at(kMesh, "kind: Workload", 2) +
                  ": error: allow: Workload production/web: no AuthorizationPolicy selects it "
                  "where spec.action is ALLOW",
              at(kMesh, "kind: Workload", 3) +
                  ": error: allow: Workload jobs/batch: no AuthorizationPolicy selects it where "
                  "spec.action is ALLOW"});
}

TEST_CASE("relation selects: no selector, root namespace, matchExpressions, targetRefs",
          "[config][baseline]") {
  auto finds = [&](const std::string& policy) {
    std::string text =
        "kind: Workload\nmetadata: {name: w, namespace: shop, labels: {app: w, "
        "tier: front}}\n---\n" +
        policy;
    return run(kNeedsAllow, text).size();
  };
  CHECK(finds("kind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\nspec: {}\n") == 0);
  CHECK(finds("kind: AuthorizationPolicy\nmetadata: {name: p, namespace: other}\nspec: {}\n") == 1);
  CHECK(finds("kind: AuthorizationPolicy\nmetadata: {name: p, namespace: gatehouse-system}\n"
              "spec: {}\n") == 0);
  // The root namespace is MeshConfig default's spec.rootNamespace when set.
  CHECK(finds("kind: MeshConfig\nmetadata: {name: default}\nspec: {rootNamespace: mesh}\n---\n"
              "kind: AuthorizationPolicy\nmetadata: {name: p, namespace: mesh}\nspec: {}\n") == 0);
  CHECK(finds("kind: MeshConfig\nmetadata: {name: default}\nspec: {rootNamespace: mesh}\n---\n"
              "kind: AuthorizationPolicy\nmetadata: {name: p, namespace: gatehouse-system}\n"
              "spec: {}\n") == 1);
  CHECK(finds("kind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n"
              "  selector: {matchLabels: {app: w, tier: back}}\n") == 1);
  CHECK(finds("kind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n"
              "  selector:\n    matchExpressions:\n"
              "      - {key: tier, operator: In, values: [front, middle]}\n"
              "      - {key: canary, operator: DoesNotExist}\n") == 0);
  CHECK(finds("kind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n"
              "  selector:\n    matchExpressions:\n"
              "      - {key: tier, operator: NotIn, values: [front]}\n") == 1);
  CHECK(finds("kind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n"
              "  targetRefs: [{kind: Listener, name: edge}]\n") == 1);
}

TEST_CASE("requireExists: missing, present but wrong, present and right", "[config][baseline]") {
  const std::string rules = R"(
- name: strict
  requireExists:
    kinds: [MeshConfig]
    names: [default]
    where: [{path: spec.mtls, equals: STRICT}]
)";
  Baseline b = baseline(rules);
  auto none = evaluateRules(b.rules, docs("kind: Workload\nmetadata: {name: w}\n"));
  CHECK(formatAll(none) ==
        Lines{at(rules, "kinds: [MeshConfig]", 1, "b.yaml") +
              ": error: strict: MeshConfig: no MeshConfig named default where spec.mtls is "
              "STRICT in this configuration"});
  const std::string permissive =
      "kind: MeshConfig\nmetadata: {name: default}\nspec: {mtls: "
      "PERMISSIVE}\n";
  CHECK(formatAll(evaluateRules(b.rules, docs(permissive))) ==
        Lines{at(permissive, "PERMISSIVE") +
              ": error: strict: MeshConfig default/default: spec.mtls: must be STRICT (is "
              "PERMISSIVE)"});
  CHECK(evaluateRules(b.rules, docs("kind: MeshConfig\nmetadata: {name: default}\nspec: {mtls: "
                                    "STRICT}\n"))
            .empty());
}

TEST_CASE("a rule's message replaces the generated one; severities", "[config][baseline]") {
  auto found = run(R"(
- name: r
  severity: warning
  message: listeners say what they are for
  select: {kinds: [Listener]}
  require: [{path: metadata.labels.team, exists: true}]
- name: i
  severity: info
  select: {kinds: [Listener], names: [a]}
  forbid: [{path: spec.port, equals: 8080}]
)",
                   kListeners);
  CHECK(found == Lines{
                     at(kListeners, "{name: b") +
                         ": warning: r: Listener staging/b: metadata.labels.team: listeners say "
                         "what they are for",
                     at(kListeners, "8080") +
                         ": info: i: Listener production/a: spec.port: must not be 8080",
                 });
}

// --- Reading baselines -------------------------------------------------------------------

TEST_CASE("a baseline document, several documents, or a bare list", "[config][baseline]") {
  Baseline b = baseline(R"(apiVersion: gatehouse.dev/v1
kind: Baseline
metadata: {name: x}
rules:
  - name: a
    requireExists: {kinds: [MeshConfig]}
lint:
  authz-allow-nothing: error
  authz-unknown-trust-domain: "off"
---
apiVersion: gatehouse.dev/v1
kind: Baseline
rules:
  - name: b
    severity: info
    description: something
    requireExists: {kinds: [Workload]}
)");
  REQUIRE(b.rules.size() == 2);
  CHECK(b.rules[0].name == "a");
  CHECK(b.rules[0].severity == Severity::kError);
  CHECK(b.rules[1].severity == Severity::kInfo);
  CHECK(b.rules[1].description == "something");
  REQUIRE(b.lint.size() == 2);
  CHECK(b.lint[0].severity == Severity::kError);
  CHECK(b.lint[1].off);
  CHECK(baseline("- name: a\n  requireExists: {kinds: [X]}\n").rules.size() == 1);
}

TEST_CASE("baseline problems are reported with file:line:column, all of them",
          "[config][baseline]") {
  const std::string text = R"(apiVersion: gatehouse.dev/v2
kind: Policy
rulez: []
rules:
  - name: Bad_Name
    severity: fatal
    select: {kinds: [Listener], kind: [x]}
    require:
      - {path: "spec..port", exists: true}
      - {path: spec.port}
      - {path: spec.port, equals: 1, in: [1, 2]}
      - {path: spec.name, matches: "a(b"}
      - {path: spec.port, exists: true, default: 1}
      - {path: spec.port, anyOf: [{exists: true}]}
      - {path: spec.port, equals: {selected: metadata.name}}
      - {path: spec.port, gte: soon}
      - {path: spec.port, in: []}
  - name: dup
    requireExists: {kinds: [X]}
  - name: dup
    requireExists: {kinds: [X]}
  - name: authz-allow-nothing
    requireExists: {kinds: [X]}
  - name: nothing
    select: {kinds: [X]}
  - name: no-select
    require: [{path: a, exists: true}]
  - name: useless-select
    select: {kinds: [X]}
    requireExists: {kinds: [X]}
  - name: rel
    select: {kinds: [X]}
    requireRelated: {kinds: [Y], relation: owns}
lint:
  authz-typo: error
  authz-allow-nothing: loud
)";
  auto errors = baselineErrors(text);
  auto has = [&](const std::string& needle, int occurrence, const std::string& message) {
    std::string prefix = at(text, needle, occurrence, "b.yaml") + ": baseline: ";
    for (const std::string& e : errors)
      if (e.rfind(prefix, 0) == 0 && e.find(message) != std::string::npos) return true;
    FAIL_CHECK("no problem at " << prefix << " saying " << message);
    return false;
  };
  has("gatehouse.dev/v2", 1, "apiVersion: must be gatehouse.dev/v1");
  has("Policy", 1, "kind: must be Baseline");
  has("rulez", 1, "rulez: unknown field");
  has("Bad_Name", 1, "rules[0].name: must be lower-case");
  has("fatal", 1, "rules[0].severity: must be one of error, warning or info");
  has("kind: [x]", 1, "rules[0].select.kind: unknown field");
  has("\"spec..port\"", 1, "rules[0].require[0].path: has an empty field name");
  has("{path: spec.port}", 1, "rules[0].require[1]: needs an operator");
  has("[1, 2]", 1, "rules[0].require[2].in: a condition has one operator");
  has("\"a(b\"", 1, "rules[0].require[3].matches: invalid RE2 regular expression");
  has("1}", 1, "rules[0].require[4].default: applies to value operators only");
  has("spec.port, anyOf", 1, "rules[0].require[5].path: anyOf has no path");
  has("{selected: metadata.name}", 1,
      "rules[0].require[6].equals: {selected: PATH} compares with the selected resource");
  has("soon", 1, "rules[0].require[7].gte: must be a number, or a duration");
  has("[]}", 1, "rules[0].require[8].in: must be a non-empty list");
  has("dup", 2, "rules[2].name: rule \"dup\" is already defined at b.yaml:18:");
  has("authz-allow-nothing", 1, "rules[3].name: \"authz-allow-nothing\" is the name of a built-in");
  has("name: nothing", 1, "rules[4]: a rule needs at least one of require, forbid");
  has("name: no-select", 1, "rules[5].select: is required");
  has("{kinds: [X]}\n    requireExists: {kinds: [X]}\n  - name: rel", 1,
      "rules[6].select: has no effect");
  has("owns", 1, "rules[7].requireRelated.relation: must be one of selects or selectedBy");
  has("authz-typo", 1, "lint.authz-typo: is not a lint rule");
  has("loud", 1, "lint.authz-allow-nothing: must be one of error, warning, info or off");
  CHECK(errors.size() == 23);
}

TEST_CASE("baseline files: empty, YAML errors, unreadable", "[config][baseline]") {
  CHECK(baselineErrors("") == Lines{"b.yaml:1:1: baseline: is empty: expected a document of kind "
                                    "Baseline"});
  CHECK(baselineErrors("rules: [\n") ==
        Lines{"b.yaml:2:1: baseline: invalid YAML: did not find expected node content (while "
              "parsing a flow node at line 2, column 1)"});
  Baseline b;
  std::vector<Diagnostic> diags;
  CHECK_FALSE(loadBaseline("/nonexistent/baseline.yaml", &b, &diags));
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].format() == "/nonexistent/baseline.yaml: cannot open: No such file or directory");
}

// --- Findings ----------------------------------------------------------------------------

TEST_CASE("Finding::format leaves out the parts a finding does not have", "[config][baseline]") {
  Finding f;
  f.severity = Severity::kWarning;
  f.rule = "r";
  f.kind = "Listener";
  f.ns = "prod";
  f.name = "edge";
  f.path = "spec.port";
  f.loc = SourceLoc{"a.yaml", 3, 7};
  f.message = "too low";
  CHECK(f.format() == "a.yaml:3:7: warning: r: Listener prod/edge: spec.port: too low");
  f.path.clear();
  CHECK(f.format() == "a.yaml:3:7: warning: r: Listener prod/edge: too low");
  f.name.clear();
  CHECK(f.format() == "a.yaml:3:7: warning: r: Listener: too low");
  f.kind.clear();
  CHECK(f.format() == "a.yaml:3:7: warning: r: too low");
}

TEST_CASE("checkPolicies orders findings by file as given, then position", "[config][baseline]") {
  Baseline b = baseline(R"(
- name: r
  select: {kinds: [Service]}
  require: [{path: spec.x, exists: true}]
)");
  std::vector<ConfigDocument> all = docs("kind: Service\nmetadata: {name: z}\n", "z.yaml");
  for (auto& d : docs("kind: Service\nmetadata: {name: a1}\n---\nkind: Service\nmetadata: "
                      "{name: a2}\n",
                      "a.yaml"))
    all.push_back(std::move(d));
  Lines files;
  for (const Finding& f : checkPolicies(all, &b))
    files.push_back(f.loc.file + ":" + std::to_string(f.loc.line) + " " + f.name);
  CHECK(files == Lines{"z.yaml:1 z", "a.yaml:1 a1", "a.yaml:4 a2"});
}

// --- Lint --------------------------------------------------------------------------------

TEST_CASE("the built-in lint rules parse and are all named", "[config][baseline][lint]") {
  const auto& rules = lintRules();
  CHECK(rules.size() == 4);
  for (const BaselineRule& r : rules) {
    CHECK(isLintRuleName(r.name));
    CHECK(r.severity == Severity::kWarning);
    CHECK_FALSE(r.description.empty());
  }
  CHECK(lintRuleNames().size() == 5);
}

TEST_CASE("lint authz-allow-nothing", "[config][baseline][lint]") {
  const std::string bad = R"(kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  selector: {matchLabels: {app: w}}
---
kind: AuthorizationPolicy
metadata: {name: q, namespace: shop}
spec: {action: ALLOW, rules: []}
---
kind: Workload
metadata: {name: w, namespace: shop, labels: {app: w}}
)";
  auto found = only("authz-allow-nothing", checkPolicies(docs(bad), nullptr));
  REQUIRE(found.size() == 2);
  CHECK(found[0].rfind(at(bad, "selector:") + ": warning: authz-allow-nothing: "
                                              "AuthorizationPolicy shop/p: spec.rules[*]: an "
                                              "ALLOW policy with no rules allows nothing",
                       0) == 0);
  CHECK(found[1].rfind(at(bad, "[]}") + ": warning: authz-allow-nothing: AuthorizationPolicy "
                                        "shop/q: spec.rules[*]: ",
                       0) == 0);
  // With a rule, or as a DENY policy, it says something.
  const std::string good = R"(kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules: [{from: [{source: {namespaces: [shop]}}]}]
---
kind: AuthorizationPolicy
metadata: {name: q, namespace: shop}
spec: {action: DENY}
)";
  CHECK(only("authz-allow-nothing", checkPolicies(docs(good), nullptr)) == Lines{});
}

TEST_CASE("lint authz-allow-everything", "[config][baseline][lint]") {
  const std::string bad = R"(kind: AuthorizationPolicy
metadata: {name: p}
spec:
  rules:
    - to: [{operation: {methods: [GET]}}]
    - {}
)";
  CHECK(only("authz-allow-everything", checkPolicies(docs(bad), nullptr)) ==
        Lines{at(bad, "{}") + ": warning: authz-allow-everything: AuthorizationPolicy default/p: "
                              "spec.rules[1]: this rule has no from, to or when, so it matches "
                              "every request: the policy allows everything for the workloads it "
                              "selects"});
  const std::string good = R"(kind: AuthorizationPolicy
metadata: {name: p}
spec:
  rules:
    - to: [{operation: {methods: [GET]}}]
    - when: [{key: source.ip, values: [10.0.0.0/8]}]
---
kind: AuthorizationPolicy
metadata: {name: deny-all}
spec: {action: DENY, rules: [{}]}
)";
  CHECK(only("authz-allow-everything", checkPolicies(docs(good), nullptr)) == Lines{});
}

TEST_CASE("lint authz-deny-http-only-without-ports", "[config][baseline][lint]") {
  const std::string bad = R"(kind: AuthorizationPolicy
metadata: {name: p}
spec:
  action: DENY
  rules:
    - to: [{operation: {methods: [DELETE]}}]
    - from: [{source: {namespaces: [other]}}]
    - when: [{key: "request.headers[x-debug]", values: ["1"]}]
    - to: [{operation: {paths: [/admin*], ports: ["8080"]}}]
)";
  CHECK(only("authz-deny-http-only-without-ports", checkPolicies(docs(bad), nullptr)) ==
        Lines{at(bad, "to: [{operation: {methods") +
                  ": warning: authz-deny-http-only-without-ports: AuthorizationPolicy "
                  "default/p: spec.rules[0]: this DENY rule matches on HTTP-only fields with no "
                  "to.operation.ports: on traffic that is not HTTP it denies every connection; "
                  "add the ports it is meant for",
              at(bad, "when:") +
                  ": warning: authz-deny-http-only-without-ports: AuthorizationPolicy "
                  "default/p: spec.rules[2]: this DENY rule matches on HTTP-only fields with no "
                  "to.operation.ports: on traffic that is not HTTP it denies every connection; "
                  "add the ports it is meant for"});
  // The same rules in an ALLOW policy are fine.
  std::string allow = bad;
  allow.replace(allow.find("action: DENY"), 12, "action: ALLOW");
  CHECK(only("authz-deny-http-only-without-ports", checkPolicies(docs(allow), nullptr)) == Lines{});
}

TEST_CASE("lint authz-unknown-trust-domain", "[config][baseline][lint]") {
  const std::string policy = R"(kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules:
    - from:
        - source:
            principals:
              - web@cluster.local
              - cluster.local/ns/shop/sa/web
              - spiffe://cluster.local/ns/shop/sa/web
              - "*"
              - "*/ns/shop/sa/web"
              - orders@clustre.local
            notPrincipals: ["spiffe://other.example/ns/x/sa/y"]
      when:
        - {key: source.principal, values: [legacy.corp/ns/a/sa/b]}
        - {key: "request.headers[x]", values: [a@b.c/x]}
)";
  auto found = only(std::string(kLintUnknownTrustDomain), checkPolicies(docs(policy), nullptr));
  CHECK(found ==
        Lines{
            at(policy, "orders@clustre.local") +
                ": warning: authz-unknown-trust-domain: AuthorizationPolicy shop/p: "
                "spec.rules[0].from[0].source.principals[5]: principal \"orders@clustre.local\" "
                "names trust domain \"clustre.local\", which this mesh does not have "
                "(cluster.local): no peer can present it",
            at(policy, "\"spiffe://other.example") +
                ": warning: authz-unknown-trust-domain: AuthorizationPolicy shop/p: "
                "spec.rules[0].from[0].source.notPrincipals[0]: principal "
                "\"spiffe://other.example/ns/x/sa/y\" names trust domain \"other.example\", "
                "which this mesh does not have (cluster.local): no peer can present it",
            at(policy, "legacy.corp") +
                ": warning: authz-unknown-trust-domain: AuthorizationPolicy shop/p: "
                "spec.rules[0].when[0].values[0]: principal \"legacy.corp/ns/a/sa/b\" names "
                "trust domain \"legacy.corp\", which this mesh does not have (cluster.local): "
                "no peer can present it",
        });
  // The MeshConfig's trust domain replaces the default: it is the only one known (MeshConfig
  // has no trustDomainAliases).
  const std::string mesh = R"(kind: MeshConfig
metadata: {name: default}
spec: {trustDomain: clustre.local}
---
)";
  auto withMesh =
      only(std::string(kLintUnknownTrustDomain), checkPolicies(docs(mesh + policy), nullptr));
  REQUIRE(withMesh.size() == 5);  // the 3 cluster.local ones, other.example and legacy.corp
  int clusterLocal = 0;
  for (const std::string& f : withMesh) {
    CHECK(f.find("which this mesh does not have (clustre.local)") != std::string::npos);
    CHECK(f.find("orders@clustre.local") == std::string::npos);
    if (f.find("names trust domain \"cluster.local\"") != std::string::npos) ++clusterLocal;
  }
  CHECK(clusterLocal == 3);
}

TEST_CASE("lint authz-selector-matches-nothing", "[config][baseline][lint]") {
  const std::string text = R"(kind: Workload
metadata: {name: w, namespace: shop, labels: {app: web}}
---
kind: AuthorizationPolicy
metadata: {name: typo, namespace: shop}
spec:
  selector: {matchLabels: {app: wbe}}
  rules: [{from: [{source: {namespaces: [shop]}}]}]
---
kind: AuthorizationPolicy
metadata: {name: ok, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  rules: [{from: [{source: {namespaces: [shop]}}]}]
---
kind: AuthorizationPolicy
metadata: {name: whole-namespace, namespace: shop}
spec:
  rules: [{from: [{source: {namespaces: [shop]}}]}]
)";
  CHECK(only("authz-selector-matches-nothing", checkPolicies(docs(text), nullptr)) ==
        Lines{at(text, "{matchLabels: {app: wbe}}") +
              ": warning: authz-selector-matches-nothing: AuthorizationPolicy shop/typo: "
              "spec.selector: spec.selector matches no Workload in this configuration, so the "
              "policy applies to nothing"});
}

TEST_CASE("a baseline sets lint severities or turns lint rules off", "[config][baseline][lint]") {
  const std::string text = "kind: AuthorizationPolicy\nmetadata: {name: p}\nspec: {}\n";
  auto plain = checkPolicies(docs(text), nullptr);
  REQUIRE(plain.size() == 1);
  CHECK(plain[0].severity == Severity::kWarning);
  CHECK_FALSE(hasErrors(plain));
  Baseline raised = baseline(
      "apiVersion: gatehouse.dev/v1\nkind: Baseline\nlint: "
      "{authz-allow-nothing: error}\n");
  auto strict = checkPolicies(docs(text), &raised);
  REQUIRE(strict.size() == 1);
  CHECK(strict[0].severity == Severity::kError);
  CHECK(hasErrors(strict));
  Baseline off = baseline(
      "apiVersion: gatehouse.dev/v1\nkind: Baseline\nlint: "
      "{authz-allow-nothing: \"off\"}\n");
  CHECK(checkPolicies(docs(text), &off).empty());
}

// --- The shipped example baseline --------------------------------------------------------

namespace {

// The findings of one rule of examples/baseline.yaml over `text`.
Lines example(const std::string& rule, const std::string& text) {
  static const Baseline b = loadFile("examples/baseline.yaml");
  return only(rule, checkPolicies(docs(text), &b));
}

}  // namespace

TEST_CASE("examples/baseline.yaml: spec rule 'every Workload has at least one ALLOW policy'",
          "[config][baseline][example]") {
  const std::string failing = R"(kind: Workload
metadata: {name: orders, namespace: production, labels: {app: orders}}
---
kind: AuthorizationPolicy
metadata: {name: deny-debug, namespace: production}
spec:
  action: DENY
  selector: {matchLabels: {app: orders}}
  rules: [{to: [{operation: {paths: [/debug*], ports: ["8080"]}}]}]
)";
  CHECK(example("workload-has-allow-policy", failing) ==
        Lines{"t.yaml:1:1: error: workload-has-allow-policy: Workload production/orders: no "
              "ALLOW AuthorizationPolicy applies to this Workload, so it accepts every request"});
  const std::string passing = failing + R"(---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata:
  name: allow-frontend-to-orders
  namespace: production
spec:
  selector:
    matchLabels:
      app: orders
  rules:
    - from:
        - source:
            principals: ["frontend@cluster.local"]
      to:
        - operation:
            methods: ["GET", "POST"]
)";
  CHECK(example("workload-has-allow-policy", passing) == Lines{});
}

TEST_CASE("examples/baseline.yaml: spec rule 'no principal wildcard * in namespace production'",
          "[config][baseline][example]") {
  const std::string text = R"(kind: AuthorizationPolicy
metadata: {name: p, namespace: production}
spec:
  rules:
    - from: [{source: {principals: ["*"]}}, {source: {notPrincipals: ["*"]}}]
---
kind: AuthorizationPolicy
metadata: {name: p, namespace: staging}
spec:
  rules:
    - from: [{source: {principals: ["*"]}}]
)";
  CHECK(example("no-wildcard-principal-in-production", text) ==
        Lines{at(text, "\"*\"") + ": error: no-wildcard-principal-in-production: "
                                  "AuthorizationPolicy production/p: "
                                  "spec.rules[0].from[0].source.principals[0]: the principal "
                                  "wildcard \"*\" is not allowed in namespace production; name "
                                  "the callers",
              at(text, "\"*\"", 2) + ": error: no-wildcard-principal-in-production: "
                                     "AuthorizationPolicy production/p: "
                                     "spec.rules[0].from[1].source.notPrincipals[0]: the "
                                     "principal wildcard \"*\" is not allowed in namespace "
                                     "production; name the callers"});
  CHECK(example("no-wildcard-principal-in-production",
                "kind: AuthorizationPolicy\nmetadata: {name: p, namespace: production}\nspec:\n"
                "  rules: [{from: [{source: {principals: [\"web@cluster.local\"]}}]}]\n") ==
        Lines{});
}

TEST_CASE("examples/baseline.yaml: spec rule 'mtls is STRICT'", "[config][baseline][example]") {
  const std::string workload = "kind: Workload\nmetadata: {name: w}\n---\n";
  CHECK(example("mesh-mtls-strict", workload).size() == 1);  // no MeshConfig at all
  const std::string permissive =
      workload + "kind: MeshConfig\nmetadata: {name: default}\nspec: {mtls: PERMISSIVE}\n";
  CHECK(example("mesh-mtls-strict", permissive) ==
        Lines{at(permissive, "PERMISSIVE") +
              ": error: mesh-mtls-strict: MeshConfig default/default: spec.mtls: must be STRICT "
              "(is PERMISSIVE)"});
  CHECK(example("mesh-mtls-strict",
                workload + "kind: MeshConfig\nmetadata: {name: default}\nspec: {mtls: STRICT}\n") ==
        Lines{});
  // mtls left out is STRICT, as the decoder has it (MeshConfigSpec's default).
  CHECK(example("mesh-mtls-strict",
                workload + "kind: MeshConfig\nmetadata: {name: default}\nspec: {}\n") == Lines{});
  CHECK(example("mesh-mtls-strict",
                workload + "kind: MeshConfig\nmetadata: {name: default}\nspec: {mtls: ~}\n") ==
        Lines{});
  // A mesh listener brings the mesh in too; an edge-only configuration has nothing to check.
  CHECK(example("mesh-mtls-strict",
                "kind: Listener\nmetadata: {name: in}\nspec: {protocol: MESH_INBOUND}\n")
            .size() == 1);
  CHECK(example("mesh-mtls-strict",
                "kind: Listener\nmetadata: {name: edge}\nspec: {protocol: HTTP}\n") == Lines{});
}

TEST_CASE("examples/baseline.yaml: spec rule 'every HTTPS listener has minVersion TLS1_2+'",
          "[config][baseline][example]") {
  const std::string text = R"(kind: Listener
metadata: {name: old}
spec: {protocol: HTTPS, tls: {minVersion: TLS1_1}}
---
kind: Listener
metadata: {name: unset}
spec: {protocol: HTTPS, tls: {certificates: []}}
---
kind: Listener
metadata: {name: good}
spec: {protocol: HTTPS, tls: {minVersion: TLS1_3}}
---
kind: Listener
metadata: {name: plain}
spec: {protocol: HTTP}
)";
  CHECK(example("https-min-tls12", text) ==
        Lines{at(text, "TLS1_1") + ": error: https-min-tls12: Listener default/old: "
                                   "spec.tls.minVersion: must be one of TLS1_2, TLS1_3 (is TLS1_1)",
              at(text, "{certificates") + ": error: https-min-tls12: Listener default/unset: "
                                          "spec.tls.minVersion: must be one of TLS1_2, TLS1_3 "
                                          "(not set)"});
}

TEST_CASE("examples/baseline.yaml: rules about today's resources", "[config][baseline][example]") {
  const std::string text = R"(kind: Listener
metadata: {name: any, namespace: production}
spec: {port: 80}
---
kind: Listener
metadata: {name: v6, namespace: production}
spec: {address: "::", port: 81}
---
kind: Listener
metadata: {name: ok, namespace: production}
spec: {address: 10.0.0.1, port: 82}
---
kind: HTTPRoute
metadata: {name: r, namespace: production}
spec:
  parentRefs: [{name: ok}, {name: any}]
  rules:
    - timeouts: {request: 10s}
    - timeouts: {backendRequest: 1s}
    - timeouts: {request: 5m}
    - timeouts: {request: 0s}
---
kind: Service
metadata: {name: s, namespace: production, labels: {team: shop}}
---
kind: Service
metadata: {name: t, namespace: production}
)";
  CHECK(example("production-listeners-not-wildcard", text) ==
        Lines{at(text, "{port: 80}") + ": error: production-listeners-not-wildcard: Listener "
                                       "production/any: spec.address: must not be one of "
                                       "0.0.0.0, :: (not set; defaults to 0.0.0.0)",
              at(text, "\"::\"") + ": error: production-listeners-not-wildcard: Listener "
                                   "production/v6: spec.address: must not be one of 0.0.0.0, :: "
                                   "(is ::)"});
  CHECK(example("route-rules-set-request-timeout", text) ==
        Lines{at(text, "timeouts: {backendRequest") +
              ": error: route-rules-set-request-timeout: "
              "HTTPRoute production/r: spec.rules[1]: this rule "
              "sets no timeouts.request (write e.g. `timeouts: "
              "{request: 30s}`)"});
  CHECK(example("route-request-timeout-at-most-60s", text) ==
        Lines{at(text, "5m") + ": warning: route-request-timeout-at-most-60s: HTTPRoute "
                               "production/r: spec.rules[2].timeouts.request: a request timeout "
                               "must be between 1ms and 60s (0s turns the timeout off)",
              at(text, "0s}\n---") +
                  ": warning: route-request-timeout-at-most-60s: HTTPRoute "
                  "production/r: spec.rules[3].timeouts.request: a request timeout "
                  "must be between 1ms and 60s (0s turns the timeout off)"});
  CHECK(example("listener-has-routes", text) ==
        Lines{"t.yaml:5:1: warning: listener-has-routes: Listener production/v6: no HTTPRoute "
              "names this Listener in its parentRefs, so it has nothing to serve"});
  CHECK(example("services-have-owner", text) ==
        Lines{at(text, "{name: t, namespace") + ": info: services-have-owner: Service "
                                                "production/t: metadata.labels.team: is required"});
}

TEST_CASE("examples/edge decodes, validates and passes examples/baseline.yaml",
          "[config][baseline][example]") {
  std::vector<ConfigSource> sources;
  std::vector<Diagnostic> diags;
  REQUIRE(readConfigSources({"examples/edge"}, &sources, &diags));
  std::vector<Resource> resources;
  std::vector<ConfigDocument> documents;
  for (const ConfigSource& s : sources) {
    REQUIRE(decodeText(s.text, s.file, &resources, &diags));
    documentsFromText(s.text, s.file, &documents);
  }
  REQUIRE(validate(resources, &diags));
  CHECK(testing::formatAll(diags) == Lines{});
  CHECK(documents.size() == resources.size());
  Baseline b = loadFile("examples/baseline.yaml");
  CHECK(formatAll(checkPolicies(documents, &b)) == Lines{});
}
