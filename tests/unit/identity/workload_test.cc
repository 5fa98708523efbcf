#include "core/identity/workload.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "core/identity/encoding.h"
#include "core/identity/files.h"
#include "core/identity/verify.h"
#include "tests/unit/identity/identity_test_util.h"

using namespace gh::identity;
using gh::identity::testing::fileMode;
using gh::identity::testing::TempDir;

namespace {

const int64_t kNow = 1'800'000'000;

std::unique_ptr<CertificateAuthority> newCa() {
  return std::move(CertificateAuthority::create("cluster.local", kNow).value());
}

SpiffeId web() {
  return SpiffeId::forWorkload("cluster.local", "prod", "web").value();
}

}  // namespace

TEST_CASE("renewalTime is half the life plus 0-10% jitter, stable per seed",
          "[identity][workload]") {
  CHECK(renewalTime(1000, 1000 + 86400, "a") == renewalTime(1000, 1000 + 86400, "a"));
  int64_t lo = INT64_MAX, hi = 0;
  for (int i = 0; i < 2000; ++i) {
    int64_t t = renewalTime(1000, 1000 + 86400, std::to_string(i));
    REQUIRE(t >= 1000 + 43200);
    REQUIRE(t <= 1000 + 43200 + 8640);
    lo = std::min(lo, t);
    hi = std::max(hi, t);
  }
  CHECK(hi - lo > 8000);  // the jitter does spread
  CHECK(renewalTime(1000, 1000, "a") == 1000);
  CHECK(renewalTime(1000, 1010, "a") >= 1005);
}

TEST_CASE("A local CA issues a node identity; it stores privately and loads back",
          "[identity][workload]") {
  TempDir dir;
  auto ca = newCa();
  std::string idDir = dir.file("identity");
  CHECK_FALSE(WorkloadIdentity::existsIn(idDir));
  auto issued = issueFromLocalCa(*ca, idDir, web(), 86400, kNow);
  REQUIRE(issued.ok());
  CHECK(WorkloadIdentity::existsIn(idDir));
  CHECK(fileMode(idDir) == 0700);
  CHECK(fileMode(idDir + "/workload.key") == 0600);
  CHECK(fileMode(idDir + "/workload.crt") == 0644);
  CHECK(fileMode(idDir + "/bundle.crt") == 0644);
  CHECK_FALSE(fileExists(idDir + "/workload.key.next"));

  // As after a restart: everything comes back from the files.
  auto loaded = WorkloadIdentity::load(idDir);
  REQUIRE(loaded.ok());
  CHECK(loaded->id.uri() == web().uri());
  CHECK(loaded->certificate.serialHex == issued->certificate.serialHex);
  CHECK(loaded->lifetime() == 86400 + CertificateAuthority::kBackdateSeconds);
  CHECK(loaded->renewAt() == issued->renewAt());
  CHECK(loaded->renewAt() >= loaded->certificate.notBefore + loaded->lifetime() / 2);
  REQUIRE(loaded->bundle.size() == 1);
  CHECK(loaded->bundle[0].sha256Hex == ca->fingerprint());
  REQUIRE(loaded->key);
  CHECK(loaded->key->publicKeyDer().size() > 0);

  // The stored leaf verifies against the stored bundle.
  std::vector<TrustBundle> bundles = {{"cluster.local", {loaded->bundle[0].der}}};
  CHECK(verifySvid({loaded->certificate.der}, bundles, kNow + 60).ok());

  // Re-issuing replaces key and certificate together.
  std::string oldKey = readWholeFile(idDir + "/workload.key").value();
  REQUIRE(issueFromLocalCa(*ca, idDir, web(), 3600, kNow).ok());
  CHECK(readWholeFile(idDir + "/workload.key").value() != oldKey);
  CHECK(WorkloadIdentity::load(idDir).ok());
}

TEST_CASE("A renewal interrupted by a crash leaves a matching pair", "[identity][workload]") {
  TempDir dir;
  auto ca = newCa();
  std::string idDir = dir.file("identity");
  auto first = issueFromLocalCa(*ca, idDir, web(), 86400, kNow);
  REQUIRE(first.ok());
  auto key = std::move(PrivateKey::generate().value());
  std::string next = idDir + "/workload.key.next";

  SECTION("crash after the new key, before the new certificate: the old pair stands") {
    REQUIRE(writeFileAtomic(next, key.pem(), 0600).ok());
    auto loaded = WorkloadIdentity::load(idDir);
    REQUIRE(loaded.ok());
    CHECK(loaded->certificate.serialHex == first->certificate.serialHex);
    CHECK_FALSE(fileExists(next));
  }
  SECTION("crash after the new certificate, before the key's rename: the new pair wins") {
    REQUIRE(writeFileAtomic(next, key.pem(), 0600).ok());
    auto cert = ca->signPublicKey(key.publicKeyDer(), web(), 86400, kNow).value();
    REQUIRE(writeFileAtomic(idDir + "/workload.crt", pemEncode(cert, "CERTIFICATE"), 0644).ok());
    auto loaded = WorkloadIdentity::load(idDir);
    REQUIRE(loaded.ok());
    CHECK(loaded->certificate.der == cert);
    CHECK(loaded->key->publicKeyDer() == key.publicKeyDer());
    CHECK_FALSE(fileExists(next));
  }
}

TEST_CASE("A workload identity with a loose key, a foreign key or a missing file is refused",
          "[identity][workload]") {
  TempDir dir;
  auto ca = newCa();
  std::string idDir = dir.file("identity");
  REQUIRE(issueFromLocalCa(*ca, idDir, web(), 86400, kNow).ok());
  SECTION("key readable by group") {
    REQUIRE(chmod((idDir + "/workload.key").c_str(), 0640) == 0);
    CHECK_THAT(WorkloadIdentity::load(idDir).status().message(), Catch::Contains("private key"));
  }
  SECTION("key of another certificate") {
    auto other = std::move(PrivateKey::generate().value());
    REQUIRE(writeFileAtomic(idDir + "/workload.key", other.pem(), 0600).ok());
    CHECK_THAT(WorkloadIdentity::load(idDir).status().message(),
               Catch::Contains("does not belong"));
  }
  SECTION("no bundle") {
    REQUIRE(unlink((idDir + "/bundle.crt").c_str()) == 0);
    CHECK_FALSE(WorkloadIdentity::load(idDir).ok());
  }
  SECTION("no certificate") {
    REQUIRE(unlink((idDir + "/workload.crt").c_str()) == 0);
    CHECK_FALSE(WorkloadIdentity::load(idDir).ok());
  }
}

TEST_CASE("writeFileAtomic sets the mode and can refuse to replace", "[identity][files]") {
  TempDir dir;
  std::string path = dir.file("f");
  mode_t old = umask(077);
  REQUIRE(writeFileAtomic(path, "one", 0644).ok());
  umask(old);
  CHECK(fileMode(path) == 0644);  // the umask does not narrow it
  CHECK_THAT(writeFileAtomic(path, "two", 0600, false).message(),
             Catch::Contains("already exists"));
  CHECK(readWholeFile(path).value() == "one");
  REQUIRE(writeFileAtomic(path, "three", 0600).ok());
  CHECK(readWholeFile(path).value() == "three");
  CHECK(fileMode(path) == 0600);
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                      std::filesystem::directory_iterator()) == 1);  // no temporary left behind
  REQUIRE(makePrivateDir(dir.file("a/b/c")).ok());
  CHECK(fileMode(dir.file("a/b/c")) == 0700);
  CHECK(fileMode(dir.file("a")) == 0700);
}

TEST_CASE("A CSR made here carries the node's key and is signed with it", "[identity][workload]") {
  auto key = std::move(PrivateKey::generate().value());
  auto csr = createCsr(key, web());
  REQUIRE(csr.ok());
  CHECK(csr->rfind("-----BEGIN CERTIFICATE REQUEST-----\n", 0) == 0);
  auto pub = csrPublicKey(*csr);
  REQUIRE(pub.ok());
  CHECK(*pub == key.publicKeyDer());
  // The key file round-trips, and nothing but P-256 is accepted.
  auto back = PrivateKey::fromPem(key.pem());
  REQUIRE(back.ok());
  CHECK(back->publicKeyDer() == key.publicKeyDer());
  CHECK_FALSE(
      PrivateKey::fromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").ok());
}
