#include "core/identity/ca.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "core/base/sha256.h"
#include "core/identity/certificate.h"
#include "core/identity/encoding.h"
#include "core/identity/keys.h"
#include "core/identity/workload.h"
#include "tests/unit/identity/identity_test_util.h"

using namespace gh::identity;
using gh::identity::testing::fileMode;
using gh::identity::testing::parse;
using gh::identity::testing::TempDir;

namespace {

const int64_t kNow = 1'800'000'000;  // 2027-01-15

std::unique_ptr<CertificateAuthority> newCa(std::string_view td = "cluster.local") {
  auto ca = CertificateAuthority::create(td, kNow);
  REQUIRE(ca.ok());
  return std::move(*ca);
}

std::string nameOf(X509_NAME* name) {
  char buf[256];
  X509_NAME_oneline(name, buf, sizeof(buf));
  return buf;
}

int extensionCount(X509* cert, int nid) {
  int count = 0, pos = -1;
  while ((pos = X509_get_ext_by_NID(cert, nid, pos)) >= 0) ++count;
  return count;
}

bool extensionCritical(X509* cert, int nid) {
  return X509_EXTENSION_get_critical(X509_get_ext(cert, X509_get_ext_by_NID(cert, nid, -1))) == 1;
}

}  // namespace

TEST_CASE("A new CA is a self-signed ten-year P-256 root of its trust domain", "[identity][ca]") {
  auto ca = newCa();
  CHECK(ca->trustDomain() == "cluster.local");
  CHECK(ca->fingerprint() == gh::Sha256::hex(ca->certificateDer()));
  CHECK(ca->fingerprint().size() == 64);
  auto cert = parse(ca->certificateDer());
  REQUIRE(cert);
  CHECK(nameOf(X509_get_subject_name(cert.get())) == "/O=gatehouse/CN=cluster.local root");
  CHECK(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())) == 0);
  CHECK(X509_get_version(cert.get()) == X509_VERSION_3);
  auto info = CertificateInfo::fromDer(ca->certificateDer());
  REQUIRE(info.ok());
  CHECK(info->notBefore == kNow - CertificateAuthority::kBackdateSeconds);
  CHECK(info->notAfter == kNow + 3650LL * 86400);
  CHECK(ca->notAfter() == info->notAfter);
  CHECK(info->isCa);
  CHECK(info->uriSans.empty());

  bssl::UniquePtr<EVP_PKEY> key(X509_get_pubkey(cert.get()));
  REQUIRE(EVP_PKEY_id(key.get()) == EVP_PKEY_EC);
  CHECK(EC_GROUP_get_curve_name(EC_KEY_get0_group(EVP_PKEY_get0_EC_KEY(key.get()))) ==
        NID_X9_62_prime256v1);
  CHECK(X509_verify(cert.get(), key.get()) == 1);  // self-signed
  CHECK(X509_get_signature_nid(cert.get()) == NID_ecdsa_with_SHA256);

  bssl::UniquePtr<BASIC_CONSTRAINTS> bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert.get(), NID_basic_constraints, nullptr, nullptr)));
  REQUIRE(bc);
  CHECK(bc->ca);
  CHECK(extensionCritical(cert.get(), NID_basic_constraints));
  CHECK(X509_get_key_usage(cert.get()) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  CHECK(extensionCritical(cert.get(), NID_key_usage));
  CHECK(extensionCount(cert.get(), NID_subject_key_identifier) == 1);
  // The name constraint: only URIs of its own trust domain.
  REQUIRE(extensionCount(cert.get(), NID_name_constraints) == 1);
  CHECK(extensionCritical(cert.get(), NID_name_constraints));
  bssl::UniquePtr<NAME_CONSTRAINTS> nc(static_cast<NAME_CONSTRAINTS*>(
      X509_get_ext_d2i(cert.get(), NID_name_constraints, nullptr, nullptr)));
  REQUIRE(nc);
  REQUIRE(sk_GENERAL_SUBTREE_num(nc->permittedSubtrees) == 1);
  GENERAL_NAME* base = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, 0)->base;
  REQUIRE(base->type == GEN_URI);
  CHECK(std::string(reinterpret_cast<const char*>(
            ASN1_STRING_get0_data(base->d.uniformResourceIdentifier))) == "cluster.local");
  CHECK(nc->excludedSubtrees == nullptr);

  CHECK_FALSE(CertificateAuthority::create("Cluster.Local", kNow).ok());
  CHECK(newCa()->fingerprint() != ca->fingerprint());  // a new key and serial every time
}

TEST_CASE("A leaf follows the X.509-SVID rules, field by field", "[identity][ca]") {
  auto ca = newCa();
  auto key = PrivateKey::generate();
  REQUIRE(key.ok());
  auto id = SpiffeId::forWorkload("cluster.local", "prod", "web").value();
  auto der = ca->signPublicKey(key->publicKeyDer(), id, 86400, kNow);
  REQUIRE(der.ok());
  auto cert = parse(*der);
  REQUIRE(cert);
  auto caCert = parse(ca->certificateDer());

  CHECK(X509_get_version(cert.get()) == X509_VERSION_3);
  CHECK(nameOf(X509_get_subject_name(cert.get())) == "/O=gatehouse");
  CHECK(X509_NAME_cmp(X509_get_issuer_name(cert.get()), X509_get_subject_name(caCert.get())) == 0);
  bssl::UniquePtr<EVP_PKEY> caKey(X509_get_pubkey(caCert.get()));
  CHECK(X509_verify(cert.get(), caKey.get()) == 1);
  CHECK(X509_get_signature_nid(cert.get()) == NID_ecdsa_with_SHA256);
  CHECK(X509_check_private_key(cert.get(), key->get()) == 1);

  // Serial: positive, 128 bits, different every time.
  auto info = CertificateInfo::fromDer(*der).value();
  CHECK(info.serialHex.size() == 32);
  CHECK(info.serialHex[0] >= '4');
  CHECK(info.serialHex[0] <= '7');
  auto again =
      CertificateInfo::fromDer(ca->signPublicKey(key->publicKeyDer(), id, 86400, kNow).value())
          .value();
  CHECK(again.serialHex != info.serialHex);

  CHECK(info.notBefore == kNow - 300);
  CHECK(info.notAfter == kNow + 86400);
  // A short-lived certificate is backdated by a quarter of its life at most, so that its
  // half-life (when it renews) comes after it was issued, not before.
  auto shortLived =
      CertificateInfo::fromDer(ca->signPublicKey(key->publicKeyDer(), id, 40, kNow).value())
          .value();
  CHECK(shortLived.notBefore == kNow - 10);
  CHECK(shortLived.notAfter == kNow + 40);
  CHECK(renewalTime(shortLived.notBefore, shortLived.notAfter, "x") > kNow);
  CHECK_FALSE(info.isCa);
  REQUIRE(info.uriSans.size() == 1);
  CHECK(info.uriSans[0] == "spiffe://cluster.local/ns/prod/sa/web");

  // Extensions: exactly these, with these criticality bits.
  const STACK_OF(X509_EXTENSION)* exts = X509_get0_extensions(cert.get());
  std::vector<int> nids;
  for (size_t i = 0; i < sk_X509_EXTENSION_num(exts); ++i)
    nids.push_back(OBJ_obj2nid(X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, i))));
  std::sort(nids.begin(), nids.end());
  std::vector<int> expected = {NID_basic_constraints,      NID_key_usage,
                               NID_ext_key_usage,          NID_subject_alt_name,
                               NID_subject_key_identifier, NID_authority_key_identifier};
  std::sort(expected.begin(), expected.end());
  CHECK(nids == expected);

  bssl::UniquePtr<BASIC_CONSTRAINTS> bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert.get(), NID_basic_constraints, nullptr, nullptr)));
  REQUIRE(bc);
  CHECK_FALSE(bc->ca);
  CHECK(bc->pathlen == nullptr);
  CHECK(extensionCritical(cert.get(), NID_basic_constraints));

  CHECK(X509_get_key_usage(cert.get()) == KU_DIGITAL_SIGNATURE);
  CHECK(extensionCritical(cert.get(), NID_key_usage));

  bssl::UniquePtr<EXTENDED_KEY_USAGE> eku(static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(cert.get(), NID_ext_key_usage, nullptr, nullptr)));
  REQUIRE(eku);
  REQUIRE(sk_ASN1_OBJECT_num(eku.get()) == 2);
  CHECK(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku.get(), 0)) == NID_server_auth);
  CHECK(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku.get(), 1)) == NID_client_auth);

  bssl::UniquePtr<GENERAL_NAMES> sans(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  REQUIRE(sk_GENERAL_NAME_num(sans.get()) == 1);  // one SAN in all, and it is the URI
  CHECK(sk_GENERAL_NAME_value(sans.get(), 0)->type == GEN_URI);

  // The authority key identifier names the CA's subject key identifier.
  bssl::UniquePtr<AUTHORITY_KEYID> akid(static_cast<AUTHORITY_KEYID*>(
      X509_get_ext_d2i(cert.get(), NID_authority_key_identifier, nullptr, nullptr)));
  bssl::UniquePtr<ASN1_OCTET_STRING> caSkid(static_cast<ASN1_OCTET_STRING*>(
      X509_get_ext_d2i(caCert.get(), NID_subject_key_identifier, nullptr, nullptr)));
  REQUIRE(akid);
  REQUIRE(caSkid);
  CHECK(ASN1_OCTET_STRING_cmp(akid->keyid, caSkid.get()) == 0);
}

TEST_CASE("The CA refuses what it must not sign", "[identity][ca]") {
  auto ca = newCa();
  auto key = std::move(PrivateKey::generate().value());
  auto foreign = SpiffeId::forWorkload("other.domain", "prod", "web").value();
  auto id = SpiffeId::forWorkload("cluster.local", "prod", "web").value();
  CHECK_THAT(ca->signPublicKey(key.publicKeyDer(), foreign, 60, kNow).status().message(),
             Catch::Contains("not in this CA's trust domain"));
  CHECK_FALSE(ca->signPublicKey(key.publicKeyDer(), id, 0, kNow).ok());
  CHECK_FALSE(ca->signPublicKey("not a key", id, 60, kNow).ok());
  CHECK_FALSE(ca->signPublicKey(key.publicKeyDer(), SpiffeId(), 60, kNow).ok());
  auto p384 = testing::newKey(NID_secp384r1);
  CBB cbb;
  uint8_t* spki = nullptr;
  size_t len = 0;
  REQUIRE(CBB_init(&cbb, 128));
  REQUIRE(EVP_marshal_public_key(&cbb, p384.get()));
  REQUIRE(CBB_finish(&cbb, &spki, &len));
  std::string p384Der(reinterpret_cast<char*>(spki), len);
  OPENSSL_free(spki);
  CHECK_THAT(ca->signPublicKey(p384Der, id, 60, kNow).status().message(), Catch::Contains("P-256"));
  CHECK_FALSE(ca->signPublicKey(key.publicKeyDer(), id, 60, ca->notAfter()).ok());
}

TEST_CASE("A leaf never outlives the CA", "[identity][ca]") {
  auto ca = newCa();
  auto key = std::move(PrivateKey::generate().value());
  auto id = SpiffeId::forWorkload("cluster.local", "prod", "web").value();
  int64_t late = ca->notAfter() - 3600;
  auto info =
      CertificateInfo::fromDer(ca->signPublicKey(key.publicKeyDer(), id, 86400, late).value());
  REQUIRE(info.ok());
  CHECK(info->notAfter == ca->notAfter());
}

TEST_CASE("signCsr takes the key and proof of possession from a CSR, not its names",
          "[identity][ca]") {
  auto ca = newCa();
  auto key = std::move(PrivateKey::generate().value());
  auto asked = SpiffeId::forWorkload("cluster.local", "prod", "admin").value();
  auto granted = SpiffeId::forWorkload("cluster.local", "prod", "web").value();
  auto csr = createCsr(key, asked);
  REQUIRE(csr.ok());
  auto der = ca->signCsr(*csr, granted, 3600, kNow);
  REQUIRE(der.ok());
  auto info = CertificateInfo::fromDer(*der).value();
  REQUIRE(info.uriSans.size() == 1);
  CHECK(info.uriSans[0] == granted.uri());
  CHECK(X509_check_private_key(parse(*der).get(), key.get()) == 1);

  // A CSR whose signature does not verify (one byte of the signature flipped) is refused.
  auto blocks = pemDecode(*csr, "CERTIFICATE REQUEST").value();
  std::string broken = blocks[0];
  broken[broken.size() - 5] ^= 0x01;
  CHECK_FALSE(ca->signCsr(pemEncode(broken, "CERTIFICATE REQUEST"), granted, 3600, kNow).ok());
  CHECK_FALSE(ca->signCsr("garbage", granted, 3600, kNow).ok());
}

TEST_CASE("A CA saves with private modes and loads back the same", "[identity][ca]") {
  TempDir dir;
  std::string caDir = dir.file("data/ca");
  auto ca = newCa("example.org");
  CHECK_FALSE(CertificateAuthority::existsIn(caDir));
  REQUIRE(ca->save(caDir).ok());
  CHECK(CertificateAuthority::existsIn(caDir));
  CHECK(fileMode(caDir) == 0700);
  CHECK(fileMode(caDir + "/ca.key") == 0600);
  CHECK(fileMode(caDir + "/ca.crt") == 0644);

  auto loaded = CertificateAuthority::load(caDir);
  REQUIRE(loaded.ok());
  CHECK((*loaded)->trustDomain() == "example.org");
  CHECK((*loaded)->fingerprint() == ca->fingerprint());
  CHECK((*loaded)->certificateDer() == ca->certificateDer());
  // The loaded key signs leaves that chain to the saved certificate.
  auto key = std::move(PrivateKey::generate().value());
  auto id = SpiffeId::forWorkload("example.org", "a", "b").value();
  auto leaf = parse((*loaded)->signPublicKey(key.publicKeyDer(), id, 60, kNow).value());
  bssl::UniquePtr<EVP_PKEY> caPub(X509_get_pubkey(parse(ca->certificateDer()).get()));
  CHECK(X509_verify(leaf.get(), caPub.get()) == 1);

  // A second save over it is refused and changes nothing.
  auto other = newCa("example.org");
  CHECK_THAT(other->save(caDir).message(), Catch::Contains("already exists"));
  CHECK(CertificateAuthority::load(caDir).value()->fingerprint() == ca->fingerprint());
}

TEST_CASE("A CA key that group or others may read is refused", "[identity][ca]") {
  TempDir dir;
  std::string caDir = dir.file("ca");
  REQUIRE(newCa()->save(caDir).ok());
  for (unsigned mode : {0640u, 0604u, 0660u, 0644u}) {
    INFO(mode);
    REQUIRE(chmod((caDir + "/ca.key").c_str(), mode) == 0);
    auto loaded = CertificateAuthority::load(caDir);
    REQUIRE_FALSE(loaded.ok());
    CHECK_THAT(loaded.status().message(), Catch::Contains("private key"));
  }
  REQUIRE(chmod((caDir + "/ca.key").c_str(), 0400) == 0);
  CHECK(CertificateAuthority::load(caDir).ok());
}

TEST_CASE("A CA whose key and certificate do not belong together is refused", "[identity][ca]") {
  TempDir a, b;
  REQUIRE(newCa()->save(a.file("ca")).ok());
  REQUIRE(newCa()->save(b.file("ca")).ok());
  std::filesystem::copy_file(b.file("ca/ca.key"), a.file("ca/ca.key"),
                             std::filesystem::copy_options::overwrite_existing);
  auto loaded = CertificateAuthority::load(a.file("ca"));
  REQUIRE_FALSE(loaded.ok());
  CHECK_THAT(loaded.status().message(), Catch::Contains("does not belong"));
  CHECK_FALSE(CertificateAuthority::load(a.file("missing")).ok());
}

TEST_CASE("A long trust domain fits: the name constraint carries it, not the CN",
          "[identity][ca]") {
  TempDir dir;
  std::string td = std::string(200, 'a') + ".example";
  auto ca = newCa(td);
  CHECK(ca->trustDomain() == td);
  auto cert = parse(ca->certificateDer());
  CHECK(nameOf(X509_get_subject_name(cert.get())) == "/O=gatehouse/CN=gatehouse mesh root");
  REQUIRE(ca->save(dir.file("ca")).ok());
  auto loaded = CertificateAuthority::load(dir.file("ca"));
  REQUIRE(loaded.ok());
  CHECK((*loaded)->trustDomain() == td);
  auto key = std::move(PrivateKey::generate().value());
  auto id = SpiffeId::forWorkload(td, "ns", "sa").value();
  CHECK((*loaded)->signPublicKey(key.publicKeyDer(), id, 60, kNow).ok());
  // 59 characters + " root" is the longest CN that keeps the trust domain.
  CHECK(nameOf(X509_get_subject_name(parse(newCa(std::string(59, 'b'))->certificateDer()).get()))
            .find(std::string(59, 'b') + " root") != std::string::npos);
}

TEST_CASE("normalizeFingerprint accepts the usual spellings", "[identity][ca]") {
  std::string hex(64, 'a');
  CHECK(normalizeFingerprint(hex) == hex);
  CHECK(normalizeFingerprint("sha256:" + hex) == hex);
  CHECK(normalizeFingerprint(std::string(64, 'A')) == hex);
  std::string colons;
  for (int i = 0; i < 32; ++i) colons += std::string(i ? ":" : "") + "AA";
  CHECK(normalizeFingerprint("SHA256:" + colons) == hex);
  CHECK(normalizeFingerprint(std::string(63, 'a')).empty());
  CHECK(normalizeFingerprint(std::string(64, 'g')).empty());
}
