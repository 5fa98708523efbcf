#include "core/identity/ca.h"

#include <openssl/bn.h>
#include <openssl/digest.h>
#include <openssl/nid.h>

#include "core/base/sha256.h"
#include "core/identity/certificate.h"
#include "core/identity/encoding.h"
#include "core/identity/files.h"
#include "core/identity/x509_util.h"

namespace gh::identity {
namespace {

// The CN of a root: "<trust domain> root", or, for a trust domain too long for a CN (RFC 5280
// caps it at 64 characters), a fixed name; the trust domain itself is in the name constraint.
std::string rootCommonName(std::string_view trustDomain) {
  std::string cn = std::string(trustDomain) + " root";
  return cn.size() <= 64 ? cn : "gatehouse mesh root";
}

Status sslError(const char* what) {
  return Status::error(std::string(what) + ": " + x509::lastError());
}

bool addName(X509_NAME* name, const char* field, std::string_view value) {
  return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                    reinterpret_cast<const uint8_t*>(value.data()),
                                    static_cast<int>(value.size()), -1, 0) == 1;
}

// A random positive serial of 128 bits: 16 random bytes with the top bit cleared (DER integers
// are signed) and never zero.
bool setRandomSerial(X509* cert) {
  std::string bytes = randomBytes(16);
  bytes[0] = static_cast<char>((bytes[0] & 0x7f) | 0x40);  // top bit 0, and 128 bits long
  bssl::UniquePtr<BIGNUM> bn(
      BN_bin2bn(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), nullptr));
  bssl::UniquePtr<ASN1_INTEGER> serial(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  return serial && X509_set_serialNumber(cert, serial.get()) == 1;
}

bool setValidity(X509* cert, int64_t notBefore, int64_t notAfter) {
  bssl::UniquePtr<ASN1_TIME> nb(ASN1_TIME_set(nullptr, static_cast<time_t>(notBefore)));
  bssl::UniquePtr<ASN1_TIME> na(ASN1_TIME_set(nullptr, static_cast<time_t>(notAfter)));
  return nb && na && X509_set1_notBefore(cert, nb.get()) && X509_set1_notAfter(cert, na.get());
}

bool addKeyIdentifiers(X509* cert, const EVP_PKEY* subjectKey, const EVP_PKEY* issuerKey) {
  std::string skid = x509::keyIdentifier(subjectKey);
  bssl::UniquePtr<ASN1_OCTET_STRING> ski(ASN1_OCTET_STRING_new());
  if (!ski ||
      !ASN1_OCTET_STRING_set(ski.get(), reinterpret_cast<const uint8_t*>(skid.data()),
                             static_cast<int>(skid.size())) ||
      !X509_add1_ext_i2d(cert, NID_subject_key_identifier, ski.get(), 0, X509V3_ADD_DEFAULT))
    return false;
  std::string akid = x509::keyIdentifier(issuerKey);
  bssl::UniquePtr<AUTHORITY_KEYID> aki(AUTHORITY_KEYID_new());
  if (!aki) return false;
  aki->keyid = ASN1_OCTET_STRING_new();
  return aki->keyid &&
         ASN1_OCTET_STRING_set(aki->keyid, reinterpret_cast<const uint8_t*>(akid.data()),
                               static_cast<int>(akid.size())) &&
         X509_add1_ext_i2d(cert, NID_authority_key_identifier, aki.get(), 0, X509V3_ADD_DEFAULT);
}

bool addBasicConstraints(X509* cert, bool ca) {
  bssl::UniquePtr<BASIC_CONSTRAINTS> bc(BASIC_CONSTRAINTS_new());
  if (!bc) return false;
  bc->ca = ca ? 0xff : 0;
  return X509_add1_ext_i2d(cert, NID_basic_constraints, bc.get(), 1, X509V3_ADD_DEFAULT);
}

bool addKeyUsage(X509* cert, std::initializer_list<int> bits) {
  bssl::UniquePtr<ASN1_BIT_STRING> ku(ASN1_BIT_STRING_new());
  if (!ku) return false;
  for (int bit : bits)
    if (!ASN1_BIT_STRING_set_bit(ku.get(), bit, 1)) return false;
  return X509_add1_ext_i2d(cert, NID_key_usage, ku.get(), 1, X509V3_ADD_DEFAULT);
}

GENERAL_NAME* uriName(std::string_view uri) {
  GENERAL_NAME* gn = GENERAL_NAME_new();
  ASN1_IA5STRING* s = ASN1_IA5STRING_new();
  if (!gn || !s || !ASN1_STRING_set(s, uri.data(), static_cast<int>(uri.size()))) {
    GENERAL_NAME_free(gn);
    ASN1_IA5STRING_free(s);
    return nullptr;
  }
  GENERAL_NAME_set0_value(gn, GEN_URI, s);
  return gn;
}

// Permits URIs whose host is the trust domain (RFC 5280 4.2.1.10: a URI constraint without a
// leading '.' names one host), i.e. spiffe://<td>/...
bool addNameConstraint(X509* cert, std::string_view trustDomain) {
  bssl::UniquePtr<NAME_CONSTRAINTS> nc(NAME_CONSTRAINTS_new());
  GENERAL_SUBTREE* subtree = GENERAL_SUBTREE_new();
  if (!nc || !subtree) {
    GENERAL_SUBTREE_free(subtree);
    return false;
  }
  GENERAL_NAME_free(subtree->base);
  subtree->base = uriName(trustDomain);
  nc->permittedSubtrees = sk_GENERAL_SUBTREE_new_null();
  if (!subtree->base || !nc->permittedSubtrees ||
      !sk_GENERAL_SUBTREE_push(nc->permittedSubtrees, subtree)) {
    GENERAL_SUBTREE_free(subtree);
    return false;
  }
  return X509_add1_ext_i2d(cert, NID_name_constraints, nc.get(), 1, X509V3_ADD_DEFAULT);
}

Result<std::string> signAndEncode(X509* cert, EVP_PKEY* key) {
  if (!X509_sign(cert, key, EVP_sha256())) return sslError("signing a certificate");
  std::string der = x509::toDer(cert);
  if (der.empty()) return sslError("encoding a certificate");
  return der;
}

}  // namespace

CertificateAuthority::~CertificateAuthority() = default;

Result<std::unique_ptr<CertificateAuthority>> CertificateAuthority::create(
    std::string_view trustDomain, int64_t now) {
  std::string why;
  if (!validTrustDomain(trustDomain, &why))
    return Status::error("trust domain \"" + std::string(trustDomain) + "\": " + why);
  auto key = PrivateKey::generate();
  if (!key.ok()) return key.status();

  bssl::UniquePtr<X509> cert(X509_new());
  if (!cert || !X509_set_version(cert.get(), X509_VERSION_3) || !setRandomSerial(cert.get()) ||
      !setValidity(cert.get(), now - kBackdateSeconds, now + kRootLifetimeSeconds))
    return sslError("building the CA certificate");
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!addName(name, "O", "gatehouse") || !addName(name, "CN", rootCommonName(trustDomain)) ||
      !X509_set_issuer_name(cert.get(), name) || !X509_set_pubkey(cert.get(), key->get()) ||
      !addBasicConstraints(cert.get(), true) ||
      !addKeyUsage(cert.get(), {5 /* keyCertSign */, 6 /* cRLSign */}) ||
      !addKeyIdentifiers(cert.get(), key->get(), key->get()) ||
      !addNameConstraint(cert.get(), trustDomain))
    return sslError("building the CA certificate");
  auto der = signAndEncode(cert.get(), key->get());
  if (!der.ok()) return der.status();

  std::unique_ptr<CertificateAuthority> ca(new CertificateAuthority());
  Status s = ca->adopt(std::move(*der), std::move(*key));
  if (!s.ok()) return s;
  return ca;
}

// Takes a root certificate and its key, checking what load() cannot trust the files for.
Status CertificateAuthority::adopt(std::string certDer, PrivateKey key) {
  bssl::UniquePtr<X509> cert = x509::parseDer(certDer);
  if (!cert) return Status::error("CA certificate does not parse");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    x509::lastError();
    return Status::error("CA key does not belong to the CA certificate");
  }
  if (X509_check_ca(cert.get()) == 0) return Status::error("CA certificate is not a CA");
  // The trust domain is the one the name constraint permits (the subject's CN is for people,
  // and too short for long trust domains).
  bssl::UniquePtr<NAME_CONSTRAINTS> nc(static_cast<NAME_CONSTRAINTS*>(
      X509_get_ext_d2i(cert.get(), NID_name_constraints, nullptr, nullptr)));
  const GENERAL_NAME* base =
      nc && nc->permittedSubtrees && sk_GENERAL_SUBTREE_num(nc->permittedSubtrees) == 1
          ? sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, 0)->base
          : nullptr;
  std::string td;
  if (base && base->type == GEN_URI)
    td.assign(
        reinterpret_cast<const char*>(ASN1_STRING_get0_data(base->d.uniformResourceIdentifier)),
        static_cast<size_t>(ASN1_STRING_length(base->d.uniformResourceIdentifier)));
  if (!validTrustDomain(td))
    return Status::error("CA certificate does not name a trust domain in a URI name constraint");
  trustDomain_ = std::move(td);
  notAfter_ = x509::toUnix(X509_get0_notAfter(cert.get()));
  fingerprint_ = Sha256::hex(certDer);
  certDer_ = std::move(certDer);
  key_ = std::make_unique<PrivateKey>(std::move(key));
  return okStatus();
}

Result<std::unique_ptr<CertificateAuthority>> CertificateAuthority::load(const std::string& caDir) {
  std::string certPath = caDir + "/" + kCertFile;
  std::string keyPath = caDir + "/" + kKeyFile;
  auto certPem = readWholeFile(certPath);
  if (!certPem.ok()) return certPem.status();
  auto keyPem = readPrivateFile(keyPath);
  if (!keyPem.ok()) return keyPem.status();
  auto ders = pemDecode(*certPem, "CERTIFICATE");
  if (!ders.ok()) return Status::error(certPath + ": " + ders.status().message());
  if (ders->size() != 1) return Status::error(certPath + ": expected exactly one certificate");
  auto key = PrivateKey::fromPem(*keyPem);
  if (!key.ok()) return Status::error(keyPath + ": " + key.status().message());
  std::unique_ptr<CertificateAuthority> ca(new CertificateAuthority());
  Status s = ca->adopt(std::move(ders->front()), std::move(*key));
  if (!s.ok()) return Status::error(caDir + ": " + s.message());
  return ca;
}

bool CertificateAuthority::existsIn(const std::string& caDir) {
  return fileExists(caDir + "/" + kCertFile) || fileExists(caDir + "/" + kKeyFile);
}

Status CertificateAuthority::save(const std::string& caDir) const {
  if (existsIn(caDir)) return Status::error(caDir + ": a CA already exists there");
  Status s = makePrivateDir(caDir);
  if (!s.ok()) return s;
  // Key first: a crash between the two leaves a key without a certificate, which existsIn()
  // still counts, so nobody creates a second CA over it unnoticed.
  // Neither file replaces an existing one, so of two racing `ca init`s one fails cleanly.
  s = writeFileAtomic(caDir + "/" + kKeyFile, key_->pem(), 0600, false);
  if (!s.ok()) return s;
  return writeFileAtomic(caDir + "/" + kCertFile, certificatePem(), 0644, false);
}

std::string CertificateAuthority::certificatePem() const {
  return pemEncode(certDer_, "CERTIFICATE");
}

Result<std::string> CertificateAuthority::signPublicKey(std::string_view spkiDer,
                                                        const SpiffeId& id, int64_t ttlSeconds,
                                                        int64_t now) const {
  if (id.empty()) return Status::error("no SPIFFE ID to sign");
  if (id.trustDomain() != trustDomain_)
    return Status::error(id.uri() + ": not in this CA's trust domain " + trustDomain_);
  if (ttlSeconds <= 0) return Status::error("certificate lifetime must be positive");
  if (now >= notAfter_) return Status::error("the CA certificate has expired");
  CBS cbs;
  CBS_init(&cbs, reinterpret_cast<const uint8_t*>(spkiDer.data()), spkiDer.size());
  bssl::UniquePtr<EVP_PKEY> pub(EVP_parse_public_key(&cbs));
  if (!pub || CBS_len(&cbs) != 0) return Status::error("public key does not parse");
  if (!x509::isP256(pub.get())) return Status::error("public key is not ECDSA P-256");

  bssl::UniquePtr<X509> caCert = x509::parseDer(certDer_);
  bssl::UniquePtr<X509> cert(X509_new());
  if (!caCert || !cert || !X509_set_version(cert.get(), X509_VERSION_3) ||
      !setRandomSerial(cert.get()) ||
      !setValidity(cert.get(), now - std::min(kBackdateSeconds, ttlSeconds / 4),
                   std::min(now + ttlSeconds, notAfter_)))
    return sslError("building a certificate");
  if (!addName(X509_get_subject_name(cert.get()), "O", "gatehouse") ||
      !X509_set_issuer_name(cert.get(), X509_get_subject_name(caCert.get())) ||
      !X509_set_pubkey(cert.get(), pub.get()) || !addBasicConstraints(cert.get(), false) ||
      !addKeyUsage(cert.get(), {0 /* digitalSignature */}))
    return sslError("building a certificate");

  bssl::UniquePtr<EXTENDED_KEY_USAGE> eku(sk_ASN1_OBJECT_new_null());
  if (!eku || !sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(NID_server_auth)) ||
      !sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(NID_client_auth)) ||
      !X509_add1_ext_i2d(cert.get(), NID_ext_key_usage, eku.get(), 0, X509V3_ADD_DEFAULT))
    return sslError("building a certificate");
  bssl::UniquePtr<GENERAL_NAMES> sans(GENERAL_NAMES_new());
  GENERAL_NAME* uri = uriName(id.uri());
  if (!sans || !uri || !sk_GENERAL_NAME_push(sans.get(), uri)) {
    GENERAL_NAME_free(uri);
    return sslError("building a certificate");
  }
  if (!X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, sans.get(), 0, X509V3_ADD_DEFAULT) ||
      !addKeyIdentifiers(cert.get(), pub.get(), key_->get()))
    return sslError("building a certificate");
  return signAndEncode(cert.get(), key_->get());
}

Result<std::string> CertificateAuthority::signCsr(std::string_view csrPem, const SpiffeId& id,
                                                  int64_t ttlSeconds, int64_t now) const {
  auto spki = csrPublicKey(csrPem);
  if (!spki.ok()) return spki.status();
  return signPublicKey(*spki, id, ttlSeconds, now);
}

std::string normalizeFingerprint(std::string_view text) {
  if (text.substr(0, 7) == "sha256:" || text.substr(0, 7) == "SHA256:") text.remove_prefix(7);
  std::string out;
  for (char c : text) {
    if (c == ':') continue;
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c + 32);
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return "";
    out.push_back(c);
  }
  return out.size() == 64 ? out : "";
}

}  // namespace gh::identity
