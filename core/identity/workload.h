#pragma once
// WorkloadIdentity: this node's own workload certificate, its private key and the trust
// bundle, as kept in DATA_DIR/identity/ (a 0700 directory):
//   workload.key  PKCS#8 PEM, mode 0600, generated on this node and never sent anywhere
//   workload.crt  the X.509-SVID (PEM), mode 0644
//   bundle.crt    the trust bundle: the roots of our trust domain (PEM), mode 0644
// Loaded at start, so a node restarted after a reboot keeps its identity without a new token
// (renewal is authenticated by the certificate itself, spec/mesh.md "Enrollment").
//
// Crash safety of a renewal, which replaces key and certificate together: the new key is
// written as workload.key.next, then the certificate and the bundle (each atomically), then
// workload.key.next is renamed over workload.key. load() finishes an interrupted renewal (the
// certificate matches the .next key) or discards it (it does not), so a crash at any point
// leaves a matching pair.
//
// Renewal schedule: renewAt = notBefore + half the lifetime + a jitter of 0-10% of the
// lifetime, so a fleet enrolled together does not renew together. The jitter is derived from
// the certificate's serial number, so it is the same across restarts and in `cert status`.
//
// A WorkloadIdentity is a loaded value, not shared state: whoever renews loads a new one.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/identity/ca.h"
#include "core/identity/certificate.h"
#include "core/identity/keys.h"
#include "core/identity/spiffe.h"

namespace gh::identity {

struct WorkloadIdentity {
  static constexpr const char* kKeyFile = "workload.key";
  static constexpr const char* kCertFile = "workload.crt";
  static constexpr const char* kBundleFile = "bundle.crt";

  SpiffeId id;
  CertificateInfo certificate;
  std::vector<CertificateInfo> bundle;
  std::shared_ptr<const PrivateKey> key;

  int64_t lifetime() const { return certificate.notAfter - certificate.notBefore; }
  int64_t renewAt() const;

  // Reads the three files; checks the key is private and matches the certificate, and that the
  // certificate carries exactly one SPIFFE ID. Finishes or discards an interrupted store().
  static Result<WorkloadIdentity> load(const std::string& identityDir);
  // Whether identityDir holds a workload certificate or key.
  static bool existsIn(const std::string& identityDir);

  // Writes key, certificate (DER, the leaf) and bundle (PEM) as described above.
  static Status store(const std::string& identityDir, const PrivateKey& key,
                      std::string_view certDer, std::string_view bundlePem);
};

// notBefore + (notAfter - notBefore) / 2 + jitter, the jitter in [0, lifetime / 10] taken
// from a hash of `jitterSeed`. Pure.
int64_t renewalTime(int64_t notBefore, int64_t notAfter, std::string_view jitterSeed);

// On the CA node: a new key made here, a certificate for `id` signed by the local CA, and the
// CA as the bundle, stored in identityDir. No network, no token: holding the CA key is the
// authority.
Result<WorkloadIdentity> issueFromLocalCa(const CertificateAuthority& ca,
                                          const std::string& identityDir, const SpiffeId& id,
                                          int64_t ttlSeconds, int64_t now);

}  // namespace gh::identity
