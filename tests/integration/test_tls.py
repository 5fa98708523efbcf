"""HTTPS listeners (docs/tls.md): TLS 1.3 and 1.2, ECDSA and RSA certificates chosen by SNI,
ALPN http/1.1, minVersion, session resumption across workers, certificate change by a new
version without closing connections, X-Forwarded-Proto https, handshake counters, and the
validation of certificate files."""

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

from harness import BINARY, GatehouseTest, free_port, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "unit", "tls", "fixtures")
CA = os.path.join(FIXTURES, "ca.crt")


def leaf_der(name):
    with open(os.path.join(FIXTURES, name + ".crt")) as f:
        pem = f.read()
    first = pem[:pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    return ssl.PEM_cert_to_DER_cert(first)


def tls_config(port, strict_port, upstream_port, certs, strict_certs=("ecdsa",)):
    def cert_list(names, d):
        return "\n".join(f"      - {{certFile: {d}/{n}.crt, keyFile: {d}/{n}.key}}" for n in names)

    return f"""apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec:
  address: 127.0.0.1
  port: {port}
  protocol: HTTPS
  tls:
    certificates:
{cert_list(certs, TlsTest.certdir)}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: strict}}
spec:
  address: 127.0.0.1
  port: {strict_port}
  protocol: HTTPS
  http: {{headTimeout: 1s}}
  tls:
    minVersion: TLS1_3
    certificates:
{cert_list(strict_certs, TlsTest.certdir)}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: app}}
spec:
  endpoints: [{{address: 127.0.0.1, port: {upstream_port}}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: all}}
spec:
  parentRefs: [{{name: edge}}, {{name: strict}}]
  rules:
    - backendRefs: [{{name: app}}]
"""


class TlsTest(GatehouseTest):
    certdir = None

    @classmethod
    def setUpClass(cls):
        # The certificates live in a directory of their own, so a test can add files to it.
        cls.certdir = tempfile.mkdtemp(prefix="gh-tls-")
        for f in os.listdir(FIXTURES):
            shutil.copy(os.path.join(FIXTURES, f), cls.certdir)
        cls.strict_port = free_port()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.certdir, ignore_errors=True)

    @classmethod
    def config(cls):
        return tls_config(cls.port, cls.strict_port, cls.upstream.port,
                          ["ecdsa", "rsa", "wildcard", "rsa-dual"])

    # --- helpers ---

    def context(self, min_version=None, max_version=None, alpn=None):
        ctx = ssl.create_default_context(cafile=CA)
        if min_version:
            ctx.minimum_version = min_version
        if max_version:
            ctx.maximum_version = max_version
        if alpn:
            ctx.set_alpn_protocols(alpn)
        return ctx

    def connect(self, ctx=None, server_name="ecdsa.test", port=None, session=None):
        ctx = ctx or self.context()
        raw = socket.create_connection(("127.0.0.1", port or self.port), timeout=10)
        return ctx.wrap_socket(raw, server_hostname=server_name, session=session)

    def get(self, sock, path="/echo", host="ecdsa.test", close=False, method="GET", body=b""):
        req = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
        if body:
            req += f"Content-Length: {len(body)}\r\n"
        if close:
            req += "Connection: close\r\n"
        sock.sendall((req + "\r\n").encode() + body)
        f = sock.makefile("rb")
        status = int(f.readline().split()[1])
        headers = {}
        while True:
            line = f.readline().decode("latin-1").strip()
            if not line:
                break
            n, v = line.split(":", 1)
            headers[n.strip().lower()] = v.strip()
        data = f.read(int(headers.get("content-length", "0")))
        f.close()
        return status, headers, data

    def metric(self, name):
        return self.gh.metrics().get(name, 0)

    # --- tests ---

    def test_tls13_by_default_with_ecdsa_certificate_and_forwarded_proto(self):
        s = self.connect()
        self.assertEqual(s.version(), "TLSv1.3")
        self.assertEqual(s.getpeercert(binary_form=True), leaf_der("ecdsa"))
        status, _, body = self.get(s, close=True)
        s.close()
        self.assertEqual(status, 200)
        headers = dict((n.lower(), v) for n, v in json.loads(body)["headers"])
        self.assertEqual(headers["x-forwarded-proto"], "https")

    def test_tls12_client(self):
        s = self.connect(self.context(max_version=ssl.TLSVersion.TLSv1_2))
        self.assertEqual(s.version(), "TLSv1.2")
        self.assertIn("ECDHE", s.cipher()[0])
        self.assertEqual(self.get(s, close=True)[0], 200)
        s.close()

    def test_sni_picks_rsa_wildcard_or_default(self):
        cases = [("rsa.test", "rsa"), ("RSA.Test", "rsa"), ("a.wild.test", "wildcard"),
                 ("ecdsa.test", "ecdsa")]
        for name, cert in cases:
            s = self.connect(server_name=name)
            self.assertEqual(s.getpeercert(binary_form=True), leaf_der(cert), name)
            self.assertEqual(self.get(s, host=name, close=True)[0], 200)
            s.close()
        # An unknown name, a name two labels under the wildcard, and no SNI at all get the
        # first certificate (checked without hostname verification).
        ctx = self.context()
        ctx.check_hostname = False
        for name in ["unknown.test", "a.b.wild.test", None]:
            s = self.connect(ctx, server_name=name)
            self.assertEqual(s.getpeercert(binary_form=True), leaf_der("ecdsa"), name)
            s.close()

    def test_rsa_certificate_with_tls12(self):
        s = self.connect(self.context(max_version=ssl.TLSVersion.TLSv1_2), server_name="rsa.test")
        self.assertIn("RSA", s.cipher()[0])
        self.assertEqual(self.get(s, host="rsa.test", close=True)[0], 200)
        s.close()

    def test_same_name_ecdsa_and_rsa_by_client_capability(self):
        # rsa-dual is a (self-signed) RSA certificate for ecdsa.test, listed after the ECDSA one.
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.maximum_version = version
            s = self.connect(ctx)
            self.assertEqual(s.getpeercert(binary_form=True), leaf_der("ecdsa"), version)
            s.close()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")  # a client without ECDSA suites
        s = self.connect(ctx)
        self.assertEqual(s.getpeercert(binary_form=True), leaf_der("rsa-dual"))
        self.assertEqual(self.get(s, close=True)[0], 200)
        s.close()

    def test_alpn(self):
        s = self.connect(self.context(alpn=["h2", "http/1.1"]))
        self.assertEqual(s.selected_alpn_protocol(), "http/1.1")
        s.close()
        s = self.connect(self.context(alpn=["h2"]))  # no overlap: proceed without ALPN
        self.assertIsNone(s.selected_alpn_protocol())
        self.assertEqual(self.get(s, close=True)[0], 200)
        s.close()

    def test_curl(self):
        out = subprocess.run(
            ["curl", "-sS", "--cacert", CA, "--resolve", f"rsa.test:{self.port}:127.0.0.1",
             f"https://rsa.test:{self.port}/echo", "-w", "\n%{http_code} %{ssl_verify_result}"],
            capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        body, tail = out.stdout.rsplit("\n", 1)
        self.assertEqual(tail, "200 0")
        self.assertEqual(json.loads(body)["method"], "GET")

    def test_min_version_tls13_refuses_tls12(self):
        before = self.metric('gatehouse_tls_handshake_errors_total{reason="protocol_version"}')
        with self.assertRaises(ssl.SSLError):
            self.connect(self.context(max_version=ssl.TLSVersion.TLSv1_2), port=self.strict_port)
        wait_for(lambda: self.metric(
            'gatehouse_tls_handshake_errors_total{reason="protocol_version"}') > before,
            what="protocol_version counter")
        s = self.connect(port=self.strict_port)
        self.assertEqual(s.version(), "TLSv1.3")
        self.assertEqual(self.get(s, close=True)[0], 200)
        s.close()

    def test_no_rsa_key_exchange_or_cbc_in_tls12(self):
        before = self.metric('gatehouse_tls_handshake_errors_total{reason="no_shared_cipher"}')
        for cipher in ["AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA"]:
            ctx = self.context(max_version=ssl.TLSVersion.TLSv1_2)
            ctx.set_ciphers(cipher)
            with self.assertRaises(ssl.SSLError, msg=cipher):
                self.connect(ctx, server_name="rsa.test")
        wait_for(lambda: self.metric(
            'gatehouse_tls_handshake_errors_total{reason="no_shared_cipher"}') >= before + 2,
            what="no_shared_cipher counter")

    def test_unfinished_handshake_ends_at_the_head_timeout(self):
        with socket.create_connection(("127.0.0.1", self.strict_port), timeout=10) as s:
            start = time.monotonic()
            s.sendall(b"\x16\x03\x01")  # the start of a ClientHello, and nothing more
            try:
                self.assertEqual(s.recv(4096), b"")
            except ConnectionResetError:
                pass
            self.assertLess(time.monotonic() - start, 5)
        # A finished handshake then waits for its request up to the idle timeout, not 1s.
        s = self.connect(port=self.strict_port)
        time.sleep(1.5)
        self.assertEqual(self.get(s, close=True)[0], 200)
        s.close()

    def test_connection_closed_before_or_during_the_handshake_counts_as_closed(self):
        # A TCP health check (connect, close) and a client giving up mid-ClientHello.
        key = 'gatehouse_tls_handshake_errors_total{reason="closed"}'
        other = self.metric('gatehouse_tls_handshake_errors_total{reason="other"}')
        before = self.metric(key)
        socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"\x16\x03\x01\x00")
        wait_for(lambda: self.metric(key) == before + 2, what="two closed handshakes")
        self.assertEqual(self.metric('gatehouse_tls_handshake_errors_total{reason="other"}'),
                         other)

    def test_plain_http_to_https_port_is_counted(self):
        before = self.metric('gatehouse_tls_handshake_errors_total{reason="not_tls"}')
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            s.settimeout(5)
            try:
                while s.recv(4096):
                    pass
            except (ConnectionResetError, socket.timeout):
                pass
        wait_for(lambda: self.metric(
            'gatehouse_tls_handshake_errors_total{reason="not_tls"}') > before,
            what="not_tls counter")

    def test_session_resumption_across_connections_and_workers(self):
        for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            ctx = self.context(min_version=version, max_version=version)
            s = self.connect(ctx)
            self.assertEqual(self.get(s)[0], 200)  # a TLS 1.3 ticket arrives after the handshake
            session = s.session
            s.close()
            self.assertIsNotNone(session)
            # Several connections, so with two workers both very likely take part.
            for _ in range(8):
                s = self.connect(ctx, session=session)
                self.assertTrue(s.session_reused, version)
                self.assertEqual(self.get(s, close=True)[0], 200)
                s.close()

    def test_large_bodies_both_ways(self):
        s = self.connect()
        status, _, body = self.get(s, "/bytes/3000000")
        self.assertEqual(status, 200)
        self.assertEqual(len(body), 3_000_000)
        payload = b"p" * 2_500_000
        status, _, body = self.get(s, "/echo", method="POST", body=payload)
        self.assertEqual(json.loads(body)["body_len"], len(payload))
        s.close()

    def test_pipelined_requests_in_one_record(self):
        s = self.connect()
        reqs = b"".join(f"GET /echo/p{i} HTTP/1.1\r\nHost: a\r\n\r\n".encode() for i in range(20))
        s.sendall(reqs)  # one write: the requests share TLS records
        f = s.makefile("rb")
        for i in range(20):
            status = int(f.readline().split()[1])
            headers = {}
            while True:
                line = f.readline().decode("latin-1").strip()
                if not line:
                    break
                n, v = line.split(":", 1)
                headers[n.strip().lower()] = v.strip()
            body = f.read(int(headers["content-length"]))
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["target"], f"/echo/p{i}")
        f.close()
        s.close()

    def test_websocket_tunnel_over_tls(self):
        s = self.connect()
        s.sendall(b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                  b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(65536)
        self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
        for payload in (b"\x81\x05hello", b"x" * 300_000):
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                got += s.recv(65536)
            self.assertEqual(got, payload)
        s.close()

    def test_expired_certificate_is_a_warning(self):
        # Refusing it would make a restart after the expiry serve nothing at all.
        path = os.path.join(self.certdir, "expired.yaml")
        with open(path, "w") as f:
            f.write(f"""apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: old}}
spec:
  port: {free_port()}
  protocol: HTTPS
  tls: {{certificates: [{{certFile: {self.certdir}/expired.crt, keyFile: {self.certdir}/expired.key}}]}}
""")
        r = subprocess.run([BINARY, "validate", "-f", path], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, re.escape(f"{path}:7:35: Listener default/old: spec.tls."
                                             "certificates[0].certFile: ") +
                         ".*certificate expired at 2001-01-01T00:00:00Z")

    def test_zz_new_version_changes_certificate_for_new_connections_only(self):
        old = self.connect()
        self.assertEqual(old.getpeercert(binary_form=True), leaf_der("ecdsa"))
        self.assertEqual(self.get(old)[0], 200)
        version = self.gh.config_version()
        self.gh.apply(tls_config(self.port, self.strict_port, self.upstream.port,
                                 ["ecdsa2", "rsa", "wildcard", "rsa-dual"]))
        self.gh.wait_version(version + 1)
        new = self.connect()
        self.assertEqual(new.getpeercert(binary_form=True), leaf_der("ecdsa2"))
        self.assertEqual(self.get(new, close=True)[0], 200)
        new.close()
        # The connection opened before the change still works, on its original certificate.
        self.assertEqual(self.get(old)[0], 200)
        self.assertEqual(old.getpeercert(binary_form=True), leaf_der("ecdsa"))
        old.close()

    def test_zzz_sighup_rereads_certificate_files_replaced_in_place(self):
        # After test_zz the first certificate is ecdsa2: replace its files (as certbot would)
        # and tell the server with SIGHUP, without a new version.
        version = self.gh.config_version()
        before = self.connect()
        self.assertEqual(before.getpeercert(binary_form=True), leaf_der("ecdsa2"))
        for ext in ("crt", "key"):
            shutil.copy(os.path.join(FIXTURES, f"ecdsa.{ext}"),
                        os.path.join(self.certdir, f"ecdsa2.{ext}.tmp"))
            os.replace(os.path.join(self.certdir, f"ecdsa2.{ext}.tmp"),
                       os.path.join(self.certdir, f"ecdsa2.{ext}"))
        self.gh.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.connect().getpeercert(binary_form=True) == leaf_der("ecdsa"), 5,
                 what="the replaced certificate")
        self.assertEqual(self.gh.config_version(), version)  # no new version was needed
        self.assertEqual(self.get(before, close=True)[0], 200)  # open connections go on
        before.close()

    def test_bad_certificate_files_are_refused_with_position(self):
        d = self.certdir
        bad = [
            (f"{{certFile: {d}/missing.crt, keyFile: {d}/ecdsa.key}}", "certFile",
             "cannot read"),
            (f"{{certFile: {d}/ecdsa.crt, keyFile: {d}/rsa.key}}", "keyFile",
             "does not match"),
            (f"{{certFile: {d}/ecdsa.key, keyFile: {d}/ecdsa.key}}", "certFile",
             "no PEM certificate"),
        ]
        for item, field, what in bad:
            text = f"""apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: other}}
spec:
  port: {free_port()}
  protocol: HTTPS
  tls:
    certificates:
      - {item}
"""
            r = self.gh.apply(text, check=False)
            self.assertNotEqual(r.returncode, 0, text)
            col = 9 + item.index(field) + len(field) + 2  # the value after "field: "
            self.assertRegex(r.stderr, re.escape(f":9:{col}: Listener default/other: "
                                                 f"spec.tls.certificates[0].{field}: ") +
                             ".*" + what)


if __name__ == "__main__":
    import unittest
    unittest.main()
