#include "core/identity/enrollment.h"

#include "core/base/sha256.h"
#include "core/identity/certificate.h"
#include "core/identity/encoding.h"
#include "core/identity/x509_util.h"

namespace gh::identity {

Result<IssuedCertificate> EnrollmentAuthority::issue(const SpiffeId& id, std::string_view csrPem,
                                                     int64_t now) {
  auto der = ca_.signCsr(csrPem, id, ttl_, now);
  if (!der.ok()) return der.status();
  return IssuedCertificate{pemEncode(*der, "CERTIFICATE"), ca_.certificatePem()};
}

Result<IssuedCertificate> EnrollmentAuthority::enroll(std::string_view tokenText,
                                                      std::string_view csrPem, int64_t now) {
  // Check the CSR before spending the token: a node whose CSR is broken may retry.
  auto spki = csrPublicKey(csrPem);
  if (!spki.ok()) return spki.status();
  auto id = tokens_.redeem(tokenText, now);
  if (!id.ok()) return id.status();
  return issue(*id, csrPem, now);
}

Result<IssuedCertificate> EnrollmentAuthority::renew(const SpiffeId& peer, std::string_view csrPem,
                                                     int64_t now) {
  if (peer.empty()) return Status::error("renewal needs the client's verified certificate");
  return issue(peer, csrPem, now);
}

Result<JoinAttempt> prepareJoin(std::string_view tokenText, int64_t now) {
  auto token = JoinToken::parse(tokenText);
  if (!token.ok()) return token.status();
  if (now >= token->expiresAt)
    return Status::error("join token " + token->id + ": expired (ask for a new one)");
  auto key = PrivateKey::generate();
  if (!key.ok()) return key.status();
  auto csr = createCsr(*key, token->spiffeId);
  if (!csr.ok()) return csr.status();
  return JoinAttempt{std::move(*token), std::move(*key), std::move(*csr)};
}

SvidVerdict verifyPinnedServer(const std::vector<std::string>& chainDer, const JoinToken& token,
                               int64_t now) {
  const std::string* pinned = nullptr;
  for (const std::string& der : chainDer)
    if (Sha256::hex(der) == token.caFingerprint) pinned = &der;
  if (!pinned) {
    SvidVerdict v;
    v.error = SvidError::kUntrusted;
    v.detail = "the server's chain does not hold the CA the token pins (sha256 " +
               token.caFingerprint + ")";
    return v;
  }
  std::vector<TrustBundle> bundle = {{std::string(token.spiffeId.trustDomain()), {*pinned}}};
  return verifySvid(chainDer, bundle, now, SvidRole::kServer);
}

Result<WorkloadIdentity> acceptIssued(const IssuedCertificate& issued, const PrivateKey& key,
                                      const SpiffeId& expected,
                                      const std::vector<std::string>& trustedRootsDer,
                                      const std::string& identityDir, int64_t now) {
  auto leaf = pemDecode(issued.certificatePem, "CERTIFICATE");
  if (!leaf.ok()) return leaf.status();
  if (leaf->size() != 1)
    return Status::error("the CA sent " + std::to_string(leaf->size()) +
                         " certificates where one was expected");
  std::vector<TrustBundle> bundle = {{std::string(expected.trustDomain()), trustedRootsDer}};
  SvidVerdict v = verifySvid({leaf->front()}, bundle, now);
  if (!v.ok())
    return Status::error(std::string("the issued certificate does not verify (") +
                         svidErrorName(v.error) + "): " + v.detail);
  if (!(v.id == expected))
    return Status::error("the issued certificate is for " + v.id.uri() + ", not " + expected.uri());
  bssl::UniquePtr<X509> cert = x509::parseDer(leaf->front());
  if (!cert || X509_check_private_key(cert.get(), key.get()) != 1) {
    x509::lastError();
    return Status::error("the issued certificate does not carry this node's key");
  }
  auto roots = readPemCertificates(issued.bundlePem);
  if (!roots.ok()) return Status::error("trust bundle: " + roots.status().message());
  bool anchored = false;
  for (const CertificateInfo& r : *roots)
    for (const std::string& t : trustedRootsDer) anchored = anchored || r.der == t;
  if (!anchored) return Status::error("the trust bundle sent does not hold the trusted CA");
  Status s = WorkloadIdentity::store(identityDir, key, leaf->front(), issued.bundlePem);
  if (!s.ok()) return s;
  return WorkloadIdentity::load(identityDir);
}

}  // namespace gh::identity
