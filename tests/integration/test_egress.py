"""EgressPolicy (issue 6, docs/traffic.md "Egress control"): what a Workload's app may call
through its MESH_OUTBOUND listener. Allowed Services and external hosts pass (one with a rate
limit of its own); everything else is 403 egress_denied, counted by workload and
destination. A Workload no EgressPolicy selects may call anything."""

import http.client
import os
import shutil
import subprocess
import tempfile
import unittest

import svid
from harness import BINARY, Gatehouse, Upstream, free_port


def config(port, orders, payments, partner, with_policy=True):
    out = f"""apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {{name: default}}
spec: {{trustDomain: cluster.local}}
---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {{name: frontend, labels: {{app: frontend}}}}
spec: {{serviceAccount: frontend, port: 8080}}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: outbound}}
spec: {{address: 127.0.0.1, port: {port}, protocol: MESH_OUTBOUND}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: orders}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {orders}}}]}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: payments}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {payments}}}]}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: search}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {orders}}}]}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: partner}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {partner}}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: partner-api}}
spec:
  parentRefs: [{{name: outbound}}]
  hostnames: [api.partner.test, other.partner.test, api.evil.test]
  rules: [{{backendRefs: [{{name: partner}}]}}]
"""
    if with_policy:
        out += """---
apiVersion: gatehouse.dev/v1
kind: EgressPolicy
metadata: {name: frontend}
spec:
  selector: {matchLabels: {app: frontend}}
  egress:
    - {service: orders}
    - {host: "*.partner.test"}
    - {service: search, rateLimit: {requests: 3, per: 1m}}
"""
    return out


class EgressTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gh-egress-")
        ca_dir = os.path.join(cls.tmp, "ca-node")
        subprocess.run([BINARY, "ca", "init", "--data-dir", ca_dir], check=True,
                       capture_output=True)
        ca = svid.Ca.load(os.path.join(ca_dir, "ca"))
        cls.orders, cls.payments, cls.partner = Upstream("orders"), Upstream("payments"), \
            Upstream("partner")
        cls.port = free_port()
        cls.gh = Gatehouse(workers=2)
        svid.write_identity(cls.gh.data_dir, ca, svid.spiffe("frontend"))
        cls.ports = (cls.orders.port, cls.payments.port, cls.partner.port)
        cls.gh.apply(config(cls.port, *cls.ports))
        cls.gh.start()

    @classmethod
    def tearDownClass(cls):
        cls.gh.cleanup()
        for u in (cls.orders, cls.payments, cls.partner):
            u.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def get(self, host):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request("GET", "/", headers={"Host": host})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def test_allowed_service_and_external_host(self):
        status, headers, body = self.get("orders")
        self.assertEqual((status, body), (200, b"upstream orders"))
        self.assertEqual(self.get("orders.default")[0], 200)
        status, _, body = self.get("api.partner.test")
        self.assertEqual((status, body), (200, b"upstream partner"))
        self.assertEqual(self.get("other.partner.test")[0], 200)

    def test_everything_else_is_denied_and_counted(self):
        before = self.payments.count()
        m0 = self.gh.metrics()
        key = ('gatehouse_egress_denied_total{workload="default/frontend",'
               'destination="default/payments"}')
        for _ in range(3):
            status, headers, _ = self.get("payments")
            self.assertEqual(status, 403)
            self.assertEqual(headers["x-gatehouse-reason"], "egress_denied")
        # The same Service through a Host the policy does not name is denied too.
        status, headers, _ = self.get("api.evil.test")
        self.assertEqual((status, headers["x-gatehouse-reason"]), (403, "egress_denied"))
        self.assertEqual(self.payments.count(), before)
        m = self.gh.metrics()
        self.assertEqual(m.get(key, 0) - m0.get(key, 0), 3)
        self.assertGreaterEqual(m['gatehouse_egress_denied_total{workload="default/frontend",'
                                  'destination="default/partner"}'], 1)
        # Hosts no route knows are still 404 no_route: there is nowhere to send them.
        self.assertEqual(self.get("nowhere")[0], 404)

    def test_destination_rate_limit(self):
        statuses = [self.get("search")[0] for _ in range(4)]
        self.assertEqual(statuses, [200, 200, 200, 429])
        status, headers, _ = self.get("search")
        self.assertEqual(headers["x-gatehouse-reason"], "rate_limited")
        self.assertIn(int(headers["retry-after"]), (19, 20))
        self.assertGreaterEqual(self.gh.metrics()[
            'gatehouse_rate_limited_total{kind="EgressPolicy",name="default/frontend:default/search"}'],
            2)

    def test_zz_without_a_policy_everything_is_allowed(self):
        version = self.gh.config_version()
        self.gh.apply(config(self.port, *self.ports, with_policy=False), "--prune")
        self.gh.wait_version(version + 1)
        self.assertEqual(self.get("payments")[0], 200)
        self.gh.apply(config(self.port, *self.ports))
        self.gh.wait_version(version + 2)
        self.assertEqual(self.get("payments")[0], 403)


if __name__ == "__main__":
    unittest.main()
