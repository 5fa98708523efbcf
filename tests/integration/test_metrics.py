"""Istio's standard metrics and gatehouse_* per route and service on /metrics (issue 8,
spec/observability.md, docs/observability.md): under mixed traffic — success, 4xx, 5xx,
denied, mTLS and plain — the scrape passes `promtool check metrics` (Debian's promtool, in
build/tools/) but for the one name Istio's dashboards require, and specific requests show up
with their labels and counts."""

import http.client
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import urllib.request

import svid
from harness import BINARY, Gatehouse, Upstream, free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROMTOOL = os.path.join(ROOT, "build", "tools", "promtool")

FRONTEND = svid.spiffe("frontend")
ORDERS = svid.spiffe("orders")
# promtool 2.42 lints metric names by their unit word and has no switch to turn that off
# (`check metrics --lint` came in Prometheus 3.x); Istio's histogram must keep its name, so
# this is the one line it may print (docs/observability.md, "promtool").
ISTIO_UNIT = 'istio_request_duration_milliseconds use base unit "seconds" instead of "milliseconds"'

MESH = """apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default}
spec: {trustDomain: cluster.local, mtls: STRICT}
"""


def back_config(inbound_port, app_port):
    return MESH + f"""---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {{name: orders, labels: {{app: orders}}}}
spec: {{serviceAccount: orders, address: 127.0.0.1, port: {app_port}}}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: inbound}}
spec: {{address: 127.0.0.1, port: {inbound_port}, protocol: MESH_INBOUND}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: orders-callers}}
spec:
  selector: {{matchLabels: {{app: orders}}}}
  rules: [{{from: [{{source: {{principals: ["cluster.local/ns/default/sa/frontend"]}}}}]}}]
"""


def front_config(outbound_port, edge_port, inbound_port, app_port, dead_port):
    return MESH + f"""---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: outbound}}
spec: {{address: 127.0.0.1, port: {outbound_port}, protocol: MESH_OUTBOUND}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: orders}}
spec:
  endpoints: [{{address: 127.0.0.1, port: {inbound_port}}}]
  mesh: true
  identity: {ORDERS}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec: {{address: 127.0.0.1, port: {edge_port}, protocol: HTTP}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: shop}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {app_port}}}]}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: dead}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {dead_port}}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: shop}}
spec:
  parentRefs: [{{name: edge}}]
  hostnames: [shop.test]
  rules:
    - matches: [{{path: {{type: PathPrefix, value: /dead}}}}]
      backendRefs: [{{name: dead}}]
    - backendRefs: [{{name: shop}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: no-admin}}
spec:
  targetRefs: [{{kind: Listener, group: gatehouse.dev, name: edge}}]
  action: DENY
  rules: [{{to: [{{operation: {{paths: ["/admin*"]}}}}]}}]
"""


def get(port, path, host):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path, headers={"Host": host})
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


def scrape(node):
    url = f"http://127.0.0.1:{node.admin_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def promtool(text):
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    return [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]


def samples(text, name):
    """{frozenset(label items): value} of one metric name."""
    out = {}
    for line in text.splitlines():
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        if not m or m.group(1) != name:
            continue
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[frozenset(labels.items())] = float(m.group(3))
    return out


def find(series, **want):
    """The value of the one series whose labels include `want` (0 when none)."""
    hits = [v for k, v in series.items() if set(want.items()) <= set(k)]
    if len(hits) > 1:
        raise AssertionError(f"{len(hits)} series match {want}")
    return hits[0] if hits else 0


@unittest.skipUnless(os.access(PROMTOOL, os.X_OK), "build/tools/promtool missing")
class IstioMetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gh-metrics-")
        ca_dir = os.path.join(cls.tmp, "ca-node")
        subprocess.run([BINARY, "ca", "init", "--data-dir", ca_dir], check=True,
                       capture_output=True)
        cls.ca = svid.Ca.load(os.path.join(ca_dir, "ca"))
        cls.orders_app = Upstream("orders")
        cls.shop_app = Upstream("shop")
        cls.inbound, cls.outbound, cls.edge, cls.dead = (free_port() for _ in range(4))
        cls.back = Gatehouse(workers=2)
        svid.write_identity(cls.back.data_dir, cls.ca, ORDERS)
        cls.back.apply(back_config(cls.inbound, cls.orders_app.port))
        cls.back.start()
        cls.front = Gatehouse(workers=2)
        svid.write_identity(cls.front.data_dir, cls.ca, FRONTEND)
        cls.front.apply(front_config(cls.outbound, cls.edge, cls.inbound, cls.shop_app.port,
                                     cls.dead))
        cls.front.start()
        # Mixed traffic: plain edge (success, upstream 4xx and 5xx, no route, denied, connect
        # failure) and a mesh hop over mTLS.
        cls.statuses = {
            "ok": [get(cls.edge, "/ok", "shop.test") for _ in range(3)],
            "404": get(cls.edge, "/status/404", "shop.test"),
            "503": get(cls.edge, "/status/503", "shop.test"),
            "noroute": get(cls.edge, "/", "elsewhere.test"),
            "denied": [get(cls.edge, "/admin/x", "shop.test") for _ in range(2)],
            "dead": get(cls.edge, "/dead", "shop.test"),
            "mesh": [get(cls.outbound, "/echo/o", "orders") for _ in range(4)],
        }
        cls.front_text = scrape(cls.front)
        cls.back_text = scrape(cls.back)

    @classmethod
    def tearDownClass(cls):
        cls.front.cleanup()
        cls.back.cleanup()
        cls.orders_app.stop()
        cls.shop_app.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_traffic_got_the_expected_answers(self):
        s = self.statuses
        self.assertEqual(s["ok"], [200] * 3)
        self.assertEqual((s["404"], s["503"], s["noroute"], s["dead"]), (404, 503, 404, 502))
        self.assertEqual(s["denied"], [403] * 2)
        self.assertEqual(s["mesh"], [200] * 4)

    def test_promtool_finds_nothing_but_istios_unit(self):
        for name, text in (("front", self.front_text), ("back", self.back_text)):
            with self.subTest(node=name):
                self.assertEqual(promtool(text), [ISTIO_UNIT])
                # ... and only because of the name: the same scrape without that family is
                # clean.
                rest = "\n".join(l for l in text.splitlines()
                                 if "istio_request_duration_milliseconds" not in l) + "\n"
                self.assertEqual(promtool(rest), [])

    def test_build_info(self):
        with open(os.path.join(ROOT, "VERSION")) as f:
            version = f.read().strip()
        info = [l for l in self.front_text.splitlines() if l.startswith("gatehouse_build_info{")]
        self.assertEqual(len(info), 1, info)
        self.assertTrue(info[0].startswith(f'gatehouse_build_info{{version="{version}",'), info)
        self.assertIn('sqlite="3.', info[0])
        self.assertTrue(info[0].endswith("} 1"), info)

    def test_openmetrics_when_the_scraper_asks_for_it(self):
        # Prometheus' own Accept header.
        accept = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
        req = urllib.request.Request(f"http://127.0.0.1:{self.front.admin_port}/metrics",
                                     headers={"Accept": accept})
        with urllib.request.urlopen(req, timeout=5) as r:
            ctype, text = r.headers["Content-Type"], r.read().decode()
        self.assertEqual(ctype, "application/openmetrics-text; version=1.0.0; charset=utf-8")
        self.assertTrue(text.endswith("\n# EOF\n"), text[-200:])
        lines = text.splitlines()
        self.assertIn("# TYPE istio_requests counter", lines)
        self.assertNotIn("# TYPE istio_requests_total counter", lines)
        self.assertTrue(any(l.startswith("istio_requests_total{") for l in lines))
        self.assertIn("# TYPE istio_request_duration_milliseconds histogram", lines)
        self.assertNotIn("", lines)  # no blank lines in OpenMetrics
        # The same series as the classic format (values move with the scrapes themselves).
        series = lambda t: {l.rsplit(" ", 1)[0] for l in t.splitlines()
                            if l and not l.startswith("#") and "istio_" in l}
        self.assertEqual(series(text), series(self.front_text))
        # Without the Accept header: the classic format.
        with urllib.request.urlopen(f"http://127.0.0.1:{self.front.admin_port}/metrics",
                                    timeout=5) as r:
            self.assertEqual(r.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")

    def test_every_family_is_documented(self):
        # docs/observability.md lists every metric with its labels and meaning: each family a
        # node exposes has a row there (the histogram and summary series by their family).
        with open(os.path.join(ROOT, "docs", "observability.md")) as f:
            documented = set(re.findall(r"^\| `([a-z_:]+)`", f.read(), re.M))
        for name, text in (("front", self.front_text), ("back", self.back_text)):
            families = set(re.findall(r"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) ", text, re.M))
            self.assertGreater(len(families), 40)
            with self.subTest(node=name):
                self.assertEqual(sorted(families - documented), [])

    def test_edge_requests_by_code_and_flag(self):
        req = samples(self.front_text, "istio_requests_total")
        common = dict(reporter="source", destination_service="shop.default",
                      connection_security_policy="none", source_principal=FRONTEND,
                      request_protocol="http")
        self.assertEqual(find(req, response_code="200", response_flags="-", **common), 3)
        self.assertEqual(find(req, response_code="404", response_flags="-", **common), 1)
        self.assertEqual(find(req, response_code="503", response_flags="-", **common), 1)
        self.assertEqual(find(req, response_code="403", response_flags="RBAC", **common), 2)
        self.assertEqual(find(req, response_code="502", response_flags="UF",
                              destination_service="dead.default"), 1)
        self.assertEqual(find(req, response_code="404", response_flags="NR",
                              destination_service="unknown"), 1)
        dur = samples(self.front_text, "istio_request_duration_milliseconds_count")
        self.assertEqual(find(dur, response_code="200", **common), 3)
        size = samples(self.front_text, "istio_response_bytes_count")
        self.assertEqual(find(size, response_code="403", **common), 2)
        total = samples(self.front_text, "istio_response_bytes_sum")
        self.assertGreater(find(total, response_code="200", **common), 3 * len("upstream shop"))

    def test_gatehouse_requests_by_listener_route_and_service(self):
        req = samples(self.front_text, "gatehouse_requests_total")
        self.assertEqual(find(req, listener="default/edge", route="default/shop",
                              code_class="2xx"), 3)
        self.assertEqual(find(req, listener="default/edge", route="default/shop",
                              code_class="4xx"), 3)  # upstream 404 and two denials
        self.assertEqual(find(req, listener="default/edge", route="default/shop",
                              code_class="5xx"), 2)  # upstream 503 and the dead endpoint
        self.assertEqual(find(req, listener="default/edge", route="none", code_class="4xx"), 1)
        svc = samples(self.front_text, "gatehouse_service_requests_total")
        self.assertEqual(find(svc, service="default/shop", code_class="2xx"), 3)
        self.assertEqual(find(svc, service="default/orders", code_class="2xx"), 4)
        err = samples(self.front_text, "gatehouse_service_upstream_errors_total")
        self.assertEqual(find(err, service="default/dead", response_flags="UF"), 1)
        up = samples(self.front_text, "gatehouse_service_upstream_request_duration_seconds_count")
        self.assertEqual(find(up, service="default/shop"), 5)  # the denied never went upstream

    def test_mesh_hop_is_reported_by_both_sides_with_mutual_tls(self):
        ids = dict(source_principal=FRONTEND, source_workload="frontend",
                   source_workload_namespace="default", destination_principal=ORDERS,
                   destination_workload="orders", destination_workload_namespace="default",
                   destination_service="orders.default", connection_security_policy="mutual_tls",
                   response_code="200")
        front = samples(self.front_text, "istio_requests_total")
        self.assertEqual(find(front, reporter="source", **ids), 4)
        back = samples(self.back_text, "istio_requests_total")
        self.assertEqual(find(back, reporter="destination", **ids), 4)


if __name__ == "__main__":
    unittest.main()
