#include "core/identity/token.h"

#include <catch2/catch.hpp>

#include "core/base/sha256.h"
#include "core/identity/encoding.h"
#include "core/identity/files.h"
#include "tests/unit/identity/identity_test_util.h"

using namespace gh::identity;
using gh::identity::testing::fileMode;
using gh::identity::testing::TempDir;

namespace {

const int64_t kNow = 1'800'000'000;

struct Fixture {
  TempDir dir;
  std::unique_ptr<CertificateAuthority> ca =
      std::move(CertificateAuthority::create("cluster.local", kNow).value());
  std::string caDir = dir.file("ca");
  TokenStore store{caDir};
  SpiffeId web = SpiffeId::forWorkload("cluster.local", "prod", "web").value();

  Fixture() { REQUIRE(ca->save(caDir).ok()); }
};

}  // namespace

TEST_CASE("A join token names its identity, expiry and CA, and parses back", "[identity][token]") {
  Fixture f;
  auto t = f.store.create(*f.ca, f.web, 3600, kNow);
  REQUIRE(t.ok());
  std::string text = t->format();
  CHECK(text.rfind("ghjt.", 0) == 0);
  for (char c : text)
    CHECK((isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'));
  auto parsed = JoinToken::parse(text);
  REQUIRE(parsed.ok());
  CHECK(parsed->id == t->id);
  CHECK(parsed->id.size() == 16);
  CHECK(parsed->spiffeId.uri() == "spiffe://cluster.local/ns/prod/sa/web");
  CHECK(parsed->expiresAt == kNow + 3600);
  CHECK(parsed->caFingerprint == f.ca->fingerprint());
  CHECK(parsed->secret.size() == 32);
  CHECK(parsed->format() == text);

  // The joining side checks the CA it is shown against the pin.
  CHECK(checkPinnedCa(*parsed, f.ca->certificateDer()).ok());
  auto impostor = std::move(CertificateAuthority::create("cluster.local", kNow).value());
  CHECK_THAT(checkPinnedCa(*parsed, impostor->certificateDer()).message(),
             Catch::Contains("not the one the token pins"));

  // The CA keeps a hash of the secret, never the secret, in a private file.
  std::string records = readWholeFile(f.caDir + "/tokens").value();
  CHECK(records.find(gh::Sha256::hex(parsed->secret)) != std::string::npos);
  CHECK(records.find(base64UrlEncode(parsed->secret)) == std::string::npos);
  CHECK(records.find(hexEncode(parsed->secret)) == std::string::npos);
  CHECK(fileMode(f.caDir + "/tokens") == 0600);
}

TEST_CASE("A join token is accepted once", "[identity][token]") {
  Fixture f;
  std::string text = f.store.create(*f.ca, f.web, 3600, kNow).value().format();
  auto id = f.store.redeem(text, kNow + 10);
  REQUIRE(id.ok());
  CHECK(id->uri() == f.web.uri());
  CHECK_THAT(f.store.redeem(text, kNow + 11).status().message(), Catch::Contains("already used"));
  // Also through another TokenStore on the same directory (the server and the CLI).
  CHECK_FALSE(TokenStore(f.caDir).redeem(text, kNow + 12).ok());
  auto records = f.store.list().value();
  REQUIRE(records.size() == 1);
  CHECK(records[0].usedAt == kNow + 10);
}

TEST_CASE("An expired, forged or unknown join token is refused", "[identity][token]") {
  Fixture f;
  JoinToken t = f.store.create(*f.ca, f.web, 600, kNow).value();
  CHECK_THAT(f.store.redeem(t.format(), kNow + 600).status().message(), Catch::Contains("expired"));

  JoinToken fresh = f.store.create(*f.ca, f.web, 600, kNow).value();
  JoinToken wrongSecret = fresh;
  wrongSecret.secret[0] ^= 1;
  auto r = f.store.redeem(wrongSecret.format(), kNow);
  CHECK_THAT(r.status().message(), Catch::Contains("wrong secret"));
  CHECK(r.status().message().find(base64UrlEncode(wrongSecret.secret)) == std::string::npos);

  // Claims are not authority: a token whose claims were edited to another identity still
  // yields the identity the CA recorded.
  JoinToken edited = fresh;
  edited.spiffeId = SpiffeId::forWorkload("cluster.local", "prod", "admin").value();
  edited.expiresAt = kNow + 999999;
  auto got = f.store.redeem(edited.format(), kNow);
  REQUIRE(got.ok());
  CHECK(got->uri() == f.web.uri());

  JoinToken unknown = fresh;
  unknown.id = "0123456789abcdef";
  CHECK_THAT(f.store.redeem(unknown.format(), kNow).status().message(),
             Catch::Contains("unknown to this CA"));
  CHECK_FALSE(f.store.redeem("ghjt.garbage", kNow).ok());
}

TEST_CASE("Token creation checks lifetime and trust domain", "[identity][token]") {
  Fixture f;
  CHECK_FALSE(f.store.create(*f.ca, f.web, 0, kNow).ok());
  CHECK_FALSE(f.store.create(*f.ca, f.web, 7 * 86400 + 1, kNow).ok());
  CHECK(f.store.create(*f.ca, f.web, 7 * 86400, kNow).ok());
  auto foreign = SpiffeId::forWorkload("partner.example", "prod", "web").value();
  CHECK_THAT(f.store.create(*f.ca, foreign, 60, kNow).status().message(),
             Catch::Contains("trust domain"));
}

TEST_CASE("Spent token records are dropped after a week, live ones kept", "[identity][token]") {
  Fixture f;
  std::string used = f.store.create(*f.ca, f.web, 3600, kNow).value().format();
  REQUIRE(f.store.redeem(used, kNow + 1).ok());
  f.store.create(*f.ca, f.web, 60, kNow).value();         // expires unused at kNow + 60
  f.store.create(*f.ca, f.web, 7 * 86400, kNow).value();  // expires at kNow + 7 days
  CHECK(f.store.list().value().size() == 3);
  // Eight days on, the write of a new token drops the two spent more than a week ago.
  f.store.create(*f.ca, f.web, 60, kNow + 8 * 86400).value();
  auto records = f.store.list().value();
  REQUIRE(records.size() == 2);
  CHECK(records[0].expiresAt == kNow + 7 * 86400);
}

TEST_CASE("JoinToken::parse refuses damaged tokens, saying what is wrong", "[identity][token]") {
  std::string secret = base64UrlEncode(std::string(32, 'k'));
  std::string fp(64, 'a');
  auto tok = [&](const std::string& claims, const std::string& s) {
    return "ghjt." + base64UrlEncode(claims) + "." + s;
  };
  std::string good = "1 0123456789abcdef spiffe://td/ns/a/sa/b 1800000000 " + fp;
  REQUIRE(JoinToken::parse(tok(good, secret)).ok());
  struct Case {
    std::string text;
    const char* why;
  };
  const Case cases[] = {
      {"xyz." + secret, "does not start with ghjt."},
      {"ghjt.abc", "expected ghjt.<claims>.<secret>"},
      {"ghjt.a.b.c", "expected ghjt.<claims>.<secret>"},
      {"ghjt.a*b." + secret, "claims are not base64url"},
      {tok(good, base64UrlEncode("short")), "secret is not 32 bytes"},
      {tok("2 " + good.substr(2), secret), "unknown format version"},
      {tok(good + " extra", secret), "five fields"},
      {tok("1 0123 spiffe://td/ns/a/sa/b 1800000000 " + fp, secret), "16 hex digits"},
      {tok("1 0123456789abcdef http://td 1800000000 " + fp, secret), "spiffe://"},
      {tok("1 0123456789abcdef spiffe://td/ns/a/sa/b soon " + fp, secret), "expiry"},
      {tok("1 0123456789abcdef spiffe://td/ns/a/sa/b 1800000000 abc", secret), "fingerprint"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto t = JoinToken::parse(c.text);
    REQUIRE_FALSE(t.ok());
    CHECK_THAT(t.status().message(), Catch::Contains(c.why));
  }
}

TEST_CASE("base64url round-trips and refuses non-canonical text", "[identity][token]") {
  for (size_t n = 0; n < 40; ++n) {
    std::string bytes = randomBytes(n);
    std::string text = base64UrlEncode(bytes);
    CHECK(text.find('=') == std::string::npos);
    std::string back;
    REQUIRE(base64UrlDecode(text, &back));
    CHECK(back == bytes);
  }
  std::string out;
  CHECK(base64UrlEncode("\xfb\xff") == "-_8");
  CHECK_FALSE(base64UrlDecode("A", &out));
  CHECK_FALSE(base64UrlDecode("AB=", &out));
  CHECK_FALSE(base64UrlDecode("AB", &out));  // leftover bits not zero: "AA" is the canonical form
  CHECK(base64UrlDecode("AA", &out));
}
