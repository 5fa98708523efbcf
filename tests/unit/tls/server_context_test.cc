// Certificate loading, SNI selection, ticket key rotation, and TlsTransport over a socket pair
// against a BoringSSL client: handshake, SNI, resumption, and writev's retry contract.
//
// The fixtures (tests/unit/tls/fixtures) were made once with the openssl CLI and are valid for
// 100 years: a P-256 CA, ECDSA leaves for ecdsa.test (two of them) and *.wild.test, an RSA
// leaf for rsa.test, and an expired one.

#include "core/tls/server_context.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "core/tls/ticket_keys.h"
#include "core/tls/tls_transport.h"

using namespace gh::tls;

namespace {

std::string fixture(const std::string& name) {
  std::string here = __FILE__;
  return here.substr(0, here.rfind('/')) + "/fixtures/" + name;
}

std::shared_ptr<const Certificate> load(const std::string& name) {
  auto c = Certificate::load(fixture(name + ".crt"), fixture(name + ".key"));
  REQUIRE(c.ok());
  return c.value();
}

std::shared_ptr<const ServerContext> context(std::vector<std::string> names,
                                             Version min = Version::kTls12,
                                             TicketKeys* keys = nullptr) {
  std::vector<std::shared_ptr<const Certificate>> certs;
  for (const auto& n : names) certs.push_back(load(n));
  auto sc = ServerContext::build(std::move(certs), min, keys);
  REQUIRE(sc.ok());
  return sc.value();
}

uint64_t gClock = 0;
uint64_t fakeClock() {
  return gClock;
}

// A connected, non-blocking socket pair with small buffers, so writes fill them quickly.
struct Pair {
  int server = -1, client = -1;
  Pair() {
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    server = fds[0];
    client = fds[1];
    for (int fd : fds) {
      int small = 16 * 1024;
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
  }
  ~Pair() {
    close(server);
    close(client);
  }
};

// The latest session a client was given (TLS 1.3 tickets arrive as new sessions).
SSL_SESSION* gNewSession = nullptr;
int onNewSession(SSL*, SSL_SESSION* s) {
  if (gNewSession) SSL_SESSION_free(gNewSession);
  gNewSession = s;
  return 1;  // we keep the reference
}

struct Client {
  SSL_CTX* ctx;
  SSL* ssl;
  explicit Client(int fd, const char* sni, uint16_t maxVersion = TLS1_3_VERSION,
                  SSL_SESSION* session = nullptr, bool rsaOnly = false) {
    ctx = SSL_CTX_new(TLS_method());
    if (rsaOnly) {
      static const uint16_t kRsaOnly[] = {SSL_SIGN_RSA_PSS_RSAE_SHA256, SSL_SIGN_RSA_PKCS1_SHA256};
      SSL_CTX_set_verify_algorithm_prefs(ctx, kRsaOnly, 2);
    }
    SSL_CTX_set_max_proto_version(ctx, maxVersion);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
    SSL_CTX_sess_set_new_cb(ctx, &onNewSession);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_connect_state(ssl);
    if (sni) SSL_set_tlsext_host_name(ssl, sni);
    static const uint8_t alpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_set_alpn_protos(ssl, alpn, sizeof alpn);
    if (session) SSL_set_session(ssl, session);
  }
  ~Client() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }
};

// Runs both sides until the client finished its handshake and the server read `want` bytes.
std::string handshakeAndRead(Client& c, TlsTransport& t, int serverFd, const std::string& send) {
  std::string got;
  bool sent = false;
  for (int i = 0; i < 10000 && got.size() < send.size(); ++i) {
    if (!sent) {
      int r = SSL_do_handshake(c.ssl);
      if (r == 1) {
        REQUIRE(SSL_write(c.ssl, send.data(), static_cast<int>(send.size())) ==
                static_cast<int>(send.size()));
        sent = true;
      } else {
        int e = SSL_get_error(c.ssl, r);
        REQUIRE((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE));
      }
    }
    char buf[4096];
    ssize_t n = t.read(serverFd, buf, sizeof buf);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
    if (n < 0) REQUIRE(errno == EAGAIN);
    if (sent) {
      // The client must also read (a TLS 1.3 ticket) for the server to finish writing.
      char sink[256];
      SSL_peek(c.ssl, sink, 0);
      ERR_clear_error();
    }
  }
  return got;
}

const uint8_t* peerLeaf(SSL* ssl, size_t* len) {
  const STACK_OF(CRYPTO_BUFFER)* chain = SSL_get0_peer_certificates(ssl);
  REQUIRE(chain != nullptr);
  const CRYPTO_BUFFER* leaf = sk_CRYPTO_BUFFER_value(chain, 0);
  *len = CRYPTO_BUFFER_len(leaf);
  return CRYPTO_BUFFER_data(leaf);
}

}  // namespace

TEST_CASE("Certificate: loads ECDSA and RSA chains with their DNS names", "[tls]") {
  auto ec = load("ecdsa");
  CHECK(std::string(ec->keyType()) == "ECDSA");
  CHECK(ec->dnsNames() == std::vector<std::string>{"ecdsa.test", "localhost"});
  CHECK(ec->subject() == "/CN=ecdsa");
  CHECK(ec->notAfter() > 4'000'000'000);  // 2096: the fixtures last 100 years
  CHECK(ec->notBefore() < ec->notAfter());
  auto rsa = load("rsa");
  CHECK(std::string(rsa->keyType()) == "RSA");
  CHECK(rsa->dnsNames() == std::vector<std::string>{"rsa.test"});
  CHECK(load("wildcard")->dnsNames() == std::vector<std::string>{"*.wild.test"});
  CHECK(load("expired")->notAfter() == 978307200);  // 2001-01-01: loads; validation refuses
}

TEST_CASE("Certificate: problems name the file to blame", "[tls]") {
  bool keyAtFault = true;
  auto missing = Certificate::load(fixture("nope.crt"), fixture("ecdsa.key"), &keyAtFault);
  REQUIRE(!missing.ok());
  CHECK(!keyAtFault);
  CHECK(missing.status().message().find("cannot read") != std::string::npos);

  auto mismatch = Certificate::load(fixture("ecdsa.crt"), fixture("rsa.key"), &keyAtFault);
  REQUIRE(!mismatch.ok());
  CHECK(keyAtFault);
  CHECK(mismatch.status().message().find("does not match") != std::string::npos);

  auto notCert = Certificate::load(fixture("ecdsa.key"), fixture("ecdsa.key"), &keyAtFault);
  REQUIRE(!notCert.ok());
  CHECK(!keyAtFault);
  CHECK(notCert.status().message().find("no PEM certificate") != std::string::npos);

  auto notKey = Certificate::load(fixture("ecdsa.crt"), fixture("ecdsa.crt"), &keyAtFault);
  REQUIRE(!notKey.ok());
  CHECK(keyAtFault);
  CHECK(notKey.status().message().find("no PEM private key") != std::string::npos);

  CHECK(!ServerContext::build(std::vector<std::shared_ptr<const Certificate>>{}).ok());
  ServerOptions bad;
  bad.certificates.push_back({fixture("ecdsa.crt"), fixture("rsa.key")});
  CHECK(!ServerContext::build(bad).ok());
}

TEST_CASE("ServerContext::select: SANs, exact before wildcard, first wins, default", "[tls]") {
  auto sc = context({"ecdsa", "rsa", "wildcard", "ecdsa2"});
  CHECK(sc->select("ecdsa.test") == 0);  // ecdsa2 has the same names: the first wins
  CHECK(sc->select("ECDSA.test.") == 0);
  CHECK(sc->select("rsa.test") == 1);
  CHECK(sc->select("a.wild.test") == 2);
  CHECK(sc->select("A.WILD.TEST") == 2);
  CHECK(sc->select("wild.test") == 0);      // a wildcard needs one label
  CHECK(sc->select("a.b.wild.test") == 0);  // and exactly one
  CHECK(sc->select(".wild.test") == 0);
  CHECK(sc->select("ecdsa") == 0);  // the CN is never used
  CHECK(sc->select("rsa") == 0);
  CHECK(sc->select("") == 0);
  CHECK(sc->select("unknown.test") == 0);

  auto wildFirst = context({"wildcard", "rsa"});
  CHECK(wildFirst->select("rsa.test") == 1);
  CHECK(wildFirst->select("x.wild.test") == 0);
  CHECK(wildFirst->select("nothing") == 0);  // the first certificate is the default
}

TEST_CASE("ServerContext::select: the key type the client can verify", "[tls]") {
  // rsa-dual is an RSA certificate for the names of "ecdsa" (self-signed).
  auto sc = context({"ecdsa", "rsa", "rsa-dual"});
  using K = ServerContext;
  CHECK(sc->select("ecdsa.test") == 0);
  CHECK(sc->select("ecdsa.test", K::kEcdsa | K::kRsa) == 0);
  CHECK(sc->select("ecdsa.test", K::kRsa) == 2);
  CHECK(sc->select("rsa.test", K::kEcdsa) == 1);  // nothing fits: the first for the name
  CHECK(sc->select("", K::kRsa) == 0);            // the default stays the default
  auto rsaFirst = context({"rsa-dual", "ecdsa"});
  CHECK(rsaFirst->select("ecdsa.test") == 0);
  CHECK(rsaFirst->select("ecdsa.test", K::kEcdsa) == 1);
}

TEST_CASE("TicketKeys: rotation keeps the previous key for one period", "[tls]") {
  gClock = 1000;
  TicketKeys keys(100, &fakeClock);
  TicketKeys::Key a = keys.current();
  CHECK(memcmp(keys.current().name, a.name, 16) == 0);  // same period, same key
  TicketKeys::Key found;
  bool renew = true;
  REQUIRE(keys.find(a.name, &found, &renew));
  CHECK(!renew);
  CHECK(memcmp(found.aesKey, a.aesKey, 32) == 0);

  gClock = 1100;  // next period: a new current key; the old one still decrypts, and renews
  TicketKeys::Key b = keys.current();
  CHECK(memcmp(b.name, a.name, 16) != 0);
  REQUIRE(keys.find(a.name, &found, &renew));
  CHECK(renew);
  REQUIRE(keys.find(b.name, &found, &renew));
  CHECK(!renew);

  gClock = 1200;  // a is two periods old: gone
  CHECK(!keys.find(a.name, &found, &renew));
  CHECK(keys.find(b.name, &found, &renew));

  gClock = 1500;  // a long idle gap: nothing old survives
  CHECK(!keys.find(b.name, &found, &renew));
  uint8_t unknown[16] = {};
  CHECK(!keys.find(unknown, &found, &renew));
}

TEST_CASE("TlsTransport: handshake, SNI, ALPN, counters", "[tls]") {
  auto sc = context({"ecdsa", "rsa"});
  gh::telemetry::WorkerCounters counters;
  Pair p;
  TlsTransport t(sc, p.server, &counters);
  Client c(p.client, "rsa.test");
  CHECK(handshakeAndRead(c, t, p.server, "GET / HTTP/1.1\r\n\r\n") == "GET / HTTP/1.1\r\n\r\n");
  CHECK(t.handshakeDone());
  CHECK(t.secure());
  CHECK(counters.tlsHandshakes.get() == 1);
  CHECK(SSL_version(c.ssl) == TLS1_3_VERSION);
  const uint8_t* alpn;
  unsigned alpnLen;
  SSL_get0_alpn_selected(c.ssl, &alpn, &alpnLen);
  CHECK(std::string(reinterpret_cast<const char*>(alpn), alpnLen) == "http/1.1");
  size_t len;
  const uint8_t* leaf = peerLeaf(c.ssl, &len);
  auto rsa = load("rsa");
  uint8_t digest[32];
  SHA256(leaf, len, digest);
  CHECK(memcmp(digest, rsa->fingerprint(), 32) == 0);
}

TEST_CASE("TlsTransport: a client that cannot verify ECDSA gets the RSA certificate", "[tls]") {
  auto sc = context({"ecdsa", "rsa-dual"});
  for (uint16_t version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    for (bool rsaOnly : {false, true}) {
      Pair p;
      TlsTransport t(sc, p.server, nullptr);
      Client c(p.client, "ecdsa.test", version, nullptr, rsaOnly);
      REQUIRE(handshakeAndRead(c, t, p.server, "hi") == "hi");
      size_t len;
      const uint8_t* leaf = peerLeaf(c.ssl, &len);
      uint8_t digest[32];
      SHA256(leaf, len, digest);
      auto expected = load(rsaOnly ? "rsa-dual" : "ecdsa");
      CHECK(memcmp(digest, expected->fingerprint(), 32) == 0);
    }
  }
}

TEST_CASE("TlsTransport: minVersion TLS 1.3 refuses TLS 1.2, counted by reason", "[tls]") {
  auto sc = context({"ecdsa"}, Version::kTls13);
  gh::telemetry::WorkerCounters counters;
  Pair p;
  TlsTransport t(sc, p.server, &counters);
  Client c(p.client, "ecdsa.test", TLS1_2_VERSION);
  bool failed = false;
  for (int i = 0; i < 100 && !failed; ++i) {
    SSL_do_handshake(c.ssl);
    ERR_clear_error();
    char buf[64];
    ssize_t n = t.read(p.server, buf, sizeof buf);
    if (n < 0 && errno != EAGAIN) failed = true;
  }
  CHECK(failed);
  CHECK(counters.tlsHandshakes.get() == 0);
  CHECK(counters.tlsHandshakeErrors[static_cast<int>(HandshakeError::kProtocolVersion)].get() == 1);
}

TEST_CASE("TlsTransport: writev through a full socket keeps the retry contract", "[tls]") {
  auto sc = context({"ecdsa"});
  Pair p;
  TlsTransport t(sc, p.server, nullptr);
  Client c(p.client, "ecdsa.test", TLS1_2_VERSION);
  REQUIRE(handshakeAndRead(c, t, p.server, "x") == "x");

  // What Stream::send does: offer the pieces; keep what was not accepted; offer it again.
  std::string expected;
  std::vector<std::string> pieces = {"HTTP/1.1 200 OK\r\n", std::string(10, 'h'), "\r\n",
                                     std::string(300'000, 'b'), std::string(5, 'e')};
  for (auto& s : pieces) expected += s;
  for (size_t i = 0; i < expected.size(); ++i)
    if (expected[i] == 'b') expected[i] = static_cast<char>('a' + i % 26);
  std::string pending = expected;  // the caller's copy of what is not yet accepted
  // The first offer uses several pieces, later ones one buffer, as Stream does.
  std::vector<iovec> iov;
  size_t at = 0;
  for (auto& s : pieces) {
    iov.push_back({const_cast<char*>(expected.data() + at), s.size()});
    at += s.size();
  }
  ssize_t w = t.writev(p.server, iov.data(), static_cast<int>(iov.size()));
  REQUIRE((w > 0 || errno == EAGAIN));
  pending.erase(0, w > 0 ? static_cast<size_t>(w) : 0);

  std::string received;
  char buf[8192];
  for (int i = 0; i < 100000 && received.size() < expected.size(); ++i) {
    int n = SSL_read(c.ssl, buf, sizeof buf);
    if (n > 0) received.append(buf, static_cast<size_t>(n));
    ERR_clear_error();
    if (!pending.empty()) {
      // Copy elsewhere first: the retry comes from another address.
      std::string moved = pending;
      iovec v{moved.data(), moved.size()};
      w = t.writev(p.server, &v, 1);
      if (w > 0)
        pending.erase(0, static_cast<size_t>(w));
      else
        REQUIRE(errno == EAGAIN);
    }
  }
  CHECK(pending.empty());
  CHECK(received.size() == expected.size());
  CHECK(received == expected);
}

TEST_CASE("TlsTransport: sessions resume with shared keys, across contexts", "[tls]") {
  TicketKeys keys;
  auto first = context({"ecdsa"}, Version::kTls12, &keys);
  auto second = context({"ecdsa", "rsa"}, Version::kTls12, &keys);  // a "reload"
  for (uint16_t version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    INFO("version " << std::hex << version);
    SSL_SESSION* session = nullptr;
    {
      Pair p;
      TlsTransport t(first, p.server, nullptr);
      Client c(p.client, "ecdsa.test", version);
      REQUIRE(handshakeAndRead(c, t, p.server, "one") == "one");
      // The TLS 1.3 ticket comes after the handshake: let the client read it.
      const char reply[] = "ok";
      iovec v{const_cast<char*>(reply), 2};
      REQUIRE(t.writev(p.server, &v, 1) == 2);
      char buf[8];
      REQUIRE(SSL_read(c.ssl, buf, sizeof buf) == 2);
      session = gNewSession;
      gNewSession = nullptr;
      REQUIRE(session != nullptr);
      CHECK(!SSL_session_reused(c.ssl));
    }
    {
      Pair p;
      TlsTransport t(second, p.server, nullptr);
      Client c(p.client, "ecdsa.test", version, session);
      REQUIRE(handshakeAndRead(c, t, p.server, "two") == "two");
      CHECK(SSL_session_reused(c.ssl));
    }
    {
      // Another certificate: the session does not carry over to it.
      Pair p;
      TlsTransport t(second, p.server, nullptr);
      Client c(p.client, "rsa.test", version, session);
      REQUIRE(handshakeAndRead(c, t, p.server, "three") == "three");
      CHECK(!SSL_session_reused(c.ssl));
    }
    SSL_SESSION_free(session);
  }
  if (gNewSession) SSL_SESSION_free(gNewSession);
  gNewSession = nullptr;
}
