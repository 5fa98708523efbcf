"""CUSTOM authorization with an HTTP ext_authz provider (issue 5, docs/authz.md): the request
a CUSTOM rule selects is checked by the provider first — 2xx allows (and headersToUpstreamOnAllow
reach the upstream), anything else is what the client gets; a request no CUSTOM rule selects
is never sent; a provider that does not answer denies unless failOpen."""

import http.client
import http.server
import json
import threading
import time
import unittest

from harness import Gatehouse, Upstream, free_port


class Provider:
    """allow when the request carries `authorization: Bearer good`; 403 "nope" otherwise;
    /slow... never answers in time."""

    def __init__(self):
        self.port = free_port()
        self.requests = []
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                provider.requests.append((self.command, self.path, dict(self.headers)))
                if "/slow" in self.path:
                    time.sleep(2)
                if self.headers.get("authorization") == "Bearer good":
                    self.send_response(200)
                    self.send_header("x-user-id", "42")
                    self.send_header("x-not-forwarded", "1")
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                body = b"nope"
                self.send_response(403)
                self.send_header("content-type", "text/plain")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET
            do_DELETE = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def config(port, app_port, provider_port, fail_open=False, timeout="500ms"):
    return f"""apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {{name: default}}
spec:
  extensionProviders:
    - name: ext
      envoyExtAuthzHttp:
        service: authz
        port: {provider_port}
        pathPrefix: /check
        includeRequestHeadersInCheck: [authorization]
        headersToUpstreamOnAllow: [x-user-id]
        timeout: {timeout}
        failOpen: {"true" if fail_open else "false"}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: authz}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {provider_port}}}]}}
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
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: all}}
spec:
  parentRefs: [{{name: edge}}]
  rules: [{{backendRefs: [{{name: app}}]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: ext-check-api}}
spec:
  targetRefs: [{{kind: Listener, group: gatehouse.dev, name: edge}}]
  action: CUSTOM
  provider: {{name: ext}}
  rules: [{{to: [{{operation: {{paths: ["/api/*", "/echo/*"]}}}}]}}]
"""


def get(port, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path, headers={"Host": "shop", **(headers or {})})
        r = c.getresponse()
        return r.status, r.getheader("x-gatehouse-reason"), r.read()
    finally:
        c.close()


class ExtAuthzTest(unittest.TestCase):
    def setUp(self):
        self.app = Upstream("app")
        self.provider = Provider()
        self.port = free_port()
        self.gh = Gatehouse(workers=2)

    def tearDown(self):
        self.gh.cleanup()
        self.provider.stop()
        self.app.stop()

    def start(self, **kw):
        self.gh.apply(config(self.port, self.app.port, self.provider.port, **kw))
        self.gh.start()

    def test_allow_forwards_the_providers_headers(self):
        self.start()
        status, _, body = get(self.port, "/echo/x?x=1",
                              {"Authorization": "Bearer good", "X-User-Id": "forged"})
        self.assertEqual(status, 200, body)
        headers = json.loads(body)["headers"]
        self.assertEqual([v for k, v in headers if k.lower() == "x-user-id"], ["42"])
        self.assertNotIn("x-not-forwarded", [k.lower() for k, _ in headers])
        method, path, sent = self.provider.requests[-1]
        self.assertEqual((method, path), ("GET", "/check/echo/x?x=1"))
        self.assertEqual(sent.get("Authorization"), "Bearer good")
        self.assertEqual(sent.get("Host"), "shop")

    def test_deny_answers_with_the_providers_status_and_body(self):
        self.start()
        before = self.app.count()
        status, reason, body = get(self.port, "/api/orders", {"Authorization": "Bearer bad"})
        self.assertEqual((status, reason, body), (403, "ext_authz_denied", b"nope"))
        self.assertEqual(self.app.count(), before)
        m = self.gh.metrics()
        self.assertEqual(m['gatehouse_authz_denied_total{policy="default/ext-check-api"}'], 1)
        self.assertEqual(m['gatehouse_authz_requests_total{result="denied",by="custom"}'], 1)
        # The exchange carries Envoy's flag for an external authorization denial.
        flags = {k: v for k, v in m.items() if k.startswith("istio_requests_total{")
                 and 'response_code="403"' in k}
        self.assertEqual(sum(flags.values()), 1, flags)
        self.assertIn('response_flags="UAEX"', next(iter(flags)))

    def test_requests_no_custom_rule_selects_are_not_checked(self):
        self.start()
        self.assertEqual(get(self.port, "/public")[0], 200)
        self.assertEqual(self.provider.requests, [])

    def test_provider_down_denies_unless_fail_open(self):
        self.provider.stop()
        self.start()
        status, reason, _ = get(self.port, "/api/x", {"Authorization": "Bearer good"})
        self.assertEqual((status, reason), (403, "ext_authz_error"))
        self.gh.apply(config(self.port, self.app.port, self.provider.port, fail_open=True))
        self.gh.wait_version(2)
        self.assertEqual(get(self.port, "/api/x")[0], 200)
        self.provider = Provider()  # for tearDown

    def test_slow_provider_times_out(self):
        self.start()
        t = time.monotonic()
        status, reason, _ = get(self.port, "/api/slow", {"Authorization": "Bearer good"})
        self.assertEqual((status, reason), (403, "ext_authz_error"))
        self.assertLess(time.monotonic() - t, 1.5)
        self.assertIn("no answer within 500 ms", self.gh.logs())


if __name__ == "__main__":
    unittest.main()
