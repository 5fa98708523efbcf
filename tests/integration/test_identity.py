"""The mesh CA and this node's identity through the CLI: ca init, ca token create/list,
cert issue, cert status; files and modes on disk; and the openssl CLI's opinion of what we
issue (it must read the certificates and verify the chain, with the TLS client and server
purposes)."""

import base64
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
import unittest

from harness import BINARY


def gh(data_dir, *args):
    return subprocess.run([BINARY, *args, "--data-dir", data_dir], capture_output=True,
                          text=True, timeout=60)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def openssl(*args):
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)


class IdentityTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gh-it-identity-")
        self.data = os.path.join(self.dir, "data")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def init(self, *extra):
        r = gh(self.data, "ca", "init", *extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_ca_init_creates_private_files_and_prints_the_fingerprint(self):
        r = self.init("--trust-domain", "example.org")
        ca = os.path.join(self.data, "ca")
        self.assertEqual(mode(ca), 0o700)
        self.assertEqual(mode(os.path.join(ca, "ca.key")), 0o600)
        self.assertEqual(mode(os.path.join(ca, "ca.crt")), 0o644)
        self.assertIn("trust domain example.org", r.stdout)
        fp = [l for l in r.stdout.splitlines() if l.startswith("fingerprint sha256:")]
        self.assertEqual(len(fp), 1, r.stdout)
        # The fingerprint is openssl's SHA-256 of the certificate.
        o = openssl("x509", "-in", os.path.join(ca, "ca.crt"), "-noout", "-fingerprint",
                    "-sha256")
        self.assertEqual(o.returncode, 0, o.stderr)
        self.assertEqual(o.stdout.split("=", 1)[1].strip().replace(":", "").lower(),
                         fp[0].split(":", 1)[1])
        text = openssl("x509", "-in", os.path.join(ca, "ca.crt"), "-noout", "-text").stdout
        self.assertIn("CA:TRUE", text)
        self.assertIn("Certificate Sign, CRL Sign", text)
        self.assertIn("CN = example.org root", text)
        self.assertIn("URI:example.org", text)  # the name constraint

    def test_a_second_init_is_refused_and_changes_nothing(self):
        self.init()
        before = open(os.path.join(self.data, "ca", "ca.crt")).read()
        r = gh(self.data, "ca", "init")
        self.assertEqual(r.returncode, 1)
        self.assertIn("a CA already exists", r.stderr)
        self.assertTrue(r.stderr.startswith("gatehouse: ca init: "), r.stderr)
        self.assertEqual(open(os.path.join(self.data, "ca", "ca.crt")).read(), before)

    def test_usage_errors(self):
        for args, want in [(("ca",), "expected a command"), (("ca", "frob"), "unknown command"),
                           (("ca", "init", "--trust-domain", "Bad.Domain"), "lower case"),
                           (("ca", "token", "create"), "--workload is required"),
                           (("ca", "token", "create", "--workload", "w", "--ttl", "9999h"),
                            "1s to 168h"),
                           (("cert",), "expected a command"), (("cert", "issue"), "--workload is required")]:
            r = gh(self.data, *args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(want, r.stderr, args)
        for cmd in (("ca", "--help"), ("ca", "init", "--help"), ("ca", "token", "create", "--help"),
                    ("cert", "status", "--help"), ("cert", "issue", "--help")):
            r = gh(self.data, *cmd)
            self.assertEqual(r.returncode, 0, cmd)
            self.assertIn("usage: gatehouse", r.stdout)

    def test_without_a_ca_token_and_issue_cannot_work(self):
        r = gh(self.data, "ca", "token", "create", "--workload", "web")
        self.assertEqual(r.returncode, 3)
        self.assertIn("gatehouse ca init creates one", r.stderr)
        r = gh(self.data, "cert", "issue", "--workload", "web")
        self.assertEqual(r.returncode, 3)
        r = gh(self.data, "cert", "status")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no workload identity", r.stderr)
        self.assertIn("gatehouse join", r.stderr)

    def test_token_create_prints_a_token_that_pins_the_ca(self):
        fp = self.init().stdout.split("sha256:")[1].split()[0]
        r = gh(self.data, "ca", "token", "create", "--workload", "web", "--namespace", "shop",
               "--ttl", "10m")
        self.assertEqual(r.returncode, 0, r.stderr)
        token = r.stdout.strip()
        self.assertEqual(len(r.stdout.splitlines()), 1)
        prefix, claims, secret = token.split(".")
        self.assertEqual(prefix, "ghjt")
        fields = base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)).decode().split(" ")
        self.assertEqual(fields[0], "1")
        self.assertEqual(fields[2], "spiffe://cluster.local/ns/shop/sa/web")
        self.assertAlmostEqual(int(fields[3]), time.time() + 600, delta=30)
        self.assertEqual(fields[4], fp)
        self.assertEqual(len(base64.urlsafe_b64decode(secret + "=")), 32)
        # The CA keeps a record, private, without the secret.
        records = os.path.join(self.data, "ca", "tokens")
        self.assertEqual(mode(records), 0o600)
        self.assertNotIn(secret, open(records).read())
        listed = json.loads(gh(self.data, "ca", "token", "list", "-o", "json").stdout)
        self.assertEqual([(t["id"], t["state"], t["identity"]) for t in listed],
                         [(fields[1], "unused", "spiffe://cluster.local/ns/shop/sa/web")])
        # Two tokens for the same workload are two different tokens.
        again = gh(self.data, "ca", "token", "create", "--workload", "web", "--namespace", "shop")
        self.assertNotEqual(again.stdout.strip(), token)

    def test_cert_issue_and_status_on_the_ca_node(self):
        self.init()
        r = gh(self.data, "cert", "issue", "--workload", "gateway", "--namespace", "mesh")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("issued spiffe://cluster.local/ns/mesh/sa/gateway", r.stdout)
        ident = os.path.join(self.data, "identity")
        self.assertEqual(mode(ident), 0o700)
        self.assertEqual(mode(os.path.join(ident, "workload.key")), 0o600)
        self.assertEqual(mode(os.path.join(ident, "workload.crt")), 0o644)
        self.assertEqual(mode(os.path.join(ident, "bundle.crt")), 0o644)

        r = gh(self.data, "cert", "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        for want in ("identity:     spiffe://cluster.local/ns/mesh/sa/gateway", "serial:",
                     "not after:", "renewal:", "CA sha256:"):
            self.assertIn(want, r.stdout)
        s = json.loads(gh(self.data, "cert", "status", "-o", "json").stdout)
        idn = s["identity"]
        self.assertEqual(idn["spiffeId"], "spiffe://cluster.local/ns/mesh/sa/gateway")
        self.assertFalse(idn["expired"])
        self.assertIsNone(s["problem"])
        now = time.time()
        self.assertAlmostEqual(idn["notAfterUnix"], now + 86400, delta=30)
        # Renewal at half life plus 0-10% jitter (the life includes the 5 min backdating).
        life = 86400 + 300
        start = idn["notAfterUnix"] - life
        self.assertGreaterEqual(idn["renewAtUnix"], start + life // 2)
        self.assertLessEqual(idn["renewAtUnix"], start + life // 2 + life // 10)
        self.assertEqual(s["ca"]["trustDomain"], "cluster.local")
        self.assertEqual(idn["bundle"], [s["ca"]["fingerprint"]])

        # Serial as openssl reads it.
        o = openssl("x509", "-in", os.path.join(ident, "workload.crt"), "-noout", "-serial")
        self.assertEqual(o.stdout.strip().split("=")[1].lower().lstrip("0"), idn["serial"])

        # Another identity needs --force; the same one is simply re-issued.
        r = gh(self.data, "cert", "issue", "--workload", "other")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--force", r.stderr)
        r = gh(self.data, "cert", "issue", "--workload", "gateway", "--namespace", "mesh")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = gh(self.data, "cert", "issue", "--workload", "other", "--force")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("spiffe://cluster.local/ns/default/sa/other",
                      gh(self.data, "cert", "status").stdout)

    def test_openssl_accepts_the_issued_leaf(self):
        self.init()
        self.assertEqual(gh(self.data, "cert", "issue", "--workload", "web").returncode, 0)
        crt = os.path.join(self.data, "identity", "workload.crt")
        ca = os.path.join(self.data, "ca", "ca.crt")
        text = openssl("x509", "-in", crt, "-noout", "-text")
        self.assertEqual(text.returncode, 0, text.stderr)
        t = text.stdout
        self.assertIn("Signature Algorithm: ecdsa-with-SHA256", t)
        self.assertIn("NIST CURVE: P-256", t)
        self.assertIn("Subject: O = gatehouse\n", t)
        self.assertIn("X509v3 Basic Constraints: critical\n                CA:FALSE", t)
        self.assertIn("X509v3 Key Usage: critical\n                Digital Signature\n", t)
        self.assertIn("TLS Web Server Authentication, TLS Web Client Authentication", t)
        self.assertEqual(t.count("URI:"), 1)
        self.assertIn("URI:spiffe://cluster.local/ns/default/sa/web", t)
        for purpose in ("sslserver", "sslclient"):
            v = openssl("verify", "-CAfile", ca, "-purpose", purpose, crt)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
            self.assertIn(": OK", v.stdout)
        # The bundle the node keeps is the CA, and verifies the leaf just the same.
        bundle = os.path.join(self.data, "identity", "bundle.crt")
        self.assertEqual(open(bundle).read(), open(ca).read())
        # And the private key is the certificate's (openssl agrees on the public half).
        key = os.path.join(self.data, "identity", "workload.key")
        pub_from_key = openssl("pkey", "-in", key, "-pubout").stdout
        pub_from_crt = openssl("x509", "-in", crt, "-noout", "-pubkey").stdout
        self.assertEqual(pub_from_key, pub_from_crt)

    def test_a_restarted_node_keeps_its_identity_and_refuses_a_loose_key(self):
        self.init()
        self.assertEqual(gh(self.data, "cert", "issue", "--workload", "web").returncode, 0)
        first = json.loads(gh(self.data, "cert", "status", "-o", "json").stdout)["identity"]
        second = json.loads(gh(self.data, "cert", "status", "-o", "json").stdout)["identity"]
        self.assertEqual(first, {**second, "secondsToRenewal": first["secondsToRenewal"]})
        key = os.path.join(self.data, "identity", "workload.key")
        os.chmod(key, 0o644)
        r = gh(self.data, "cert", "status")
        self.assertEqual(r.returncode, 1)
        self.assertIn("mode 0644", r.stderr)
        os.chmod(key, 0o600)
        os.chmod(os.path.join(self.data, "ca", "ca.key"), 0o640)
        r = gh(self.data, "ca", "token", "create", "--workload", "x")
        self.assertEqual(r.returncode, 3)
        self.assertIn("refusing it", r.stderr)


if __name__ == "__main__":
    unittest.main()
