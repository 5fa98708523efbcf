#include "core/config/diff.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/unit/config/config_test_util.h"

using namespace gh::config;
using gh::config::testing::decode;

namespace {

std::vector<std::string> lines(const std::vector<FieldChange>& changes) {
  std::vector<std::string> out;
  for (const FieldChange& c : changes) {
    std::string line = (c.path.empty() ? "(document)" : c.path) + ": ";
    if (c.before.empty()) {
      line += "+ " + c.after;
    } else if (c.after.empty()) {
      line += "- " + c.before;
    } else {
      line += c.before + " -> " + c.after;
    }
    out.push_back(line);
  }
  return out;
}

using Lines = std::vector<std::string>;

const char kRoute[] = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: prod}
spec:
  parentRefs: [{name: edge}]
  hostnames: [a.example.com, b.example.com]
  rules:
    - backendRefs: [{name: orders, weight: 10}, {name: orders-v2, weight: 90}]
      timeouts: {request: 10s}
)";

std::vector<Resource> decoded(const std::string& text) {
  auto d = decode(text);
  INFO(d.errors.size());
  REQUIRE(d.ok);
  return d.resources;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("diffJson names each changed field by its path", "[config][diff]") {
  CHECK(diffJson(R"({"a":1})", R"({"a":1})").empty());
  CHECK(lines(diffJson(R"({"a":1,"b":"x"})", R"({"a":2,"b":"x"})")) == Lines{"a: 1 -> 2"});
  CHECK(lines(diffJson(R"({"a":{"b":[1,2,3]}})", R"({"a":{"b":[1,5,3]}})")) ==
        Lines{"a.b[1]: 2 -> 5"});
  // Strings are quoted, so "80" and 80 differ visibly.
  CHECK(lines(diffJson(R"({"p":80})", R"({"p":"80"})")) == Lines{R"(p: 80 -> "80")"});
  // Fields that come and go.
  CHECK(lines(diffJson(R"({"a":1,"t":{"r":"10s"}})", R"({"a":1,"n":true})")) ==
        Lines{R"(t: - {"r":"10s"})", "n: + true"});
  // A field that changes type is one change of the whole value.
  CHECK(lines(diffJson(R"({"a":[1]})", R"({"a":{"x":1}})")) == Lines{R"(a: [1] -> {"x":1})"});
  // Keys that are not identifiers are bracketed, as in validation messages.
  CHECK(lines(diffJson(R"({"labels":{"app.io/x":"1"}})", R"({"labels":{"app.io/x":"2"}})")) ==
        Lines{R"(labels["app.io/x"]: "1" -> "2")"});
  // Escapes survive the round trip into the rendered value.
  CHECK(lines(diffJson(R"({"b":"a\"b"})", R"({"b":"a\nb"})")) == Lines{R"(b: "a\"b" -> "a\nb")"});
}

TEST_CASE("lists are aligned before they are compared", "[config][diff]") {
  // An item inserted at the front is one addition, not every item changed.
  CHECK(lines(diffJson(R"({"h":["b","c","d"]})", R"({"h":["a","b","c","d"]})")) ==
        Lines{R"(h[0]: + "a")"});
  CHECK(lines(diffJson(R"({"h":["a","b","c"]})", R"({"h":["a","c"]})")) == Lines{R"(h[1]: - "b")"});
  // Items changed in place are compared field by field.
  CHECK(lines(diffJson(R"({"r":[{"n":"x","w":90},{"n":"y","w":10}]})",
                       R"({"r":[{"n":"x","w":80},{"n":"y","w":20}]})")) ==
        Lines{"r[0].w: 90 -> 80", "r[1].w: 10 -> 20"});
  // A change between two unchanged items pairs up with the item it replaced.
  CHECK(lines(diffJson(R"({"r":[1,{"w":1},3]})", R"({"r":[1,{"w":2},3,4]})")) ==
        Lines{"r[1].w: 1 -> 2", "r[3]: + 4"});
  CHECK(lines(diffJson(R"({"r":[]})", R"({"r":[1,2]})")) == Lines{"r[0]: + 1", "r[1]: + 2"});
}

TEST_CASE("long values are shortened and unparsable text is compared whole", "[config][diff]") {
  std::string big(500, 'x');
  auto changes = diffJson(R"({"body":")" + big + R"("})", R"({"body":"y"})");
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].before.size() == 120);
  CHECK(changes[0].before.substr(117) == "...");
  CHECK(lines(diffJson("not json [", R"({"a":1})")) ==
        Lines{R"((document): not json [ -> {"a":1})"});
}

TEST_CASE("resource sets are compared by kind, namespace and name", "[config][diff]") {
  const std::string listener =
      "apiVersion: gatehouse.dev/v1\nkind: Listener\nmetadata: {name: edge}\n"
      "spec: {address: 127.0.0.1, port: 8000}\n";
  const std::string service =
      "apiVersion: gatehouse.dev/v1\nkind: Service\nmetadata: {name: orders, namespace: prod}\n"
      "spec: {endpoints: [{address: 127.0.0.1, port: 9000}]}\n";
  auto before = decoded(listener + "---\n" + kRoute);
  auto after = decoded(
      service + "---\n" +
      replaced(replaced(kRoute, "weight: 90", "weight: 80"), "request: 10s", "request: 5s"));

  ConfigDiff diff = diffResources(before, after);
  CHECK((diff.created == 1 && diff.changed == 1 && diff.deleted == 1 && diff.unchanged == 0));
  REQUIRE(diff.changes.size() == 3);
  CHECK(diff.changes[0].key == "HTTPRoute/prod/shop");
  CHECK(diff.changes[0].op == ResourceChange::Op::kChanged);
  CHECK(lines(diff.changes[0].fields) == Lines{"spec.rules[0].backendRefs[1].weight: 90 -> 80",
                                               R"(spec.rules[0].timeouts.request: "10s" -> "5s")"});
  CHECK((diff.changes[1].key == "Listener/default/edge" &&
         diff.changes[1].op == ResourceChange::Op::kDeleted));
  CHECK((diff.changes[2].key == "Service/prod/orders" &&
         diff.changes[2].op == ResourceChange::Op::kCreated));

  CHECK(formatDiff(diff) ==
        "  ~ HTTPRoute/prod/shop\n"
        "      spec.rules[0].backendRefs[1].weight: 90 -> 80\n"
        "      spec.rules[0].timeouts.request: \"10s\" -> \"5s\"\n"
        "  - Listener/default/edge\n"
        "  + Service/prod/orders\n");
  CHECK(formatCounts(diff) == "1 created, 1 configured, 0 unchanged, 1 deleted");

  // The same set, however written, is no change at all.
  auto again = decoded(std::string(kRoute) + "---\n" + listener);
  ConfigDiff none = diffResources(before, again);
  CHECK(none.empty());
  CHECK(none.unchanged == 2);
  CHECK(formatDiff(none).empty());
  CHECK(diffResources(std::vector<Resource>{}, std::vector<Resource>{}).empty());
}
