#include "core/identity/verify.h"

#include <catch2/catch.hpp>
#include <set>

#include "core/identity/ca.h"
#include "core/identity/files.h"
#include "core/identity/keys.h"
#include "tests/unit/identity/identity_test_util.h"

using namespace gh::identity;
using gh::identity::testing::CertBuilder;
using gh::identity::testing::newKey;
using gh::identity::testing::parse;

namespace {

const char* kWeb = "spiffe://cluster.local/ns/prod/sa/web";

// A root made with CertBuilder (so tests can sign anything with it), and leaves under it.
struct TestRoot {
  bssl::UniquePtr<EVP_PKEY> key = newKey();
  std::string der;
  bssl::UniquePtr<X509> cert;

  TestRoot() {
    CertBuilder b;
    b.key = key.get();
    b.ca = true;
    b.keyUsage = KU_KEY_CERT_SIGN | KU_CRL_SIGN;
    b.cn = "test root";
    b.notBefore = time(nullptr) - 86400;
    b.notAfter = time(nullptr) + 365 * 86400;
    der = b.der();
    cert = parse(der);
  }

  // A valid leaf builder for `uri`, signed by this root.
  CertBuilder leaf(EVP_PKEY* leafKey, const std::string& uri = kWeb) const {
    CertBuilder b;
    b.key = leafKey;
    b.issuerCert = cert.get();
    b.issuerKey = key.get();
    b.uris = {uri};
    return b;
  }
};

std::vector<TrustBundle> bundleOf(const TestRoot& root, const char* td = "cluster.local") {
  return {TrustBundle{td, {root.der}}};
}

SvidError verdictOf(const std::string& leafDer, const TestRoot& root) {
  SvidVerdict v = verifySvid({leafDer}, bundleOf(root), time(nullptr));
  INFO(v.detail);
  return v.error;
}

}  // namespace

TEST_CASE("A leaf of the built-in CA verifies and yields its SPIFFE ID", "[identity][verify]") {
  int64_t now = time(nullptr);
  auto ca = std::move(CertificateAuthority::create("cluster.local", now).value());
  auto key = std::move(PrivateKey::generate().value());
  auto id = SpiffeId::parse(kWeb).value();
  auto leaf = ca->signPublicKey(key.publicKeyDer(), id, 86400, now).value();
  std::vector<TrustBundle> bundles = {{"cluster.local", {ca->certificateDer()}}};
  SvidVerdict v = verifySvid({leaf}, bundles, now);
  INFO(v.detail);
  REQUIRE(v.ok());
  CHECK(v.id.uri() == kWeb);
  // Within the clock-skew allowance before issue, and until the second before notAfter.
  CHECK(verifySvid({leaf}, bundles, now - 299).ok());
  CHECK(verifySvid({leaf}, bundles, now + 86399).ok());
  CHECK(verifySvid({leaf}, bundles, now + 86400).error == SvidError::kExpired);
}

TEST_CASE("verifySvid: no certificate", "[identity][verify]") {
  TestRoot root;
  CHECK(verifySvid({}, bundleOf(root), time(nullptr)).error == SvidError::kNoCertificate);
}

TEST_CASE("verifySvid: malformed certificate", "[identity][verify]") {
  TestRoot root;
  CHECK(verdictOf("not DER", root) == SvidError::kMalformed);
  auto key = newKey();
  std::string good = root.leaf(key.get()).der();
  CHECK(verdictOf(good + "x", root) == SvidError::kMalformed);  // trailing bytes
  CHECK(verifySvid({good, "junk"}, bundleOf(root), time(nullptr)).error == SvidError::kMalformed);
}

TEST_CASE("verifySvid: the leaf is a CA", "[identity][verify]") {
  TestRoot root;
  auto key = newKey();
  CertBuilder b = root.leaf(key.get());
  b.ca = true;
  CHECK(verdictOf(b.der(), root) == SvidError::kLeafIsCa);
  b.keyUsage = KU_KEY_CERT_SIGN | KU_DIGITAL_SIGNATURE;
  CHECK(verdictOf(b.der(), root) == SvidError::kLeafIsCa);
}

TEST_CASE("verifySvid: key usage", "[identity][verify]") {
  TestRoot root;
  auto key = newKey();
  CertBuilder b = root.leaf(key.get());
  b.keyUsage = std::nullopt;
  CHECK(verdictOf(b.der(), root) == SvidError::kKeyUsage);
  b.keyUsage = KU_KEY_ENCIPHERMENT;
  CHECK(verdictOf(b.der(), root) == SvidError::kKeyUsage);
  b.keyUsage = KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN;
  b.ca = std::nullopt;  // keyCertSign without CA:TRUE: not a CA, still never a workload
  CHECK(verdictOf(b.der(), root) == SvidError::kKeyUsage);
  b.keyUsage = KU_DIGITAL_SIGNATURE | KU_CRL_SIGN;
  CHECK(verdictOf(b.der(), root) == SvidError::kKeyUsage);
  b.keyUsage = KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT;  // extra bits are allowed
  CHECK(verdictOf(b.der(), root) == SvidError::kNone);
}

TEST_CASE("verifySvid: extended key usage for the peer's role", "[identity][verify]") {
  TestRoot root;
  auto key = newKey();
  CertBuilder b = root.leaf(key.get());
  auto check = [&](SvidRole role) {
    SvidVerdict v = verifySvid({b.der()}, bundleOf(root), time(nullptr), role);
    INFO(v.detail);
    return v.error;
  };
  // Without a role (the enrollment decisions) extendedKeyUsage is not looked at.
  CHECK(check(SvidRole::kAny) == SvidError::kNone);
  CHECK(check(SvidRole::kClient) == SvidError::kExtendedKeyUsage);  // none at all
  b.extendedKeyUsage = {NID_server_auth};
  CHECK(check(SvidRole::kClient) == SvidError::kExtendedKeyUsage);
  CHECK(check(SvidRole::kServer) == SvidError::kNone);
  b.extendedKeyUsage = {NID_client_auth};
  CHECK(check(SvidRole::kClient) == SvidError::kNone);
  CHECK(check(SvidRole::kServer) == SvidError::kExtendedKeyUsage);
  b.extendedKeyUsage = {NID_server_auth, NID_client_auth};
  CHECK(check(SvidRole::kClient) == SvidError::kNone);
  CHECK(check(SvidRole::kServer) == SvidError::kNone);
}

TEST_CASE("verifySvid: no URI SAN", "[identity][verify]") {
  TestRoot root;
  auto key = newKey();
  CertBuilder b = root.leaf(key.get());
  b.uris.clear();
  CHECK(verdictOf(b.der(), root) == SvidError::kNoUriSan);
}

TEST_CASE("verifySvid: more than one URI SAN", "[identity][verify]") {
  TestRoot root;
  auto key = newKey();
  CertBuilder b = root.leaf(key.get());
  b.uris = {kWeb, "spiffe://cluster.local/ns/prod/sa/admin"};
  CHECK(verdictOf(b.der(), root) == SvidError::kManyUriSans);
}

TEST_CASE("verifySvid: the URI is not a SPIFFE ID", "[identity][verify]") {
  TestRoot root;
  auto key = newKey();
  for (const char* uri : {"https://cluster.local/ns/prod/sa/web", "spiffe://Cluster.local/x",
                          "spiffe://cluster.local/ns/prod/sa/web/", "spiffe://cluster.local/a?b"}) {
    INFO(uri);
    CHECK(verdictOf(root.leaf(key.get(), uri).der(), root) == SvidError::kNotSpiffe);
  }
}

TEST_CASE("verifySvid: a trust domain we do not trust", "[identity][verify]") {
  TestRoot root;
  auto key = newKey();
  std::string der = root.leaf(key.get(), "spiffe://partner.example/ns/prod/sa/web").der();
  CHECK(verdictOf(der, root) == SvidError::kTrustDomain);
  // Federated: with a bundle for partner.example, the same leaf verifies against that bundle.
  std::vector<TrustBundle> federated = {{"cluster.local", {}}, {"partner.example", {root.der}}};
  SvidVerdict v = verifySvid({der}, federated, time(nullptr));
  INFO(v.detail);
  CHECK(v.ok());
  CHECK(v.id.trustDomain() == "partner.example");
}

TEST_CASE("verifySvid: not valid yet", "[identity][verify]") {
  TestRoot root;
  auto key = newKey();
  CertBuilder b = root.leaf(key.get());
  b.notBefore = time(nullptr) + 600;
  CHECK(verdictOf(b.der(), root) == SvidError::kNotYetValid);
}

TEST_CASE("verifySvid: expired", "[identity][verify]") {
  TestRoot root;
  auto key = newKey();
  CertBuilder b = root.leaf(key.get());
  b.notBefore = time(nullptr) - 7200;
  b.notAfter = time(nullptr) - 60;
  CHECK(verdictOf(b.der(), root) == SvidError::kExpired);
}

TEST_CASE("verifySvid: no chain to a root of the trust domain", "[identity][verify]") {
  TestRoot root, other;
  auto key = newKey();
  // Self-signed leaf.
  CertBuilder self;
  self.key = key.get();
  self.uris = {kWeb};
  CHECK(verdictOf(self.der(), root) == SvidError::kUntrusted);
  // Signed by another root.
  CHECK(verdictOf(other.leaf(key.get()).der(), root) == SvidError::kUntrusted);
  // A root that vouches for a federated domain does not vouch for ours.
  std::vector<TrustBundle> bundles = {{"cluster.local", {root.der}},
                                      {"partner.example", {other.der}}};
  CHECK(verifySvid({other.leaf(key.get()).der()}, bundles, time(nullptr)).error ==
        SvidError::kUntrusted);
  // An empty bundle trusts nothing.
  CHECK(verifySvid({root.leaf(key.get()).der()}, {{"cluster.local", {}}}, time(nullptr)).error ==
        SvidError::kUntrusted);
  // A bad signature: the right issuer name, the wrong key.
  CertBuilder forged = root.leaf(key.get());
  auto wrongKey = newKey();
  forged.issuerKey = wrongKey.get();
  CHECK(verdictOf(forged.der(), root) == SvidError::kUntrusted);
}

TEST_CASE("verifySvid: through an intermediate, and its failures", "[identity][verify]") {
  TestRoot root;
  auto midKey = newKey();
  CertBuilder mid;
  mid.key = midKey.get();
  mid.issuerCert = root.cert.get();
  mid.issuerKey = root.key.get();
  mid.ca = true;
  mid.keyUsage = KU_KEY_CERT_SIGN;
  mid.cn = "intermediate";
  std::string midDer = mid.der();
  auto midCert = parse(midDer);
  auto key = newKey();
  CertBuilder leaf;
  leaf.key = key.get();
  leaf.issuerCert = midCert.get();
  leaf.issuerKey = midKey.get();
  leaf.uris = {kWeb};
  std::string leafDer = leaf.der();
  CHECK(verifySvid({leafDer, midDer}, bundleOf(root), time(nullptr)).ok());
  CHECK(verifySvid({leafDer}, bundleOf(root), time(nullptr)).error == SvidError::kUntrusted);
  mid.notAfter = time(nullptr) - 10;  // an expired intermediate breaks the chain
  CHECK(verifySvid({leafDer, mid.der()}, bundleOf(root), time(nullptr)).error ==
        SvidError::kUntrusted);
}

TEST_CASE("verifySvid: the CA's name constraint holds even when a bundle is misfiled",
          "[identity][verify]") {
  gh::identity::testing::TempDir dir;
  int64_t now = time(nullptr);
  auto ca = std::move(CertificateAuthority::create("cluster.local", now).value());
  REQUIRE(ca->save(dir.file("ca")).ok());
  auto caKey = std::move(PrivateKey::fromPem(readWholeFile(dir.file("ca/ca.key")).value()).value());
  auto caCert = parse(ca->certificateDer());
  auto key = newKey();
  CertBuilder b;
  b.key = key.get();
  b.issuerCert = caCert.get();
  b.issuerKey = caKey.get();
  b.uris = {"spiffe://partner.example/ns/prod/sa/web"};
  std::vector<TrustBundle> misfiled = {{"partner.example", {ca->certificateDer()}}};
  SvidVerdict v = verifySvid({b.der()}, misfiled, now);
  CHECK(v.error == SvidError::kUntrusted);
  CHECK_THAT(v.detail, Catch::Contains("subtree"));
  b.uris = {kWeb};
  CHECK(verifySvid({b.der()}, {{"cluster.local", {ca->certificateDer()}}}, now).ok());
}

TEST_CASE("Every SvidError has a distinct label", "[identity][verify]") {
  std::set<std::string> names;
  for (int i = 0; i < static_cast<int>(SvidError::kCount); ++i)
    names.insert(svidErrorName(static_cast<SvidError>(i)));
  CHECK(names.size() == static_cast<size_t>(SvidError::kCount));
  CHECK(names.count("unknown") == 0);
}
