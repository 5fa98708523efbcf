// Mesh hops in memory: a MESH_INBOUND server context and a mesh client context, each over a
// TlsTransport, shaking hands across a socket pair with certificates from a real CA. Checks
// both ends learn the other's SPIFFE ID, and that each refusal is the right reason, counted on
// the right side: an unexpected identity (client side), no client certificate under STRICT,
// a foreign CA, and PERMISSIVE's plaintext detection.

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <ctime>
#include <string>

#include "core/identity/ca.h"
#include "core/identity/encoding.h"
#include "core/identity/keys.h"
#include "core/tls/client_context.h"
#include "core/tls/peer.h"
#include "core/tls/server_context.h"
#include "core/tls/tls_transport.h"

using namespace gh;
using namespace gh::tls;

namespace {

const char* kFrontend = "spiffe://cluster.local/ns/default/sa/frontend";
const char* kOrders = "spiffe://cluster.local/ns/default/sa/orders";

struct Mesh {
  std::unique_ptr<identity::CertificateAuthority> ca =
      std::move(identity::CertificateAuthority::create("cluster.local", time(nullptr)).value());

  std::shared_ptr<const Certificate> issue(const char* uri) const {
    auto key = std::move(identity::PrivateKey::generate().value());
    auto id = identity::SpiffeId::parse(uri).value();
    std::string der = ca->signPublicKey(key.publicKeyDer(), id, 3600, time(nullptr)).value();
    auto c = Certificate::fromPem(identity::pemEncode(der, "CERTIFICATE"), key.pem(), "cert",
                                  "key");
    REQUIRE(c.ok());
    return c.value();
  }
  std::shared_ptr<const PeerTrust> trust() const {
    auto t = std::make_shared<PeerTrust>();
    t->bundles.push_back({"cluster.local", {ca->certificateDer()}});
    return t;
  }
};

struct Pair {
  int fds[2];
  Pair() { REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0); }
  ~Pair() {
    close(fds[0]);
    close(fds[1]);
  }
};

// Drives both handshakes until both finish or one fails. Returns {client ok, server ok}.
std::pair<bool, bool> shake(TlsTransport& client, int cfd, TlsTransport& server, int sfd) {
  bool cDone = false, sDone = false, cFailed = false, sFailed = false;
  char buf[256];
  for (int i = 0; i < 100 && !(cDone && sDone) && !cFailed && !sFailed; ++i) {
    if (!cDone && !cFailed) {
      int r = client.handshake(cfd);
      if (r == 1) cDone = true;
      else if (errno != EAGAIN) cFailed = true;
    }
    if (!sDone && !sFailed) {
      ssize_t n = server.read(sfd, buf, sizeof buf);
      if (server.handshakeDone()) sDone = true;
      else if (n < 0 && errno != EAGAIN) sFailed = true;
      else if (n == 0) sFailed = true;
    }
  }
  // TLS 1.3: the server judges the client's certificate after the client has finished; the
  // client learns of a refusal on its next read.
  if (cDone && sFailed) {
    ssize_t n = client.read(cfd, buf, sizeof buf);
    if (n <= 0 && errno != EAGAIN) cDone = false;
  }
  return {cDone && !cFailed, sDone && !sFailed};
}

}  // namespace

TEST_CASE("Mesh mTLS: both ends learn the other's verified identity", "[tls][mesh]") {
  Mesh m;
  auto server = ServerContext::buildMesh(m.issue(kOrders), m.trust(), true).value();
  auto client = ClientContext::build(m.issue(kFrontend), m.trust()).value();
  Pair p;
  gh::telemetry::WorkerCounters counters;
  TlsTransport s(server, p.fds[0], &counters);
  TlsTransport c(client, p.fds[1], &counters, kOrders);
  auto [cOk, sOk] = shake(c, p.fds[1], s, p.fds[0]);
  REQUIRE(cOk);
  REQUIRE(sOk);
  CHECK(s.peerIdentity() == kFrontend);
  CHECK(c.peerIdentity() == kOrders);
  CHECK(s.peerCertificateHash().size() == 64);
  CHECK(counters.meshMtlsConnections.get() == 1);
  CHECK(counters.upstreamTlsHandshakes.get() == 1);

  // Application data both ways.
  iovec v{const_cast<char*>("ping"), 4};
  CHECK(c.writev(p.fds[1], &v, 1) == 4);
  char buf[16];
  ssize_t n = -1;
  for (int i = 0; i < 10 && n < 0; ++i) n = s.read(p.fds[0], buf, sizeof buf);
  REQUIRE(n == 4);
  CHECK(std::string(buf, 4) == "ping");
}

TEST_CASE("Mesh mTLS: the client refuses an upstream with another identity", "[tls][mesh]") {
  Mesh m;
  auto server =
      ServerContext::buildMesh(m.issue("spiffe://cluster.local/ns/default/sa/payments"), m.trust(),
                               true)
          .value();
  auto client = ClientContext::build(m.issue(kFrontend), m.trust()).value();
  Pair p;
  gh::telemetry::WorkerCounters counters;
  TlsTransport s(server, p.fds[0], &counters);
  TlsTransport c(client, p.fds[1], &counters, kOrders);
  auto [cOk, sOk] = shake(c, p.fds[1], s, p.fds[0]);
  CHECK_FALSE(cOk);
  CHECK_FALSE(sOk);
  CHECK(c.peer().error == PeerError::kIdentityMismatch);
  CHECK(c.peer().detail.find("expected " + std::string(kOrders)) != std::string::npos);
  CHECK(c.peerIdentity().empty());
  CHECK(counters.meshPeerRejected[1][static_cast<int>(PeerError::kIdentityMismatch)].get() == 1);
  CHECK(counters.upstreamTlsHandshakeErrors.get() == 1);
}

TEST_CASE("Mesh mTLS: an empty expected identity accepts any SVID of the trust domain",
          "[tls][mesh]") {
  Mesh m;
  auto server = ServerContext::buildMesh(m.issue(kOrders), m.trust(), true).value();
  auto client = ClientContext::build(m.issue(kFrontend), m.trust()).value();
  Pair p;
  TlsTransport s(server, p.fds[0], nullptr);
  TlsTransport c(client, p.fds[1], nullptr, "");
  auto [cOk, sOk] = shake(c, p.fds[1], s, p.fds[0]);
  CHECK(cOk);
  CHECK(sOk);
  CHECK(c.peerIdentity() == kOrders);
}

TEST_CASE("Mesh mTLS: STRICT refuses a client without a certificate, counted", "[tls][mesh]") {
  Mesh m;
  auto server = ServerContext::buildMesh(m.issue(kOrders), m.trust(), true).value();
  // A client context of a node from another CA, and one without any certificate, both fail.
  Mesh other;
  auto foreign = ClientContext::build(other.issue(kFrontend), m.trust()).value();
  gh::telemetry::WorkerCounters counters;
  {
    Pair p;
    TlsTransport s(server, p.fds[0], &counters);
    TlsTransport c(foreign, p.fds[1], nullptr, kOrders);
    auto [cOk, sOk] = shake(c, p.fds[1], s, p.fds[0]);
    CHECK_FALSE(sOk);
    CHECK_FALSE(cOk);
    CHECK(s.peer().error == static_cast<PeerError>(identity::SvidError::kUntrusted));
  }
  {
    // A raw BoringSSL client that sends no certificate.
    Pair p;
    TlsTransport s(server, p.fds[0], &counters);
    bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
    bssl::UniquePtr<SSL> ssl(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), p.fds[1]);
    SSL_set_connect_state(ssl.get());
    char buf[64];
    bool serverFailed = false;
    for (int i = 0; i < 50 && !serverFailed; ++i) {
      SSL_do_handshake(ssl.get());
      ssize_t n = s.read(p.fds[0], buf, sizeof buf);
      serverFailed = (n < 0 && errno != EAGAIN) || n == 0;
    }
    ERR_clear_error();
    CHECK(serverFailed);
    CHECK(s.peer().error == static_cast<PeerError>(identity::SvidError::kNoCertificate));
  }
  CHECK(counters.meshPeerRejected[0][static_cast<int>(identity::SvidError::kUntrusted)].get() ==
        1);
  CHECK(counters.meshPeerRejected[0][static_cast<int>(identity::SvidError::kNoCertificate)]
            .get() == 1);
  CHECK(counters.tlsHandshakeErrors[static_cast<int>(HandshakeError::kPeerCertificate)].get() ==
        2);
}

TEST_CASE("Mesh mTLS: PERMISSIVE serves plaintext as plaintext and counts it", "[tls][mesh]") {
  Mesh m;
  auto server = ServerContext::buildMesh(m.issue(kOrders), m.trust(), false).value();
  gh::telemetry::WorkerCounters counters;
  Pair p;
  TlsTransport s(server, p.fds[0], &counters, true);
  char buf[64];
  CHECK(s.read(p.fds[0], buf, sizeof buf) == -1);  // nothing sent yet: undecided
  CHECK(errno == EAGAIN);
  CHECK(s.handshaking());
  REQUIRE(write(p.fds[1], "GET / HTTP/1.1\r\n", 16) == 16);
  ssize_t n = s.read(p.fds[0], buf, sizeof buf);
  REQUIRE(n == 16);
  CHECK(std::string(buf, 4) == "GET ");
  CHECK_FALSE(s.secure());
  CHECK_FALSE(s.handshaking());
  CHECK(s.peerIdentity().empty());
  CHECK(counters.meshPlaintextConnections.get() == 1);

  // The same listener still speaks mTLS, and a client may come without a certificate.
  auto client = ClientContext::build(m.issue(kFrontend), m.trust()).value();
  Pair q;
  TlsTransport s2(server, q.fds[0], &counters, true);
  TlsTransport c2(client, q.fds[1], nullptr, kOrders);
  auto [cOk, sOk] = shake(c2, q.fds[1], s2, q.fds[0]);
  CHECK(cOk);
  CHECK(sOk);
  CHECK(s2.secure());
  CHECK(s2.peerIdentity() == kFrontend);
}
