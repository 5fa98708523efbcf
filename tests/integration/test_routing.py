"""Routing of route_table.h against the real binary: hostname and path precedence, method,
header and query matches, tie-breaks, filters (header modifiers, redirects, rewrites), direct
responses and weighted backends.

One gatehouse and several recording upstreams serve every test; each group of tests has its
own hostname (a host entry of its own), so the groups do not see each other's routes. Which
rule answered is told by which upstream answered: the `x-upstream` header of the upstream's
default reply, or the "upstream" field of its /echo JSON.
"""

import http.client
import json
import threading
import time

from harness import Gatehouse, GatehouseTest, Upstream, free_port

UPSTREAMS = "abcdefgh"  # upstream u-X behind Service svc-X


def route(name, rules, hostnames=None, namespace=None):
    """An HTTPRoute document attached to the listener `edge` (namespace default)."""
    meta = f"{{name: {name}" + (f", namespace: {namespace}" if namespace else "") + "}"
    hosts = f"\n  hostnames: {json.dumps(hostnames)}" if hostnames else ""
    return f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {meta}
spec:
  parentRefs: [{{name: edge, namespace: default}}]{hosts}
  rules:
{rules}"""


def prefix_rule(path, svc, extra=""):
    return (f"    - matches: [{{path: {{type: PathPrefix, value: {path}}}{extra}}}]\n"
            f"      backendRefs: [{{name: svc-{svc}, namespace: default}}]\n")


class RoutingBase(GatehouseTest):
    """Shared setUp for the routing tests: upstreams u-a..u-h, Services svc-a..svc-h."""

    @classmethod
    def setUpClass(cls):
        cls.ups = {k: Upstream(f"u-{k}") for k in UPSTREAMS}
        cls.upstream = cls.ups["a"]
        cls.port = free_port()
        cls.gh = Gatehouse(workers=2)
        cls.gh.apply(cls.config())
        cls.gh.start()

    @classmethod
    def tearDownClass(cls):
        cls.gh.cleanup()
        for u in cls.ups.values():
            u.stop()

    @classmethod
    def base_config(cls):
        out = f"""apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec: {{address: 127.0.0.1, port: {cls.port}, protocol: HTTP}}
"""
        for k, u in cls.ups.items():
            out += f"""---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: svc-{k}}}
spec:
  endpoints: [{{address: 127.0.0.1, port: {u.port}}}]
"""
        return out

    # --- client helpers -------------------------------------------------------------------

    def request(self, method, path, host, headers=None, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = {"Host": host}
        h.update(headers or {})
        c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for n, v in h.items():
            c.putheader(n, v)
        if body is not None:
            c.putheader("Content-Length", str(len(body)))
        c.endheaders(body)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r, data

    def who(self, method, path, host, headers=None):
        """Which upstream answered ("a".."h"); None for a local reply (with its status)."""
        r, data = self.request(method, path, host, headers)
        name = r.getheader("x-upstream")
        if name is None and r.getheader("content-type") == "application/json":
            name = json.loads(data).get("upstream")
        if name is None:
            return f"local {r.status} {r.getheader('x-gatehouse-reason')}"
        return name[len("u-"):]

    def assertRoutes(self, host, cases):
        """cases: list of (method, path, headers, expected upstream letter)."""
        got = [(m, p, h, self.who(m, p, host, h)) for m, p, h, _ in cases]
        self.assertEqual(got, [(m, p, h, e) for m, p, h, e in cases])

    def total_requests(self):
        return sum(u.count() for u in self.ups.values())


class RoutingTest(RoutingBase):

    @classmethod
    def config(cls):
        c = cls.base_config()
        # Hostnames. The route without hostnames is the listener's catch-all.
        c += route("h-exact", prefix_rule("/", "a"), ["www.example.com"])
        c += route("h-wild", prefix_rule("/", "b"), ["*.example.com"])
        c += route("h-wild-long", prefix_rule("/", "c"), ["*.shop.example.com"])
        c += route("h-none", prefix_rule("/", "d"))
        # Path types: Exact, then RegularExpression, then PathPrefix (even a longer one).
        c += route("p-types", """\
    - matches: [{path: {type: PathPrefix, value: /exact}}]
      backendRefs: [{name: svc-c}]
    - matches: [{path: {type: PathPrefix, value: /exact/y}}]
      backendRefs: [{name: svc-d}]
    - matches: [{path: {type: RegularExpression, value: "/exact/[a-z]+"}}]
      backendRefs: [{name: svc-b}]
    - matches: [{path: {type: Exact, value: /exact/x}}]
      backendRefs: [{name: svc-a}]
""", ["types.test"])
        # Prefixes: longest wins, whole segments only, trailing slash ignored.
        c += route("p-prefix", prefix_rule("/", "c") + prefix_rule("/foo", "a")
                   + prefix_rule("/foo/bar", "b") + prefix_rule("/dir/", "d"), ["prefix.test"])
        # Method: a match with a method beats one without, whatever the route order.
        c += route("m-a", prefix_rule("/m", "b"), ["method.test"])
        c += route("m-z", prefix_rule("/m", "a", ", method: POST")
                   + prefix_rule("/m", "c", ", method: DELETE"), ["method.test"])
        # Headers: more header matches win; between equals, route name order.
        c += route("hd-a", prefix_rule("/h", "a"), ["headers.test"])
        c += route("hd-b", prefix_rule("/h", "b", ", headers: [{name: x-env, value: prod}]"),
                   ["headers.test"])
        c += route("hd-c", prefix_rule(
            "/h", "c", ', headers: [{type: RegularExpression, name: x-ver, value: "v[0-9]+"}]'),
            ["headers.test"])
        c += route("hd-d", prefix_rule(
            "/h", "d", ", headers: [{name: x-env, value: prod}, {name: X-Ver, value: v1}]"),
            ["headers.test"])
        # Query parameters.
        c += route("q", prefix_rule("/q", "a")
                   + prefix_rule("/q", "b", ", queryParams: [{name: page, value: '2'}]")
                   + prefix_rule("/q", "c", ", queryParams: [{type: RegularExpression, "
                                 "name: id, value: '[0-9]+'}]")
                   + prefix_rule("/q", "d", ", queryParams: [{name: page, value: '2'}, "
                                 "{name: id, value: '7'}]"), ["query.test"])
        # Header matches count before query matches.
        c += route("hq-a", prefix_rule("/hq", "a", ", queryParams: [{name: k, value: v}]"),
                   ["hq.test"])
        c += route("hq-b", prefix_rule("/hq", "b", ", headers: [{name: k, value: v}]"),
                   ["hq.test"])
        # Route order "namespace/name": written in reverse order on purpose.
        c += route("order-b", prefix_rule("/o", "b"), ["order.test"])
        c += route("order-a", prefix_rule("/o", "a"), ["order.test"])
        c += route("aaa", prefix_rule("/n", "b"), ["order.test"])            # default/aaa
        c += route("zzz", prefix_rule("/n", "c"), ["order.test"], "alpha")  # alpha/zzz first
        # Rule order inside a route, then match order inside a rule.
        c += route("rules", prefix_rule("/r", "a") + prefix_rule("/r", "b") + """\
    - matches:
        - {path: {type: PathPrefix, value: /r2}, headers: [{name: x-first, value: "1"}]}
        - {path: {type: PathPrefix, value: /r2}, headers: [{name: x-second, value: "1"}]}
      backendRefs: [{name: svc-c}]
    - matches: [{path: {type: PathPrefix, value: /r2}, headers: [{name: x-second, value: "1"}]}]
      backendRefs: [{name: svc-d}]
""", ["rules.test"])
        # No match at all on this host (the catch-all route is not consulted).
        c += route("nomatch", """\
    - matches: [{path: {type: Exact, value: /only}}]
      backendRefs: [{name: svc-a}]
""", ["nomatch.test"])
        return c

    # --- hostnames ------------------------------------------------------------------------

    def test_exact_hostname_beats_wildcard(self):
        self.assertEqual(self.who("GET", "/x", "www.example.com"), "a")
        self.assertEqual(self.who("GET", "/x", "api.example.com"), "b")

    def test_longer_wildcard_beats_shorter(self):
        self.assertEqual(self.who("GET", "/x", "cart.shop.example.com"), "c")
        self.assertEqual(self.who("GET", "/x", "a.b.shop.example.com"), "c")
        # "shop.example.com" is the bare suffix of *.shop.example.com, but one label in front
        # of example.com: the shorter wildcard takes it.
        self.assertEqual(self.who("GET", "/x", "shop.example.com"), "b")

    def test_wildcard_does_not_match_bare_suffix(self):
        self.assertEqual(self.who("GET", "/x", "example.com"), "d")

    def test_routes_without_hostnames_catch_the_rest(self):
        self.assertEqual(self.who("GET", "/x", "other.org"), "d")
        self.assertEqual(self.who("GET", "/x", "127.0.0.1"), "d")
        self.assertEqual(self.who("GET", "/x", "wwwexample.com"), "d")

    def test_host_with_port_and_upper_case(self):
        self.assertEqual(self.who("GET", "/x", "WWW.Example.COM:8080"), "a")
        self.assertEqual(self.who("GET", "/x", "Api.EXAMPLE.com:1234"), "b")
        self.assertEqual(self.who("GET", "/x", "X.Shop.Example.Com"), "c")
        self.assertEqual(self.who("GET", "/x", f"www.example.com:{self.port}"), "a")

    # --- paths ----------------------------------------------------------------------------

    def test_exact_beats_regex_beats_prefix(self):
        self.assertRoutes("types.test", [
            ("GET", "/exact/x", None, "a"),      # Exact, though all three others match too
            ("GET", "/exact/y", None, "b"),      # regex before the longer prefix /exact/y
            ("GET", "/exact/y/z", None, "d"),    # regex is a full match: not here
            ("GET", "/exact", None, "c"),
            ("GET", "/exact/x/", None, "c"),     # Exact /exact/x is not /exact/x/
            ("GET", "/exact/Q", None, "c"),
        ])

    def test_longer_prefix_wins_on_segment_boundaries(self):
        self.assertRoutes("prefix.test", [
            ("GET", "/foo", None, "a"),
            ("GET", "/foo/", None, "a"),
            ("GET", "/foo/baz", None, "a"),
            ("GET", "/foo/bar", None, "b"),
            ("GET", "/foo/bar/", None, "b"),
            ("GET", "/foo/bar/x/y", None, "b"),
            ("GET", "/foo/barn", None, "a"),
            ("GET", "/foobar", None, "c"),
            ("GET", "/fo", None, "c"),
            ("GET", "/", None, "c"),
            ("GET", "/dir", None, "d"),          # prefix "/dir/": the trailing '/' is ignored
            ("GET", "/dir/x", None, "d"),
            ("GET", "/dirx", None, "c"),
            ("GET", "/foo/bar?q=1", None, "b"),  # the query is not part of the path
        ])

    def test_method_match(self):
        self.assertRoutes("method.test", [
            ("POST", "/m", None, "a"),
            ("DELETE", "/m/x", None, "c"),
            ("GET", "/m", None, "b"),
            ("PUT", "/m", None, "b"),
        ])

    def test_header_matches(self):
        self.assertRoutes("headers.test", [
            ("GET", "/h", None, "a"),
            ("GET", "/h", {"x-env": "prod"}, "b"),
            ("GET", "/h", {"X-ENV": "prod"}, "b"),            # names are case-insensitive
            ("GET", "/h", {"x-env": "Prod"}, "a"),            # values are not
            ("GET", "/h", {"x-env": "production"}, "a"),      # Exact is whole-value
            ("GET", "/h", {"x-ver": "v12"}, "c"),
            ("GET", "/h", {"x-ver": "v12-beta"}, "a"),        # regex matches the whole value
            ("GET", "/h", {"x-ver": "xv1"}, "a"),
        ])

    def test_more_header_matches_win(self):
        self.assertRoutes("headers.test", [
            ("GET", "/h", {"x-env": "prod", "x-ver": "v1"}, "d"),   # two matches beat one
            # one header match each (hd-b, hd-c): route order decides, default/hd-b first
            ("GET", "/h", {"x-env": "prod", "x-ver": "v2"}, "b"),
        ])

    def test_query_param_matches(self):
        self.assertRoutes("query.test", [
            ("GET", "/q", None, "a"),
            ("GET", "/q?page=2", None, "b"),
            ("GET", "/q?page=3", None, "a"),
            ("GET", "/q?x=1&page=2&y=", None, "b"),
            ("GET", "/q?PAGE=2", None, "a"),         # query names compare exactly
            ("GET", "/q?id=42", None, "c"),
            ("GET", "/q?id=4a", None, "a"),
            ("GET", "/q?page=2&id=7", None, "d"),     # two query matches beat one
            ("GET", "/q/sub?page=2", None, "b"),
        ])

    def test_header_matches_count_before_query_matches(self):
        self.assertRoutes("hq.test", [
            ("GET", "/hq?k=v", {"k": "v"}, "b"),    # though default/hq-a comes first by name
            ("GET", "/hq?k=v", None, "a"),
            ("GET", "/hq", {"k": "v"}, "b"),
        ])

    def test_route_order_by_namespace_and_name(self):
        self.assertRoutes("order.test", [
            ("GET", "/o", None, "a"),   # default/order-a before default/order-b
            ("GET", "/n", None, "c"),   # alpha/zzz before default/aaa
        ])

    def test_rule_order_then_match_order(self):
        self.assertRoutes("rules.test", [
            ("GET", "/r", None, "a"),
            ("GET", "/r2", {"x-second": "1"}, "c"),   # rule 2 (its 2nd match) before rule 3
            ("GET", "/r2", {"x-first": "1"}, "c"),
        ])

    def test_no_match_is_404_and_upstream_sees_nothing(self):
        before = self.total_requests()
        for path in ("/other", "/only/more", "/onl"):
            r, data = self.request("GET", path, "nomatch.test")
            self.assertEqual(r.status, 404, path)
            self.assertEqual(r.getheader("x-gatehouse-reason"), "no_route")
        self.assertEqual(self.who("GET", "/only", "nomatch.test"), "a")
        time.sleep(0.1)
        self.assertEqual(self.total_requests(), before + 1)


class FilterTest(RoutingBase):

    @classmethod
    def config(cls):
        c = cls.base_config()
        c += route("filters", """\
    - matches: [{path: {type: PathPrefix, value: /echo/reqhdr}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: x-set, value: new}, {name: x-set-new, value: fresh}]
            add: [{name: x-add, value: added}]
            remove: [x-remove, X-Remove-Too]
      backendRefs: [{name: svc-a}]
    - matches: [{path: {type: PathPrefix, value: /echo/resphdr}}]
      filters:
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            set: [{name: x-resp-set, value: s}]
            add: [{name: x-resp-add, value: a2}]
            remove: [content-type]
      backendRefs: [{name: svc-a}]
    - matches: [{path: {type: PathPrefix, value: /resp-override}}]
      filters:
        - type: ResponseHeaderModifier
          responseHeaderModifier: {set: [{name: x-upstream, value: replaced}]}
      backendRefs: [{name: svc-a}]
    - matches: [{path: {type: PathPrefix, value: /redir/https}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {scheme: https, statusCode: 301}
    - matches: [{path: {type: PathPrefix, value: /redir/http}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {scheme: http}
    - matches: [{path: {type: PathPrefix, value: /redir/host}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {hostname: example.org}
    - matches: [{path: {type: PathPrefix, value: /redir/port}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {port: 8081, statusCode: 302}
    - matches: [{path: {type: PathPrefix, value: /redir/p80}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {port: 80}
    - matches: [{path: {type: PathPrefix, value: /redir/https-port}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {scheme: https, port: 8443}
    - matches: [{path: {type: PathPrefix, value: /redir/https-443}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {scheme: https, port: 443}
    - matches: [{path: {type: PathPrefix, value: /redir/http-443}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {scheme: http, port: 443}
    - matches: [{path: {type: PathPrefix, value: /redir/full}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: /new/place}}
    - matches: [{path: {type: PathPrefix, value: /redir/prefix}}]
      filters:
        - type: RequestRedirect
          requestRedirect:
            hostname: moved.example
            statusCode: 301
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /moved}
    - matches: [{path: {type: PathPrefix, value: /redir/toroot/}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}
    - matches: [{path: {type: PathPrefix, value: /echo/rw-host}}]
      filters:
        - type: URLRewrite
          urlRewrite: {hostname: rewritten.example}
      backendRefs: [{name: svc-c}]
    - matches: [{path: {type: PathPrefix, value: /echo/rw-full}}]
      filters:
        - type: URLRewrite
          urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /echo/replaced}}
      backendRefs: [{name: svc-c}]
    - matches: [{path: {type: PathPrefix, value: /echo/rw-prefix}}]
      filters:
        - type: URLRewrite
          urlRewrite:
            hostname: both.example
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /echo/new}
      backendRefs: [{name: svc-c}]
    - matches: [{path: {type: PathPrefix, value: /api}}]
      filters:
        - type: URLRewrite
          urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /echo}}
      backendRefs: [{name: svc-c}]
    - matches: [{path: {type: PathPrefix, value: /strip}}]
      filters:
        - type: URLRewrite
          urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}
      backendRefs: [{name: svc-c}]
""", ["filters.test"])
        return c

    def echo(self, path, host="filters.test", headers=None):
        r, data = self.request("GET", path, host, headers)
        self.assertEqual(r.status, 200, data)
        return json.loads(data)

    def test_request_header_modifier(self):
        e = self.echo("/echo/reqhdr", headers={"x-set": "old", "x-add": "orig",
                                               "x-remove": "bye", "x-remove-too": "bye",
                                               "x-keep": "k"})
        headers = [(n.lower(), v) for n, v in e["headers"]]
        vals = lambda name: [v for n, v in headers if n == name]
        self.assertEqual(vals("x-set"), ["new"])
        self.assertEqual(vals("x-set-new"), ["fresh"])
        self.assertEqual(sorted(vals("x-add")), ["added", "orig"])
        self.assertEqual(vals("x-remove"), [])
        self.assertEqual(vals("x-remove-too"), [])
        self.assertEqual(vals("x-keep"), ["k"])
        # Without the headers in the request: set and add still put them there.
        e = self.echo("/echo/reqhdr")
        headers = [(n.lower(), v) for n, v in e["headers"]]
        self.assertIn(("x-set", "new"), headers)
        self.assertIn(("x-add", "added"), headers)

    def test_response_header_modifier(self):
        r, data = self.request("GET", "/echo/resphdr", "filters.test")
        self.assertEqual(r.status, 200)
        self.assertEqual(json.loads(data)["upstream"], "u-a")
        self.assertEqual(r.getheader("x-resp-set"), "s")
        self.assertEqual(r.getheader("x-resp-add"), "a2")
        self.assertIsNone(r.getheader("content-type"))
        r, data = self.request("GET", "/resp-override", "filters.test")
        self.assertEqual(data, b"upstream u-a")
        self.assertEqual(r.getheader("x-upstream"), "replaced")
        self.assertEqual(r.headers.get_all("x-upstream"), ["replaced"])

    def assertRedirect(self, path, status, location, host="filters.test"):
        r, data = self.request("GET", path, host)
        self.assertEqual((r.status, r.getheader("location")), (status, location), path)

    def test_request_redirect(self):
        before = self.total_requests()
        p = self.port
        self.assertRedirect("/redir/https/a?x=1", 301, "https://filters.test/redir/https/a?x=1")
        self.assertRedirect("/redir/http", 302, "http://filters.test/redir/http")
        self.assertRedirect("/redir/host/z", 302, f"http://example.org:{p}/redir/host/z")
        self.assertRedirect("/redir/port", 302, "http://filters.test:8081/redir/port")
        self.assertRedirect("/redir/p80", 302, "http://filters.test/redir/p80")
        self.assertRedirect("/redir/https-port", 302, "https://filters.test:8443/redir/https-port")
        self.assertRedirect("/redir/https-443", 302, "https://filters.test/redir/https-443")
        self.assertRedirect("/redir/http-443", 302, "http://filters.test:443/redir/http-443")
        # The request's host (lower-cased, without its port) is kept when no hostname is given.
        r, _ = self.request("GET", "/redir/port", f"Filters.Test:{p}")
        self.assertEqual(r.getheader("location").lower(), "http://filters.test:8081/redir/port")
        # Redirects are answered by gatehouse: the backend never sees them.
        time.sleep(0.1)
        self.assertEqual(self.total_requests(), before)

    def test_request_redirect_path(self):
        p = self.port
        self.assertRedirect("/redir/full/a/b", 302, f"http://filters.test:{p}/new/place")
        self.assertRedirect("/redir/prefix/a/b", 301, f"http://moved.example:{p}/moved/a/b")
        self.assertRedirect("/redir/prefix", 301, f"http://moved.example:{p}/moved")
        self.assertRedirect("/redir/prefix/", 301, f"http://moved.example:{p}/moved/")
        self.assertRedirect("/redir/prefix?q=1", 301, f"http://moved.example:{p}/moved?q=1")
        self.assertRedirect("/redir/toroot/x/y", 302, f"http://filters.test:{p}/x/y")
        self.assertRedirect("/redir/toroot", 302, f"http://filters.test:{p}/")

    def test_url_rewrite_hostname(self):
        e = self.echo("/echo/rw-host/x?k=v")
        self.assertEqual(e["upstream"], "u-c")
        self.assertEqual(e["target"], "/echo/rw-host/x?k=v")
        hosts = [v for n, v in e["headers"] if n.lower() == "host"]
        self.assertEqual(hosts, ["rewritten.example"])

    def test_url_rewrite_full_path(self):
        e = self.echo("/echo/rw-full/a/b?k=v")
        self.assertEqual(e["target"], "/echo/replaced?k=v")
        hosts = [v for n, v in e["headers"] if n.lower() == "host"]
        self.assertEqual(hosts, ["filters.test"])

    def test_url_rewrite_prefix(self):
        e = self.echo("/echo/rw-prefix/a/b")
        self.assertEqual(e["target"], "/echo/new/a/b")
        hosts = [v for n, v in e["headers"] if n.lower() == "host"]
        self.assertEqual(hosts, ["both.example"])
        self.assertEqual(self.echo("/echo/rw-prefix")["target"], "/echo/new")
        self.assertEqual(self.echo("/api/v1/items?x=1")["target"], "/echo/v1/items?x=1")
        self.assertEqual(self.echo("/api")["target"], "/echo")
        self.assertEqual(self.echo("/strip/echo/s")["target"], "/echo/s")


class DirectResponseTest(RoutingBase):

    @classmethod
    def config(cls):
        c = cls.base_config()
        c += """---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: page}
spec:
  directResponse: {status: 200, contentType: text/html; charset=utf-8, body: "<h1>hello</h1>"}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: down}
spec:
  directResponse: {status: 503, body: "down for maintenance\\n"}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: gone}
spec:
  directResponse: {status: 410}
"""
        c += route("direct", """\
    - matches: [{path: {type: Exact, value: /page}}]
      backendRefs: [{name: page}]
    - matches: [{path: {type: Exact, value: /down}}]
      backendRefs: [{name: down}]
    - matches: [{path: {type: Exact, value: /gone}}]
      backendRefs: [{name: gone}]
""")
        return c

    def test_direct_response(self):
        before = self.total_requests()
        r, data = self.request("GET", "/page", "x")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("content-type"), "text/html; charset=utf-8")
        self.assertEqual(data, b"<h1>hello</h1>")
        self.assertEqual(r.getheader("content-length"), str(len(data)))
        r, data = self.request("GET", "/down", "x")
        self.assertEqual(r.status, 503)
        self.assertEqual(r.getheader("content-type"), "text/plain")  # the default
        self.assertEqual(data, b"down for maintenance\n")
        r, data = self.request("GET", "/gone", "x")
        self.assertEqual(r.status, 410)
        self.assertEqual(data, b"")
        # HEAD gets the head only.
        r, data = self.request("HEAD", "/page", "x")
        self.assertEqual(r.status, 200)
        self.assertEqual(data, b"")
        self.assertEqual(self.total_requests(), before)

    def test_direct_response_keeps_the_connection(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        for _ in range(3):
            c.request("GET", "/page")
            r = c.getresponse()
            self.assertEqual(r.read(), b"<h1>hello</h1>")
            self.assertFalse(r.will_close)
        c.close()


class WeightTest(RoutingBase):

    N = 10_000
    THREADS = 4

    @classmethod
    def config(cls):
        c = cls.base_config()
        c += route("weights", """\
    - matches: [{path: {type: PathPrefix, value: /w90}}]
      backendRefs: [{name: svc-a, weight: 90}, {name: svc-b, weight: 10}]
    - matches: [{path: {type: PathPrefix, value: /w50}}]
      backendRefs: [{name: svc-a, weight: 50}, {name: svc-b, weight: 50}]
    - matches: [{path: {type: PathPrefix, value: /w3}}]
      backendRefs: [{name: svc-a, weight: 1}, {name: svc-b, weight: 0}, {name: svc-c, weight: 3}]
    - matches: [{path: {type: PathPrefix, value: /wzero}}]
      backendRefs: [{name: svc-a, weight: 0}, {name: svc-b, weight: 0}]
""")
        return c

    def spread(self, path, n):
        """Sends n requests over THREADS persistent connections; returns {upstream: count}."""
        counts = {}
        lock = threading.Lock()
        errors = []

        def worker(k):
            local = {}
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                for _ in range(k):
                    c.request("GET", path)
                    r = c.getresponse()
                    r.read()
                    name = r.getheader("x-upstream") or f"status {r.status}"
                    local[name] = local.get(name, 0) + 1
                c.close()
            except Exception as e:  # reported below
                errors.append(repr(e))
            with lock:
                for name, v in local.items():
                    counts[name] = counts.get(name, 0) + v

        share = n // self.THREADS
        threads = [threading.Thread(target=worker, args=(share,)) for _ in range(self.THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(sum(counts.values()), share * self.THREADS, counts)
        return counts

    def assertShares(self, counts, expected):
        total = sum(counts.values())
        self.assertEqual(set(counts) - set(expected), set(), counts)
        for name, want in expected.items():
            got = counts.get(name, 0) / total
            self.assertLessEqual(abs(got - want), 0.05, f"{name}: {got:.3f} vs {want} ({counts})")

    def test_weighted_split_90_10(self):
        start = time.monotonic()
        counts = self.spread("/w90", self.N)
        self.assertShares(counts, {"u-a": 0.9, "u-b": 0.1})
        self.assertLess(time.monotonic() - start, 20)

    def test_weighted_split_50_50(self):
        counts = self.spread("/w50", self.N)
        self.assertShares(counts, {"u-a": 0.5, "u-b": 0.5})

    def test_weight_zero_is_never_picked(self):
        counts = self.spread("/w3", 2000)
        self.assertNotIn("u-b", counts)
        self.assertShares(counts, {"u-a": 0.25, "u-c": 0.75})

    def test_all_zero_weights_is_500(self):
        before = self.total_requests()
        for _ in range(5):
            r, data = self.request("GET", "/wzero", "x")
            self.assertEqual(r.status, 500)
            self.assertEqual(r.getheader("x-gatehouse-reason"), "no_backend")
        self.assertEqual(self.total_requests(), before)
