// Enrollment over the network: the EnrollmentServer on 127.0.0.1 (an ephemeral port, a CA in a
// temporary data dir) and the client functions of `gatehouse join` / `cert renew`, end to end
// over real TLS sockets. The real clock is used (certificates are made in the past where a test
// needs them expired), so nothing here depends on a fixed date.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "core/identity/encoding.h"
#include "core/identity/enrollment.h"
#include "core/identity/enrollment_client.h"
#include "core/identity/enrollment_io.h"
#include "core/identity/enrollment_server.h"
#include "core/identity/enrollment_wire.h"
#include "core/identity/files.h"
#include "tests/unit/identity/identity_test_util.h"

using namespace gh::identity;
using gh::identity::testing::fileMode;
using gh::identity::testing::TempDir;

namespace {

const int64_t kDay = 86400;

int64_t now() { return time(nullptr); }

// The CA node: a CA (made ten days ago, so certificates can be issued in the past), its own
// workload identity, and an enrollment server on an ephemeral loopback port.
struct CaNode {
  TempDir dir;
  std::string caDir = dir.file("ca");
  std::string idDir = dir.file("identity");
  std::unique_ptr<CertificateAuthority> ca =
      std::move(CertificateAuthority::create("cluster.local", now() - 10 * kDay).value());
  SpiffeId self = SpiffeId::forWorkload("cluster.local", "gatehouse", "ca").value();
  SpiffeId web = SpiffeId::forWorkload("cluster.local", "shop", "web").value();
  std::unique_ptr<EnrollmentServer> server;

  explicit CaNode(int64_t deadlineMillis = 10'000, int maxConnections = 16) {
    REQUIRE(ca->save(caDir).ok());
    REQUIRE(issueFromLocalCa(*ca, idDir, self, kDay, now()).ok());
    EnrollmentServerOptions o{"127.0.0.1", 0, caDir, idDir, kDay};
    o.connectionDeadlineMillis = deadlineMillis;
    o.maxConnections = maxConnections;
    auto s = EnrollmentServer::start(o);
    REQUIRE(s.ok());
    server = std::move(*s);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(server->port()); }
  std::string token(const SpiffeId& id, int64_t ttl = 3600, int64_t at = now()) {
    TokenStore tokens(caDir);
    auto t = tokens.create(*ca, id, ttl, at);
    REQUIRE(t.ok());
    return t->format();
  }
  TokenStore::Record record(const std::string& tokenText) {
    auto id = JoinToken::parse(tokenText).value().id;
    auto records = TokenStore(caDir).list();
    REQUIRE(records.ok());
    for (auto& r : *records)
      if (r.id == id) return r;
    FAIL("no record for token " << id);
    return {};
  }
};

// Accepts whatever the server presents (for requests the tests craft by hand).
gh::Status acceptAnyServer(const std::vector<std::string>&) { return gh::okStatus(); }

CaRequest rawRequest(std::string target, std::string body,
                     const WorkloadIdentity* client = nullptr) {
  CaRequest r;
  r.target = std::move(target);
  r.body = std::move(body);
  r.clientIdentity = client;
  r.verifyServer = acceptAnyServer;
  return r;
}

std::string csrFor(const SpiffeId& id) {
  auto key = PrivateKey::generate();
  REQUIRE(key.ok());
  return createCsr(*key, id).value();
}

// A plain TCP connection to the server (no TLS): for junk and half-open peers.
int rawConnect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

// Whether the server closed fd within `ms` (reads and discards whatever it sends first).
bool closedWithin(int fd, int ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  char buf[4096];
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("A node joins over TLS; the files are stored and the CA address recorded",
          "[identity][enrollment_net]") {
  CaNode node;
  TempDir joiner;
  std::string idDir = joiner.file("data/identity");
  EnrollmentFailure why = EnrollmentFailure::kRefused;
  auto joined = joinMesh(node.address(), node.token(node.web), idDir, now(), &why);
  REQUIRE(joined.ok());
  CHECK(why == EnrollmentFailure::kNone);
  CHECK(joined->id == node.web);
  CHECK(fileMode(idDir) == 0700);
  CHECK(fileMode(idDir + "/workload.key") == 0600);
  CHECK(fileExists(idDir + "/workload.crt"));
  CHECK(fileExists(idDir + "/bundle.crt"));
  CHECK(joinedCaAddress(idDir) == node.address());
  REQUIRE(joined->bundle.size() == 1);
  CHECK(joined->bundle[0].der == node.ca->certificateDer());
  // The stored identity loads back (a reboot) and is what the CA issued.
  auto loaded = WorkloadIdentity::load(idDir);
  REQUIRE(loaded.ok());
  CHECK(loaded->certificate.serialHex == joined->certificate.serialHex);
  CHECK(loaded->certificate.notAfter - loaded->certificate.notBefore ==
        kDay + CertificateAuthority::kBackdateSeconds);
  auto st = node.server->stats();
  CHECK(st.joined == 1);
  CHECK(st.requests == 1);
  CHECK(joinedCaAddress(joiner.file("nowhere")).empty());
}

TEST_CASE("A join token is single-use", "[identity][enrollment_net]") {
  CaNode node;
  TempDir a, b;
  std::string token = node.token(node.web);
  REQUIRE(joinMesh(node.address(), token, a.file("identity"), now()).ok());
  EnrollmentFailure why;
  auto again = joinMesh(node.address(), token, b.file("identity"), now(), &why);
  REQUIRE_FALSE(again.ok());
  CHECK(why == EnrollmentFailure::kRefused);
  CHECK_THAT(again.status().message(), Catch::Contains("already used"));
  CHECK_THAT(again.status().message(), Catch::Contains("(403)"));
  CHECK_FALSE(WorkloadIdentity::existsIn(b.file("identity")));
  // The secret never appears in the answer.
  auto t = JoinToken::parse(token).value();
  CHECK(again.status().message().find(token.substr(token.rfind('.') + 1)) == std::string::npos);
}

TEST_CASE("An expired token is refused, by the joining node and by the CA",
          "[identity][enrollment_net]") {
  CaNode node;
  TempDir joiner;
  std::string expired = node.token(node.web, 3600, now() - 7200);
  EnrollmentFailure why;
  auto r = joinMesh(node.address(), expired, joiner.file("identity"), now(), &why);
  CHECK(why == EnrollmentFailure::kRefused);
  CHECK_THAT(r.status().message(), Catch::Contains("expired"));
  CHECK(node.server->stats().requests == 0);  // refused before any network

  // Sent anyway (a node with a wrong clock): the CA refuses it too.
  auto reply = exchangeWithCa(
      node.address(),
      rawRequest("/v1/join", wire::jsonObject({{"token", expired}, {"csr", csrFor(node.web)}})));
  REQUIRE(reply.ok());
  CHECK(reply->status == 403);
  CHECK_THAT(reply->error, Catch::Contains("expired"));
}

TEST_CASE("A token obtains the identity the CA recorded, whatever its claims say",
          "[identity][enrollment_net]") {
  CaNode node;
  auto admin = SpiffeId::forWorkload("cluster.local", "shop", "admin").value();

  SECTION("the joining node refuses what the CA grants, and stores nothing") {
    TempDir joiner;
    auto t = JoinToken::parse(node.token(node.web)).value();
    t.spiffeId = admin;
    EnrollmentFailure why;
    auto r = joinMesh(node.address(), t.format(), joiner.file("identity"), now(), &why);
    REQUIRE_FALSE(r.ok());
    CHECK(why == EnrollmentFailure::kRefused);
    CHECK_THAT(r.status().message(), Catch::Contains("not spiffe://cluster.local/ns/shop/sa/admin"));
    CHECK_FALSE(WorkloadIdentity::existsIn(joiner.file("identity")));
  }
  SECTION("a hand-made request with a CSR for another identity gets the recorded one") {
    auto t = JoinToken::parse(node.token(node.web)).value();
    t.spiffeId = admin;
    auto reply = exchangeWithCa(
        node.address(),
        rawRequest("/v1/join", wire::jsonObject({{"token", t.format()}, {"csr", csrFor(admin)}})));
    REQUIRE(reply.ok());
    REQUIRE(reply->status == 200);
    auto json = wire::JsonStrings::parse(reply->body).value();
    auto der = pemDecode(*json.get("certificate"), "CERTIFICATE").value();
    auto info = CertificateInfo::fromDer(der.at(0)).value();
    CHECK(info.uriSans == std::vector<std::string>{node.web.uri()});
  }
}

TEST_CASE("A token that pins another CA sends nothing", "[identity][enrollment_net]") {
  CaNode node;
  TempDir joiner;
  std::string good = node.token(node.web);
  auto t = JoinToken::parse(good).value();
  t.caFingerprint = std::string(64, 'a');
  EnrollmentFailure why;
  auto r = joinMesh(node.address(), t.format(), joiner.file("identity"), now(), &why);
  REQUIRE_FALSE(r.ok());
  CHECK(why == EnrollmentFailure::kRefused);
  CHECK_THAT(r.status().message(),
             Catch::Contains("the CA at " + node.address() +
                             " is not the one the token pins (sha256 " + std::string(64, 'a')));
  CHECK_THAT(r.status().message(), Catch::Contains(node.ca->fingerprint()));
  // The server saw a handshake end, no request; the token is still unused and still works.
  auto waitFailed = [&] {
    for (int i = 0; i < 100 && node.server->stats().failed == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  };
  waitFailed();
  CHECK(node.server->stats().requests == 0);
  CHECK(node.server->stats().failed == 1);
  CHECK(node.record(good).usedAt == 0);
  CHECK_FALSE(WorkloadIdentity::existsIn(joiner.file("identity")));
  CHECK(joinMesh(node.address(), good, joiner.file("identity"), now()).ok());
}

TEST_CASE("Another CA's enrollment server is refused before anything is sent",
          "[identity][enrollment_net]") {
  CaNode real;
  CaNode impostor;
  std::string token = real.token(real.web);
  TempDir joiner;
  EnrollmentFailure why;
  auto r = joinMesh(impostor.address(), token, joiner.file("identity"), now(), &why);
  CHECK(why == EnrollmentFailure::kRefused);
  CHECK_THAT(r.status().message(), Catch::Contains("is not the one the token pins"));
  CHECK(impostor.server->stats().requests == 0);
  CHECK(real.record(token).usedAt == 0);
}

TEST_CASE("Renewal by the current certificate: same identity, new key, new certificate",
          "[identity][enrollment_net]") {
  CaNode node;
  TempDir joiner;
  std::string idDir = joiner.file("identity");
  auto first = joinMesh(node.address(), node.token(node.web), idDir, now());
  REQUIRE(first.ok());
  node.server->setLeafTtl(600);
  EnrollmentFailure why = EnrollmentFailure::kRefused;
  const int64_t before = now();
  auto renewed = renewWithCa(node.address(), idDir, now(), &why);
  const int64_t after = now();
  REQUIRE(renewed.ok());
  CHECK(why == EnrollmentFailure::kNone);
  CHECK(renewed->id == node.web);
  CHECK(renewed->certificate.serialHex != first->certificate.serialHex);
  CHECK(renewed->key->publicKeyDer() != first->key->publicKeyDer());
  CHECK(renewed->certificate.notAfter >= before + 600);  // the new lifetime applies
  CHECK(renewed->certificate.notAfter <= after + 600);
  auto loaded = WorkloadIdentity::load(idDir).value();
  CHECK(loaded.certificate.serialHex == renewed->certificate.serialHex);
  CHECK(node.server->stats().renewed == 1);
  // And again, with the renewed certificate (as the node's renewal loop would).
  CHECK(renewWithCa(node.address(), idDir, now()).ok());
}

TEST_CASE("Renewal without a valid client certificate is refused", "[identity][enrollment_net]") {
  CaNode node;
  std::string body = wire::jsonObject({{"csr", csrFor(node.web)}});

  SECTION("no client certificate") {
    auto reply = exchangeWithCa(node.address(), rawRequest("/v1/renew", body));
    REQUIRE(reply.ok());
    CHECK(reply->status == 401);
    CHECK_THAT(reply->error, Catch::StartsWith("no_certificate"));
  }
  SECTION("an expired certificate") {
    TempDir old;
    auto expired = issueFromLocalCa(*node.ca, old.file("identity"), node.web, kDay, now() - 3 * kDay);
    REQUIRE(expired.ok());
    auto reply = exchangeWithCa(node.address(), rawRequest("/v1/renew", body, &*expired));
    REQUIRE(reply.ok());
    CHECK(reply->status == 401);
    CHECK_THAT(reply->error, Catch::StartsWith("expired"));
    CHECK_THAT(reply->error, Catch::Contains("join again"));
    // renewWithCa does not even try: the node must join again.
    EnrollmentFailure why;
    auto r = renewWithCa(node.address(), old.file("identity"), now(), &why);
    CHECK(why == EnrollmentFailure::kRefused);
    CHECK_THAT(r.status().message(), Catch::Contains("must join again"));
  }
  SECTION("a certificate of another CA") {
    CaNode other;
    auto foreign = WorkloadIdentity::load(other.idDir).value();
    auto reply = exchangeWithCa(node.address(), rawRequest("/v1/renew", body, &foreign));
    REQUIRE(reply.ok());
    CHECK(reply->status == 401);
    CHECK_THAT(reply->error, Catch::StartsWith("untrusted"));
  }
  CHECK(node.server->stats().renewed == 0);
}

TEST_CASE("Renewal refuses a server its bundle does not vouch for", "[identity][enrollment_net]") {
  CaNode node, other;
  TempDir joiner;
  std::string idDir = joiner.file("identity");
  REQUIRE(joinMesh(node.address(), node.token(node.web), idDir, now()).ok());
  EnrollmentFailure why;
  auto r = renewWithCa(other.address(), idDir, now(), &why);
  CHECK(why == EnrollmentFailure::kRefused);
  CHECK_THAT(r.status().message(), Catch::Contains("trust bundle does not vouch"));
  CHECK(other.server->stats().requests == 0);
}

TEST_CASE("Bad requests get 4xx answers", "[identity][enrollment_net]") {
  CaNode node;
  auto ask = [&](std::string target, std::string body) {
    auto r = exchangeWithCa(node.address(), rawRequest(std::move(target), std::move(body)));
    REQUIRE(r.ok());
    return *r;
  };
  CHECK(ask("/v1/nothing", "{}").status == 404);
  CHECK(ask("/v1/join", "not json").status == 400);
  CHECK(ask("/v1/join", "{\"token\": 5}").status == 400);
  CaReply badToken = ask("/v1/join", wire::jsonObject({{"token", "ghjt.x.y"}, {"csr", "x"}}));
  CHECK(badToken.status == 400);
  CHECK_THAT(badToken.error, Catch::Contains("join token"));
  std::string token = node.token(node.web);
  CaReply badCsr = ask("/v1/join", wire::jsonObject({{"token", token}, {"csr", "nope"}}));
  CHECK(badCsr.status == 400);
  CHECK(node.record(token).usedAt == 0);  // a broken CSR does not spend the token
  CHECK(ask("/v1/join", std::string(70 * 1024, ' ')).status == 413);
  CaReply wrongSecret = ask(
      "/v1/join", wire::jsonObject({{"token", token.substr(0, token.size() - 4) + "AAAA"},
                                    {"csr", csrFor(node.web)}}));
  CHECK(wrongSecret.status == 403);
  CHECK_THAT(wrongSecret.error, Catch::Contains("wrong secret"));
}

TEST_CASE("Junk, silent and half-open peers neither crash nor stall the server",
          "[identity][enrollment_net]") {
  CaNode node(/*deadlineMillis=*/1500);
  // Silent peers hold a slot each until the deadline; they must not block others.
  int silent = rawConnect(node.server->port());
  int halfOpen = rawConnect(node.server->port());
  shutdown(halfOpen, SHUT_WR);

  // Junk instead of a TLS ClientHello: the server closes at once.
  int junk = rawConnect(node.server->port());
  std::string bytes = "GET / HTTP/1.1\r\nHost: x\r\n\r\n" + std::string(3000, '\x16');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] ^= static_cast<char>(i * 131);
  REQUIRE(send(junk, bytes.data(), bytes.size(), MSG_NOSIGNAL) > 0);
  CHECK(closedWithin(junk, 1000));
  close(junk);

  // A TLS ClientHello cut in the middle, then the write side closed.
  int cut = rawConnect(node.server->port());
  const unsigned char hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};
  REQUIRE(send(cut, hello, sizeof hello, MSG_NOSIGNAL) > 0);
  shutdown(cut, SHUT_WR);
  CHECK(closedWithin(cut, 1000));
  close(cut);

  // Junk inside TLS: a 400, the connection ends.
  {
    auto ctx = std::move(io::newContext(false, nullptr).value());
    auto fd = io::connectTo("127.0.0.1", node.server->port(), 1000);
    REQUIRE(fd.ok());
    io::TlsChannel ch(ctx.get(), std::move(*fd), false, io::monotonicMillis() + 2000);
    REQUIRE(ch.handshake().ok());
    REQUIRE(ch.writeAll("\x01\x02 \r\nnot http at all\r\n\r\n").ok());
    std::string got;
    auto head = ch.readHead(&got);
    REQUIRE(head.ok());
    CHECK(wire::parseResponseHead(got.substr(0, *head))->status == 400);
  }
  // A join works meanwhile.
  TempDir joiner;
  CHECK(joinMesh(node.address(), node.token(node.web), joiner.file("identity"), now()).ok());

  // The silent and half-open peers are closed at the deadline.
  CHECK(closedWithin(silent, 3000));
  CHECK(closedWithin(halfOpen, 3000));
  close(silent);
  close(halfOpen);
  CHECK(node.server->stats().failed >= 4);
}

TEST_CASE("Connections beyond the limit are closed at once", "[identity][enrollment_net]") {
  CaNode node(/*deadlineMillis=*/1000, /*maxConnections=*/2);
  int a = rawConnect(node.server->port());
  int b = rawConnect(node.server->port());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  int c = rawConnect(node.server->port());
  CHECK(closedWithin(c, 500));
  CHECK(node.server->stats().busy == 1);
  // Once the silent ones time out, joins are served again.
  CHECK(closedWithin(a, 3000));
  CHECK(closedWithin(b, 3000));
  TempDir joiner;
  CHECK(joinMesh(node.address(), node.token(node.web), joiner.file("identity"), now()).ok());
  close(a);
  close(b);
  close(c);
}

TEST_CASE("The server stops promptly with peers connected, and reloads its identity",
          "[identity][enrollment_net]") {
  CaNode node;
  // reloadIdentity: a new certificate for the CA node is served to the next connection.
  auto renamed = SpiffeId::forWorkload("cluster.local", "gatehouse", "ca2").value();
  REQUIRE(issueFromLocalCa(*node.ca, node.idDir, renamed, kDay, now()).ok());
  REQUIRE(node.server->reloadIdentity().ok());
  std::string leafUri;
  CaRequest probe = rawRequest("/v1/nothing", "{}");
  probe.verifyServer = [&](const std::vector<std::string>& chain) {
    leafUri = CertificateInfo::fromDer(chain.at(0)).value().uriSans.at(0);
    CHECK(chain.size() == 2);
    CHECK(chain.back() == node.ca->certificateDer());
    return gh::okStatus();
  };
  REQUIRE(exchangeWithCa(node.address(), probe).ok());
  CHECK(leafUri == renamed.uri());
  // A broken identity dir is refused and the current certificate stays.
  TempDir empty;
  REQUIRE(writeFileAtomic(node.idDir + "/workload.crt", "garbage", 0644).ok());
  CHECK_FALSE(node.server->reloadIdentity().ok());
  CHECK(exchangeWithCa(node.address(), probe).ok());

  int silent = rawConnect(node.server->port());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto start = std::chrono::steady_clock::now();
  node.server.reset();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  close(silent);
}

TEST_CASE("Start-up errors say what is missing", "[identity][enrollment_net]") {
  TempDir d;
  EnrollmentServerOptions o{"127.0.0.1", 0, d.file("ca"), d.file("identity"), kDay};
  CHECK_THAT(EnrollmentServer::start(o).status().message(), Catch::Contains("no CA in"));
  auto ca = std::move(CertificateAuthority::create("cluster.local", now()).value());
  REQUIRE(ca->save(d.file("ca")).ok());
  CHECK_THAT(EnrollmentServer::start(o).status().message(),
             Catch::Contains("gatehouse cert issue"));
  // An identity of another CA does not verify under this one.
  auto other = std::move(CertificateAuthority::create("cluster.local", now()).value());
  REQUIRE(issueFromLocalCa(*other, d.file("identity"),
                           SpiffeId::forWorkload("cluster.local", "a", "b").value(), kDay, now())
              .ok());
  CHECK_THAT(EnrollmentServer::start(o).status().message(), Catch::Contains("untrusted"));
  // A port in use.
  REQUIRE(issueFromLocalCa(*ca, d.file("identity"),
                           SpiffeId::forWorkload("cluster.local", "a", "b").value(), kDay, now())
              .ok());
  auto first = EnrollmentServer::start(o);
  REQUIRE(first.ok());
  o.port = (*first)->port();
  CHECK_THAT(EnrollmentServer::start(o).status().message(), Catch::Contains("bind"));
}

TEST_CASE("Client-side errors are classified for exit codes", "[identity][enrollment_net]") {
  TempDir d;
  EnrollmentFailure why;
  CHECK_FALSE(joinMesh("nohostport", "ghjt.x.y", d.file("id"), now(), &why).ok());
  CHECK(why == EnrollmentFailure::kInvalid);
  CHECK_FALSE(joinMesh("127.0.0.1:1", "ghjt.x.y", d.file("id"), now(), &why).ok());
  CHECK(why == EnrollmentFailure::kInvalid);

  // A valid token for a CA nobody serves: the connection is refused.
  CaNode node;
  std::string token = node.token(node.web);
  uint16_t port;
  {
    auto l = io::listenOn("127.0.0.1", 0, &port);  // bound, then closed: nothing listens
    REQUIRE(l.ok());
  }
  auto r = joinMesh("127.0.0.1:" + std::to_string(port), token, d.file("id"), now(), &why);
  CHECK(why == EnrollmentFailure::kUnreachable);
  CHECK_THAT(r.status().message(), Catch::Contains("cannot reach the CA"));
  CHECK(node.record(token).usedAt == 0);
}

TEST_CASE("Wire: JSON strings, HTTP heads and addresses", "[identity][enrollment_net]") {
  auto j = wire::JsonStrings::parse(
      R"( {"a": "x\"y\\\/\n\u00e9\ud83d\ude00", "n": [1, {"k": -2.5e3}, true, null], "b": ""} )");
  REQUIRE(j.ok());
  CHECK(*j->get("a") == "x\"y\\/\n\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(j->get("n") == nullptr);
  CHECK(*j->get("b") == "");
  for (const char* bad : {"", "[]", "{", "{\"a\"}", "{\"a\":\"x\",}", "{\"a\":\"x\"} x",
                          "{\"a\":\"\\ud800\"}", "{\"a\":\"\x01\"}", "{\"a\":1,\"a\":\"x\"}",
                          "{\"a\":\"x\",\"a\":\"y\"}", "{\"a\":01}", "{\"a\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}"})
    CHECK_FALSE(wire::JsonStrings::parse(bad).ok());
  auto round = wire::JsonStrings::parse(wire::jsonObject({{"k", std::string("a\x01\"\\\xff", 5)}}));
  REQUIRE(round.ok());
  CHECK(*round->get("k") == std::string("a\x01\"\\\xff", 5));

  auto h = wire::parseRequestHead("POST /v1/join HTTP/1.1\r\nContent-Length: 12\r\nX: y\r\n\r\n");
  REQUIRE(h.ok());
  CHECK(h->method == "POST");
  CHECK(h->contentLength == 12);
  CHECK_FALSE(wire::parseRequestHead("POST /v1/join HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").ok());
  CHECK_FALSE(wire::parseRequestHead("POST /v1/join HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").ok());
  CHECK_FALSE(wire::parseRequestHead("POST /v1/join HTTP/1.1\r\n folded\r\n\r\n").ok());
  CHECK_FALSE(wire::parseRequestHead("POST  /v1/join HTTP/1.1\r\n\r\n").ok());
  auto resp = wire::parseResponseHead("HTTP/1.1 403 Forbidden\r\ncontent-length: 3\r\n\r\n");
  REQUIRE(resp.ok());
  CHECK(resp->status == 403);

  CHECK(wire::parseHostPort("ca.example.org:15012")->host == "ca.example.org");
  CHECK(wire::parseHostPort("[::1]:15012")->host == "::1");
  CHECK(wire::parseHostPort("10.0.0.1:1")->port == 1);
  for (const char* bad : {"", "host", "host:", ":15012", "host:0", "host:65536", "::1:15012",
                          "[::1]15012", "[]:1", "a b:1"})
    CHECK_FALSE(wire::parseHostPort(bad).ok());
}
