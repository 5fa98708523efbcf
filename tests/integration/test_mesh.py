"""Mesh hops (spec/mesh.md "Traffic", docs/mesh.md): a local app calls another service through
its node's MESH_OUTBOUND port; the node originates mutual TLS with its workload certificate to
the other node's MESH_INBOUND port, which verifies the caller, forwards to its Workload and
tells it who called in x-forwarded-client-cert. Every bad client certificate is refused in the
handshake with a counted reason; the outbound side refuses an upstream whose identity is not
the Service's. An edge HTTPS listener routes into a mesh Service the same way."""

import datetime
import hashlib
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import svid
from harness import BINARY, Gatehouse, Upstream, free_port, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "unit", "tls", "fixtures")

FRONTEND = svid.spiffe("frontend")
ORDERS = svid.spiffe("orders")


def mesh_config(mtls="STRICT"):
    return f"""apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {{name: default}}
spec: {{trustDomain: cluster.local, mtls: {mtls}}}
"""


def inbound_config(port, app_port, mtls="STRICT"):
    return mesh_config(mtls) + f"""---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {{name: orders, labels: {{app: orders}}}}
spec: {{serviceAccount: orders, address: 127.0.0.1, port: {app_port}}}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: inbound}}
spec: {{address: 127.0.0.1, port: {port}, protocol: MESH_INBOUND}}
"""


def outbound_config(port, edge_port, inbound_port):
    return mesh_config() + f"""---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: outbound}}
spec: {{address: 127.0.0.1, port: {port}, protocol: MESH_OUTBOUND}}
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
kind: Service
metadata: {{name: imposter}}
spec:
  endpoints: [{{address: 127.0.0.1, port: {inbound_port}}}]
  mesh: true
  identity: {svid.spiffe("payments")}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec:
  address: 127.0.0.1
  port: {edge_port}
  protocol: HTTPS
  tls:
    certificates: [{{certFile: {FIXTURES}/ecdsa.crt, keyFile: {FIXTURES}/ecdsa.key}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: edge-orders}}
spec:
  parentRefs: [{{name: edge}}]
  rules:
    - backendRefs: [{{name: orders}}]
"""


def get(port, path, host, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path, headers={"Host": host, **(headers or {})})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def leaf_sha256(data_dir):
    with open(os.path.join(data_dir, "identity", "workload.crt")) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def try_client_cert(port, cert=None, key=None):
    """A TLS 1.3 client with this certificate (or none) sends a request to a MESH_INBOUND port.
    Returns the response bytes, or None when the server refused the handshake."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert, key)
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        t = ctx.wrap_socket(s)
        t.sendall(b"GET /echo HTTP/1.1\r\nHost: orders\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            d = t.recv(65536)
            if not d:
                break
            data += d
        return data or None
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return None
    finally:
        s.close()


class MeshTest(unittest.TestCase):
    """Two nodes from one CA: `front` (identity frontend: outbound + edge) and `back` (identity
    orders: inbound to the orders app)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gh-mesh-")
        ca_dir = os.path.join(cls.tmp, "ca-node")
        subprocess.run([BINARY, "ca", "init", "--data-dir", ca_dir], check=True,
                       capture_output=True)
        cls.ca = svid.Ca.load(os.path.join(ca_dir, "ca"))
        cls.app = Upstream("orders")
        cls.inbound_port, cls.outbound_port, cls.edge_port = free_port(), free_port(), free_port()

        cls.back = Gatehouse(workers=2)
        svid.write_identity(cls.back.data_dir, cls.ca, ORDERS)
        cls.back.apply(inbound_config(cls.inbound_port, cls.app.port))
        cls.back.start()

        cls.front = Gatehouse(workers=2)
        svid.write_identity(cls.front.data_dir, cls.ca, FRONTEND)
        cls.front.apply(outbound_config(cls.outbound_port, cls.edge_port, cls.inbound_port))
        cls.front.start()

    @classmethod
    def tearDownClass(cls):
        cls.front.cleanup()
        cls.back.cleanup()
        cls.app.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def metric(self, node, name):
        return node.metrics().get(name, 0)

    def test_round_trip_over_mtls_names_the_caller(self):
        status, headers, body = get(self.outbound_port, "/echo/x", "orders",
                                    {"X-Forwarded-Client-Cert": "By=evil;URI=spiffe://forged"})
        self.assertEqual(status, 200, body)
        seen = json.loads(body)
        xfcc = [v for k, v in seen["headers"] if k.lower() == "x-forwarded-client-cert"]
        self.assertEqual(xfcc, [f"By={ORDERS};Hash={leaf_sha256(self.front.data_dir)};"
                                f"URI={FRONTEND}"])
        self.assertGreaterEqual(self.metric(self.front, "gatehouse_upstream_tls_handshakes_total"), 1)
        self.assertGreaterEqual(self.metric(self.back, "gatehouse_mesh_mtls_connections_total"), 1)

    def test_certificate_expiry_metric_names_each_certificate(self):
        m = self.front.metrics()
        now = time.time()
        workload = m[f'gatehouse_cert_expiry_timestamp_seconds{{identity="{FRONTEND}"}}']
        self.assertTrue(now + 3000 < workload < now + 3700)  # the 1 h test certificate
        self.assertIn('gatehouse_cert_expiry_timestamp_seconds{identity="ecdsa.test"}', m)
        self.assertGreater(m["gatehouse_mesh_certificate_renewal_timestamp_seconds"], now)

    def test_service_by_name_and_namespace(self):
        self.assertEqual(get(self.outbound_port, "/", "orders.default")[0], 200)
        self.assertEqual(get(self.outbound_port, "/", "orders:15001")[0], 200)
        status, headers, _ = get(self.outbound_port, "/", "nothing-here")
        self.assertEqual(status, 404)
        self.assertEqual(headers.get("x-gatehouse-reason"), "no_route")

    def test_keepalive_reuses_the_mtls_connection(self):
        before = self.metric(self.front, "gatehouse_upstream_tls_handshakes_total")
        c = http.client.HTTPConnection("127.0.0.1", self.outbound_port, timeout=10)
        for _ in range(20):
            c.request("GET", "/", headers={"Host": "orders"})
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
        c.close()
        self.assertLessEqual(self.metric(self.front, "gatehouse_upstream_tls_handshakes_total")
                             - before, 2)

    def test_outbound_refuses_an_upstream_with_another_identity(self):
        key = 'gatehouse_mesh_peer_rejected_total{direction="outbound",reason="identity_mismatch"}'
        before = self.metric(self.front, key)
        status, headers, _ = get(self.outbound_port, "/", "imposter")
        self.assertEqual(status, 502)
        self.assertEqual(headers.get("x-gatehouse-reason"), "upstream_tls_failed")
        self.assertEqual(self.metric(self.front, key), before + 1)
        self.assertIn("expected " + svid.spiffe("payments"), self.front.logs())

    def test_edge_https_routes_into_a_mesh_service(self):
        ctx = ssl.create_default_context(cafile=os.path.join(FIXTURES, "ca.crt"))
        c = http.client.HTTPSConnection("127.0.0.1", self.edge_port, context=ctx, timeout=10)
        try:
            c.request("GET", "/echo/edge", headers={"Host": "www.example.com",
                                                    "X-Forwarded-Client-Cert": "forged"})
            r = c.getresponse()
            body = r.read()
        finally:
            c.close()
        self.assertEqual(r.status, 200, body)
        headers = dict((k.lower(), v) for k, v in json.loads(body)["headers"])
        self.assertEqual(headers["x-forwarded-client-cert"],
                         f"By={ORDERS};Hash={leaf_sha256(self.front.data_dir)};URI={FRONTEND}")
        self.assertEqual(headers["x-forwarded-proto"], "https")

    def test_inbound_accepts_a_valid_client_certificate(self):
        d = tempfile.mkdtemp(dir=self.tmp)
        cert, key = svid.write_pair(d, "ok", *self.ca.issue([svid.spiffe("tester")]))
        data = try_client_cert(self.inbound_port, cert, key)
        self.assertIsNotNone(data)
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:200])
        self.assertIn(b"URI=" + svid.spiffe("tester").encode(), data)

    def test_inbound_refuses_bad_client_certificates_with_a_reason(self):
        d = tempfile.mkdtemp(dir=self.tmp)
        other = svid.Ca.create()
        hour = datetime.timedelta(hours=1)
        cases = {
            "no_certificate": None,
            "untrusted": other.issue([svid.spiffe("frontend")]),
            "expired": self.ca.issue([FRONTEND], not_before=svid.now() - 2 * hour,
                                     not_after=svid.now() - hour),
            "not_yet_valid": self.ca.issue([FRONTEND], not_before=svid.now() + hour,
                                           not_after=svid.now() + 2 * hour),
            "many_uri_sans": self.ca.issue([FRONTEND, svid.spiffe("other")]),
            "leaf_is_ca": self.ca.issue([FRONTEND], is_ca=True),
            "extended_key_usage": self.ca.issue([FRONTEND], eku=("server",)),
            "trust_domain": self.ca.issue([svid.spiffe("frontend", td="example.org")]),
            "no_uri_san": self.ca.issue([]),
        }
        reached = self.app.count()
        for reason, pair in cases.items():
            with self.subTest(reason=reason):
                key = f'gatehouse_mesh_peer_rejected_total{{direction="inbound",reason="{reason}"}}'
                before = self.metric(self.back, key)
                cert = key_path = None
                if pair:
                    cert, key_path = svid.write_pair(d, reason, *pair)
                self.assertIsNone(try_client_cert(self.inbound_port, cert, key_path))
                wait_for(lambda: self.metric(self.back, key) == before + 1, 5, what=key)
        self.assertEqual(self.app.count(), reached)  # nothing above reached the app

    def test_openssl_s_client_with_and_without_a_client_certificate(self):
        d = tempfile.mkdtemp(dir=self.tmp)
        cert, key = svid.write_pair(d, "s_client", *self.ca.issue([svid.spiffe("cli")]))
        request = b"GET /echo HTTP/1.1\r\nHost: orders\r\nConnection: close\r\n\r\n"

        def s_client(*extra):
            return subprocess.run(["openssl", "s_client", "-connect",
                                   f"127.0.0.1:{self.inbound_port}", "-quiet", "-ign_eof",
                                   *extra], input=request, capture_output=True, timeout=20)

        ok = s_client("-cert", cert, "-key", key)
        self.assertIn(b"HTTP/1.1 200", ok.stdout, ok.stderr)
        self.assertIn(b"URI=" + svid.spiffe("cli").encode(), ok.stdout)
        refused = s_client()
        self.assertNotIn(b"HTTP/1.1", refused.stdout)
        self.assertIn(b"alert", refused.stderr)

    def test_inbound_refuses_plaintext_under_strict(self):
        before = self.app.count()
        s = socket.create_connection(("127.0.0.1", self.inbound_port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: orders\r\n\r\n")
        try:
            data = s.recv(65536)
        except ConnectionResetError:
            data = b""
        s.close()
        self.assertFalse(data.startswith(b"HTTP/1.1 200"))
        self.assertEqual(self.app.count(), before)
        self.assertGreaterEqual(
            self.metric(self.back, 'gatehouse_tls_handshake_errors_total{reason="not_tls"}'), 1)


class PermissiveTest(unittest.TestCase):
    """Under mtls: PERMISSIVE an inbound listener also takes plaintext (counted), without a
    peer identity, and still takes mutual TLS."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gh-mesh-")
        ca = svid.Ca.create("permissive test root")
        self.ca = ca
        self.app = Upstream("orders")
        self.port = free_port()
        self.gh = Gatehouse(workers=1)
        svid.write_identity(self.gh.data_dir, ca, ORDERS)
        self.gh.apply(inbound_config(self.port, self.app.port, mtls="PERMISSIVE"))
        self.gh.start()

    def tearDown(self):
        self.gh.cleanup()
        self.app.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_plaintext_and_mtls_both_served(self):
        status, _, body = get(self.port, "/echo", "orders", {"X-Forwarded-Client-Cert": "forged"})
        self.assertEqual(status, 200)
        names = [k.lower() for k, _ in json.loads(body)["headers"]]
        self.assertNotIn("x-forwarded-client-cert", names)
        self.assertEqual(self.gh.metrics()["gatehouse_mesh_plaintext_connections_total"], 1)
        cert, key = svid.write_pair(self.tmp, "c", *self.ca.issue([FRONTEND]))
        data = try_client_cert(self.port, cert, key)
        self.assertIsNotNone(data)
        self.assertIn(b"URI=" + FRONTEND.encode(), data)
        # A certificate that is sent must still be valid.
        other = svid.Ca.create()
        cert, key = svid.write_pair(self.tmp, "bad", *other.issue([FRONTEND]))
        self.assertIsNone(try_client_cert(self.port, cert, key))


class MissingIdentityTest(unittest.TestCase):
    def test_mesh_config_without_identity_is_refused_with_a_reason(self):
        gh = Gatehouse(workers=1)
        try:
            gh.apply(inbound_config(free_port(), free_port()))
            gh.start(wait_ready=False)
            wait_for(lambda: gh.proc.poll() is not None, 10, what="exit")
            self.assertEqual(gh.proc.returncode, 1)
            self.assertIn("no workload identity", gh.logs())
        finally:
            gh.cleanup()


if __name__ == "__main__":
    unittest.main()
