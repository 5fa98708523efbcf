#include "core/identity/keys.h"

#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/pem.h>

#include "core/identity/encoding.h"
#include "core/identity/x509_util.h"

namespace gh::identity {

PrivateKey& PrivateKey::operator=(PrivateKey&& o) noexcept {
  if (this != &o) {
    EVP_PKEY_free(key_);
    key_ = o.key_;
    o.key_ = nullptr;
  }
  return *this;
}

PrivateKey::~PrivateKey() {
  EVP_PKEY_free(key_);
}

Result<PrivateKey> PrivateKey::generate() {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (!ec || !key || !EC_KEY_generate_key(ec.get()) || !EVP_PKEY_assign_EC_KEY(key.get(), ec.get()))
    return Status::error("generating a P-256 key: " + x509::lastError());
  ec.release();  // owned by key now
  return PrivateKey(key.release());
}

Result<PrivateKey> PrivateKey::fromPem(std::string_view pem) {
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Status::error("not a PEM private key (" + x509::lastError() + ")");
  if (!x509::isP256(key.get())) return Status::error("not an ECDSA P-256 key");
  return PrivateKey(key.release());
}

std::string PrivateKey::pem() const {
  bssl::ScopedCBB cbb;
  uint8_t* data = nullptr;
  size_t len = 0;
  if (!CBB_init(cbb.get(), 256) || !EVP_marshal_private_key(cbb.get(), key_) ||
      !CBB_finish(cbb.get(), &data, &len))
    return {};
  std::string der(reinterpret_cast<char*>(data), len);
  OPENSSL_cleanse(data, len);
  OPENSSL_free(data);
  std::string out = pemEncode(der, "PRIVATE KEY");
  OPENSSL_cleanse(der.data(), der.size());
  return out;
}

std::string PrivateKey::publicKeyDer() const {
  return x509::publicKeyDer(key_);
}

Result<std::string> createCsr(const PrivateKey& key, const SpiffeId& id) {
  bssl::UniquePtr<X509_REQ> req(X509_REQ_new());
  if (!req || !X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) ||
      !X509_REQ_set_pubkey(req.get(), key.get()))
    return Status::error("building a CSR: " + x509::lastError());
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const uint8_t*>("gatehouse"),
                             -1, -1, 0);
  // The requested SAN is informative (logs, operators reading the CSR); the CA ignores it.
  bssl::UniquePtr<GENERAL_NAMES> sans(GENERAL_NAMES_new());
  GENERAL_NAME* gn = GENERAL_NAME_new();
  ASN1_IA5STRING* uri = ASN1_IA5STRING_new();
  ASN1_STRING_set(uri, id.uri().data(), static_cast<int>(id.uri().size()));
  GENERAL_NAME_set0_value(gn, GEN_URI, uri);
  sk_GENERAL_NAME_push(sans.get(), gn);
  bssl::UniquePtr<STACK_OF(X509_EXTENSION)> exts(sk_X509_EXTENSION_new_null());
  X509_EXTENSION* ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, sans.get());
  if (!ext || !sk_X509_EXTENSION_push(exts.get(), ext) ||
      !X509_REQ_add_extensions(req.get(), exts.get()) ||
      !X509_REQ_sign(req.get(), key.get(), EVP_sha256()))
    return Status::error("signing a CSR: " + x509::lastError());
  uint8_t* der = nullptr;
  int len = i2d_X509_REQ(req.get(), &der);
  if (len <= 0) return Status::error("encoding a CSR: " + x509::lastError());
  std::string out =
      pemEncode(std::string_view(reinterpret_cast<char*>(der), len), "CERTIFICATE REQUEST");
  OPENSSL_free(der);
  return out;
}

Result<std::string> csrPublicKey(std::string_view csrPem) {
  auto blocks = pemDecode(csrPem, "CERTIFICATE REQUEST");
  if (!blocks.ok()) return blocks.status();
  if (blocks->size() != 1) return Status::error("expected one PEM CERTIFICATE REQUEST");
  const std::string& der = blocks->front();
  const uint8_t* p = reinterpret_cast<const uint8_t*>(der.data());
  bssl::UniquePtr<X509_REQ> req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!req) return Status::error("CSR does not parse (" + x509::lastError() + ")");
  bssl::UniquePtr<EVP_PKEY> key(X509_REQ_get_pubkey(req.get()));
  if (!key || !x509::isP256(key.get())) return Status::error("CSR key is not ECDSA P-256");
  if (X509_REQ_verify(req.get(), key.get()) != 1)
    return Status::error("CSR signature does not verify");
  return x509::publicKeyDer(key.get());
}

}  // namespace gh::identity
