"""Authorization through real mTLS hops (issue 5, spec/authz.md): the product brief's policy,
as written, on the orders node — frontend may GET and POST orders; DELETE from frontend,
any call from another workload, and plaintext are refused. The principal is the SPIFFE ID the
inbound hop verified in the handshake."""

import http.client
import os
import shutil
import subprocess
import tempfile
import unittest

import svid
from harness import BINARY, Gatehouse, Upstream, free_port

POLICY = """apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata:
  name: allow-frontend-to-orders
  namespace: production
spec:
  selector:
    matchLabels:
      app: orders-service
  rules:
    - from:
        - source:
            principals: ["frontend@cluster.local"]
      to:
        - operation:
            methods: ["GET", "POST"]
"""


def orders_node_config(inbound_port, app_port, extra=""):
    return f"""apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {{name: default}}
spec: {{trustDomain: cluster.local, mtls: STRICT}}
---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {{name: orders-service, namespace: production, labels: {{app: orders-service}}}}
spec: {{serviceAccount: orders, address: 127.0.0.1, port: {app_port}}}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: inbound, namespace: production}}
spec: {{address: 127.0.0.1, port: {inbound_port}, protocol: MESH_INBOUND}}
---
{POLICY}{extra}"""


def caller_config(outbound_port, inbound_port):
    return f"""apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {{name: default}}
spec: {{trustDomain: cluster.local}}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: outbound}}
spec: {{address: 127.0.0.1, port: {outbound_port}, protocol: MESH_OUTBOUND}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: orders, namespace: production}}
spec:
  endpoints: [{{address: 127.0.0.1, port: {inbound_port}}}]
  mesh: true
  identity: spiffe://cluster.local/ns/production/sa/orders
"""


def call(port, method):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, "/orders/1", body=b"x" if method == "POST" else None,
                  headers={"Host": "orders.production"})
        r = c.getresponse()
        return r.status, r.getheader("x-gatehouse-reason"), r.read()
    finally:
        c.close()


class BriefPolicyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gh-authz-")
        ca_dir = os.path.join(cls.tmp, "ca")
        subprocess.run([BINARY, "ca", "init", "--data-dir", ca_dir], check=True,
                       capture_output=True)
        ca = svid.Ca.load(os.path.join(ca_dir, "ca"))
        cls.app = Upstream("orders")
        cls.inbound = free_port()
        cls.orders = Gatehouse(workers=2)
        svid.write_identity(cls.orders.data_dir, ca, svid.spiffe("orders", "production"))
        cls.orders.apply(orders_node_config(cls.inbound, cls.app.port))
        cls.orders.start()
        cls.callers = {}
        for name in ("frontend", "payments"):
            port = free_port()
            node = Gatehouse(workers=1)
            svid.write_identity(node.data_dir, ca, svid.spiffe(name, "production"))
            node.apply(caller_config(port, cls.inbound))
            node.start()
            cls.callers[name] = (node, port)

    @classmethod
    def tearDownClass(cls):
        for node, _ in cls.callers.values():
            node.cleanup()
        cls.orders.cleanup()
        cls.app.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_frontend_may_get_and_post(self):
        key = 'gatehouse_authz_requests_total{result="allowed",by="allow"}'
        before = self.orders.metrics()[key]
        port = self.callers["frontend"][1]
        self.assertEqual(call(port, "GET")[0], 200)
        self.assertEqual(call(port, "POST")[0], 200)
        self.assertEqual(self.orders.metrics()[key], before + 2)

    def test_frontend_may_not_delete(self):
        before = self.app.count()
        status, reason, body = call(self.callers["frontend"][1], "DELETE")
        self.assertEqual((status, reason), (403, "rbac_denied"))
        self.assertEqual(body, b"RBAC: access denied\n")
        self.assertEqual(self.app.count(), before)

    def test_another_workload_is_denied(self):
        status, reason, _ = call(self.callers["payments"][1], "GET")
        self.assertEqual((status, reason), (403, "rbac_denied"))
        m = self.orders.metrics()
        self.assertGreaterEqual(
            m['gatehouse_authz_requests_total{result="denied",by="no_allow_matched"}'], 1)

    def test_deny_policy_is_counted_by_name_and_dry_run_only_logs(self):
        extra = """---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-admin, namespace: production}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin*"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: trial-block-posts
  namespace: production
  annotations: {istio.io/dry-run: "true"}
spec:
  action: DENY
  rules: [{to: [{operation: {methods: ["POST"]}}]}]
"""
        version = self.orders.config_version()
        self.orders.apply(orders_node_config(self.inbound, self.app.port, extra))
        self.orders.wait_version(version + 1)
        port = self.callers["frontend"][1]
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/admin/x", headers={"Host": "orders.production"})
        r = c.getresponse()
        r.read()
        c.close()
        self.assertEqual(r.status, 403)
        self.assertEqual(call(port, "POST")[0], 200)  # dry-run: logged, not enforced
        m = self.orders.metrics()
        self.assertEqual(m['gatehouse_authz_denied_total{policy="production/no-admin"}'], 1)
        self.assertGreaterEqual(m["gatehouse_authz_dry_run_denied_total"], 1)
        self.assertIn("trial-block-posts", self.orders.logs())


if __name__ == "__main__":
    unittest.main()
