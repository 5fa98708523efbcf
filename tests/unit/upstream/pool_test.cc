// Pool: idle upstream connections by endpoint, on a real Loop with real loopback sockets.
// The "upstream" is a listening socket in the test; its accepted ends tell whether the pool
// closed a connection (they read EOF).

#include "core/upstream/pool.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "core/net/socket.h"

using namespace gh;
using gh::upstream::Connection;
using gh::upstream::Pool;

namespace {

// A local upstream: a listener, and the server ends of the connections made to it.
struct Upstream {
  int listenFd = -1;
  net::Address addr;
  std::vector<int> serverFds;

  Upstream() {
    net::Address any;
    REQUIRE(net::Address::parse("127.0.0.1", 0, &any));
    auto l = net::listenTcp(any, false);
    REQUIRE(l.ok());
    listenFd = l.value();
    addr = net::localAddress(listenFd);
  }
  ~Upstream() {
    for (int fd : serverFds)
      if (fd >= 0) close(fd);
    close(listenFd);
  }
  // A connected pooled-connection object and the index of its server end.
  std::unique_ptr<Connection> connect(event::Loop& loop, size_t* serverIndex = nullptr,
                                      std::string identity = {},
                                      const void* credentials = nullptr) {
    auto c = net::connectNonBlocking(addr);
    REQUIRE(c.ok());
    pollfd p{listenFd, POLLIN, 0};
    REQUIRE(poll(&p, 1, 2000) == 1);
    int s = net::acceptOne(listenFd, nullptr);
    REQUIRE(s >= 0);
    pollfd w{c.value(), POLLOUT, 0};
    REQUIRE(poll(&w, 1, 2000) == 1);
    REQUIRE(net::connectResult(c.value()) == 0);
    serverFds.push_back(s);
    if (serverIndex) *serverIndex = serverFds.size() - 1;
    return std::make_unique<Connection>(loop, c.value(), addr, nullptr, std::move(identity),
                                        credentials);
  }
  // Whether the client side of connection i has been closed within timeoutMs: EOF, or a reset
  // (a socket closed with unread input sends RST instead of FIN).
  bool closedByClient(size_t i, int timeoutMs = 0) {
    pollfd p{serverFds[i], POLLIN, 0};
    if (poll(&p, 1, timeoutMs) != 1) return false;
    char buf[64];
    ssize_t n;
    while ((n = read(serverFds[i], buf, sizeof buf)) > 0) {
    }
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }
  void closeServer(size_t i) {
    close(serverFds[i]);
    serverFds[i] = -1;
  }
};

struct Stopper {
  event::Loop& loop;
  event::Timer timer;
  explicit Stopper(event::Loop& l) : loop(l), timer(l, &Stopper::fire, this) {}
  static void fire(void* arg) { static_cast<Stopper*>(arg)->loop.stop(); }
  // Runs the loop for about `ms` milliseconds.
  void runFor(uint64_t ms) {
    timer.arm(ms);
    loop.run();
  }
};

struct Recorder final : net::Stream::Handler {
  int readable = 0;
  event::Loop* loop = nullptr;
  void onReadable() override {
    ++readable;
    if (loop) loop->stop();
  }
  void onDrained() override {}
};

constexpr uint64_t kLong = 60'000;

}  // namespace

TEST_CASE("Pool: take from an empty pool is nullptr", "[upstream]") {
  event::Loop loop;
  Upstream up;
  Pool pool(loop);
  CHECK(pool.take(up.addr) == nullptr);
  CHECK(pool.idleCount() == 0);
}

TEST_CASE("Pool: put then take returns the same connections, most recent first", "[upstream]") {
  event::Loop loop;
  Upstream up;
  Pool pool(loop);
  size_t i1, i2, i3;
  auto c1 = up.connect(loop, &i1);
  auto c2 = up.connect(loop, &i2);
  auto c3 = up.connect(loop, &i3);
  Connection *p1 = c1.get(), *p2 = c2.get(), *p3 = c3.get();
  pool.put(std::move(c1), kLong);
  pool.put(std::move(c2), kLong);
  pool.put(std::move(c3), kLong);
  CHECK(pool.idleCount() == 3);

  auto t = pool.take(up.addr);
  CHECK(t.get() == p3);
  CHECK(pool.idleCount() == 2);
  pool.put(std::move(t), kLong);          // back on top
  CHECK(pool.take(up.addr).get() == p3);  // (closed at once: the unique_ptr is a temporary)
  auto u = pool.take(up.addr);
  CHECK(u.get() == p2);
  auto v = pool.take(up.addr);
  CHECK(v.get() == p1);
  CHECK(pool.take(up.addr) == nullptr);
  CHECK(pool.idleCount() == 0);

  // Taken connections are open and usable; the dropped one is closed.
  CHECK(u->peer() == up.addr);
  CHECK(u->stream().send("ping"));
  pollfd p{up.serverFds[i2], POLLIN, 0};
  REQUIRE(poll(&p, 1, 2000) == 1);
  char buf[8];
  CHECK(read(up.serverFds[i2], buf, sizeof buf) == 4);
  CHECK_FALSE(up.closedByClient(i1));
  CHECK(up.closedByClient(i3, 1000));
}

TEST_CASE("Pool: take for another address is nullptr", "[upstream]") {
  event::Loop loop;
  Upstream a, b;
  Pool pool(loop);
  auto c = a.connect(loop);
  Connection* p = c.get();
  pool.put(std::move(c), kLong);

  CHECK(pool.take(b.addr) == nullptr);
  net::Address samePortOtherIp, sameIpOtherPort;
  REQUIRE(net::Address::parse("127.0.0.2", a.addr.port(), &samePortOtherIp));
  REQUIRE(
      net::Address::parse("127.0.0.1", static_cast<uint16_t>(a.addr.port() ^ 1), &sameIpOtherPort));
  CHECK(pool.take(samePortOtherIp) == nullptr);
  CHECK(pool.take(sameIpOtherPort) == nullptr);
  CHECK(pool.idleCount() == 1);
  CHECK(pool.take(a.addr).get() == p);
}

TEST_CASE("Pool: mesh connections are kept by identity and retired by new credentials",
          "[upstream]") {
  event::Loop loop;
  Upstream up;
  Pool pool(loop);
  int oldCreds = 0, newCreds = 0;
  size_t i1, i2, i3;
  auto plain = up.connect(loop, &i1);
  auto orders = up.connect(loop, &i2, "spiffe://td/ns/a/sa/orders", &oldCreds);
  auto payments = up.connect(loop, &i3, "spiffe://td/ns/a/sa/payments", &oldCreds);
  Connection* p1 = plain.get();
  Connection* p3 = payments.get();
  pool.put(std::move(plain), kLong);
  pool.put(std::move(orders), kLong);
  pool.put(std::move(payments), kLong);
  // A plain exchange never gets a mesh connection, nor one identity another's.
  CHECK(pool.take(up.addr, "spiffe://td/ns/a/sa/other", &oldCreds) == nullptr);
  auto t = pool.take(up.addr);
  CHECK(t.get() == p1);
  // After a renewal (new credentials) the orders connection is closed, not reused.
  CHECK(pool.take(up.addr, "spiffe://td/ns/a/sa/orders", &newCreds) == nullptr);
  CHECK(up.closedByClient(i2, 2000));
  CHECK(pool.idleCount() == 1);
  // Still the old credentials for payments: reused.
  CHECK(pool.take(up.addr, "spiffe://td/ns/a/sa/payments", &oldCreds).get() == p3);
}

TEST_CASE("Pool: connections to several endpoints are kept apart", "[upstream]") {
  event::Loop loop;
  Upstream a, b;
  Pool pool(loop);
  auto ca = a.connect(loop);
  auto cb = b.connect(loop);
  Connection *pa = ca.get(), *pb = cb.get();
  pool.put(std::move(ca), kLong);
  pool.put(std::move(cb), kLong);
  CHECK(pool.idleCount() == 2);
  auto tb = pool.take(b.addr);
  CHECK(tb.get() == pb);
  CHECK(pool.take(b.addr) == nullptr);
  auto ta = pool.take(a.addr);
  CHECK(ta.get() == pa);
}

TEST_CASE("Pool: an idle connection the upstream closes is dropped", "[upstream]") {
  event::Loop loop;
  Stopper stop(loop);
  Upstream up;
  Pool pool(loop);
  size_t i1, i2;
  auto c1 = up.connect(loop, &i1);
  auto c2 = up.connect(loop, &i2);
  Connection* p2 = c2.get();
  pool.put(std::move(c1), kLong);
  pool.put(std::move(c2), kLong);
  REQUIRE(pool.idleCount() == 2);

  up.closeServer(i1);
  stop.runFor(100);
  CHECK(pool.idleCount() == 1);
  CHECK(pool.take(up.addr).get() == p2);  // the survivor
  CHECK(pool.take(up.addr) == nullptr);
}

TEST_CASE("Pool: stray bytes on an idle connection drop and close it", "[upstream]") {
  event::Loop loop;
  Stopper stop(loop);
  Upstream up;
  Pool pool(loop);
  size_t i;
  pool.put(up.connect(loop, &i), kLong);
  REQUIRE(write(up.serverFds[i], "HTTP/1.1 200 OK\r\n", 17) == 17);
  stop.runFor(100);
  CHECK(pool.idleCount() == 0);
  CHECK(pool.take(up.addr) == nullptr);
  CHECK(up.closedByClient(i, 1000));
}

TEST_CASE("Pool: the idle timeout closes a connection", "[upstream]") {
  event::Loop loop;
  Stopper stop(loop);
  Upstream up;
  Pool pool(loop);
  size_t shortIdx, longIdx;
  pool.put(up.connect(loop, &longIdx), 2'000);
  pool.put(up.connect(loop, &shortIdx), 30);
  REQUIRE(pool.idleCount() == 2);

  stop.runFor(10);
  CHECK(pool.idleCount() == 2);  // not before its time
  stop.runFor(200);
  CHECK(pool.idleCount() == 1);
  CHECK(up.closedByClient(shortIdx, 1000));
  CHECK_FALSE(up.closedByClient(longIdx));
  CHECK(pool.take(up.addr) != nullptr);  // the other one is still there
}

TEST_CASE("Pool: take stops the idle timer; a later put starts a new one", "[upstream]") {
  event::Loop loop;
  Stopper stop(loop);
  Upstream up;
  Pool pool(loop);
  size_t i;
  pool.put(up.connect(loop, &i), 30);
  auto c = pool.take(up.addr);
  REQUIRE(c != nullptr);
  stop.runFor(120);  // well past the 30 ms the connection had while idle
  CHECK_FALSE(up.closedByClient(i));
  CHECK(c->stream().send("still open"));

  // Pooled again with a longer timeout: the old, shorter one must not close it.
  char buf[32];
  pollfd p{up.serverFds[i], POLLIN, 0};
  REQUIRE(poll(&p, 1, 2000) == 1);
  REQUIRE(read(up.serverFds[i], buf, sizeof buf) == 10);
  pool.put(std::move(c), 400);
  stop.runFor(150);
  CHECK(pool.idleCount() == 1);
  CHECK_FALSE(up.closedByClient(i));
  // ... and the new one does.
  stop.runFor(600);
  CHECK(pool.idleCount() == 0);
  CHECK(up.closedByClient(i, 1000));
}

TEST_CASE("Pool: maxIdlePerEndpoint is respected per endpoint", "[upstream]") {
  event::Loop loop;
  Upstream a, b;
  Pool pool(loop, 2);
  size_t a1, a2, a3;
  auto c1 = a.connect(loop, &a1);
  auto c2 = a.connect(loop, &a2);
  auto c3 = a.connect(loop, &a3);
  Connection *p1 = c1.get(), *p2 = c2.get();
  pool.put(std::move(c1), kLong);
  pool.put(std::move(c2), kLong);
  pool.put(std::move(c3), kLong);  // one too many: closed
  CHECK(pool.idleCount() == 2);
  CHECK(a.closedByClient(a3, 1000));
  CHECK_FALSE(a.closedByClient(a1));
  CHECK_FALSE(a.closedByClient(a2));

  // The limit is per endpoint.
  pool.put(b.connect(loop), kLong);
  pool.put(b.connect(loop), kLong);
  CHECK(pool.idleCount() == 4);

  CHECK(pool.take(a.addr).get() == p2);
  CHECK(pool.take(a.addr).get() == p1);
  CHECK(pool.take(a.addr) == nullptr);

  // Room again after a take.
  pool.put(a.connect(loop), kLong);
  CHECK(pool.idleCount() == 3);
}

TEST_CASE("Pool: a connection with unread input or unsent output is not pooled", "[upstream]") {
  signal(SIGPIPE, SIG_IGN);
  event::Loop loop;
  Upstream up;
  Pool pool(loop);

  SECTION("unread input") {
    size_t i;
    auto c = up.connect(loop, &i);
    REQUIRE(write(up.serverFds[i], "extra", 5) == 5);
    pollfd p{c->stream().fd(), POLLIN, 0};
    REQUIRE(poll(&p, 1, 2000) == 1);
    REQUIRE(c->stream().fill(1 << 16) == net::Stream::ReadResult::kData);
    pool.put(std::move(c), kLong);
    CHECK(pool.idleCount() == 0);
    CHECK(pool.take(up.addr) == nullptr);
    CHECK(up.closedByClient(i, 1000));
  }
  SECTION("unsent output") {
    size_t i;
    auto c = up.connect(loop, &i);
    int small = 4096;
    setsockopt(c->stream().fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(up.serverFds[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    std::string big(4 << 20, 'x');
    REQUIRE(c->stream().send(big));
    REQUIRE(c->stream().pending() > 0);
    pool.put(std::move(c), kLong);
    CHECK(pool.idleCount() == 0);
    CHECK(pool.take(up.addr) == nullptr);
  }
}

TEST_CASE("Pool: a taken connection belongs to its new handler", "[upstream]") {
  event::Loop loop;
  Stopper stop(loop);
  Upstream up;
  Pool pool(loop);
  size_t i;
  pool.put(up.connect(loop, &i), kLong);
  auto c = pool.take(up.addr);
  REQUIRE(c != nullptr);
  Recorder h;
  h.loop = &loop;
  c->stream().setHandler(&h);
  // Read interest stayed on across take: the response reaches the new handler.
  REQUIRE(write(up.serverFds[i], "HTTP/1.1 204 No Content\r\n\r\n", 27) == 27);
  stop.runFor(2000);
  CHECK(h.readable >= 1);
  CHECK(pool.idleCount() == 0);
  CHECK(c->stream().fill(1 << 16) == net::Stream::ReadResult::kData);
  CHECK(c->stream().in().view() == "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST_CASE("Pool: closeAll and destruction close every idle connection", "[upstream]") {
  event::Loop loop;
  Upstream up;
  size_t i1, i2, i3;
  {
    Pool pool(loop);
    pool.put(up.connect(loop, &i1), kLong);
    pool.put(up.connect(loop, &i2), kLong);
    pool.closeAll();
    CHECK(pool.idleCount() == 0);
    CHECK(pool.take(up.addr) == nullptr);
    CHECK(up.closedByClient(i1, 1000));
    CHECK(up.closedByClient(i2, 1000));
    // Usable after closeAll.
    pool.put(up.connect(loop, &i3), kLong);
    CHECK(pool.idleCount() == 1);
  }
  CHECK(up.closedByClient(i3, 1000));
}
