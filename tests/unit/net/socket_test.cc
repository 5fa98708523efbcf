// listenTcp / probeExclusive / connectNonBlocking / acceptOne / localAddress on loopback.

#include "core/net/socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>

using namespace gh::net;

namespace {

Address loopback(uint16_t port) {
  Address a;
  REQUIRE(Address::parse("127.0.0.1", port, &a));
  return a;
}

// A listening socket on an ephemeral loopback port, closed at scope end.
struct Listener {
  int fd = -1;
  Address addr;
  explicit Listener(bool reusePort = false, uint16_t port = 0) {
    auto r = listenTcp(loopback(port), reusePort);
    INFO(r.status().message());
    REQUIRE(r.ok());
    fd = r.value();
    addr = localAddress(fd);
  }
  ~Listener() {
    if (fd >= 0) close(fd);
  }
};

bool waitFor(int fd, short events, int timeoutMs = 2000) {
  pollfd p{fd, events, 0};
  return poll(&p, 1, timeoutMs) == 1;
}

bool nonBlocking(int fd) {
  return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
}
bool closeOnExec(int fd) {
  return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}
bool noDelay(int fd) {
  int v = 0;
  socklen_t len = sizeof v;
  return getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len) == 0 && v != 0;
}

bool ipv6Loopback() {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_addr = in6addr_loopback;
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&sin6), sizeof sin6) == 0;
  close(fd);
  return ok;
}

}  // namespace

TEST_CASE("listenTcp: a non-blocking listening socket on the given address", "[net]") {
  Listener l;
  CHECK(l.addr.family() == AF_INET);
  CHECK(l.addr.ip() == "127.0.0.1");
  CHECK(l.addr.port() != 0);
  CHECK(nonBlocking(l.fd));
  CHECK(closeOnExec(l.fd));
  int listening = 0;
  socklen_t len = sizeof listening;
  REQUIRE(getsockopt(l.fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0);
  CHECK(listening == 1);
}

TEST_CASE("listenTcp: IPv6 loopback", "[net]") {
  if (!ipv6Loopback()) {
    WARN("no IPv6 loopback on this machine; skipped");
    return;
  }
  Address a;
  REQUIRE(Address::parse("::1", 0, &a));
  auto r = listenTcp(a, false);
  INFO(r.status().message());
  REQUIRE(r.ok());
  Address bound = localAddress(r.value());
  CHECK(bound.family() == AF_INET6);
  CHECK(bound.ip() == "::1");
  CHECK(bound.port() != 0);
  int v6only = 0;
  socklen_t len = sizeof v6only;
  REQUIRE(getsockopt(r.value(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len) == 0);
  CHECK(v6only == 1);
  close(r.value());
}

TEST_CASE("listenTcp: an address in use is an error naming it", "[net]") {
  Listener held;
  auto r = listenTcp(held.addr, false);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find(held.addr.toString()) != std::string::npos);
}

TEST_CASE("probeExclusive: free port passes; a held port is refused", "[net]") {
  uint16_t port;
  {
    Listener l;
    port = l.addr.port();
    gh::Status s = probeExclusive(l.addr);
    CHECK_FALSE(s.ok());
    CHECK_FALSE(s.message().empty());
  }
  // Released: the probe passes, and leaves the port free (it closes its socket).
  CHECK(probeExclusive(loopback(port)).ok());
  CHECK(probeExclusive(loopback(port)).ok());
  Listener again(false, port);
  CHECK(again.addr.port() == port);
}

TEST_CASE("probeExclusive: a port held by a reuse-port group is refused", "[net]") {
  // SO_REUSEPORT lets any socket of the same user join a group silently; the probe exists to
  // notice the group before we join it.
  Listener first(true);
  Listener second(true, first.addr.port());  // a reuse-port group forms
  CHECK(second.addr.port() == first.addr.port());
  CHECK_FALSE(probeExclusive(first.addr).ok());
}

TEST_CASE("listenTcp: reuse-port cannot join a port held exclusively", "[net]") {
  Listener exclusive(false);
  auto r = listenTcp(exclusive.addr, true);
  if (r.ok()) close(r.value());
  CHECK_FALSE(r.ok());
}

TEST_CASE("connectNonBlocking / acceptOne / connectResult", "[net]") {
  Listener l;
  auto c = connectNonBlocking(l.addr);
  REQUIRE(c.ok());
  int cfd = c.value();
  CHECK(nonBlocking(cfd));
  CHECK(closeOnExec(cfd));
  CHECK(noDelay(cfd));
  REQUIRE(waitFor(cfd, POLLOUT));
  CHECK(connectResult(cfd) == 0);

  REQUIRE(waitFor(l.fd, POLLIN));
  Address peer;
  int sfd = acceptOne(l.fd, &peer);
  REQUIRE(sfd >= 0);
  CHECK(nonBlocking(sfd));
  CHECK(closeOnExec(sfd));
  CHECK(noDelay(sfd));
  // The peer address is the client's local address.
  CHECK(peer == localAddress(cfd));
  CHECK(peer.ip() == "127.0.0.1");
  CHECK(localAddress(sfd) == l.addr);

  REQUIRE(write(cfd, "ping", 4) == 4);
  REQUIRE(waitFor(sfd, POLLIN));
  char buf[8];
  CHECK(read(sfd, buf, sizeof buf) == 4);

  // Nothing else pending: -1 with EAGAIN, not a block.
  errno = 0;
  CHECK(acceptOne(l.fd, nullptr) == -1);
  CHECK((errno == EAGAIN || errno == EWOULDBLOCK));
  close(sfd);
  close(cfd);
}

TEST_CASE("connectResult: a refused connect reports ECONNREFUSED", "[net]") {
  uint16_t port;
  {
    Listener l;
    port = l.addr.port();
  }
  auto c = connectNonBlocking(loopback(port));
  if (!c.ok()) {
    // Loopback may refuse synchronously; the message then names the address.
    CHECK(c.status().message().find(loopback(port).toString()) != std::string::npos);
    return;
  }
  REQUIRE(waitFor(c.value(), POLLOUT));
  CHECK(connectResult(c.value()) == ECONNREFUSED);
  close(c.value());
}

TEST_CASE("localAddress of a bad fd is empty", "[net]") {
  Address a = localAddress(-1);
  CHECK(a.length() == 0);
}

TEST_CASE("claimAddress: one holder per address until it closes", "[net]") {
  // Ports the kernel handed to this process, so that tests running side by side (the claims
  // are machine-wide) never ask for the same names.
  Listener la, lb;
  Address a = la.addr, b = lb.addr;
  auto first = claimAddress(a);
  REQUIRE(first.ok());
  auto second = claimAddress(a);  // another process would get the same answer
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().message() ==
        "bind " + a.toString() + ": Address already in use (by another Gatehouse process)");
  auto other = claimAddress(b);  // a different address is a different claim
  CHECK(other.ok());
  close(first.value());
  auto again = claimAddress(a);  // released with its descriptor
  CHECK(again.ok());
  if (other.ok()) close(other.value());
  if (again.ok()) close(again.value());
}
