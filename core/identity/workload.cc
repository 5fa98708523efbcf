#include "core/identity/workload.h"

#include <stdio.h>
#include <unistd.h>

#include "core/base/sha256.h"
#include "core/identity/encoding.h"
#include "core/identity/files.h"
#include "core/identity/x509_util.h"

namespace gh::identity {
namespace {

constexpr const char* kNextSuffix = ".next";

bool keyMatches(const PrivateKey& key, const std::string& certDer) {
  bssl::UniquePtr<X509> cert = x509::parseDer(certDer);
  bool ok = cert && X509_check_private_key(cert.get(), key.get()) == 1;
  x509::lastError();
  return ok;
}

}  // namespace

int64_t renewalTime(int64_t notBefore, int64_t notAfter, std::string_view jitterSeed) {
  int64_t life = notAfter - notBefore;
  if (life <= 0) return notBefore;
  Sha256 h;
  h.update(jitterSeed);
  Sha256::Digest d = h.digest();
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i) r = (r << 8) | d[i];
  int64_t maxJitter = life / 10;
  int64_t jitter = static_cast<int64_t>(r % static_cast<uint64_t>(maxJitter + 1));
  return notBefore + life / 2 + jitter;
}

int64_t WorkloadIdentity::renewAt() const {
  return renewalTime(certificate.notBefore, certificate.notAfter, certificate.serialHex);
}

bool WorkloadIdentity::existsIn(const std::string& identityDir) {
  return fileExists(identityDir + "/" + kCertFile) || fileExists(identityDir + "/" + kKeyFile);
}

Result<WorkloadIdentity> WorkloadIdentity::load(const std::string& identityDir) {
  const std::string keyPath = identityDir + "/" + kKeyFile;
  const std::string certPath = identityDir + "/" + kCertFile;
  const std::string bundlePath = identityDir + "/" + kBundleFile;
  const std::string nextPath = keyPath + kNextSuffix;

  auto certPem = readWholeFile(certPath);
  if (!certPem.ok()) return certPem.status();
  auto certs = readPemCertificates(*certPem);
  if (!certs.ok()) return Status::error(certPath + ": " + certs.status().message());

  if (fileExists(nextPath)) {
    auto nextPem = readPrivateFile(nextPath);
    auto next = nextPem.ok() ? PrivateKey::fromPem(*nextPem) : Result<PrivateKey>(nextPem.status());
    if (next.ok() && keyMatches(*next, certs->front().der)) {
      if (::rename(nextPath.c_str(), keyPath.c_str()) != 0)
        return Status::error(nextPath + ": cannot finish an interrupted renewal");
    } else {
      ::unlink(nextPath.c_str());  // the certificate was never replaced: the old pair stands
    }
  }

  auto keyPem = readPrivateFile(keyPath);
  if (!keyPem.ok()) return keyPem.status();
  auto key = PrivateKey::fromPem(*keyPem);
  if (!key.ok()) return Status::error(keyPath + ": " + key.status().message());
  if (!keyMatches(*key, certs->front().der))
    return Status::error(keyPath + ": does not belong to " + certPath);

  WorkloadIdentity w;
  w.certificate = std::move(certs->front());
  if (w.certificate.uriSans.size() != 1)
    return Status::error(certPath + ": expected exactly one URI subjectAltName");
  auto id = SpiffeId::parse(w.certificate.uriSans.front());
  if (!id.ok()) return Status::error(certPath + ": " + id.status().message());
  w.id = std::move(*id);

  auto bundlePem = readWholeFile(bundlePath);
  if (!bundlePem.ok()) return bundlePem.status();
  auto bundle = readPemCertificates(*bundlePem);
  if (!bundle.ok()) return Status::error(bundlePath + ": " + bundle.status().message());
  w.bundle = std::move(*bundle);
  w.key = std::make_shared<const PrivateKey>(std::move(*key));
  return w;
}

Status WorkloadIdentity::store(const std::string& identityDir, const PrivateKey& key,
                               std::string_view certDer, std::string_view bundlePem) {
  Status s = makePrivateDir(identityDir);
  if (!s.ok()) return s;
  const std::string keyPath = identityDir + "/" + kKeyFile;
  const std::string nextPath = keyPath + kNextSuffix;
  s = writeFileAtomic(nextPath, key.pem(), 0600);
  if (!s.ok()) return s;
  s = writeFileAtomic(identityDir + "/" + kCertFile, pemEncode(certDer, "CERTIFICATE"), 0644);
  if (s.ok()) s = writeFileAtomic(identityDir + "/" + kBundleFile, bundlePem, 0644);
  if (s.ok() && ::rename(nextPath.c_str(), keyPath.c_str()) != 0)
    s = Status::error(keyPath + ": cannot replace the key");
  return s;
}

Result<WorkloadIdentity> issueFromLocalCa(const CertificateAuthority& ca,
                                          const std::string& identityDir, const SpiffeId& id,
                                          int64_t ttlSeconds, int64_t now) {
  auto key = PrivateKey::generate();
  if (!key.ok()) return key.status();
  auto cert = ca.signPublicKey(key->publicKeyDer(), id, ttlSeconds, now);
  if (!cert.ok()) return cert.status();
  Status s = WorkloadIdentity::store(identityDir, *key, *cert, ca.certificatePem());
  if (!s.ok()) return s;
  return WorkloadIdentity::load(identityDir);
}

}  // namespace gh::identity
