#pragma once
// CertificateAuthority: the mesh's built-in root CA and the workload certificates it signs.
//
// The root (spec/mesh.md "Certificates") is a self-signed ECDSA P-256 certificate valid for
// ten years, subject "O=gatehouse, CN=<trust domain> root" (CN "gatehouse mesh root" when that
// would pass the 64 characters a CN may hold), basicConstraints CA:TRUE and keyUsage
// keyCertSign|cRLSign (both critical), and a critical name constraint permitting only URIs of
// its own trust domain, so that a verifier that honours name constraints (BoringSSL, OpenSSL)
// refuses a certificate this CA signed for another trust domain. That constraint is also where
// a loaded CA learns its trust domain. It lives in
// DATA_DIR/ca/: ca.crt (0644) and ca.key (0600) in a 0700 directory; a key file that group or
// others may read is refused on load. Root rotation (cross-signing) is a later step.
//
// Workload certificates follow the X.509-SVID rules:
//   - exactly one subjectAltName, the URI of the SPIFFE ID (in this CA's trust domain);
//   - basicConstraints CA:FALSE (critical); keyUsage digitalSignature only (critical; never
//     keyCertSign); extKeyUsage serverAuth and clientAuth;
//   - subject "O=gatehouse" (no CN: the identity is the SAN and nothing else);
//   - a random positive 128-bit serial number;
//   - notBefore five minutes in the past (peers' clocks differ; a quarter of the ttl when
//     that is shorter, so a short-lived certificate still renews after issuance, not at
//     once), notAfter = now + ttl,
//     clamped to the root's notAfter (a leaf never outlives its issuer);
//   - subject and authority key identifiers, ECDSA-with-SHA256 signature.
// The CA signs public keys only: keys are made where they are used (keys.h).
//
// Thread safety: a CertificateAuthority is immutable after create()/load(); sign*() may be
// called from any thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/base/status.h"
#include "core/identity/keys.h"
#include "core/identity/spiffe.h"

namespace gh::identity {

class CertificateAuthority {
 public:
  static constexpr int64_t kRootLifetimeSeconds = 3650LL * 86400;  // ten years
  static constexpr int64_t kBackdateSeconds = 300;                 // clock skew allowance
  static constexpr int64_t kDefaultLeafTtlSeconds = 86400;         // MeshConfig.certificateTTL
  static constexpr const char* kCertFile = "ca.crt";
  static constexpr const char* kKeyFile = "ca.key";

  // A new root for `trustDomain`, in memory; save() writes it.
  static Result<std::unique_ptr<CertificateAuthority>> create(std::string_view trustDomain,
                                                              int64_t now);
  // Reads caDir/ca.crt and caDir/ca.key, checks they belong together and that the key file is
  // private.
  static Result<std::unique_ptr<CertificateAuthority>> load(const std::string& caDir);
  // Whether caDir holds a CA (either file present counts: never overwrite half a CA).
  static bool existsIn(const std::string& caDir);

  // Creates caDir (0700) and writes the two files; refuses when existsIn(caDir).
  Status save(const std::string& caDir) const;

  // A workload certificate (DER) for `id` carrying the public key `spkiDer` (a P-256
  // SubjectPublicKeyInfo). Refuses an ID of another trust domain, a ttl <= 0, and signing
  // once the root itself has expired.
  Result<std::string> signPublicKey(std::string_view spkiDer, const SpiffeId& id,
                                    int64_t ttlSeconds, int64_t now) const;
  // As signPublicKey, with the key of a CSR whose signature verifies. The CSR's names are
  // ignored: the caller decides the identity.
  Result<std::string> signCsr(std::string_view csrPem, const SpiffeId& id, int64_t ttlSeconds,
                              int64_t now) const;

  const std::string& trustDomain() const { return trustDomain_; }
  const std::string& certificateDer() const { return certDer_; }
  std::string certificatePem() const;
  // SHA-256 of the root certificate's DER, lowercase hex: what join tokens pin.
  const std::string& fingerprint() const { return fingerprint_; }
  int64_t notAfter() const { return notAfter_; }

  ~CertificateAuthority();

 private:
  CertificateAuthority() = default;
  Status adopt(std::string certDer, PrivateKey key);

  std::string trustDomain_;
  std::string certDer_;
  std::string fingerprint_;
  int64_t notAfter_ = 0;
  std::unique_ptr<PrivateKey> key_;
};

// A fingerprint as the module keeps it: 64 lowercase hex digits. Accepts a "sha256:" prefix,
// upper case and ':' separators (as `openssl x509 -fingerprint` prints); "" when `text` is
// not a SHA-256 fingerprint.
std::string normalizeFingerprint(std::string_view text);

}  // namespace gh::identity
