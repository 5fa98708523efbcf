"""Lua hooks read the mTLS peer through the real binary (issue 7: "reading the peer
certificate"): on a MESH_INBOUND listener, a script attached to it sees the caller's
certificate — presented, subject, URI SAN, SHA-256 digest — through Envoy's
streamInfo():downstreamSslConnection(), and the verified SPIFFE ID through Gatehouse's
streamInfo():peerPrincipal(); the app behind it receives what the script wrote."""

import hashlib
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest

import svid
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from harness import BINARY, Gatehouse, Upstream, free_port

FRONTEND = svid.spiffe("frontend")
ORDERS = svid.spiffe("orders")

SCRIPT = """
function envoy_on_request(h)
  local ssl = h:streamInfo():downstreamSslConnection()
  if ssl and ssl:peerCertificatePresented() then
    h:headers():add("x-client-subject", ssl:subjectPeerCertificate())
    h:headers():add("x-client-uri", ssl:uriSanPeerCertificate()[1])
    h:headers():add("x-client-digest", ssl:sha256PeerCertificateDigest())
  end
  h:headers():add("x-peer-principal", h:streamInfo():peerPrincipal() or "none")
end
"""


def config(port, app_port):
    indented = "\n".join("      " + line for line in SCRIPT.strip().splitlines())
    return f"""apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {{name: default}}
spec: {{trustDomain: cluster.local, mtls: STRICT}}
---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {{name: orders, labels: {{app: orders}}}}
spec: {{serviceAccount: orders, address: 127.0.0.1, port: {app_port}}}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: inbound}}
spec: {{address: 127.0.0.1, port: {port}, protocol: MESH_INBOUND}}
---
apiVersion: gatehouse.dev/v1
kind: LuaScript
metadata: {{name: peer-headers}}
spec:
  source:
    inline: |
{indented}
  attachTo:
    - kind: Listener
      name: inbound
"""


class LuaPeerCertificateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gh-lua-peer-")
        ca_dir = os.path.join(cls.tmp, "ca-node")
        subprocess.run([BINARY, "ca", "init", "--data-dir", ca_dir], check=True,
                       capture_output=True)
        cls.ca = svid.Ca.load(os.path.join(ca_dir, "ca"))
        cls.ca_file = os.path.join(ca_dir, "ca", "ca.crt")
        cls.app = Upstream("orders")
        cls.port = free_port()
        cls.node = Gatehouse(workers=1)
        svid.write_identity(cls.node.data_dir, cls.ca, ORDERS)
        cls.node.apply(config(cls.port, cls.app.port))
        cls.node.start()
        cert, key = cls.ca.issue([FRONTEND])
        cls.client_cert, cls.client_key = svid.write_pair(cls.tmp, "frontend", cert, key)
        cls.client_der = x509.load_pem_x509_certificate(cert).public_bytes(Encoding.DER)

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()
        cls.app.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_script_reads_the_callers_certificate_and_principal(self):
        ctx = ssl.create_default_context(cafile=self.ca_file)
        ctx.check_hostname = False  # the node's SVID names a SPIFFE ID, not a host
        ctx.load_cert_chain(self.client_cert, self.client_key)
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10, context=ctx)
        conn.request("GET", "/orders/1", headers={"Host": "orders"})
        r = conn.getresponse()
        r.read()
        conn.close()
        self.assertEqual(r.status, 200)
        got = self.app.requests[-1]
        self.assertEqual(got.header("x-client-uri"), FRONTEND)
        self.assertEqual(got.header("x-peer-principal"), FRONTEND)
        self.assertEqual(got.header("x-client-digest"),
                         hashlib.sha256(self.client_der).hexdigest())
        self.assertIn("O=gatehouse", got.header("x-client-subject"))
        m = {k: v for k, v in self.node.metrics().items() if k.startswith("gatehouse_lua_")}
        runs = [v for k, v in m.items() if k.startswith("gatehouse_lua_executions_total{")
                and "peer-headers" in k]
        self.assertEqual(runs, [1.0], m)
        self.assertFalse([k for k, v in m.items()
                          if k.startswith("gatehouse_lua_errors_total{") and v], m)


if __name__ == "__main__":
    unittest.main()
