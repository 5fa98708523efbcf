#pragma once
// PrivateKey: an ECDSA P-256 key pair, the only kind of key the mesh uses (spec/mesh.md).
//
// Keys are generated on the node that uses them and never leave it: the only serialisations
// are the PKCS#8 PEM written to the node's own 0600 files and the public half (in a CSR or as
// SubjectPublicKeyInfo). A PrivateKey is move-only, immutable once made, and may be used from
// any thread (BoringSSL's EVP_PKEY signing is thread-safe on a shared key).

#include <string>
#include <string_view>

#include "core/base/status.h"
#include "core/identity/spiffe.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace gh::identity {

class PrivateKey {
 public:
  static Result<PrivateKey> generate();
  // PKCS#8 ("PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY") PEM; refuses any key but P-256.
  static Result<PrivateKey> fromPem(std::string_view pem);

  PrivateKey(PrivateKey&& o) noexcept : key_(o.key_) { o.key_ = nullptr; }
  PrivateKey& operator=(PrivateKey&& o) noexcept;
  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;
  ~PrivateKey();

  std::string pem() const;           // PKCS#8 PEM, for the node's own key file only
  std::string publicKeyDer() const;  // SubjectPublicKeyInfo DER
  EVP_PKEY* get() const { return key_; }

 private:
  explicit PrivateKey(EVP_PKEY* key) : key_(key) {}
  EVP_PKEY* key_ = nullptr;
};

// A PKCS#10 certificate signing request (PEM) for `id`, signed by `key`: what `gatehouse join`
// sends. The CA takes only the public key and the proof of possession from it; the identity
// it signs is the one its join token (or the current certificate) names, never the CSR's.
Result<std::string> createCsr(const PrivateKey& key, const SpiffeId& id);

// The public key (SubjectPublicKeyInfo DER) of a CSR whose self-signature verifies; refuses
// keys other than P-256.
Result<std::string> csrPublicKey(std::string_view csrPem);

}  // namespace gh::identity
