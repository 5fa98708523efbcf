"""The admin's observability endpoints (spec/observability.md "Admin endpoints"):
/api/v1/stats/live (per route and Service over the last minute: rate, 5xx share, p50/p95/p99),
/api/v1/config_dump, /api/v1/clusters and /api/v1/certs; behind a login like the rest of the
API (a viewer may read them, nobody anonymous)."""

import http.client
import os
import unittest

from harness import Gatehouse, free_port
from test_admin_api import PASSWORD, Client

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "unit", "tls", "fixtures")

CONFIG = """apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec: {{address: 127.0.0.1, port: {port}, protocol: HTTP}}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: secure}}
spec:
  address: 127.0.0.1
  port: {tls_port}
  protocol: HTTPS
  tls:
    certificates: [{{certFile: {fixtures}/ecdsa.crt, keyFile: {fixtures}/ecdsa.key}}]
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: welcome}}
spec: {{directResponse: {{status: 200, body: "welcome"}}}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: broken}}
spec: {{directResponse: {{status: 503, body: "down"}}}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: pool}}
spec:
  endpoints: [{{address: 127.0.0.1, port: {dead}, weight: 3}}]
  trafficPolicy: {{outlierDetection: {{consecutive5xxErrors: 2}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: welcome}}
spec:
  parentRefs: [{{name: edge}}, {{name: secure}}]
  rules: [{{backendRefs: [{{name: welcome}}]}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: broken}}
spec:
  parentRefs: [{{name: edge}}]
  rules:
    - matches: [{{path: {{type: PathPrefix, value: /broken}}}}]
      backendRefs: [{{name: broken}}]
    - matches: [{{path: {{type: PathPrefix, value: /pool}}}}]
      backendRefs: [{{name: pool}}]
"""


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path, headers={"Host": "x.test"})
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


class AdminObservabilityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.edge = free_port()
        cls.gh = Gatehouse(workers=2)
        cls.gh.apply(CONFIG.format(port=cls.edge, dead=free_port(), tls_port=free_port(),
                                   fixtures=FIXTURES))
        cls.gh.start()
        port = cls.gh.admin_port
        initial = open(os.path.join(cls.gh.data_dir, "initial-admin-password")).read().strip()
        admin = Client(port)
        assert admin.login("admin", initial)[0] == 200
        assert admin.api("POST", "password", {"current": initial, "new": PASSWORD})[0] == 200
        assert admin.api("POST", "users", {"name": "vi", "role": "viewer",
                                           "password": PASSWORD})[0] == 201
        cls.viewer = Client(port)
        assert cls.viewer.login("vi", PASSWORD)[0] == 200
        cls.anonymous = Client(port)
        for _ in range(30):
            assert get(cls.edge, "/") == 200
        for _ in range(10):
            assert get(cls.edge, "/broken") == 503

    @classmethod
    def tearDownClass(cls):
        cls.gh.cleanup()

    def test_stats_live_per_route_and_service(self):
        status, live = self.viewer.api("GET", "stats/live")
        self.assertEqual(status, 200, live)
        self.assertEqual(live["windowSeconds"], 60)
        self.assertIsInstance(live["at"], int)
        routes = {r["route"]: r for r in live["routes"]}
        welcome, broken = routes["default/welcome"], routes["default/broken"]
        self.assertEqual((welcome["listener"], welcome["service"]), ("default/edge",
                                                                     "default/welcome"))
        self.assertEqual(welcome["requests"], 30)
        self.assertEqual(welcome["errorRate"], 0)
        self.assertGreater(welcome["rps"], 0)
        for q in ("p50", "p95", "p99"):
            self.assertGreater(welcome[q], 0)
        self.assertLessEqual(welcome["p50"], welcome["p95"])
        self.assertLessEqual(welcome["p95"], welcome["p99"])
        self.assertEqual((broken["requests"], broken["errorRate"]), (10, 1.0))
        services = {s["service"]: s for s in live["services"]}
        self.assertEqual(services["default/welcome"]["requests"], 30)
        self.assertEqual(services["default/broken"]["errorRate"], 1.0)
        # /api/v1/stats keeps its series and now carries the same view as `latency`.
        status, stats = self.viewer.api("GET", "stats")
        self.assertEqual(status, 200)
        self.assertTrue(any(s["name"] == "istio_requests_total" for s in stats["series"]))
        self.assertIn("default/welcome", {r["route"] for r in stats["latency"]["routes"]})

    def test_config_dump_is_the_serving_version(self):
        status, dump = self.viewer.api("GET", "config_dump")
        self.assertEqual(status, 200)
        self.assertEqual(dump["version"], self.gh.config_version())
        kinds = sorted((r["kind"], r["metadata"]["name"]) for r in dump["resources"])
        self.assertIn(("HTTPRoute", "broken"), kinds)
        self.assertIn(("Service", "pool"), kinds)
        self.assertEqual(len(kinds), 7)

    def test_clusters_lists_services_endpoints_and_outlier_policy(self):
        status, c = self.viewer.api("GET", "clusters")
        self.assertEqual(status, 200)
        svc = {s["name"]: s for s in c["services"]}
        pool = svc["default/pool"]
        self.assertEqual(len(pool["endpoints"]), 1)
        self.assertEqual(pool["endpoints"][0]["weight"], 3)
        self.assertEqual(pool["endpoints"][0]["health"], "unchecked")
        self.assertEqual(pool["outlierDetection"]["consecutive5xxErrors"], 2)
        self.assertIsNone(svc["default/welcome"]["outlierDetection"])
        self.assertTrue(svc["default/welcome"]["direct"])
        self.assertEqual(svc["default/welcome"]["lastMinute"]["requests"], 30)

    def test_certs(self):
        status, certs = self.viewer.api("GET", "certs")
        self.assertEqual(status, 200)
        (cert,) = certs["listeners"]
        self.assertEqual(cert["listener"], "default/secure")
        self.assertRegex(cert["serial"], r"^[0-9a-f]+$")
        self.assertGreater(cert["notAfter"], 0)
        self.assertIsNone(certs["identity"])  # no workload identity on this node

    def test_login_required(self):
        for path in ("stats/live", "config_dump", "clusters", "certs"):
            with self.subTest(path=path):
                self.assertEqual(self.anonymous.api("GET", path)[0], 401)
                self.assertIn(self.viewer.api("POST", path, {})[0], (404, 405))  # reads only


if __name__ == "__main__":
    unittest.main()
