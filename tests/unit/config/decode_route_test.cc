// Decoding of HTTPRoute (Gateway API v1 field names and rules).

#include <catch2/catch.hpp>

#include "core/config/decode.h"
#include "tests/unit/config/config_test_util.h"

using namespace gh::config;
using gh::config::testing::decode;
using Errors = std::vector<std::string>;

namespace {

// An HTTPRoute named "r" in namespace "shop" whose spec is `spec` (indented by two spaces).
// The spec's first line is line 5 of the document.
std::string route(std::string_view spec) {
  return "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
         "metadata: {name: r, namespace: shop}\nspec:\n" +
         std::string(spec);
}

// Errors of a route whose spec is `spec`, with the common prefix removed:
// "5:3: spec.x: what".
Errors routeErrors(std::string_view spec) {
  auto d = decode(route(spec));
  Errors out;
  const std::string prefix = "t.yaml:";
  const std::string subject = " HTTPRoute shop/r:";
  for (const std::string& e : d.errors) {
    std::string s = e;
    if (s.rfind(prefix, 0) == 0) s.erase(0, prefix.size());
    size_t at = s.find(subject);
    if (at != std::string::npos) s.erase(at, subject.size());
    out.push_back(s);
  }
  return out;
}

const HttpRouteSpec& only(const testing::Decoded& d) {
  REQUIRE(d.errors == Errors{});
  REQUIRE(d.resources.size() == 1);
  return d.resources[0].route();
}

}  // namespace

TEST_CASE("a full HTTPRoute decodes into the model", "[config][route]") {
  auto d = decode(route(R"(  parentRefs:
    - name: edge
    - {name: internal, namespace: infra, group: gateway.networking.k8s.io, kind: Gateway}
  hostnames: ["Shop.Example.com", "*.shop.example.com"]
  rules:
    - name: orders
      matches:
        - path: {type: PathPrefix, value: /api/orders}
          method: GET
          headers:
            - {name: x-canary, value: "1"}
            - {type: RegularExpression, name: x-user, value: "u-[0-9]+"}
          queryParams:
            - {name: debug, value: "on"}
        - path: {type: Exact, value: /api/orders/}
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: x-env, value: prod}]
            add: [{name: x-trace, value: "yes"}]
            remove: [x-internal]
        - type: ResponseHeaderModifier
          responseHeaderModifier: {remove: [server]}
        - type: URLRewrite
          urlRewrite:
            hostname: orders.internal
            path: {type: ReplaceFullPath, replaceFullPath: /v2}
      backendRefs:
        - {name: orders, weight: 90, port: 8080}
        - {name: orders-v2, namespace: canary, weight: 10, group: "", kind: Service}
      timeouts: {request: 10s, backendRequest: 2s}
    - matches: [{path: {type: RegularExpression, value: "/img/.*\\.png"}}]
      filters:
        - type: RequestRedirect
          requestRedirect:
            scheme: https
            hostname: cdn.example.com
            port: 8443
            statusCode: 301
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /images}
    - {}
)"));
  // The second rule's ReplacePrefixMatch sits beside a RegularExpression match: an error.
  REQUIRE(d.errors == Errors{"t.yaml:44:26: HTTPRoute shop/r: spec.rules[1].filters[0]."
                             "requestRedirect.path.type: ReplacePrefixMatch needs every match "
                             "of the rule to be a PathPrefix match"});

  auto ok = decode(route(R"(  parentRefs:
    - name: edge
    - {name: internal, namespace: infra, group: gateway.networking.k8s.io, kind: Gateway}
  hostnames: ["Shop.Example.com", "*.shop.example.com"]
  rules:
    - name: orders
      matches:
        - path: {type: PathPrefix, value: /api/orders}
          method: GET
          headers:
            - {name: x-canary, value: "1"}
            - {type: RegularExpression, name: x-user, value: "u-[0-9]+"}
          queryParams:
            - {name: debug, value: "on"}
        - path: {type: Exact, value: /api/orders/}
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: x-env, value: prod}]
            add: [{name: x-trace, value: "yes"}]
            remove: [x-internal]
        - type: ResponseHeaderModifier
          responseHeaderModifier: {remove: [server]}
        - type: URLRewrite
          urlRewrite:
            hostname: orders.internal
            path: {type: ReplaceFullPath, replaceFullPath: /v2}
      backendRefs:
        - {name: orders, weight: 90, port: 8080}
        - {name: orders-v2, namespace: canary, weight: 10, group: "", kind: Service}
      timeouts: {request: 10s, backendRequest: 2s}
    - matches: [{path: {type: PathPrefix, value: /img}}]
      filters:
        - type: RequestRedirect
          requestRedirect:
            scheme: https
            hostname: cdn.example.com
            port: 8443
            statusCode: 301
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /images}
    - {}
)"));
  const HttpRouteSpec& r = only(ok);
  REQUIRE(r.parentRefs.size() == 2);
  CHECK(r.parentRefs[0].name == "edge");
  CHECK(r.parentRefs[0].ns == "shop");  // the route's namespace
  CHECK(r.parentRefs[0].loc == SourceLoc{"t.yaml", 6, 7});
  CHECK(r.parentRefs[1].name == "internal");
  CHECK(r.parentRefs[1].ns == "infra");
  CHECK(r.hostnames == std::vector<std::string>{"shop.example.com", "*.shop.example.com"});
  REQUIRE(r.rules.size() == 3);

  const RouteRule& orders = r.rules[0];
  CHECK(orders.name == "orders");
  REQUIRE(orders.matches.size() == 2);
  const RouteMatch& m = orders.matches[0];
  CHECK(m.path.type == PathMatchType::kPathPrefix);
  CHECK(m.path.value == "/api/orders");
  CHECK(m.path.loc == SourceLoc{"t.yaml", 12, 43});
  CHECK(m.method == "GET");
  REQUIRE(m.headers.size() == 2);
  CHECK(m.headers[0].type == ValueMatchType::kExact);
  CHECK(m.headers[0].name == "x-canary");
  CHECK(m.headers[0].value == "1");
  CHECK(m.headers[1].type == ValueMatchType::kRegularExpression);
  CHECK(m.headers[1].value == "u-[0-9]+");
  CHECK(m.headers[1].loc == SourceLoc{"t.yaml", 16, 62});
  REQUIRE(m.queryParams.size() == 1);
  CHECK(m.queryParams[0].name == "debug");
  CHECK(m.queryParams[0].value == "on");
  CHECK(orders.matches[1].path.type == PathMatchType::kExact);
  CHECK_FALSE(orders.matches[1].method);

  REQUIRE(orders.filters.size() == 3);
  CHECK(orders.filters[0].type == FilterType::kRequestHeaderModifier);
  CHECK(orders.filters[0].headerModifier.set == std::vector<HeaderValue>{{"x-env", "prod"}});
  CHECK(orders.filters[0].headerModifier.add == std::vector<HeaderValue>{{"x-trace", "yes"}});
  CHECK(orders.filters[0].headerModifier.remove == std::vector<std::string>{"x-internal"});
  CHECK(orders.filters[1].type == FilterType::kResponseHeaderModifier);
  CHECK(orders.filters[1].headerModifier.remove == std::vector<std::string>{"server"});
  CHECK(orders.filters[2].type == FilterType::kUrlRewrite);
  CHECK(orders.filters[2].rewrite.hostname == "orders.internal");
  REQUIRE(orders.filters[2].rewrite.path);
  CHECK(orders.filters[2].rewrite.path->type == PathModifierType::kReplaceFullPath);
  CHECK(orders.filters[2].rewrite.path->value == "/v2");

  REQUIRE(orders.backendRefs.size() == 2);
  CHECK(orders.backendRefs[0].name == "orders");
  CHECK(orders.backendRefs[0].ns == "shop");
  CHECK(orders.backendRefs[0].weight == 90);
  CHECK(orders.backendRefs[0].loc == SourceLoc{"t.yaml", 33, 11});
  CHECK(orders.backendRefs[1].ns == "canary");
  CHECK(orders.backendRefs[1].weight == 10);
  CHECK(orders.timeouts.requestMs == 10'000);
  CHECK(orders.timeouts.backendRequestMs == 2'000);

  const RouteRule& images = r.rules[1];
  REQUIRE(images.filters.size() == 1);
  const RequestRedirect& redirect = images.filters[0].redirect;
  CHECK(images.filters[0].type == FilterType::kRequestRedirect);
  CHECK(redirect.scheme == "https");
  CHECK(redirect.hostname == "cdn.example.com");
  CHECK(redirect.port == 8443);
  CHECK(redirect.statusCode == 301);
  REQUIRE(redirect.path);
  CHECK(redirect.path->type == PathModifierType::kReplacePrefixMatch);
  CHECK(redirect.path->value == "/images");
  CHECK(images.backendRefs.empty());

  const RouteRule& catchAll = r.rules[2];
  CHECK(catchAll == RouteRule{});
}

TEST_CASE("route defaults", "[config][route]") {
  const auto d = decode(route(R"(  rules:
    - matches: [{}, {path: {value: /a}}, {path: {type: Exact}}]
      backendRefs: [{name: orders}]
      filters: [{type: RequestRedirect, requestRedirect: {}}]
)"));
  REQUIRE(d.errors == Errors{"t.yaml:7:20: HTTPRoute shop/r: spec.rules[0].backendRefs: must be "
                             "empty when the rule has a RequestRedirect filter: the redirect is "
                             "the response"});
  auto ok = decode(route(R"(  rules:
    - matches: [{}, {path: {value: /a}}, {path: {type: Exact}}]
      backendRefs: [{name: orders}]
    - filters: [{type: RequestRedirect, requestRedirect: {}}]
)"));
  const HttpRouteSpec& r = only(ok);
  CHECK(r.parentRefs.empty());
  CHECK(r.hostnames.empty());
  const RouteRule& rule = r.rules.at(0);
  REQUIRE(rule.matches.size() == 3);
  CHECK(rule.matches[0].path.type == PathMatchType::kPathPrefix);
  CHECK(rule.matches[0].path.value == "/");
  CHECK(rule.matches[1].path.type == PathMatchType::kPathPrefix);
  CHECK(rule.matches[1].path.value == "/a");
  CHECK(rule.matches[2].path.type == PathMatchType::kExact);
  CHECK(rule.matches[2].path.value == "/");
  CHECK(rule.backendRefs.at(0).weight == 1);
  CHECK(rule.backendRefs.at(0).ns == "shop");
  CHECK_FALSE(rule.timeouts.requestMs);
  CHECK(r.rules.at(1).filters.at(0).redirect == RequestRedirect{});
  CHECK(r.rules.at(1).filters.at(0).redirect.statusCode == 302);
}

TEST_CASE("parentRefs", "[config][route]") {
  CHECK(routeErrors(R"(  parentRefs:
    - {name: edge, sectionName: https}
    - {name: other, port: 443, kind: Service, group: core}
    - {namespace: x}
    - {name: Edge}
    - {name: edge, namespace: shop}
)") == Errors{
           "6:33: spec.parentRefs[0].sectionName: is not supported yet",
           "7:27: spec.parentRefs[1].port: is not supported yet",
           "7:38: spec.parentRefs[1].kind: must be one of Gateway or Listener",
           "7:54: spec.parentRefs[1].group: must be one of gateway.networking.k8s.io or "
           "gatehouse.dev",
           "8:7: spec.parentRefs[2].name: is required",
           "9:14: spec.parentRefs[3].name: must be a lower-case DNS name: letters, digits, '-' "
           "and '.', starting and ending with a letter or digit, at most 253 characters",
           "10:7: spec.parentRefs[4]: duplicate parentRef shop/edge",
       });
  CHECK(routeErrors("  parentRefs: [{name: a, kind: Listener, group: gatehouse.dev}]\n").empty());
}

TEST_CASE("hostnames", "[config][route]") {
  CHECK(routeErrors(R"(  hostnames:
    - example.com
    - "*.example.com"
    - localhost
    - 10.0.0.1
    - "::1"
    - "*"
    - "a.*.com"
    - "**.com"
    - "-a.com"
    - "example.com."
    - "under_score.com"
    - 8080
)") == Errors{
           "9:7: spec.hostnames[3]: must be a hostname, not an IP address",
           "10:7: spec.hostnames[4]: must be a hostname, not an IP address",
           "11:7: spec.hostnames[5]: may contain '*' only as the whole first label, as in "
           "*.example.com",
           "12:7: spec.hostnames[6]: may contain '*' only as the whole first label, as in "
           "*.example.com",
           "13:7: spec.hostnames[7]: may contain '*' only as the whole first label, as in "
           "*.example.com",
           "14:7: spec.hostnames[8]: must be a DNS hostname such as shop.example.com or "
           "*.example.com: labels of letters, digits and '-', at most 63 characters each",
           "15:7: spec.hostnames[9]: must be a DNS hostname such as shop.example.com or "
           "*.example.com: labels of letters, digits and '-', at most 63 characters each",
           "16:7: spec.hostnames[10]: must be a DNS hostname such as shop.example.com or "
           "*.example.com: labels of letters, digits and '-', at most 63 characters each",
           "17:7: spec.hostnames[11]: must be a string, not an integer (quote it: \"8080\")",
       });
  std::string many = "  hostnames: [";
  for (int i = 0; i < 17; ++i) many += "h" + std::to_string(i) + ".com, ";
  many += "]\n";
  CHECK(routeErrors(many) == Errors{"5:14: spec.hostnames: must have at most 16 items"});
  CHECK(routeErrors("  hostnames: [" + std::string(64, 'a') + ".com]\n").size() == 1);
  CHECK(routeErrors("  hostnames: [" + std::string(63, 'a') + ".com]\n").empty());
}

TEST_CASE("Exact and PathPrefix values are clean absolute paths", "[config][route]") {
  auto pathError = [](std::string value, std::string type = "PathPrefix") {
    Errors e = routeErrors("  rules: [{matches: [{path: {type: " + type + ", value: \"" + value +
                           "\"}}]}]\n");
    return e.empty() ? std::string() : e[0].substr(e[0].find("value: ") + 7);
  };
  CHECK(pathError("/") == "");
  CHECK(pathError("/api/") == "");  // a trailing slash is allowed; matching ignores it
  CHECK(pathError("/a-b_c.d~e/f!$&'()*+,;=:@") == "");
  CHECK(pathError("/caf%C3%A9") == "");
  CHECK(pathError("api") == "must start with '/'");
  CHECK(pathError("") == "must start with '/'");
  CHECK(pathError("/a?b=1") == "must not contain '?': match query parameters with queryParams");
  CHECK(pathError("/a#top", "Exact") == "must not contain '#'");
  CHECK(pathError("/a b") == "must not contain spaces (write them as %20)");
  CHECK(pathError("/caf\\u00e9") ==
        "must not contain control or non-ASCII characters (percent-encode them)");
  CHECK(pathError("/a%2fb") == "must not contain an escaped '/' (%2F)");
  CHECK(pathError("/a%zz") == "has a '%' that does not start a %XX escape");
  CHECK(pathError("/a%4") == "has a '%' that does not start a %XX escape");
  CHECK(pathError("/a//b") == "must not contain \"//\"");
  CHECK(pathError("/a/./b") == "must not contain \".\" or \"..\" segments");
  CHECK(pathError("/a/..") == "must not contain \".\" or \"..\" segments");
  CHECK(pathError("/" + std::string(1024, 'a')) == "must be at most 1024 characters");
  // Regular expressions are any non-empty RE2 pattern (compiled by validate()).
  CHECK(pathError("^/a?b[", "RegularExpression") == "");
  CHECK(pathError("", "RegularExpression") == "must be 1 to 1024 characters");
  CHECK(routeErrors("  rules: [{matches: [{path: {type: Prefix}}]}]\n") ==
        Errors{"5:36: spec.rules[0].matches[0].path.type: must be one of Exact, PathPrefix or "
               "RegularExpression"});
}

TEST_CASE("methods, headers and query parameters", "[config][route]") {
  CHECK(routeErrors(R"(  rules:
    - matches:
        - method: get
          headers:
            - {name: "x canary", value: "1"}
            - {name: X-Env, value: "a\r\nb"}
            - {name: x-env, value: b}
            - {name: x-ok}
            - {type: Regex, name: x-re, value: a}
            - {name: x-empty, value: ""}
          queryParams:
            - {name: Q, value: "1"}
            - {name: q, value: "2"}
            - {name: q, value: "3"}
)") == Errors{
           "7:19: spec.rules[0].matches[0].method: must be one of GET, HEAD, POST, PUT, DELETE, "
           "CONNECT, OPTIONS, TRACE or PATCH",
           "9:22: spec.rules[0].matches[0].headers[0].name: must be an HTTP field name: "
           "letters, digits and !#$%&'*+-.^_`|~",
           "10:36: spec.rules[0].matches[0].headers[1].value: must not contain CR, LF or NUL",
           "11:22: spec.rules[0].matches[0].headers[2].name: duplicate name \"x-env\" in headers",
           "12:15: spec.rules[0].matches[0].headers[3].value: is required",
           "13:22: spec.rules[0].matches[0].headers[4].type: must be one of Exact or "
           "RegularExpression",
           "14:38: spec.rules[0].matches[0].headers[5].value: must not be empty",
           "18:22: spec.rules[0].matches[0].queryParams[2].name: duplicate name \"q\" in "
           "queryParams",
       });
  std::string many = "  rules: [{matches: [{headers: [";
  for (int i = 0; i < 17; ++i) many += "{name: h" + std::to_string(i) + ", value: v}, ";
  many += "]}]}]\n";
  CHECK(routeErrors(many) ==
        Errors{"5:32: spec.rules[0].matches[0].headers: must have at most 16 items"});
}

TEST_CASE("filter types and their configuration", "[config][route]") {
  CHECK(routeErrors(R"(  rules:
    - filters:
        - {type: RequestMirror, requestMirror: {backendRef: {name: shadow}, percent: 101}}
        - {type: ExtensionRef, extensionRef: {group: x, kind: y, name: z}}
        - {type: CORS, cors: {}}
        - {type: Rewrite}
        - {requestHeaderModifier: {}}
        - {type: RequestHeaderModifier}
        - {type: ResponseHeaderModifier, responseHeaderModifier: {}, urlRewrite: {}}
)") == Errors{
           "7:86: spec.rules[0].filters[0].requestMirror.percent: must be between 0 and 100",
           "8:18: spec.rules[0].filters[1].type: filter type ExtensionRef is not supported yet",
           "9:18: spec.rules[0].filters[2].type: filter type CORS is not supported yet",
           "10:18: spec.rules[0].filters[3].type: must be one of RequestHeaderModifier, "
           "ResponseHeaderModifier, RequestRedirect, URLRewrite, RequestMirror, ExtensionRef, "
           "CORS or ExternalAuth",
           "11:11: spec.rules[0].filters[4].type: is required",
           "12:11: spec.rules[0].filters[5].requestHeaderModifier: is required when type is "
           "RequestHeaderModifier",
           "13:82: spec.rules[0].filters[6].urlRewrite: must not be set when type is "
           "ResponseHeaderModifier",
       });
}

TEST_CASE("request mirrors", "[config][route]") {
  auto d = decode(route(R"(  rules:
    - filters:
        - {type: RequestMirror, requestMirror: {backendRef: {name: shadow}}}
        - {type: RequestMirror, requestMirror: {backendRef: {name: s2, namespace: qa, port: 80}, percent: 25}}
        - type: RequestMirror
          requestMirror: {backendRef: {name: s3}, fraction: {numerator: 1, denominator: 3}}
        - {type: RequestMirror, requestMirror: {backendRef: {name: s4}, fraction: {numerator: 5}}}
      backendRefs: [{name: orders}]
)"));
  const HttpRouteSpec& r = only(d);
  const std::vector<RouteFilter>& f = r.rules.at(0).filters;
  REQUIRE(f.size() == 4);
  for (const RouteFilter& x : f) CHECK(x.type == FilterType::kRequestMirror);
  CHECK(f[0].mirror.backendRef.name == "shadow");
  CHECK(f[0].mirror.backendRef.ns == "shop");  // the route's namespace by default
  CHECK(f[0].mirror.perMillion == 1'000'000);  // every request by default
  CHECK(f[1].mirror.backendRef.ns == "qa");
  CHECK(f[1].mirror.perMillion == 250'000);
  CHECK(f[2].mirror.perMillion == 333'333);
  CHECK(f[3].mirror.perMillion == 50'000);  // the denominator defaults to 100

  CHECK(routeErrors(R"(  rules:
    - filters:
        - {type: RequestMirror, requestMirror: {}}
        - {type: RequestMirror, requestMirror: {backendRef: {name: s, weight: 3}}}
        - {type: RequestMirror, requestMirror: {backendRef: {name: s}, percent: 5, fraction: {numerator: 1}}}
        - {type: RequestMirror, requestMirror: {backendRef: {name: s}, fraction: {numerator: 3, denominator: 2}}}
        - {type: RequestMirror, requestMirror: {backendRef: {name: s}, fraction: {denominator: 0}}}
        - {type: RequestMirror, requestMirror: {backendRef: {name: s}, percent: -1, host: x}}
)") == Errors{
           "7:48: spec.rules[0].filters[0].requestMirror.backendRef: is required",
           "8:61: spec.rules[0].filters[1].requestMirror.backendRef: a mirror's backendRef has "
           "no weight",
           "9:94: spec.rules[0].filters[2].requestMirror.fraction: cannot be combined with "
           "percent: write one of them",
           "10:94: spec.rules[0].filters[3].requestMirror.fraction.numerator: must not be "
           "greater than the denominator",
           "11:82: spec.rules[0].filters[4].requestMirror.fraction.numerator: is required",
           "11:96: spec.rules[0].filters[4].requestMirror.fraction.denominator: must be between "
           "1 and 1000000",
           "12:81: spec.rules[0].filters[5].requestMirror.percent: must be between 0 and 100",
           "12:85: spec.rules[0].filters[5].requestMirror.host: unknown field",
       });
}

TEST_CASE("header modifiers", "[config][route]") {
  CHECK(routeErrors(R"(  rules:
    - filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set:
              - {name: x-a, value: "1"}
              - {name: X-A, value: "2"}
              - {name: "bad:name", value: "3"}
              - {name: x-nul, value: "a\0b"}
              - {value: "4"}
            add: [{name: x-a, value: "5"}]
            remove: [x-b, X-B, "", 7]
            replace: []
)") == Errors{
           "11:24: spec.rules[0].filters[0].requestHeaderModifier.set[1].name: duplicate "
           "header \"X-A\" in set",
           "12:24: spec.rules[0].filters[0].requestHeaderModifier.set[2].name: must be an HTTP "
           "field name: letters, digits and !#$%&'*+-.^_`|~",
           "13:38: spec.rules[0].filters[0].requestHeaderModifier.set[3].value: must not "
           "contain CR, LF or NUL",
           "14:17: spec.rules[0].filters[0].requestHeaderModifier.set[4].name: is required",
           "16:27: spec.rules[0].filters[0].requestHeaderModifier.remove[1]: duplicate header "
           "\"X-B\" in remove",
           "16:32: spec.rules[0].filters[0].requestHeaderModifier.remove[2]: must not be empty",
           "16:36: spec.rules[0].filters[0].requestHeaderModifier.remove[3]: must be a string, "
           "not an integer (quote it: \"7\")",
           "17:13: spec.rules[0].filters[0].requestHeaderModifier.replace: unknown field",
       });
}

TEST_CASE("a header modifier sets Host, it never adds a second one", "[config][route]") {
  CHECK(routeErrors(R"(  rules:
    - filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: Host, value: a.test}]
            add: [{name: HOST, value: b.test}]
)") == Errors{
           "10:26: spec.rules[0].filters[0].requestHeaderModifier.add[0].name: a request has "
           "one Host: use set to change it, not add",
       });
}

TEST_CASE("redirects and rewrites", "[config][route]") {
  CHECK(routeErrors(R"(  rules:
    - filters:
        - type: RequestRedirect
          requestRedirect:
            scheme: HTTPS
            hostname: "*.example.com"
            port: 0
            statusCode: 305
            path: {type: ReplaceFullPath, replacePrefixMatch: /x}
    - filters:
        - type: URLRewrite
          urlRewrite:
            hostname: 10.0.0.1
            path: {type: ReplacePrefixMatch, replacePrefixMatch: "no-slash"}
    - filters:
        - type: URLRewrite
          urlRewrite: {path: {replaceFullPath: /x}}
)") == Errors{
           "9:21: spec.rules[0].filters[0].requestRedirect.scheme: must be one of http or https",
           "10:23: spec.rules[0].filters[0].requestRedirect.hostname: must not contain a "
           "wildcard",
           "11:19: spec.rules[0].filters[0].requestRedirect.port: must be between 1 and 65535",
           "12:25: spec.rules[0].filters[0].requestRedirect.statusCode: must be one of 301, "
           "302, 303, 307 or 308",
           "13:19: spec.rules[0].filters[0].requestRedirect.path.replaceFullPath: is required "
           "when type is ReplaceFullPath",
           "13:63: spec.rules[0].filters[0].requestRedirect.path.replacePrefixMatch: must not "
           "be set when type is ReplaceFullPath",
           "17:23: spec.rules[1].filters[0].urlRewrite.hostname: must be a hostname, not an IP "
           "address",
           "18:66: spec.rules[1].filters[0].urlRewrite.path.replacePrefixMatch: must start "
           "with '/'",
           "21:30: spec.rules[2].filters[0].urlRewrite.path.type: is required",
       });
}

TEST_CASE("rule-level filter rules of the Gateway API", "[config][route]") {
  CHECK(routeErrors(R"(  rules:
    - filters:
        - {type: RequestHeaderModifier, requestHeaderModifier: {}}
        - {type: RequestHeaderModifier, requestHeaderModifier: {}}
    - filters:
        - {type: URLRewrite, urlRewrite: {}}
        - {type: RequestRedirect, requestRedirect: {}}
    - matches: [{path: {type: PathPrefix, value: /a}}, {path: {type: Exact, value: /b}}]
      filters:
        - type: URLRewrite
          urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /c}}
    - filters: [{type: RequestRedirect, requestRedirect: {}}]
      backendRefs: [{name: orders}]
)") == Errors{
           "8:18: spec.rules[0].filters[1].type: a rule may have only one RequestHeaderModifier "
           "filter",
           "11:18: spec.rules[1].filters[1].type: a rule cannot have both RequestRedirect and "
           "URLRewrite filters",
           "15:37: spec.rules[2].filters[0].urlRewrite.path.type: ReplacePrefixMatch needs "
           "every match of the rule to be a PathPrefix match",
           "17:20: spec.rules[3].backendRefs: must be empty when the rule has a "
           "RequestRedirect filter: the redirect is the response",
       });
  // All-PathPrefix matches, or none (the default is PathPrefix "/"), allow ReplacePrefixMatch.
  CHECK(routeErrors(R"(  rules:
    - matches: [{path: {type: PathPrefix, value: /a}}, {path: {value: /b}}]
      filters:
        - {type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}
      backendRefs: [{name: orders}]
    - filters:
        - {type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}
      backendRefs: [{name: orders}]
)")
            .empty());
}

TEST_CASE("backendRefs", "[config][route]") {
  CHECK(routeErrors(R"(  rules:
    - backendRefs:
        - {name: a, port: 0}
        - {name: b, weight: 1000001}
        - {name: c, group: apps, kind: Deployment}
        - {name: d, filters: []}
        - {weight: 1}
        - {name: e, namespace: Prod}
)") == Errors{
           "7:27: spec.rules[0].backendRefs[0].port: must be between 1 and 65535",
           "8:29: spec.rules[0].backendRefs[1].weight: must be between 0 and 1000000",
           "9:28: spec.rules[0].backendRefs[2].group: must be \"\" (the core group, where "
           "Service lives)",
           "9:40: spec.rules[0].backendRefs[2].kind: must be Service",
           "10:30: spec.rules[0].backendRefs[3].filters: is not supported yet",
           "11:11: spec.rules[0].backendRefs[4].name: is required",
           "12:32: spec.rules[0].backendRefs[5].namespace: must be a lower-case DNS label: "
           "letters, digits and '-', starting and ending with a letter or digit, at most 63 "
           "characters",
       });
  auto ok = decode(route("  rules: [{backendRefs: [{name: a, weight: 0, port: 8080}]}]\n"));
  CHECK(only(ok).rules.at(0).backendRefs.at(0).weight == 0);
}

TEST_CASE("timeouts, retries and session persistence", "[config][route]") {
  CHECK(routeErrors(R"(  rules:
    - timeouts: {request: 1s, backendRequest: 2s}
    - timeouts: {request: 10, backendRequest: 1h, idle: 1s}
    - retry: {attempts: 2}
      sessionPersistence: {sessionName: s}
)") == Errors{
           "6:47: spec.rules[0].timeouts.backendRequest: must not be longer than request (1s)",
           "7:27: spec.rules[1].timeouts.request: must be a duration such as \"10s\", \"250ms\" "
           "or \"1m30s\"",
           "7:51: spec.rules[1].timeouts.idle: unknown field",
           "9:27: spec.rules[2].sessionPersistence: is not supported yet",
       });
  auto retry = decode(route("  rules: [{retry: {attempts: 3, backoff: 10ms, codes: [502, 503]}}]\n"));
  REQUIRE(only(retry).rules.at(0).retry);
  CHECK(only(retry).rules.at(0).retry->attempts == 3);
  CHECK(only(retry).rules.at(0).retry->backoffMs == 10);
  CHECK(only(retry).rules.at(0).retry->codes == std::vector<int>{502, 503});
  auto defaults = decode(route("  rules: [{retry: {}}]\n"));
  CHECK(only(defaults).rules.at(0).retry == RouteRetry{});  // 1 attempt, 25ms, no codes
  CHECK(routeErrors("  rules: [{retry: {attempts: 11, codes: [302, x]}}]\n") ==
        Errors{"5:30: spec.rules[0].retry.attempts: must be between 0 and 10",
               "5:42: spec.rules[0].retry.codes[0]: must be an HTTP status between 400 and 599",
               "5:47: spec.rules[0].retry.codes[1]: must be an HTTP status between 400 and 599"});
  // "0s" turns a timeout off (no timeout in the model), so any backendRequest fits under it.
  auto ok = decode(route("  rules: [{timeouts: {request: 0s, backendRequest: 1h}}]\n"));
  CHECK_FALSE(only(ok).rules.at(0).timeouts.requestMs);
  CHECK(only(ok).rules.at(0).timeouts.backendRequestMs == 3'600'000);
  auto off = decode(route("  rules: [{timeouts: {request: 0ms, backendRequest: \"0\"}}]\n"));
  CHECK(only(off).rules.at(0).timeouts == RouteTimeouts{});
  // What rounds to 0ms is not "off".
  CHECK(routeErrors("  rules: [{timeouts: {request: 400us}}]\n") ==
        Errors{"5:32: spec.rules[0].timeouts.request: must be 0s or at least 1ms"});
}

TEST_CASE("rule names are section names, unique in the route", "[config][route]") {
  CHECK(routeErrors(R"(  rules:
    - name: orders
    - name: Orders
    - name: orders
)") == Errors{
           "7:13: spec.rules[1].name: must be a lower-case DNS name: letters, digits, '-' and "
           "'.', starting and ending with a letter or digit, at most 253 characters",
           "8:13: spec.rules[2].name: duplicate rule name \"orders\"",
       });
}

TEST_CASE("large routes are allowed up to the memory bounds", "[config][route]") {
  std::string rules = "  rules:\n";
  for (int i = 0; i < 10'000; ++i)
    rules += "    - matches: [{path: {type: Exact, value: /r" + std::to_string(i) + "}}]\n";
  auto ok = decode(route(rules));
  CHECK(only(ok).rules.size() == 10'000);
  CHECK(routeErrors(rules + "    - {}\n") ==
        Errors{"6:5: spec.rules: must have at most 10000 items"});
}

TEST_CASE("spec fields outside the Gateway API are unknown", "[config][route]") {
  CHECK(routeErrors(R"(  parentRef: {name: edge}
  rules:
    - match: {}
      backendRef: {name: x}
)") == Errors{
           "5:3: spec.parentRef: unknown field",
           "7:7: spec.rules[0].match: unknown field",
           "8:7: spec.rules[0].backendRef: unknown field",
       });
}
