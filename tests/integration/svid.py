"""Test certificates for the mesh: X.509-SVIDs signed by a Gatehouse CA (read from its data
dir) or by a CA made here, with any field deliberately wrong, and node identity directories
written the way `gatehouse join` leaves them (DATA_DIR/identity/workload.key, workload.crt,
bundle.crt). Uses python3-cryptography (Debian's package)."""

import datetime
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

UTC = datetime.timezone.utc


def now():
    return datetime.datetime.now(UTC)


class Ca:
    """A CA: its certificate and key (cryptography objects)."""

    def __init__(self, cert, key):
        self.cert = cert
        self.key = key

    @classmethod
    def load(cls, ca_dir):
        with open(os.path.join(ca_dir, "ca.crt"), "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(os.path.join(ca_dir, "ca.key"), "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        return cls(cert, key)

    @classmethod
    def create(cls, name="other test root"):
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now() - datetime.timedelta(days=1))
                .not_valid_after(now() + datetime.timedelta(days=365))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                             False), critical=True)
                .sign(key, hashes.SHA256()))
        return cls(cert, key)

    def pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, uris, not_before=None, not_after=None, is_ca=False,
              eku=("server", "client"), key=None):
        """A leaf for `uris` (a list of URI SANs). Returns (cert_pem, key_pem)."""
        key = key or ec.generate_private_key(ec.SECP256R1())
        nb = not_before or now() - datetime.timedelta(minutes=5)
        na = not_after or now() + datetime.timedelta(hours=1)
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gatehouse")]))
             .issuer_name(self.cert.subject).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(nb).not_valid_after(na)
             .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(True, False, False, False, False, is_ca, is_ca, False,
                                          False), critical=True))
        if uris:
            b = b.add_extension(x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(u) for u in uris]), critical=False)
        usages = {"server": ExtendedKeyUsageOID.SERVER_AUTH,
                  "client": ExtendedKeyUsageOID.CLIENT_AUTH}
        if eku:
            b = b.add_extension(x509.ExtendedKeyUsage([usages[u] for u in eku]), critical=False)
        cert = b.sign(self.key, hashes.SHA256())
        return (cert.public_bytes(serialization.Encoding.PEM),
                key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))


def spiffe(sa, ns="default", td="cluster.local"):
    return f"spiffe://{td}/ns/{ns}/sa/{sa}"


def write_identity(data_dir, ca, uri, ttl=datetime.timedelta(hours=1)):
    """Gives a node data dir the identity `uri` signed by `ca`, as `gatehouse join` would."""
    d = os.path.join(data_dir, "identity")
    os.makedirs(d, mode=0o700, exist_ok=True)
    os.chmod(d, 0o700)
    cert, key = ca.issue([uri], not_after=now() + ttl)
    path = os.path.join(d, "workload.key")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    with open(os.path.join(d, "workload.crt"), "wb") as f:
        f.write(cert)
    with open(os.path.join(d, "bundle.crt"), "wb") as f:
        f.write(ca.pem())


def write_pair(directory, name, cert_pem, key_pem):
    """Writes name.crt / name.key; returns their paths."""
    c, k = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
    with open(c, "wb") as f:
        f.write(cert_pem)
    with open(k, "wb") as f:
        f.write(key_pem)
    return c, k
