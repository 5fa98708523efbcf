"""Enrollment over the network with the real binary: `gatehouse join` against the CA node's
enrollment server (MeshConfig.caAddress), `cert status` and `cert renew` on the joined node,
single-use tokens, a token pinning another CA, and the exit codes of spec/cli.md.

The CA node is a `gatehouse run` on a data dir with a CA (`ca init`), its own identity
(`cert issue`) and a MeshConfig naming caAddress. When that run does not listen on the
caAddress port (EnrollmentServer not wired into `gatehouse run` yet), the tests that need it are
skipped with a message saying so; the client-side checks run regardless.
"""

import base64
import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
import unittest

from harness import BINARY, Gatehouse, free_port


def gh(data_dir, *args, stdin=None):
    return subprocess.run([BINARY, *args, "--data-dir", data_dir], capture_output=True,
                          text=True, timeout=60, input=stdin)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def make_token(ca_data, workload="web", namespace="shop"):
    r = gh(ca_data, "ca", "token", "create", "--workload", workload, "--namespace", namespace)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def with_pin(token, fingerprint):
    """The token with its claims' CA fingerprint replaced (the claims are not signed)."""
    prefix, claims, secret = token.split(".")
    text = base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)).decode()
    fields = text.split(" ")
    fields[4] = fingerprint
    claims = base64.urlsafe_b64encode(" ".join(fields).encode()).decode().rstrip("=")
    return ".".join([prefix, claims, secret])


def token_state(ca_data, token):
    token_id = base64.urlsafe_b64decode(token.split(".")[1] + "==").decode().split(" ")[1]
    r = gh(ca_data, "ca", "token", "list", "-o", "json")
    for rec in json.loads(r.stdout):
        if rec["id"] == token_id:
            return rec["state"]
    return None


class JoinClientTest(unittest.TestCase):
    """What `gatehouse join` decides without a CA answering."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gh-it-join-")
        self.ca = os.path.join(self.dir, "ca-node")
        self.node = os.path.join(self.dir, "node")
        r = gh(self.ca, "ca", "init")
        self.assertEqual(r.returncode, 0, r.stderr)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_usage_errors_exit_2(self):
        for args, want in [((), "--ca HOST:PORT and --token TOKEN are required"),
                           (("--ca", "127.0.0.1:15012"), "are required"),
                           (("--ca", "nohost", "--token", "x"), "expected HOST:PORT"),
                           (("--ca", "127.0.0.1:99999", "--token", "x"), "1 to 65535"),
                           (("--ca", "127.0.0.1:1", "--token", "ghjt.bad"), "join token"),
                           (("--frob",), "unknown option")]:
            r = gh(self.node, "join", *args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(want, r.stderr)
            self.assertTrue(r.stderr.startswith("gatehouse: join"), r.stderr)
        r = gh(self.node, "join", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: gatehouse join", r.stdout)
        r = gh(self.node, "cert", "renew", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: gatehouse cert renew", r.stdout)

    def test_an_unreachable_ca_exits_3_and_spends_nothing(self):
        token = make_token(self.ca)
        port = free_port()  # nothing listens there
        start = time.monotonic()
        r = gh(self.node, "join", "--ca", f"127.0.0.1:{port}", "--token", token)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn(f"cannot reach the CA at 127.0.0.1:{port}", r.stderr)
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual(token_state(self.ca, token), "unused")
        self.assertFalse(os.path.exists(os.path.join(self.node, "identity", "workload.key")))

    def test_an_expired_token_is_refused_before_any_network(self):
        token = make_token(self.ca)
        # Rewrite the claims' expiry into the past: the node refuses it itself (exit 1).
        prefix, claims, secret = token.split(".")
        fields = base64.urlsafe_b64decode(claims + "==").decode().split(" ")
        fields[3] = str(int(time.time()) - 10)
        claims = base64.urlsafe_b64encode(" ".join(fields).encode()).decode().rstrip("=")
        r = gh(self.node, "join", "--ca", "127.0.0.1:1", "--token", ".".join([prefix, claims, secret]))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("expired", r.stderr)

    def test_an_existing_identity_needs_force(self):
        r = gh(self.ca, "cert", "issue", "--workload", "gateway")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = gh(self.ca, "join", "--ca", "127.0.0.1:1", "--token", make_token(self.ca))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("already has a workload identity", r.stderr)
        self.assertIn("--force", r.stderr)

    def test_cert_renew_without_identity_or_address(self):
        r = gh(self.node, "cert", "renew")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("gatehouse join obtains one", r.stderr)
        gh(self.ca, "cert", "issue", "--workload", "gateway")
        r = gh(self.ca, "cert", "renew")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("gatehouse cert issue", r.stderr)


class EnrollmentTest(unittest.TestCase):
    """A CA node running `gatehouse run` with MeshConfig.caAddress, and nodes joining it."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="gh-it-enroll-")
        cls.ca_data = os.path.join(cls.dir, "ca-node")
        os.makedirs(cls.ca_data)
        for args in (("ca", "init"), ("cert", "issue", "--workload", "gateway",
                                      "--namespace", "mesh")):
            r = gh(cls.ca_data, *args)
            assert r.returncode == 0, r.stderr
        cls.fingerprint = json.loads(gh(cls.ca_data, "cert", "status", "-o", "json").stdout)[
            "ca"]["fingerprint"]
        cls.port = free_port()
        cls.address = f"127.0.0.1:{cls.port}"
        cls.gw = Gatehouse(data_dir=cls.ca_data)
        applied = cls.gw.apply(f"""apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {{name: default}}
spec: {{trustDomain: cluster.local, caAddress: "{cls.address}"}}
""", check=False)
        cls.skip_reason = None
        if applied.returncode != 0:
            cls.skip_reason = ("this build does not accept a MeshConfig with caAddress: "
                               + applied.stderr.strip())
            return
        cls.gw.start()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not listening(cls.port):
            time.sleep(0.05)
        if not listening(cls.port):
            cls.skip_reason = (f"gatehouse run does not listen on MeshConfig.caAddress "
                               f"{cls.address}: the EnrollmentServer is not wired into "
                               f"core/server yet")

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        if self.skip_reason:
            self.skipTest(self.skip_reason)
        self.node = tempfile.mkdtemp(prefix="node-", dir=self.dir)

    def join(self, token, *extra):
        return gh(self.node, "join", "--ca", self.address, "--token", token, *extra)

    def test_join_end_to_end_then_status_and_renew(self):
        token = make_token(self.ca_data)
        r = self.join(token)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("joined as spiffe://cluster.local/ns/shop/sa/web", r.stdout)
        self.assertIn("serial:", r.stdout)
        self.assertIn("renewal:", r.stdout)
        self.assertIn(self.fingerprint, r.stdout)
        ident = os.path.join(self.node, "identity")
        self.assertEqual(mode(ident), 0o700)
        self.assertEqual(mode(os.path.join(ident, "workload.key")), 0o600)
        with open(os.path.join(ident, "ca-address")) as f:
            self.assertEqual(f.read().strip(), self.address)
        # The openssl CLI agrees the certificate chains to the bundle, for both TLS roles.
        for purpose in ("sslclient", "sslserver"):
            o = subprocess.run(["openssl", "verify", "-purpose", purpose, "-CAfile",
                                os.path.join(ident, "bundle.crt"),
                                os.path.join(ident, "workload.crt")],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(o.returncode, 0, o.stdout + o.stderr)

        status = gh(self.node, "cert", "status", "-o", "json")
        self.assertEqual(status.returncode, 0, status.stderr)
        before = json.loads(status.stdout)["identity"]
        self.assertEqual(before["spiffeId"], "spiffe://cluster.local/ns/shop/sa/web")
        self.assertEqual(token_state(self.ca_data, token), "used")

        # Renewal by the current certificate, to the recorded address: no token.
        key_before = open(os.path.join(ident, "workload.key")).read()
        r = gh(self.node, "cert", "renew")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("renewed spiffe://cluster.local/ns/shop/sa/web", r.stdout)
        after = json.loads(gh(self.node, "cert", "status", "-o", "json").stdout)["identity"]
        self.assertNotEqual(after["serial"], before["serial"])
        self.assertNotEqual(open(os.path.join(ident, "workload.key")).read(), key_before)
        self.assertIn("joined as", self.gw.logs())
        self.assertIn("renewed spiffe://cluster.local/ns/shop/sa/web", self.gw.logs())

    def test_a_token_is_single_use(self):
        token = make_token(self.ca_data, "once")
        self.assertEqual(self.join(token).returncode, 0)
        other = tempfile.mkdtemp(prefix="node-", dir=self.dir)
        r = gh(other, "join", "--ca", self.address, "--token", token)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("already used", r.stderr)
        self.assertNotIn(token.split(".")[2], r.stderr + self.gw.logs())  # the secret is not echoed
        self.assertNotEqual(gh(other, "cert", "status").returncode, 0)

    def test_a_token_pinning_another_ca_exits_1_and_sends_nothing(self):
        token = make_token(self.ca_data, "pinned")
        r = self.join(with_pin(token, "ab" * 32))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"the CA at {self.address} is not the one the token pins (sha256 "
                      + "ab" * 32, r.stderr)
        self.assertEqual(token_state(self.ca_data, token), "unused")
        self.assertFalse(os.path.exists(os.path.join(self.node, "identity", "workload.crt")))
        # The genuine token still works.
        self.assertEqual(self.join(token).returncode, 0)

    def test_token_from_stdin_and_force(self):
        r = gh(self.node, "join", "--ca", self.address, "--token", "-",
               stdin=make_token(self.ca_data, "first") + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.join(make_token(self.ca_data, "second"))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("--force", r.stderr)
        r = self.join(make_token(self.ca_data, "second"), "--force")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("spiffe://cluster.local/ns/shop/sa/second", r.stdout)


if __name__ == "__main__":
    unittest.main()
