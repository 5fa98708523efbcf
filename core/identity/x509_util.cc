#include "core/identity/x509_util.h"

#include <openssl/bn.h>
#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/nid.h>

#include "core/identity/encoding.h"

namespace gh::identity::x509 {

bssl::UniquePtr<X509> parseDer(std::string_view der) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(der.data());
  bssl::UniquePtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p != reinterpret_cast<const uint8_t*>(der.data()) + der.size()) {
    ERR_clear_error();
    return nullptr;
  }
  return cert;
}

std::string toDer(const X509* cert) {
  uint8_t* buf = nullptr;
  int len = i2d_X509(const_cast<X509*>(cert), &buf);
  if (len <= 0) return {};
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return out;
}

int64_t toUnix(const ASN1_TIME* t) {
  bssl::UniquePtr<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0, secs = 0;
  if (!epoch || !ASN1_TIME_diff(&days, &secs, epoch.get(), t)) return 0;
  return static_cast<int64_t>(days) * 86400 + secs;
}

std::vector<std::string> uriSans(const X509* cert) {
  std::vector<std::string> out;
  bssl::UniquePtr<GENERAL_NAMES> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (size_t i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
    if (n->type != GEN_URI) continue;
    const ASN1_IA5STRING* s = n->d.uniformResourceIdentifier;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
  }
  return out;
}

std::string serialHex(const X509* cert) {
  bssl::UniquePtr<BIGNUM> bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (!bn) return "";
  char* hex = BN_bn2hex(bn.get());
  std::string out(hex ? hex : "");
  OPENSSL_free(hex);
  for (char& c : out) c = (c >= 'A' && c <= 'F') ? static_cast<char>(c + 32) : c;
  size_t nz = out.find_first_not_of('0');
  return nz == std::string::npos ? "0" : out.substr(nz);
}

std::string publicKeyDer(const EVP_PKEY* key) {
  bssl::ScopedCBB cbb;
  uint8_t* data = nullptr;
  size_t len = 0;
  if (!CBB_init(cbb.get(), 128) || !EVP_marshal_public_key(cbb.get(), key) ||
      !CBB_finish(cbb.get(), &data, &len))
    return {};
  std::string out(reinterpret_cast<char*>(data), len);
  OPENSSL_free(data);
  return out;
}

bool isP256(const EVP_PKEY* key) {
  if (EVP_PKEY_id(key) != EVP_PKEY_EC) return false;
  const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key);
  return ec && EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) == NID_X9_62_prime256v1;
}

std::string keyIdentifier(const EVP_PKEY* key) {
  std::string spki = publicKeyDer(key);
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(spki.data(), spki.size(), digest, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), 20);  // 160 bits, as SHA-1 would give
}

std::string lastError() {
  uint32_t e = ERR_peek_last_error();
  ERR_clear_error();
  if (!e) return "";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

}  // namespace gh::identity::x509
