"""Rotation without drops (spec/mesh.md "Certificates"): with a 30 s certificate TTL both mesh
nodes renew under load — the CA node by signing its own new key, the joined node over mTLS on
the enrollment port with its current certificate — and meanwhile the edge listener's
certificate is replaced by a new version; not one request fails. New handshakes use the new
certificates (the Hash in x-forwarded-client-cert changes, the edge presents the new leaf);
established connections finish with the old ones."""

import http.client
import json
import os
import re
import socket
import ssl
import threading
import time
import unittest

from harness import Gatehouse, Upstream, free_port, wait_for

TTL_SECONDS = 30
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "unit", "tls", "fixtures")


def edge_config(port, cert):
    return f"""---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec:
  address: 127.0.0.1
  port: {port}
  protocol: HTTPS
  tls:
    certificates: [{{certFile: {FIXTURES}/{cert}.crt, keyFile: {FIXTURES}/{cert}.key}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: edge-orders}}
spec:
  parentRefs: [{{name: edge}}]
  rules:
    - backendRefs: [{{name: orders}}]
"""


def mesh_config(ca_port):
    return f"""apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {{name: default}}
spec: {{trustDomain: cluster.local, mtls: STRICT, certificateTTL: {TTL_SECONDS}s,
        caAddress: "127.0.0.1:{ca_port}"}}
"""


class RotationTest(unittest.TestCase):
    def setUp(self):
        self.app = Upstream("orders")
        self.ca_port, self.inbound_port, self.outbound_port = free_port(), free_port(), free_port()
        self.edge_port = free_port()
        # The inbound node holds the CA: it issues its own identity (its Workload's service
        # account) and serves enrollment on ca_port.
        self.back = Gatehouse(workers=2)
        self.back.cli("ca", "init", check=True)
        self.back.apply(mesh_config(self.ca_port) + f"""---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {{name: orders}}
spec: {{serviceAccount: orders, address: 127.0.0.1, port: {self.app.port}}}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: inbound}}
spec: {{address: 127.0.0.1, port: {self.inbound_port}, protocol: MESH_INBOUND}}
""")
        self.back.start()
        # The outbound node joins with a token.
        token = self.back.cli("ca", "token", "create", "--workload", "frontend",
                              check=True).stdout.strip().splitlines()[-1].strip()
        self.front = Gatehouse(workers=2)
        joined = self.front.cli("join", "--ca", f"127.0.0.1:{self.ca_port}", "--token", token)
        self.assertEqual(joined.returncode, 0, joined.stderr)
        self.front_config = mesh_config(self.ca_port) + f"""---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: outbound}}
spec: {{address: 127.0.0.1, port: {self.outbound_port}, protocol: MESH_OUTBOUND}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: orders}}
spec:
  endpoints: [{{address: 127.0.0.1, port: {self.inbound_port}}}]
  mesh: true
  identity: spiffe://cluster.local/ns/default/sa/orders
  trafficPolicy: {{connectionPool: {{http: {{idleTimeout: 2s}}}}}}
"""
        self.front.apply(self.front_config + edge_config(self.edge_port, "ecdsa"))
        self.front.start()

    def tearDown(self):
        self.front.cleanup()
        self.back.cleanup()
        self.app.stop()

    def renewals(self, node):
        return len(re.findall(r"workload identity spiffe://\S+ \(serial", node.logs()))

    def test_renewal_under_load_fails_no_request(self):
        stop = threading.Event()
        failures, hashes, counts = [], set(), [0]
        lock = threading.Lock()

        def client(keepalive):
            conn = None
            while not stop.is_set():
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", self.outbound_port,
                                                          timeout=10)
                    conn.request("GET", "/echo", headers={"Host": "orders"})
                    r = conn.getresponse()
                    body = r.read()
                    if r.status != 200:
                        raise AssertionError(f"{r.status} {r.getheader('x-gatehouse-reason')}")
                    xfcc = dict(json.loads(body)["headers"]).get("x-forwarded-client-cert", "")
                    with lock:
                        counts[0] += 1
                        hashes.add(xfcc.split(";")[1])
                    if not keepalive:
                        conn.close()
                        conn = None
                except Exception as e:  # noqa: BLE001 - every failure is the finding
                    with lock:
                        failures.append(repr(e))
                    conn = None
                time.sleep(0.005)
            if conn:
                conn.close()

        edge_leaves = set()
        tls_context = ssl.create_default_context(cafile=os.path.join(FIXTURES, "ca.crt"))

        def edge_client():  # a new TLS connection per request
            while not stop.is_set():
                try:
                    c = http.client.HTTPSConnection("127.0.0.1", self.edge_port, timeout=10,
                                                    context=tls_context)
                    c.request("GET", "/", headers={"Host": "ecdsa.test"})
                    r = c.getresponse()
                    r.read()
                    if r.status != 200:
                        raise AssertionError(f"edge {r.status} {r.getheader('x-gatehouse-reason')}")
                    with lock:
                        counts[0] += 1
                        edge_leaves.add(c.sock.getpeercert(binary_form=True))
                    c.close()
                except Exception as e:  # noqa: BLE001
                    with lock:
                        failures.append("edge: " + repr(e))
                time.sleep(0.005)

        threads = [threading.Thread(target=client, args=(k,)) for k in (True, True, False, False)]
        threads += [threading.Thread(target=edge_client) for _ in range(2)]
        for t in threads:
            t.start()
        try:
            time.sleep(2)
            # A new edge certificate by a new version, under load.
            version = self.front.config_version()
            self.front.apply(self.front_config + edge_config(self.edge_port, "ecdsa2"))
            self.front.wait_version(version + 1)
            # Both nodes renew at least once: within about half the TTL plus jitter.
            wait_for(lambda: self.renewals(self.front) >= 2 and self.renewals(self.back) >= 2,
                     TTL_SECONDS + 10, interval=0.5, what="a renewal on both nodes")
            time.sleep(3)  # traffic after the swap, on new and on pooled connections
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(failures, [])
        self.assertGreater(counts[0], 200)
        # The outbound node's certificate changed, and new handshakes presented the new one.
        self.assertGreaterEqual(len(hashes), 2, hashes)
        self.assertEqual(len(edge_leaves), 2)  # the old and the new edge certificate
        self.assertIn("renewed", self.front.logs() + self.back.logs())
        m = self.front.metrics()
        self.assertEqual(m.get("gatehouse_upstream_tls_handshake_errors_total", 0), 0)


if __name__ == "__main__":
    unittest.main()
