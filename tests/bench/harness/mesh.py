"""Two-hop mesh chains for the `mtls` scenario, and their certificates.

    wrk --plain HTTP, Host: orders--> outbound hop --mTLS, keep-alive--> inbound hop --> upstream

Gatehouse chain: a node with a MESH_OUTBOUND listener (identity .../sa/frontend) and a node
with a MESH_INBOUND listener in front of the Workload `orders` (identity .../sa/orders), each
`gatehouse run --workers 1`. nginx chain: the same with two nginx instances (outbound:
`proxy_pass https://` to an upstream block with `keepalive`, client certificate, peer
verification against the CA; inbound: `ssl_verify_client on`). Both chains: TLS 1.3,
TLS_AES_128_GCM_SHA256, X25519, both hops pinned to the proxy CPU, one worker each.

Certificates: one CA made by `gatehouse ca init`, and one P-256 key per identity. Gatehouse
gets X.509-SVIDs (a SPIFFE URI SAN) written as `gatehouse join` leaves them
(DATA_DIR/identity/); nginx gets certificates from the same CA for the same keys, with a DNS
name as well (nginx checks the server's DNS name; the client certificate is only chain-
verified). Uses python3-cryptography, like tests/integration/svid.py.
"""

import datetime
import os
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from . import proc as procmod
from . import servers as srv
from . import tls as tlsmod

TRUST_DOMAIN = "cluster.local"


def spiffe(sa):
    return f"spiffe://{TRUST_DOMAIN}/ns/default/sa/{sa}"


FRONTEND = spiffe("frontend")
ORDERS = spiffe("orders")
HOST = "orders"  # the Host the client sends to the outbound hop


class Pki:
    """The CA (from `gatehouse ca init`) and one P-256 key per identity."""

    def __init__(self, binary, directory):
        """binary: build/gatehouse (its `ca init` makes the CA), or None when it is not built
        (the nginx chain is still measured, with a CA made here the same way: P-256)."""
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        if binary:
            ca_data = os.path.join(directory, "ca-node")
            r = subprocess.run([binary, "ca", "init", "--data-dir", ca_data],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            if r.returncode != 0:
                raise srv.StartError(f"gatehouse ca init failed:\n{r.stdout.decode()}")
            ca_dir = os.path.join(ca_data, "ca")
            with open(os.path.join(ca_dir, "ca.crt"), "rb") as f:
                self.ca_cert = x509.load_pem_x509_certificate(f.read())
            with open(os.path.join(ca_dir, "ca.key"), "rb") as f:
                self.ca_key = serialization.load_pem_private_key(f.read(), password=None)
            self.ca_file = os.path.join(ca_dir, "ca.crt")
        else:
            self.ca_key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench mesh CA")])
            now = datetime.datetime.now(datetime.timezone.utc)
            self.ca_cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                            .public_key(self.ca_key.public_key())
                            .serial_number(x509.random_serial_number())
                            .not_valid_before(now - datetime.timedelta(days=1))
                            .not_valid_after(now + datetime.timedelta(days=7))
                            .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                           critical=True)
                            .sign(self.ca_key, hashes.SHA256()))
            self.ca_file = os.path.join(directory, "ca.crt")
            with open(self.ca_file, "wb") as f:
                f.write(self.ca_cert.public_bytes(serialization.Encoding.PEM))
        self.keys = {FRONTEND: ec.generate_private_key(ec.SECP256R1()),
                     ORDERS: ec.generate_private_key(ec.SECP256R1())}

    def issue(self, uri, dns_names=()):
        """(cert_pem, key_pem) for identity `uri` with its key; optional DNS SANs."""
        key = self.keys[uri]
        now = datetime.datetime.now(datetime.timezone.utc)
        sans = [x509.UniformResourceIdentifier(uri)] + [x509.DNSName(d) for d in dns_names]
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                                            "gatehouse")]))
                .issuer_name(self.ca_cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(hours=12))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                             False, False), critical=True)
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                      ExtendedKeyUsageOID.CLIENT_AUTH]),
                               critical=False)
                .sign(self.ca_key, hashes.SHA256()))
        return (cert.public_bytes(serialization.Encoding.PEM),
                key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))

    def write_identity(self, data_dir, uri):
        """DATA_DIR/identity/{workload.key (0600), workload.crt, bundle.crt}, dir 0700."""
        d = os.path.join(data_dir, "identity")
        os.makedirs(d, mode=0o700, exist_ok=True)
        os.chmod(d, 0o700)
        cert, key = self.issue(uri)
        fd = os.open(os.path.join(d, "workload.key"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        with open(os.path.join(d, "workload.crt"), "wb") as f:
            f.write(cert)
        with open(os.path.join(d, "bundle.crt"), "wb") as f:
            f.write(self.ca_cert.public_bytes(serialization.Encoding.PEM))

    def write_pair(self, directory, name, uri, dns_names=()):
        """name.crt / name.key in directory; returns ServerCert."""
        cert, key = self.issue(uri, dns_names)
        c, k = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
        with open(c, "wb") as f:
            f.write(cert)
        fd = os.open(k, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        return tlsmod.ServerCert(c, k)


# --- Gatehouse nodes -----------------------------------------------------------------------

def _mesh_config():
    return f"""apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {{name: default}}
spec: {{trustDomain: {TRUST_DOMAIN}, mtls: STRICT}}
"""


class GatehouseInbound(srv.Gatehouse):
    """MESH_INBOUND on `port` in front of Workload orders (the upstream); identity orders."""

    name = "gatehouse-inbound"
    label = "Gatehouse inbound"

    def __init__(self, ctx, port, cpu, upstream_port, admin_port, binary, pki):
        super().__init__(ctx, port, cpu, upstream_port, admin_port, binary)
        self.pki = pki

    def prepare_data_dir(self, data):
        self.pki.write_identity(data, ORDERS)

    def config_yaml(self):
        return _mesh_config() + f"""---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {{name: orders}}
spec: {{serviceAccount: orders, address: 127.0.0.1, port: {self.upstream_port}}}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: inbound}}
spec: {{address: 127.0.0.1, port: {self.port}, protocol: MESH_INBOUND}}
"""


class GatehouseOutbound(srv.Gatehouse):
    """MESH_OUTBOUND on `port`; Service orders (mesh) at the inbound node; identity frontend."""

    name = "gatehouse-outbound"
    label = "Gatehouse outbound"

    def __init__(self, ctx, port, cpu, inbound_port, admin_port, binary, pki):
        super().__init__(ctx, port, cpu, inbound_port, admin_port, binary)
        self.pki = pki

    def prepare_data_dir(self, data):
        self.pki.write_identity(data, FRONTEND)

    def config_yaml(self):
        return _mesh_config() + f"""---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: outbound}}
spec: {{address: 127.0.0.1, port: {self.port}, protocol: MESH_OUTBOUND}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: orders}}
spec:
  endpoints: [{{address: 127.0.0.1, port: {self.upstream_port}}}]
  mesh: true
  identity: {ORDERS}
"""


# --- nginx nodes ---------------------------------------------------------------------------

_KEEPALIVE = """        keepalive 64;
        keepalive_requests 100000000;
        keepalive_timeout 120s;"""

# The same buffering as the h1 nginx peer (servers.NginxProxy).
_PROXY_BUFFERS = """            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffer_size 16k;
            proxy_buffers 8 16k;
            proxy_busy_buffers_size 32k;
            proxy_max_temp_file_size 0;"""


class NginxInbound(srv.NginxBase):
    """TLS 1.3 listener requiring a client certificate from the CA, to the upstream."""

    name = "nginx-inbound"
    label = "nginx inbound"

    def __init__(self, ctx, port, cpu, upstream_port, pki):
        super().__init__(ctx, port, cpu)
        self.upstream_port = upstream_port
        self.pki = pki

    def start(self):
        self._prepare_dir()
        cert = self.pki.write_pair(self.dir, "orders", ORDERS, dns_names=[HOST])
        http = f"""    upstream app {{
        server 127.0.0.1:{self.upstream_port};
{_KEEPALIVE}
    }}
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    server {{
        listen 127.0.0.1:{self.port} ssl backlog=4096;
        ssl_certificate {cert.cert};
        ssl_certificate_key {cert.key};
        ssl_protocols TLSv1.3;
        ssl_verify_client on;
        ssl_client_certificate {self.pki.ca_file};
        location / {{
            proxy_pass http://app;
{_PROXY_BUFFERS}
        }}
    }}"""
        self._write_and_start(http)


class NginxOutbound(srv.NginxBase):
    """Plain HTTP listener, to the inbound hop over mTLS with keep-alive and verification."""

    name = "nginx-outbound"
    label = "nginx outbound"

    def __init__(self, ctx, port, cpu, inbound_port, pki):
        super().__init__(ctx, port, cpu)
        self.inbound_port = inbound_port
        self.pki = pki

    def start(self):
        self._prepare_dir()
        cert = self.pki.write_pair(self.dir, "frontend", FRONTEND)
        http = f"""    upstream orders {{
        server 127.0.0.1:{self.inbound_port};
{_KEEPALIVE}
    }}
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    server {{
        listen 127.0.0.1:{self.port} backlog=4096;
        location / {{
            proxy_pass https://orders;
{_PROXY_BUFFERS}
            proxy_ssl_certificate {cert.cert};
            proxy_ssl_certificate_key {cert.key};
            proxy_ssl_trusted_certificate {self.pki.ca_file};
            proxy_ssl_verify on;
            proxy_ssl_name {HOST};
            proxy_ssl_protocols TLSv1.3;
            proxy_ssl_conf_command Ciphersuites {tlsmod.CIPHERSUITE};
            proxy_ssl_session_reuse on;
        }}
    }}"""
        self._write_and_start(http)


# --- chains --------------------------------------------------------------------------------

class Chain:
    """Two hops measured as one server: wrk talks to `outbound`; CPU, liveness and pinning
    are those of both processes (proc.ProcGroup)."""

    def __init__(self, name, label, outbound, inbound, is_gatehouse):
        self.name = name
        self.label = label
        self.outbound = outbound
        self.inbound = inbound
        self.is_gatehouse = is_gatehouse
        self.port = outbound.port
        self.cpu = outbound.cpu
        self.tls = None
        self.dir = os.path.dirname(outbound.dir)
        self.proc = None

    def hops(self):
        return [self.outbound, self.inbound]

    def start(self):
        try:
            self.inbound.start()
            self.outbound.start()
        except Exception:
            self.stop()
            raise
        self.proc = procmod.ProcGroup([self.outbound.proc, self.inbound.proc])

    def stop(self):
        self.outbound.stop()
        self.inbound.stop()
        self.proc = None

    def url(self, path="/"):
        return self.outbound.url(path)

    def http_connection(self, timeout=5):
        return self.outbound.http_connection(timeout)

    def version(self):
        return self.outbound.version()

    def problems_in_logs(self):
        return ([f"outbound: {ln}" for ln in self.outbound.problems_in_logs()]
                + [f"inbound: {ln}" for ln in self.inbound.problems_in_logs()])


def chains(ctx, up_port, pki):
    """The nginx chain and the Gatehouse chain (ports: outbound base+81 / base+80, inbound
    base+85 / base+84; Gatehouse admin base+90 / base+91)."""
    cpu = ctx.proxy_cpu
    nginx = Chain("nginx", "nginx chain",
                  NginxOutbound(ctx, ctx.port(81), cpu, ctx.port(85), pki),
                  NginxInbound(ctx, ctx.port(85), cpu, up_port, pki), is_gatehouse=False)
    gatehouse = Chain("gatehouse", "Gatehouse chain",
                      GatehouseOutbound(ctx, ctx.port(80), cpu, ctx.port(84), ctx.port(90),
                                        ctx.gatehouse, pki),
                      GatehouseInbound(ctx, ctx.port(84), cpu, up_port, ctx.port(91),
                                       ctx.gatehouse, pki), is_gatehouse=True)
    return [nginx, gatehouse]
