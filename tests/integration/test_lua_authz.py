"""A Lua CUSTOM provider for AuthorizationPolicy (issue 7, docs/lua.md "Authorization in Lua"):
a MeshConfig extensionProvider `lua: {script: NAME}` hands the decision of the CUSTOM policy's
requests to the script's gatehouse_authorize(handle), which returns allow[, reason]; it may
httpCall (the exchange waits), a failure denies (lua_error) unless failOpen, and a request no
CUSTOM rule selects never reaches the script."""

import http.client
import unittest

from harness import Gatehouse, Upstream, free_port

SCRIPT = """
function gatehouse_authorize(handle)
  local h = handle:headers()
  local path = h:get(":path")
  if path == "/api/boom" then error("broken check") end
  if path == "/api/remote" then
    local headers = handle:httpCall("verifier", {[":method"] = "GET", [":path"] = "/echo/verify",
      [":authority"] = "verifier"}, nil, 2000)
    return headers[":status"] == "200", "verifier said " .. headers[":status"]
  end
  if h:get("x-token") == "let-me-in" then return true end
  return false, "no token for " .. path
end
"""


def config(port, app_port, fail_open=False):
    body = "\n".join("      " + l for l in SCRIPT.strip("\n").splitlines())
    return f"""apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {{name: default}}
spec:
  extensionProviders:
    - name: lua-check
      lua: {{script: token-check}}
---
apiVersion: gatehouse.dev/v1
kind: LuaScript
metadata: {{name: token-check}}
spec:
  attachTo: [{{kind: Listener, name: edge}}]
  failOpen: {"true" if fail_open else "false"}
  source:
    inline: |
{body}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec: {{address: 127.0.0.1, port: {port}, protocol: HTTP}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: app}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {app_port}}}]}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: verifier}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {app_port}}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: all}}
spec:
  parentRefs: [{{name: edge}}]
  rules: [{{backendRefs: [{{name: app}}]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: lua-check-api}}
spec:
  targetRefs: [{{kind: Listener, group: gatehouse.dev, name: edge}}]
  action: CUSTOM
  provider: {{name: lua-check}}
  rules: [{{to: [{{operation: {{paths: ["/api/*"]}}}}]}}]
"""


class LuaAuthzTest(unittest.TestCase):
    def setUp(self):
        self.app = Upstream("app")
        self.port = free_port()
        self.gh = Gatehouse(workers=2)

    def tearDown(self):
        self.gh.cleanup()
        self.app.stop()

    def get(self, path, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request("GET", path, headers=headers or {})
            r = c.getresponse()
            return r.status, r.getheader("x-gatehouse-reason"), r.read()
        finally:
            c.close()

    def app_paths(self):
        return [r.target for r in self.app.requests]

    def test_script_allows_and_denies_with_a_reason(self):
        self.gh.apply(config(self.port, self.app.port))
        self.gh.start()
        self.assertEqual(self.get("/api/orders", {"x-token": "let-me-in"})[0], 200)
        status, reason, _ = self.get("/api/orders")
        self.assertEqual((status, reason), (403, "ext_authz_denied"))
        self.assertIn("authz: Lua provider lua-check denied GET /api/orders: no token for "
                      "/api/orders", self.gh.logs())
        # Not selected by the CUSTOM rule: never asked.
        self.assertEqual(self.get("/public")[0], 200)
        self.assertEqual(self.app_paths(), ["/api/orders", "/public"])
        m = self.gh.metrics()
        self.assertGreaterEqual(m.get('gatehouse_authz_denied_total{policy="default/lua-check-api"}',
                                      0), 1)
        self.assertGreaterEqual(m.get('gatehouse_lua_executions_total{script="token-check"}', 0), 2)

    def test_script_can_call_a_service_before_deciding(self):
        self.gh.apply(config(self.port, self.app.port))
        self.gh.start()
        self.assertEqual(self.get("/api/remote")[0], 200)
        self.assertEqual(self.app_paths(), ["/echo/verify", "/api/remote"])

    def test_failure_denies_unless_fail_open(self):
        self.gh.apply(config(self.port, self.app.port))
        self.gh.start()
        status, reason, _ = self.get("/api/boom")
        self.assertEqual((status, reason), (403, "lua_error"))
        self.assertIn("lua: script error: token-check:4: broken check", self.gh.logs())
        self.assertEqual(self.app_paths(), [])
        self.gh.apply(config(self.port, self.app.port, fail_open=True))
        self.gh.wait_version(2)
        self.assertEqual(self.get("/api/boom")[0], 200)

    def test_unknown_script_is_refused_at_validation(self):
        text = config(self.port, self.app.port).replace("script: token-check}",
                                                         "script: nope}")
        r = self.gh.apply(text, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("spec.extensionProviders[0].lua.script", r.stderr)
        self.assertIn("LuaScript default/nope does not exist", r.stderr)


if __name__ == "__main__":
    unittest.main()
