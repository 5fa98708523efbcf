#include "core/identity/enrollment.h"

#include <catch2/catch.hpp>

#include "core/identity/encoding.h"
#include "core/identity/files.h"
#include "tests/unit/identity/identity_test_util.h"

using namespace gh::identity;
using gh::identity::testing::fileMode;
using gh::identity::testing::TempDir;

namespace {

const int64_t kNow = 1'800'000'000;

// The CA node: a CA, its token records, and its own serving identity.
struct CaNode {
  TempDir dir;
  std::unique_ptr<CertificateAuthority> ca =
      std::move(CertificateAuthority::create("cluster.local", kNow).value());
  TokenStore tokens{dir.file("ca")};
  EnrollmentAuthority authority{*ca, tokens, 86400};
  SpiffeId web = SpiffeId::forWorkload("cluster.local", "shop", "web").value();

  CaNode() { REQUIRE(ca->save(dir.file("ca")).ok()); }
  std::string token(const SpiffeId& id) {
    return tokens.create(*ca, id, 3600, kNow).value().format();
  }
  // The chain the enrollment server presents: its own SVID, then the root.
  std::vector<std::string> serverChain() {
    auto w = issueFromLocalCa(*ca, dir.file("identity"),
                              SpiffeId::forWorkload("cluster.local", "gatehouse", "ca").value(),
                              86400, kNow);
    REQUIRE(w.ok());
    return {w->certificate.der, ca->certificateDer()};
  }
};

}  // namespace

TEST_CASE("A node joins with a token, then renews with its certificate", "[identity][enroll]") {
  CaNode node;
  TempDir joiner;
  std::string idDir = joiner.file("identity");

  auto attempt = prepareJoin(node.token(node.web), kNow + 5);
  REQUIRE(attempt.ok());
  CHECK(attempt->token.spiffeId == node.web);
  CHECK(verifyPinnedServer(node.serverChain(), attempt->token, kNow + 5).ok());

  auto issued = node.authority.enroll(attempt->token.format(), attempt->csrPem, kNow + 6);
  REQUIRE(issued.ok());
  std::vector<std::string> pinned = {node.ca->certificateDer()};
  auto identity =
      acceptIssued(*issued, attempt->key, attempt->token.spiffeId, pinned, idDir, kNow + 7);
  REQUIRE(identity.ok());
  CHECK(identity->id == node.web);
  CHECK(fileMode(idDir + "/workload.key") == 0600);
  CHECK(identity->key->publicKeyDer() == attempt->key.publicKeyDer());

  // The token is spent.
  CHECK_THAT(
      node.authority.enroll(attempt->token.format(), attempt->csrPem, kNow + 8).status().message(),
      Catch::Contains("already used"));

  // Renewal after a "reboot": load from disk, authenticate by the certificate, new key.
  auto current = WorkloadIdentity::load(idDir).value();
  std::vector<TrustBundle> bundles = {{"cluster.local", {current.bundle[0].der}}};
  SvidVerdict peer = verifySvid({current.certificate.der}, bundles, kNow + 43200);
  REQUIRE(peer.ok());
  auto newKey = std::move(PrivateKey::generate().value());
  auto csr = createCsr(newKey, current.id).value();
  auto renewed = node.authority.renew(peer.id, csr, kNow + 43200);
  REQUIRE(renewed.ok());
  auto after =
      acceptIssued(*renewed, newKey, current.id, {current.bundle[0].der}, idDir, kNow + 43200);
  REQUIRE(after.ok());
  CHECK(after->id == node.web);
  CHECK(after->certificate.serialHex != current.certificate.serialHex);
  CHECK(after->certificate.notAfter == kNow + 43200 + 86400);

  // Expired: the certificate no longer authenticates a renewal.
  CHECK(verifySvid({current.certificate.der}, bundles, kNow + 86400 + 10).error ==
        SvidError::kExpired);
  CHECK_FALSE(node.authority.renew(SpiffeId(), csr, kNow).ok());
}

TEST_CASE("The joining node refuses an impostor CA before sending anything", "[identity][enroll]") {
  CaNode real, impostor;
  auto attempt = prepareJoin(real.token(real.web), kNow);
  REQUIRE(attempt.ok());
  SvidVerdict v = verifyPinnedServer(impostor.serverChain(), attempt->token, kNow);
  CHECK(v.error == SvidError::kUntrusted);
  CHECK_THAT(v.detail, Catch::Contains("pins"));
  // The impostor adding the real root to its chain does not help: its leaf does not chain to it.
  std::vector<std::string> mixed = impostor.serverChain();
  mixed.push_back(real.ca->certificateDer());
  CHECK(verifyPinnedServer(mixed, attempt->token, kNow).error == SvidError::kUntrusted);
}

TEST_CASE("The joining node checks what it is given", "[identity][enroll]") {
  CaNode node, other;
  TempDir joiner;
  auto attempt = prepareJoin(node.token(node.web), kNow);
  REQUIRE(attempt.ok());
  std::vector<std::string> pinned = {node.ca->certificateDer()};
  auto issued = node.authority.enroll(attempt->token.format(), attempt->csrPem, kNow).value();

  SECTION("a certificate for another identity") {
    auto admin = SpiffeId::forWorkload("cluster.local", "shop", "admin").value();
    auto r = acceptIssued(issued, attempt->key, admin, pinned, joiner.file("id"), kNow);
    CHECK_THAT(r.status().message(),
               Catch::Contains("not spiffe://cluster.local/ns/shop/sa/admin"));
  }
  SECTION("a certificate for another key") {
    auto otherKey = std::move(PrivateKey::generate().value());
    auto r = acceptIssued(issued, otherKey, node.web, pinned, joiner.file("id"), kNow);
    CHECK_THAT(r.status().message(), Catch::Contains("does not carry this node's key"));
  }
  SECTION("a certificate from another CA") {
    auto r = acceptIssued(issued, attempt->key, node.web, {other.ca->certificateDer()},
                          joiner.file("id"), kNow);
    CHECK_THAT(r.status().message(), Catch::Contains("untrusted"));
  }
  SECTION("a bundle without the pinned CA") {
    issued.bundlePem = other.ca->certificatePem();
    auto r = acceptIssued(issued, attempt->key, node.web, pinned, joiner.file("id"), kNow);
    CHECK_THAT(r.status().message(), Catch::Contains("trust bundle"));
  }
  CHECK_FALSE(fileExists(joiner.file("id/workload.key")));  // nothing stored on failure
}

TEST_CASE("Enrollment refuses bad tokens and CSRs; a broken CSR does not spend the token",
          "[identity][enroll]") {
  CaNode node;
  std::string token = node.token(node.web);
  CHECK_FALSE(node.authority.enroll(token, "not a CSR", kNow).ok());
  auto attempt = std::move(prepareJoin(token, kNow).value());
  CHECK(node.authority.enroll(token, attempt.csrPem, kNow).ok());

  CHECK_THAT(prepareJoin(node.token(node.web), kNow + 3600).status().message(),
             Catch::Contains("expired"));
  CHECK_FALSE(prepareJoin("ghjt.nonsense.x", kNow).ok());
}
