"""The admin listener beyond loopback (spec/admin.md, docs/admin.md "HTTPS"): bound to a
non-loopback address it speaks TLS only, with the node's workload certificate, and a node
without a workload identity refuses admin connections there rather than serve them in
plaintext. Over HTTPS the session cookie is `Secure` and logins and changes work as on
loopback."""

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
from harness import BINARY, Gatehouse, free_port, wait_for

NODE = svid.spiffe("admin-node")


def non_loopback_ip():
    """An address of this machine that is not loopback (the route to a documentation address
    picks the primary interface without sending anything)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.123", 9))
        return s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()


CONFIG = """apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default}
spec: {trustDomain: cluster.local, mtls: STRICT}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: edge}
spec: {address: 127.0.0.1, port: %d, protocol: HTTP}
"""


class AdminNode:
    """A `gatehouse run` whose admin listens on `ip` (Gatehouse.start always uses loopback)."""

    def __init__(self, ip, identity_ca=None):
        self.gh = Gatehouse(workers=1)
        if identity_ca:
            svid.write_identity(self.gh.data_dir, identity_ca, NODE)
        self.gh.apply(CONFIG % free_port())
        self.ip, self.port = ip, free_port()
        self.log = open(self.gh.log_path, "ab")
        self.gh.proc = subprocess.Popen(
            [BINARY, "run", "--data-dir", self.gh.data_dir, "--workers", "1",
             "--admin", f"{ip}:{self.port}", "--log-level", "debug"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.gh.log = self.log
        wait_for(lambda: "gatehouse running" in self.gh.logs() or self.gh.proc.poll() is not None,
                 10, what="startup")
        if self.gh.proc.poll() is not None:
            raise AssertionError(f"gatehouse exited: {self.gh.logs()}")

    def cleanup(self):
        self.gh.cleanup()


@unittest.skipIf(non_loopback_ip() is None, "this machine has no non-loopback IPv4 address")
class AdminHttpsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gh-admin-https-")
        ca_dir = os.path.join(cls.tmp, "ca-node")
        subprocess.run([BINARY, "ca", "init", "--data-dir", ca_dir], check=True,
                       capture_output=True)
        cls.ca = svid.Ca.load(os.path.join(ca_dir, "ca"))
        cls.ca_file = os.path.join(ca_dir, "ca", "ca.crt")
        cls.ip = non_loopback_ip()
        cls.node = AdminNode(cls.ip, identity_ca=cls.ca)

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def tls_context(self):
        ctx = ssl.create_default_context(cafile=self.ca_file)
        # The workload certificate names a SPIFFE ID (URI SAN), not a host name; the chain is
        # what this client checks, as a browser that imported the mesh CA would.
        ctx.check_hostname = False
        return ctx

    def https(self, method, path, body=None, headers=None):
        conn = http.client.HTTPSConnection(self.ip, self.node.port, timeout=10,
                                           context=self.tls_context())
        h = {"Origin": f"https://{self.ip}:{self.node.port}"}
        h.update(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        conn.close()
        return out

    def test_serves_https_with_the_workload_certificate(self):
        with socket.create_connection((self.ip, self.node.port), timeout=10) as raw:
            with self.tls_context().wrap_socket(raw) as tls:
                cert = tls.getpeercert()
        uris = [v for k, v in cert.get("subjectAltName", ()) if k == "URI"]
        self.assertEqual(uris, [NODE])
        status, _, body = self.https("GET", "/ready")
        self.assertEqual(status, 200, body)

    def test_a_client_without_the_mesh_ca_is_refused(self):
        ctx = ssl.create_default_context()  # the system's roots only
        ctx.check_hostname = False
        with socket.create_connection((self.ip, self.node.port), timeout=10) as raw:
            with self.assertRaises(ssl.SSLCertVerificationError):
                ctx.wrap_socket(raw)

    def test_plaintext_http_gets_no_answer(self):
        with socket.create_connection((self.ip, self.node.port), timeout=10) as s:
            s.sendall(b"GET /ready HTTP/1.1\r\nHost: x\r\n\r\n")
            s.settimeout(5)
            data = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except (ConnectionResetError, socket.timeout):
                pass
        self.assertNotIn(b"HTTP/1.1 200", data)
        self.assertFalse(data.startswith(b"HTTP/"), data[:80])

    def test_login_over_https_sets_a_secure_host_cookie(self):
        path = os.path.join(self.node.gh.data_dir, "initial-admin-password")
        password = open(path).read().strip()
        status, hdrs, body = self.https("POST", "/api/v1/login",
                                        {"user": "admin", "password": password})
        self.assertEqual(status, 200, body)
        cookie = hdrs["set-cookie"]
        self.assertTrue(cookie.startswith("__Host-gh_session="), cookie)
        for attr in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
            self.assertIn(attr, cookie)
        # The session works over HTTPS: the session endpoint answers with the account.
        sid = cookie.split(";")[0]
        status, _, body = self.https("GET", "/api/v1/session", headers={"Cookie": sid})
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["user"], "admin")


@unittest.skipIf(non_loopback_ip() is None, "this machine has no non-loopback IPv4 address")
class AdminWithoutIdentityTest(unittest.TestCase):
    def test_refuses_rather_than_serve_plaintext_beyond_loopback(self):
        node = AdminNode(non_loopback_ip())
        try:
            self.assertIn("needs HTTPS", node.gh.logs())
            for attempt in ("plain", "tls"):
                try:
                    with socket.create_connection((node.ip, node.port), timeout=5) as s:
                        if attempt == "tls":
                            ctx = ssl.create_default_context()
                            ctx.check_hostname = False
                            ctx.verify_mode = ssl.CERT_NONE
                            with self.assertRaises((ssl.SSLError, OSError)):
                                ctx.wrap_socket(s)
                            continue
                        s.sendall(b"GET /ready HTTP/1.1\r\nHost: x\r\n\r\n")
                        s.settimeout(5)
                        try:
                            data = s.recv(4096)
                        except (ConnectionResetError, socket.timeout):
                            data = b""
                        self.assertFalse(data.startswith(b"HTTP/"), data[:80])
                except ConnectionRefusedError:
                    pass  # not listening at all is a refusal too
            self.assertIsNone(node.gh.proc.poll(), "the server keeps running")
        finally:
            node.cleanup()


if __name__ == "__main__":
    unittest.main()
