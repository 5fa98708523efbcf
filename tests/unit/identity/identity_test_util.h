#pragma once
// Helpers of the identity tests: a temporary directory per test, and CertBuilder, which makes
// certificates with exactly the flaws a test needs (the CA never makes a bad one, so the
// verifier's rejections are tested with these). Tests of core/identity may use BoringSSL
// directly: they mirror the module that owns it.

#include <openssl/bn.h>
#include <openssl/digest.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gh::identity::testing {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/gh-identity-test-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline unsigned fileMode(const std::string& path) {
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

inline bssl::UniquePtr<EVP_PKEY> newKey(int nid = NID_X9_62_prime256v1) {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(nid));
  REQUIRE(EC_KEY_generate_key(ec.get()));
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  REQUIRE(EVP_PKEY_assign_EC_KEY(key.get(), ec.release()));
  return key;
}

inline bssl::UniquePtr<X509> parse(const std::string& der) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(der.data());
  return bssl::UniquePtr<X509>(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

// A certificate with chosen fields. Defaults: a valid X.509-SVID leaf for `uris`, valid from
// an hour ago for a day, self-signed unless issuerCert/issuerKey are set.
struct CertBuilder {
  EVP_PKEY* key = nullptr;     // subject key (required)
  X509* issuerCert = nullptr;  // null: self-signed
  EVP_PKEY* issuerKey = nullptr;
  std::vector<std::string> uris;
  std::optional<bool> ca = false;                      // nullopt: no basicConstraints
  std::optional<int> keyUsage = KU_DIGITAL_SIGNATURE;  // nullopt: no keyUsage
  std::vector<int> extendedKeyUsage;                   // NIDs; empty: no extendedKeyUsage
  int64_t notBefore = time(nullptr) - 3600;
  int64_t notAfter = time(nullptr) + 86400;
  std::string cn;

  std::string der() const {
    bssl::UniquePtr<X509> x(X509_new());
    REQUIRE(X509_set_version(x.get(), X509_VERSION_3));
    bssl::UniquePtr<BIGNUM> bn(BN_new());
    REQUIRE(BN_rand(bn.get(), 64, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY));
    bssl::UniquePtr<ASN1_INTEGER> serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    REQUIRE(X509_set_serialNumber(x.get(), serial.get()));
    bssl::UniquePtr<ASN1_TIME> nb(ASN1_TIME_set(nullptr, notBefore));
    bssl::UniquePtr<ASN1_TIME> na(ASN1_TIME_set(nullptr, notAfter));
    REQUIRE(X509_set1_notBefore(x.get(), nb.get()));
    REQUIRE(X509_set1_notAfter(x.get(), na.get()));
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const uint8_t*)"test", -1, -1, 0);
    if (!cn.empty())
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const uint8_t*)cn.c_str(), -1, -1, 0);
    REQUIRE(X509_set_issuer_name(
        x.get(), issuerCert ? X509_get_subject_name(issuerCert) : X509_get_subject_name(x.get())));
    REQUIRE(X509_set_pubkey(x.get(), key));
    if (ca) {
      bssl::UniquePtr<BASIC_CONSTRAINTS> bc(BASIC_CONSTRAINTS_new());
      bc->ca = *ca ? 0xff : 0;
      REQUIRE(X509_add1_ext_i2d(x.get(), NID_basic_constraints, bc.get(), 1, 0));
    }
    if (keyUsage) {
      bssl::UniquePtr<ASN1_BIT_STRING> ku(ASN1_BIT_STRING_new());
      for (int bit = 0; bit < 9; ++bit)
        if (*keyUsage & (bit < 8 ? (0x80 >> bit) : 0x8000))
          ASN1_BIT_STRING_set_bit(ku.get(), bit, 1);
      REQUIRE(X509_add1_ext_i2d(x.get(), NID_key_usage, ku.get(), 1, 0));
    }
    if (!extendedKeyUsage.empty()) {
      bssl::UniquePtr<EXTENDED_KEY_USAGE> eku(sk_ASN1_OBJECT_new_null());
      for (int nid : extendedKeyUsage) sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(nid));
      REQUIRE(X509_add1_ext_i2d(x.get(), NID_ext_key_usage, eku.get(), 0, 0));
    }
    if (!uris.empty()) {
      bssl::UniquePtr<GENERAL_NAMES> sans(GENERAL_NAMES_new());
      for (const std::string& u : uris) {
        GENERAL_NAME* gn = GENERAL_NAME_new();
        ASN1_IA5STRING* s = ASN1_IA5STRING_new();
        ASN1_STRING_set(s, u.data(), static_cast<int>(u.size()));
        GENERAL_NAME_set0_value(gn, GEN_URI, s);
        sk_GENERAL_NAME_push(sans.get(), gn);
      }
      REQUIRE(X509_add1_ext_i2d(x.get(), NID_subject_alt_name, sans.get(), 0, 0));
    }
    REQUIRE(X509_sign(x.get(), issuerKey ? issuerKey : key, EVP_sha256()));
    uint8_t* buf = nullptr;
    int len = i2d_X509(x.get(), &buf);
    REQUIRE(len > 0);
    std::string out(reinterpret_cast<char*>(buf), len);
    OPENSSL_free(buf);
    return out;
  }
};

}  // namespace gh::identity::testing
