"""Where Lua hooks run (docs/lua.md "How scripts run", Order and Attachment): a LuaScript attached to a Listener runs for
every request on it, one attached to an HTTPRoute only for requests that route matched, and
on a request both apply to they run in one chain ordered by `order`, then name. A new version
that detaches a script takes effect for the next request."""

import http.client
import json
import unittest

from harness import Gatehouse, Upstream, free_port, wait_for


def script(name, order, attach):
    targets = ", ".join(f"{{kind: {kind}, name: {target}}}" for kind, target in attach)
    return f"""---
apiVersion: gatehouse.dev/v1
kind: LuaScript
metadata: {{name: {name}}}
spec:
  attachTo: [{targets}]
  order: {order}
  source:
    inline: |
      function envoy_on_request(h)
        local hs = h:headers()
        local seen = hs:get("x-chain")
        hs:replace("x-chain", (seen and seen .. "," or "") .. "{name}")
      end
"""


def config(port, upstream_port, scripts):
    out = f"""apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec: {{address: 127.0.0.1, port: {port}, protocol: HTTP}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: app}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {upstream_port}}}]}}
"""
    for route in ("shop", "blog"):
        out += f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {route}}}
spec:
  parentRefs: [{{name: edge}}]
  hostnames: [{route}.test]
  rules: [{{backendRefs: [{{name: app}}]}}]
"""
    return out + "".join(scripts)


ALL = [
    script("on-edge", 10, [("Listener", "edge")]),
    script("shop-first", 5, [("HTTPRoute", "shop")]),
    script("shop-last", 20, [("HTTPRoute", "shop")]),
    # Attached twice over (the listener and the route): it still runs once.
    script("both", 15, [("Listener", "edge"), ("HTTPRoute", "shop")]),
]


class LuaAttachTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.upstream = Upstream("app")
        cls.port = free_port()
        cls.gh = Gatehouse(workers=2)
        cls.gh.apply(config(cls.port, cls.upstream.port, ALL))
        cls.gh.start()

    @classmethod
    def tearDownClass(cls):
        cls.gh.cleanup()
        cls.upstream.stop()

    def chain(self, host):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request("GET", "/echo", headers={"Host": host})
            r = c.getresponse()
            body = r.read()
            self.assertEqual(r.status, 200, body)
            headers = {k.lower(): v for k, v in json.loads(body)["headers"]}
            return headers.get("x-chain")
        finally:
            c.close()

    def test_route_hooks_run_only_for_their_route_in_order_with_the_listeners(self):
        self.assertEqual(self.chain("shop.test"), "shop-first,on-edge,both,shop-last")
        self.assertEqual(self.chain("blog.test"), "on-edge,both")

    def test_zz_a_new_version_detaches_at_once(self):
        version = self.gh.config_version()
        self.gh.apply(config(self.port, self.upstream.port, ALL[:2]), "--prune")
        self.gh.wait_version(version + 1)
        wait_for(lambda: self.chain("shop.test") == "shop-first,on-edge", 5,
                 what="the chain of the new version")
        self.assertEqual(self.chain("blog.test"), "on-edge")


if __name__ == "__main__":
    unittest.main()
