// RouteTable: compile and match, as tables of requests and the rule each must reach.

#include "core/route/route_table.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/route/conditions.h"

// The tables below name only the fields a case is about, through designated initializers; GCC 12
// would warn about every field left to its default.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using namespace gh;
using config::PathMatchType;
using config::ValueMatchType;

namespace {

config::RouteMatch exact(std::string p) {
  return {.path = {PathMatchType::kExact, std::move(p)}};
}
config::RouteMatch prefix(std::string p) {
  return {.path = {PathMatchType::kPathPrefix, std::move(p)}};
}
config::RouteMatch regex(std::string p) {
  return {.path = {PathMatchType::kRegularExpression, std::move(p)}};
}
config::NameValueMatch is(std::string name, std::string value) {
  return {ValueMatchType::kExact, std::move(name), std::move(value)};
}
config::NameValueMatch like(std::string name, std::string value) {
  return {ValueMatchType::kRegularExpression, std::move(name), std::move(value)};
}

config::RouteMatch withMethod(config::RouteMatch m, std::string method) {
  m.method = std::move(method);
  return m;
}
config::RouteMatch withHeaders(config::RouteMatch m, std::vector<config::NameValueMatch> h) {
  m.headers = std::move(h);
  return m;
}
config::RouteMatch withQuery(config::RouteMatch m, std::vector<config::NameValueMatch> q) {
  m.queryParams = std::move(q);
  return m;
}

config::RouteRule rule(std::vector<config::RouteMatch> matches) {
  config::RouteRule r;
  r.matches = std::move(matches);
  r.backendRefs.push_back(config::BackendRef{.name = "svc"});
  return r;
}

config::Resource httpRoute(std::string ns, std::string name, std::vector<std::string> hostnames,
                           std::vector<config::RouteRule> rules) {
  config::Resource r;
  r.apiVersion = "gateway.networking.k8s.io/v1";
  r.kind = config::Kind::kHttpRoute;
  r.meta.ns = std::move(ns);
  r.meta.name = std::move(name);
  config::HttpRouteSpec spec;
  spec.hostnames = std::move(hostnames);
  spec.rules = std::move(rules);
  r.spec = std::move(spec);
  return r;
}

// Every backend resolves, except those named "missing...".
std::optional<uint32_t> anyService(std::string_view, std::string_view name) {
  if (name.substr(0, 7) == "missing") return std::nullopt;
  return static_cast<uint32_t>(name.size());
}

Result<std::shared_ptr<const route::RouteTable>> compile(
    const std::vector<config::Resource>& routes,
    const route::RouteTable::ServiceResolver& resolve = anyService) {
  std::vector<const config::Resource*> ptrs;
  for (const auto& r : routes) ptrs.push_back(&r);
  return route::RouteTable::compile(ptrs, resolve);
}

std::shared_ptr<const route::RouteTable> mustCompile(const std::vector<config::Resource>& routes) {
  auto t = compile(routes);
  INFO(t.status().message());
  REQUIRE(t.ok());
  return *t;
}

struct Req {
  std::string host = "example.com";
  std::string path = "/";
  std::string method = "GET";
  std::string query;
  std::vector<http::Header> headers;
};

route::Match lookup(const route::RouteTable& t, const Req& q) {
  route::Request r;
  r.host = q.host;
  r.path = q.path;
  r.method = q.method;
  r.query = q.query;
  r.headers = &q.headers;
  return t.match(r);
}

// The label of the rule `q` reaches, or "-" when none.
std::string labelOf(const route::RouteTable& t, const Req& q) {
  const route::Match m = lookup(t, q);
  return m.rule ? m.rule->label : "-";
}

struct Case {
  Req req;
  std::string want;
};

void checkAll(const route::RouteTable& t, const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    INFO(c.req.method << " " << c.req.host << c.req.path << (c.req.query.empty() ? "" : "?")
                      << c.req.query << " (" << c.req.headers.size() << " headers)");
    CHECK(labelOf(t, c.req) == c.want);
  }
}

}  // namespace

TEST_CASE("the most specific host entry wins, and only its rules are considered", "[route]") {
  auto table = mustCompile({
      httpRoute("default", "exact", {"shop.example.com"}, {rule({prefix("/api")})}),
      httpRoute("default", "wild", {"*.example.com"}, {rule({prefix("/")})}),
      httpRoute("default", "wild-shop", {"*.shop.example.com"}, {rule({prefix("/")})}),
      httpRoute("default", "any", {}, {rule({prefix("/")})}),
  });
  const std::vector<Case> cases = {
      {{.host = "shop.example.com", .path = "/api"}, "default/exact/0"},
      {{.host = "shop.example.com.", .path = "/api"}, "default/exact/0"},
      // The exact entry has no rule for /other; less specific hosts are not consulted.
      {{.host = "shop.example.com", .path = "/other"}, "-"},
      {{.host = "a.shop.example.com"}, "default/wild-shop/0"},
      {{.host = "a.b.shop.example.com"}, "default/wild-shop/0"},
      {{.host = "foo.example.com"}, "default/wild/0"},
      {{.host = "a.b.example.com"}, "default/wild/0"},
      {{.host = "foo.example.com."}, "default/wild/0"},
      // A wildcard needs at least one label in front of its suffix.
      {{.host = "example.com"}, "default/any/0"},
      {{.host = ".example.com"}, "default/any/0"},
      // Suffixes match at label boundaries only.
      {{.host = "badexample.com"}, "default/any/0"},
      {{.host = "other.org"}, "default/any/0"},
      {{.host = ""}, "default/any/0"},
  };
  checkAll(*table, cases);
}

TEST_CASE("routes listing the same hostname share one host entry", "[route]") {
  auto table = mustCompile({
      httpRoute("default", "a", {"Shop.Example.com", "shop.example.com."}, {rule({exact("/a")})}),
      httpRoute("default", "b", {"shop.example.com", "*.example.com"}, {rule({exact("/b")})}),
  });
  const std::vector<Case> cases = {
      {{.host = "shop.example.com", .path = "/a"}, "default/a/0"},
      {{.host = "shop.example.com", .path = "/b"}, "default/b/0"},
      {{.host = "x.example.com", .path = "/b"}, "default/b/0"},
      {{.host = "x.example.com", .path = "/a"}, "-"},
      {{.host = "other.org", .path = "/a"}, "-"},
  };
  checkAll(*table, cases);
}

TEST_CASE("path precedence: exact, then regex, then the longest prefix", "[route]") {
  auto table = mustCompile({
      // One rule per path kind, spread over routes whose names would order them the other way.
      httpRoute("default", "a-root", {}, {rule({prefix("/")})}),
      httpRoute("default", "b-prefix", {}, {rule({prefix("/a")})}),
      httpRoute("default", "c-deep", {}, {rule({prefix("/a/b/c")})}),
      httpRoute("default", "d-regex", {}, {rule({regex("/a/[0-9]+")})}),
      httpRoute("default", "e-exact", {}, {rule({exact("/a/b")})}),
  });
  const std::vector<Case> cases = {
      {{.path = "/a/b"}, "default/e-exact/0"},
      {{.path = "/a/b/"}, "default/b-prefix/0"},  // exact means exact
      {{.path = "/a/42"}, "default/d-regex/0"},
      {{.path = "/a/42/x"}, "default/b-prefix/0"},  // regex is a full match
      {{.path = "/a/b/c"}, "default/c-deep/0"},
      {{.path = "/a/b/c/"}, "default/c-deep/0"},
      {{.path = "/a/b/c/d/e"}, "default/c-deep/0"},
      {{.path = "/a/b/cd"}, "default/b-prefix/0"},
      {{.path = "/a"}, "default/b-prefix/0"},
      {{.path = "/a/"}, "default/b-prefix/0"},
      {{.path = "/ab"}, "default/a-root/0"},  // not at a segment boundary
      {{.path = "/"}, "default/a-root/0"},
      {{.path = "/zzz/y"}, "default/a-root/0"},
      {{.path = "*"}, "default/a-root/0"},
  };
  checkAll(*table, cases);
}

TEST_CASE("prefixes follow the Gateway API segment semantics", "[route]") {
  auto table = mustCompile({
      httpRoute("default", "slash", {}, {rule({prefix("/foo/")})}),
      httpRoute("default", "v1", {}, {rule({prefix("/api/v1")})}),
  });
  const std::vector<Case> cases = {
      // A trailing '/' in the configured prefix is ignored for matching.
      {{.path = "/foo"}, "default/slash/0"},
      {{.path = "/foo/"}, "default/slash/0"},
      {{.path = "/foo/bar"}, "default/slash/0"},
      {{.path = "/foobar"}, "-"},
      {{.path = "/api/v1"}, "default/v1/0"},
      {{.path = "/api/v1/users"}, "default/v1/0"},
      {{.path = "/api/v1//users"}, "default/v1/0"},
      {{.path = "/api/v10"}, "-"},
      {{.path = "/api"}, "-"},
      {{.path = "/"}, "-"},
  };
  checkAll(*table, cases);
}

TEST_CASE("a longer configured prefix wins within one segment key", "[route]") {
  // "/foo/" and "/foo" match the same paths; the Gateway API ranks the one with more
  // characters first, before methods and headers.
  auto table = mustCompile({
      httpRoute("default", "a", {}, {rule({withMethod(prefix("/foo"), "GET")})}),
      httpRoute("default", "b", {}, {rule({prefix("/foo/")})}),
  });
  const std::vector<Case> cases = {{{.path = "/foo/x"}, "default/b/0"}};
  checkAll(*table, cases);
}

TEST_CASE("regex paths are tried in precedence order and must match the whole path", "[route]") {
  auto table = mustCompile({
      httpRoute("default", "b", {}, {rule({regex("/v[0-9]+/.*")})}),
      httpRoute("default", "a", {}, {rule({regex("/v1/.*")})}),
      httpRoute("default", "c", {}, {rule({withMethod(regex("/v[0-9]+/items"), "POST")})}),
  });
  const std::vector<Case> cases = {
      {{.path = "/v1/items"}, "default/a/0"},
      {{.path = "/v2/items"}, "default/b/0"},
      {{.path = "/v2/items", .method = "POST"}, "default/c/0"},
      {{.path = "/v12"}, "-"},
      {{.path = "/x/v1/items"}, "-"},
  };
  checkAll(*table, cases);
}

TEST_CASE("at one path level: method, then header count, then query count", "[route]") {
  // Route names run against the precedence so that route order cannot explain the results.
  auto table = mustCompile({
      httpRoute("default", "a-plain", {}, {rule({prefix("/t")})}),
      httpRoute("default", "b-query", {}, {rule({withQuery(prefix("/t"), {is("q", "1")})})}),
      httpRoute("default", "c-header", {}, {rule({withHeaders(prefix("/t"), {is("x-a", "1")})})}),
      httpRoute("default", "d-headers", {},
                {rule({withHeaders(prefix("/t"), {is("x-a", "1"), is("x-b", "1")})})}),
      httpRoute("default", "e-method", {}, {rule({withMethod(prefix("/t"), "GET")})}),
  });
  const std::vector<http::Header> both = {{"x-a", "1"}, {"x-b", "1"}};
  const std::vector<http::Header> one = {{"x-a", "1"}};
  const std::vector<Case> cases = {
      {{.path = "/t", .query = "q=1", .headers = both}, "default/e-method/0"},
      {{.path = "/t", .method = "POST", .query = "q=1", .headers = both}, "default/d-headers/0"},
      {{.path = "/t", .method = "POST", .query = "q=1", .headers = one}, "default/c-header/0"},
      {{.path = "/t", .method = "POST", .query = "q=1"}, "default/b-query/0"},
      {{.path = "/t", .method = "POST"}, "default/a-plain/0"},
      // Method compares exactly.
      {{.path = "/t", .method = "get"}, "default/a-plain/0"},
  };
  checkAll(*table, cases);
}

TEST_CASE("path specificity outranks conditions", "[route]") {
  auto table = mustCompile({
      httpRoute("default", "short", {},
                {rule({withHeaders(withMethod(prefix("/a"), "GET"), {is("x", "1")})})}),
      httpRoute("default", "long", {}, {rule({prefix("/a/b")})}),
  });
  const std::vector<http::Header> h = {{"x", "1"}};
  const std::vector<Case> cases = {
      {{.path = "/a/b/c", .headers = h}, "default/long/0"},
      {{.path = "/a/c", .headers = h}, "default/short/0"},
      // Conditions failing at the longest prefix fall back to shorter ones.
      {{.path = "/a/c"}, "-"},
  };
  checkAll(*table, cases);
}

TEST_CASE("equal matches are ordered by namespace/name, then rule, then match", "[route]") {
  auto table = mustCompile({
      httpRoute("zeta", "a", {}, {rule({exact("/ns")})}),
      httpRoute("alpha", "z", {}, {rule({exact("/ns")})}),
      httpRoute("alpha", "y", {}, {rule({exact("/name")})}),
      httpRoute("alpha", "x", {}, {rule({exact("/name")})}),
      // The key is the string "namespace/name": '-' sorts before '/', so "a-b/x" precedes
      // "a/x" although namespace "a" precedes "a-b".
      httpRoute("a", "x", {}, {rule({exact("/slash")})}),
      httpRoute("a-b", "x", {}, {rule({exact("/slash")})}),
      httpRoute("default", "rules", {},
                {rule({prefix("/r/x")}), rule({exact("/r")}), rule({exact("/r")})}),
  });
  const std::vector<Case> cases = {
      {{.path = "/ns"}, "alpha/z/0"},
      {{.path = "/name"}, "alpha/x/0"},
      {{.path = "/slash"}, "a-b/x/0"},
      {{.path = "/r"}, "default/rules/1"},
  };
  checkAll(*table, cases);
}

TEST_CASE("the Match names the RouteMatch that applied", "[route]") {
  config::RouteRule r =
      rule({withHeaders(prefix("/m"), {is("x-first", "1")}), prefix("/m"), exact("/m/exact")});
  r.name = "multi";
  auto table = mustCompile({httpRoute("default", "m", {}, {r})});

  route::Match m = lookup(*table, {.path = "/m/z", .headers = {{"x-first", "1"}}});
  REQUIRE(m.rule);
  CHECK(m.rule->label == "default/m/multi");
  REQUIRE(m.match);
  CHECK(m.match->headers.size() == 1);

  m = lookup(*table, {.path = "/m/z"});
  REQUIRE(m.match);
  CHECK(m.match->headers.empty());
  CHECK(m.match->path.value == "/m");

  m = lookup(*table, {.path = "/m/exact", .headers = {{"x-first", "1"}}});
  REQUIRE(m.match);
  CHECK(m.match->path.type == PathMatchType::kExact);
}

TEST_CASE("matches of equal precedence are tried in declared order", "[route]") {
  auto table = mustCompile({httpRoute("default", "k", {},
                                      {rule({withHeaders(prefix("/k"), {is("x-b", "1")}),
                                             withHeaders(prefix("/k"), {is("x-a", "1")})})})});
  const auto headerOf = [&](std::vector<http::Header> headers) {
    const route::Match m = lookup(*table, {.path = "/k", .headers = std::move(headers)});
    return m.match ? m.match->headers.at(0).name : "-";
  };
  CHECK(headerOf({{"x-a", "1"}, {"x-b", "1"}}) == "x-b");
  CHECK(headerOf({{"x-a", "1"}}) == "x-a");
  CHECK(headerOf({{"x-b", "1"}}) == "x-b");
  CHECK(headerOf({}) == "-");
}

TEST_CASE("a rule without matches matches every path", "[route]") {
  config::RouteRule r;
  r.backendRefs.push_back({.name = "svc"});
  auto table = mustCompile({httpRoute("default", "all", {"example.com"}, {r})});
  const route::Match m = lookup(*table, {.path = "/any/thing"});
  REQUIRE(m.rule);
  CHECK(m.rule->label == "default/all/0");
  REQUIRE(m.match);
  CHECK(m.match->path.type == PathMatchType::kPathPrefix);
  CHECK(m.match->path.value == "/");
}

TEST_CASE("no route: an empty table and unmatched requests give no rule", "[route]") {
  auto empty = mustCompile({});
  CHECK(empty->ruleCount() == 0);
  CHECK(lookup(*empty, {}).rule == nullptr);
  CHECK(lookup(*empty, {}).match == nullptr);

  auto table = mustCompile({httpRoute("default", "r", {"example.com"}, {rule({exact("/x")})})});
  const std::vector<Case> cases = {
      {{.path = "/y"}, "-"},
      {{.host = "other.org", .path = "/x"}, "-"},
  };
  checkAll(*table, cases);
}

TEST_CASE("header conditions", "[route]") {
  auto table = mustCompile({
      httpRoute("default", "exact", {},
                {rule({withHeaders(prefix("/e"), {is("X-Canary", "Yes")})})}),
      httpRoute("default", "regex", {},
                {rule({withHeaders(prefix("/r"), {like("x-version", "v[0-9]+")})})}),
      // A repeated name: only the first entry counts.
      httpRoute("default", "dup", {},
                {rule({withHeaders(prefix("/d"), {is("x-a", "1"), is("X-A", "2")})})}),
  });
  using H = std::vector<http::Header>;
  const std::vector<Case> cases = {
      // Names are case-insensitive, values are not.
      {{.path = "/e", .headers = H{{"x-canary", "Yes"}}}, "default/exact/0"},
      {{.path = "/e", .headers = H{{"X-CANARY", "Yes"}}}, "default/exact/0"},
      {{.path = "/e", .headers = H{{"x-canary", "yes"}}}, "-"},
      {{.path = "/e", .headers = H{{"x-canary-2", "Yes"}}}, "-"},
      {{.path = "/e"}, "-"},
      // A repeated field matches when any of its values does.
      {{.path = "/e", .headers = H{{"x-canary", "no"}, {"X-Canary", "Yes"}}}, "default/exact/0"},
      // One field is one value, commas included.
      {{.path = "/e", .headers = H{{"x-canary", "no, Yes"}}}, "-"},
      {{.path = "/r", .headers = H{{"x-version", "v12"}}}, "default/regex/0"},
      {{.path = "/r", .headers = H{{"x-version", "v12-beta"}}}, "-"},
      {{.path = "/r", .headers = H{{"x-version", "av1"}}}, "-"},
      {{.path = "/d", .headers = H{{"x-a", "1"}}}, "default/dup/0"},
      {{.path = "/d", .headers = H{{"x-a", "2"}}}, "-"},
  };
  checkAll(*table, cases);

  route::Request noHeaders;
  noHeaders.host = "example.com";
  noHeaders.path = "/e";
  noHeaders.method = "GET";
  CHECK(table->match(noHeaders).rule == nullptr);  // a null header list is no headers
}

TEST_CASE("query conditions decode percent-escapes and use the first occurrence", "[route]") {
  auto table = mustCompile({
      httpRoute("default", "exact", {}, {rule({withQuery(prefix("/e"), {is("q", "a b/c")})})}),
      httpRoute("default", "regex", {},
                {rule({withQuery(prefix("/r"), {like("id", "[0-9]+ [a-z]+")})})}),
      httpRoute("default", "empty", {}, {rule({withQuery(prefix("/n"), {is("flag", "")})})}),
      httpRoute("default", "pct", {}, {rule({withQuery(prefix("/p"), {is("v", "%zz%4")})})}),
  });
  const std::vector<Case> cases = {
      {{.path = "/e", .query = "q=a%20b%2Fc"}, "default/exact/0"},
      {{.path = "/e", .query = "q=a%20b%2fc"}, "default/exact/0"},
      {{.path = "/e", .query = "x=1&q=a%20b/c&y"}, "default/exact/0"},
      {{.path = "/e", .query = "%71=a%20b/c"}, "default/exact/0"},
      {{.path = "/e", .query = "Q=a%20b/c"}, "-"},  // names are exact
      {{.path = "/e", .query = "q=a+b/c"}, "-"},    // '+' is not a space
      {{.path = "/e", .query = "q=a%20b/c%20"}, "-"},
      {{.path = "/e", .query = "q=a%20b"}, "-"},
      // Only the first q counts.
      {{.path = "/e", .query = "q=x&q=a%20b/c"}, "-"},
      {{.path = "/e", .query = "qq=a%20b/c"}, "-"},
      {{.path = "/e"}, "-"},
      {{.path = "/r", .query = "id=42%20abc"}, "default/regex/0"},
      {{.path = "/r", .query = "id=42+abc"}, "-"},
      {{.path = "/r", .query = "id=42%20abc%21"}, "-"},
      {{.path = "/n", .query = "a=1&flag&b=2"}, "default/empty/0"},
      {{.path = "/n", .query = "flag="}, "default/empty/0"},
      {{.path = "/n", .query = "flag=1"}, "-"},
      // Malformed escapes stand for themselves.
      {{.path = "/p", .query = "v=%zz%4"}, "default/pct/0"},
  };
  checkAll(*table, cases);
}

TEST_CASE("query helpers scan in place", "[route]") {
  std::string_view v;
  CHECK(route::query::findFirst("a=1&&b=2", "b", &v));
  CHECK(v == "2");
  CHECK(route::query::findFirst("a=1&b", "b", &v));
  CHECK(v.empty());
  CHECK(route::query::findFirst("a=x=y", "a", &v));
  CHECK(v == "x=y");
  CHECK_FALSE(route::query::findFirst("", "a", &v));
  CHECK_FALSE(route::query::findFirst("&", "a", &v));

  CHECK(route::query::decodedEquals("%41%62c", "Abc"));
  CHECK(route::query::decodedEquals("100%", "100%"));
  CHECK(route::query::decodedEquals("%%41", "%A"));
  CHECK_FALSE(route::query::decodedEquals("%41", "%41"));
  CHECK_FALSE(route::query::decodedEquals("%41%42", "A"));
  CHECK_FALSE(route::query::decodedEquals("%41", "AB"));
}

TEST_CASE("a long encoded query value still reaches its regex", "[route]") {
  // Longer than the stack buffer used for decoding.
  std::string value(2000, 'a');
  std::string encoded;
  for (size_t i = 0; i < value.size(); ++i) encoded += "%61";
  auto table = mustCompile({
      httpRoute("default", "long", {}, {rule({withQuery(prefix("/"), {like("v", "a+")})})}),
  });
  const std::vector<Case> cases = {
      {{.query = "v=" + encoded}, "default/long/0"},
      {{.query = "v=" + encoded + "%62"}, "-"},
  };
  checkAll(*table, cases);
}

TEST_CASE("compiled rules carry label, filters, backends and timeouts", "[route]") {
  config::RouteRule named = rule({prefix("/")});
  named.name = "main";
  named.backendRefs = {{.name = "orders", .weight = 90},
                       {.name = "orders-v2", .ns = "canary", .weight = 10}};
  named.filters.push_back({.type = config::FilterType::kResponseHeaderModifier});
  named.timeouts.requestMs = 10'000;
  config::RouteRule second = rule({exact("/second")});
  second.backendRefs.clear();

  std::vector<std::pair<std::string, std::string>> asked;
  std::map<std::string, uint32_t> services = {
      {"shop/orders", 3}, {"canary/orders-v2", 5}, {"shop/svc", 9}};
  const auto resolve = [&](std::string_view ns, std::string_view name) -> std::optional<uint32_t> {
    asked.emplace_back(ns, name);
    auto it = services.find(std::string(ns) + "/" + std::string(name));
    if (it == services.end()) return std::nullopt;
    return it->second;
  };

  auto compiled = compile({httpRoute("shop", "web", {}, {named, second})}, resolve);
  REQUIRE(compiled.ok());
  const auto& table = **compiled;
  CHECK(table.ruleCount() == 2);
  // The backend namespace defaults to the route's.
  CHECK(asked == std::vector<std::pair<std::string, std::string>>{{"shop", "orders"},
                                                                  {"canary", "orders-v2"}});

  const route::Rule* r = lookup(table, {.path = "/x"}).rule;
  REQUIRE(r);
  CHECK(r->label == "shop/web/main");
  CHECK(r->routeNamespace == "shop");
  CHECK(r->routeName == "web");
  CHECK(r->ruleIndex == 0);
  REQUIRE(r->backends.size() == 2);
  CHECK(r->backends[0].service == 3);
  CHECK(r->backends[0].weight == 90);
  CHECK(r->backends[1].service == 5);
  CHECK(r->totalWeight == 100);
  REQUIRE(r->filters.size() == 1);
  CHECK(r->filters[0].type == config::FilterType::kResponseHeaderModifier);
  CHECK(r->timeouts.requestMs == 10'000u);
  CHECK_FALSE(r->timeouts.backendRequestMs);

  const route::Rule* s = lookup(table, {.path = "/second"}).rule;
  REQUIRE(s);
  CHECK(s->label == "shop/web/1");
  CHECK(s->ruleIndex == 1);
  CHECK(s->totalWeight == 0);
  CHECK(s->pickBackend(7) == -1);
}

TEST_CASE("the table does not depend on the resources it was compiled from", "[route]") {
  std::shared_ptr<const route::RouteTable> table;
  {
    std::vector<config::Resource> routes = {
        httpRoute("default", "r", {"*.example.com"},
                  {rule({withQuery(exact("/x"), {is("q", "1")}), prefix("/p/")})})};
    table = mustCompile(routes);
  }
  const std::vector<Case> cases = {
      {{.host = "a.example.com", .path = "/x", .query = "q=1"}, "default/r/0"},
      {{.host = "a.example.com", .path = "/p/z"}, "default/r/0"},
  };
  checkAll(*table, cases);
}

TEST_CASE("compile errors name what is wrong", "[route]") {
  struct Bad {
    config::Resource route;
    std::string want;  // a substring of the error
  };
  config::RouteRule missing = rule({prefix("/")});
  missing.backendRefs.push_back({.name = "missing-svc"});
  // Errors point at the offending value when its position is known, else at the resource.
  config::Resource withLoc = httpRoute("shop", "r", {}, {missing});
  withLoc.loc = {"routes.yaml", 12, 3};
  config::Resource refLoc = withLoc;
  std::get<config::HttpRouteSpec>(refLoc.spec).rules[0].backendRefs[1].loc = {"routes.yaml", 20, 9};
  config::RouteMatch badPath = regex("(");
  badPath.path.loc = {"routes.yaml", 30, 15};
  config::NameValueMatch badQuery = like("q", "(");
  badQuery.loc = {"routes.yaml", 40, 17};

  const std::vector<Bad> cases = {
      {httpRoute("shop", "r", {}, {missing}),
       "HTTPRoute shop/r: spec.rules[0].backendRefs[1]: unknown backend shop/missing-svc"},
      {withLoc, "routes.yaml:12:3: HTTPRoute shop/r: spec.rules[0].backendRefs[1]:"},
      {refLoc, "routes.yaml:20:9: HTTPRoute shop/r: spec.rules[0].backendRefs[1]:"},
      {httpRoute("shop", "r", {}, {rule({badPath})}),
       "routes.yaml:30:15: HTTPRoute shop/r: spec.rules[0].matches[0].path.value:"},
      {httpRoute("shop", "r", {}, {rule({withQuery(prefix("/"), {is("a", "1"), badQuery})})}),
       "routes.yaml:40:17: HTTPRoute shop/r: spec.rules[0].matches[0].queryParams[1].value:"},
      {httpRoute("shop", "r", {}, {rule({prefix("/"), regex("/(a")})}),
       "HTTPRoute shop/r: spec.rules[0].matches[1].path.value: invalid regular expression:"},
      {httpRoute("shop", "r", {}, {rule({withHeaders(prefix("/"), {like("x", "[")})})}),
       "spec.rules[0].matches[0].headers[0].value: invalid regular expression:"},
      {httpRoute("shop", "r", {}, {rule({withQuery(prefix("/"), {like("x", "*")})})}),
       "spec.rules[0].matches[0].queryParams[0].value: invalid regular expression:"},
      {httpRoute("shop", "r", {"a.*.com"}, {rule({prefix("/")})}), "invalid hostname \"a.*.com\""},
      {httpRoute("shop", "r", {"*"}, {rule({prefix("/")})}), "invalid hostname \"*\""},
      {httpRoute("shop", "r", {""}, {rule({prefix("/")})}), "invalid hostname"},
  };
  for (const Bad& b : cases) {
    auto t = compile({b.route});
    REQUIRE_FALSE(t.ok());
    CHECK_THAT(t.status().message(), Catch::Matchers::Contains(b.want));
  }

  config::Resource notRoute;
  notRoute.kind = config::Kind::kService;
  notRoute.spec = config::ServiceSpec{};
  CHECK_FALSE(compile({notRoute}).ok());
}

TEST_CASE("pickBackend follows the weights", "[route]") {
  // Weights 1, 2, 0, 3: feeding every point of the weight space once gives exact counts.
  const auto counts = [](const route::Rule& r) {
    std::vector<int> n(r.backends.size());
    for (uint64_t x = 0; x < r.totalWeight; ++x) {
      const int i = r.pickBackend(x);
      REQUIRE(i >= 0);
      ++n[static_cast<size_t>(i)];
    }
    return n;
  };

  config::RouteRule few = rule({prefix("/")});
  few.backendRefs = {{.name = "a", .weight = 1},
                     {.name = "b", .weight = 2},
                     {.name = "c", .weight = 0},
                     {.name = "d", .weight = 3}};
  // More backends than the linear walk handles: exercises the binary search.
  config::RouteRule many = rule({exact("/many")});
  many.backendRefs.clear();
  for (uint32_t i = 0; i < 40; ++i) many.backendRefs.push_back({.name = "s", .weight = i % 4});

  auto table = mustCompile({httpRoute("default", "w", {}, {few, many})});
  const route::Rule* f = lookup(*table, {.path = "/"}).rule;
  REQUIRE(f);
  CHECK(f->totalWeight == 6);
  CHECK(counts(*f) == std::vector<int>{1, 2, 0, 3});
  CHECK(f->pickBackend(6) == 0);  // the random value is reduced modulo the total
  CHECK(f->pickBackend(UINT64_MAX) == f->pickBackend(UINT64_MAX % 6));

  const route::Rule* m = lookup(*table, {.path = "/many"}).rule;
  REQUIRE(m);
  REQUIRE(m->cumulativeWeights.size() == 40);
  std::vector<int> want;
  for (uint32_t i = 0; i < 40; ++i) want.push_back(static_cast<int>(i % 4));
  CHECK(counts(*m) == want);

  // A rule built by hand (no cumulative sums) picks the same way.
  route::Rule manual;
  manual.backends = {{1, 0}, {2, 5}, {3, 5}};
  manual.totalWeight = 10;
  CHECK(counts(manual) == std::vector<int>{0, 5, 5});

  route::Rule zero;
  zero.backends = {{1, 0}, {2, 0}};
  CHECK(zero.pickBackend(0) == -1);
  CHECK(zero.pickBackend(12345) == -1);
}
