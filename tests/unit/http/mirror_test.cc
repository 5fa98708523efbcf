// MirrorSender and its helpers: the shadow Host, sampling by parts per million, the per-worker
// bounds (copies in flight, bytes not yet written), one copy's life on a real loop (sent whole,
// response read, connection kept alive and reused; a refused connect counted as failed), and
// copies waiting for their request body.

#include "core/http/mirror.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <memory>
#include <string>

#include "core/net/socket.h"

using namespace gh;
using namespace gh::http;

namespace {

// A plain-TCP shadow at `address`, every other field at its default.
MirrorTarget plainTarget(const net::Address& address) {
  MirrorTarget t;
  t.address = address;
  return t;
}

// A loopback listener the test accepts from by hand (or never).
struct Listener {
  int fd = -1;
  net::Address address;
  Listener() {
    net::Address any;
    REQUIRE(net::Address::parse("127.0.0.1", 0, &any));
    auto l = net::listenTcp(any, false, 128);
    REQUIRE(l.ok());
    fd = l.value();
    address = net::localAddress(fd);
  }
  ~Listener() { close(fd); }
};

// A shadow on the loop: accepts one connection, reads the request until `expect` bytes came,
// answers with a response head only, and stops the loop once the sender has nothing in flight.
struct Shadow {
  event::Loop& loop;
  Listener& listener;
  MirrorSender& sender;
  size_t expect;
  std::string received;
  size_t answered = 0;
  int accepted = 0;
  int conn = -1;
  std::unique_ptr<event::IoWatcher> acceptWatch;
  std::unique_ptr<event::IoWatcher> readWatch;
  event::Timer poll;
  event::Timer giveUp;

  Shadow(event::Loop& l, Listener& li, MirrorSender& s, size_t n)
      : loop(l), listener(li), sender(s), expect(n), poll(l, &Shadow::onPoll, this),
        giveUp(l, &Shadow::onGiveUp, this) {
    acceptWatch = std::make_unique<event::IoWatcher>(loop, listener.fd, &Shadow::onAccept, this);
    acceptWatch->enableRead();
    poll.arm(5, false);
    giveUp.arm(10'000, false);
  }
  ~Shadow() {
    readWatch.reset();
    if (conn >= 0) close(conn);
  }
  static void onAccept(void* arg, short) {
    auto* s = static_cast<Shadow*>(arg);
    s->conn = net::acceptOne(s->listener.fd, nullptr);
    if (s->conn < 0) return;
    ++s->accepted;
    s->acceptWatch->disableRead();
    s->readWatch = std::make_unique<event::IoWatcher>(s->loop, s->conn, &Shadow::onRead, s);
    s->readWatch->enableRead();
  }
  static void onRead(void* arg, short) {
    auto* s = static_cast<Shadow*>(arg);
    char buf[4096];
    ssize_t n = read(s->conn, buf, sizeof buf);
    if (n <= 0) {
      s->readWatch->disableRead();
      return;
    }
    s->received.append(buf, static_cast<size_t>(n));
    // One answer per `expect` bytes: each copy on a kept-alive connection gets its own.
    while (s->received.size() >= s->expect * (s->answered + 1)) {
      const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      REQUIRE(write(s->conn, answer, sizeof answer - 1) == sizeof answer - 1);
      ++s->answered;
    }
  }
  static void onPoll(void* arg) {
    auto* s = static_cast<Shadow*>(arg);
    if (s->sender.inFlight() == 0) {
      s->loop.stop();
      return;
    }
    s->poll.arm(5, false);
  }
  static void onGiveUp(void* arg) { static_cast<Shadow*>(arg)->loop.stop(); }
};

}  // namespace

TEST_CASE("the shadow Host is the host with -shadow before the port", "[http][mirror]") {
  CHECK(shadowHost("orders.example.com") == "orders.example.com-shadow");
  CHECK(shadowHost("orders.example.com:8080") == "orders.example.com-shadow:8080");
  CHECK(shadowHost("10.0.0.1:80") == "10.0.0.1-shadow:80");
  CHECK(shadowHost("[::1]:8080") == "[::1]-shadow:8080");
  CHECK(shadowHost("[::1]") == "[::1]-shadow");
  CHECK(shadowHost("") == "-shadow");
}

TEST_CASE("mirror sampling holds its share", "[http][mirror]") {
  uint64_t s[2] = {0x9e3779b97f4a7c15ull, 0xbf58476d1ce4e5b9ull};
  auto next = [&s] {  // xorshift128+, as the workers use
    uint64_t a = s[0];
    const uint64_t b = s[1];
    s[0] = b;
    a ^= a << 23;
    s[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
    return s[1] + b;
  };
  const int n = 200'000;
  for (uint32_t perMillion : {0u, 1u, 100'000u, 250'000u, 500'000u, 999'999u, 1'000'000u}) {
    int hits = 0;
    for (int i = 0; i < n; ++i) hits += mirrorSampled(perMillion, next()) ? 1 : 0;
    double expected = n * (perMillion / 1e6);
    CHECK(std::abs(hits - expected) <= 0.01 * n);
    if (perMillion == 0) CHECK(hits == 0);
    if (perMillion == 1'000'000) CHECK(hits == n);
  }
  CHECK(mirrorSampled(1'000'000, 0xffffffffffffffffull));
  CHECK_FALSE(mirrorSampled(0, 0));
  CHECK(mirrorSampled(1, 0));  // the lowest draw is taken by any share above zero
}

TEST_CASE("copies in flight are bounded per worker, the excess dropped and counted",
          "[http][mirror]") {
  event::Loop loop;
  telemetry::WorkerCounters counters;
  Listener shadow;  // never accepts: every copy stays in flight
  {
    MirrorSender sender(loop, counters);
    for (size_t i = 0; i < MirrorSender::kMaxInFlight + 6; ++i)
      sender.send(plainTarget(shadow.address), "GET / HTTP/1.1\r\n\r\n");
    CHECK(sender.inFlight() == MirrorSender::kMaxInFlight);
    CHECK(counters.mirrorSent.get() == MirrorSender::kMaxInFlight);
    CHECK(counters.mirrorDropped.get() == 6);
    CHECK(counters.mirrorFailed.get() == 0);
  }  // destroying the sender closes every copy's connection
  MirrorSender sender(loop, counters);
  const std::string big(1 << 20, 'x');
  for (int i = 0; i < 5; ++i) sender.send(plainTarget(shadow.address), big);
  CHECK(sender.inFlight() == MirrorSender::kMaxQueuedBytes / big.size());
  CHECK(sender.queuedBytes() == MirrorSender::kMaxQueuedBytes);
  CHECK(counters.mirrorDropped.get() == 6 + 5 - MirrorSender::kMaxQueuedBytes / big.size());
}

TEST_CASE("a copy is written whole, its response head read, and it ends", "[http][mirror]") {
  event::Loop loop;
  telemetry::WorkerCounters counters;
  Listener listener;
  MirrorSender sender(loop, counters);
  const std::string request =
      "POST /orders HTTP/1.1\r\nHost: a-shadow\r\nContent-Length: 5\r\nConnection: close\r\n"
      "\r\nhello";
  sender.send(plainTarget(listener.address), request);
  CHECK(sender.queuedBytes() == request.size());
  Shadow shadow(loop, listener, sender, request.size());
  loop.run();
  CHECK(shadow.received == request);
  CHECK(sender.inFlight() == 0);
  CHECK(sender.queuedBytes() == 0);
  CHECK(counters.mirrorSent.get() == 1);
  CHECK(counters.mirrorFailed.get() == 0);
  CHECK(counters.mirrorDropped.get() == 0);
  // The response (with its small body read past) left the connection reusable: it is idle in
  // the sender's pool, and the next copy to that endpoint goes out on it.
  CHECK(sender.idleConnections() == 1);
  sender.send(plainTarget(listener.address), request);
  CHECK(sender.idleConnections() == 0);
  shadow.poll.arm(5, false);
  loop.run();
  CHECK(shadow.received == request + request);
  CHECK(shadow.accepted == 1);
  CHECK(sender.idleConnections() == 1);
  CHECK(counters.mirrorSent.get() == 2);
  CHECK(counters.mirrorFailed.get() == 0);
}

TEST_CASE("a copy to a closed port fails and is counted", "[http][mirror]") {
  event::Loop loop;
  telemetry::WorkerCounters counters;
  net::Address closed;
  {
    Listener l;  // bound then closed: nothing listens on its port any more
    closed = l.address;
  }
  MirrorSender sender(loop, counters);
  sender.send(plainTarget(closed), "GET / HTTP/1.1\r\n\r\n");
  Listener unused;
  Shadow waiter(loop, unused, sender, 1);
  loop.run();
  CHECK(sender.inFlight() == 0);
  CHECK(counters.mirrorFailed.get() == 1);
  // Refused at once (loopback) or later: either way a failed copy is a sent one.
  CHECK(counters.mirrorSent.get() == 1);
}

TEST_CASE("copies waiting for the body leave with it, whole", "[http][mirror]") {
  event::Loop loop;
  telemetry::WorkerCounters counters;
  Listener listener;
  MirrorSender sender(loop, counters);
  const std::string head = "POST /late HTTP/1.1\r\nHost: a-shadow\r\nContent-Length: 10\r\n\r\n";
  {
    PendingMirrors pending(sender);
    pending.add(plainTarget(listener.address), head);
    pending.append("01234");
    CHECK(sender.queuedBytes() == 5);  // the body collected so far is in the worker's budget
    pending.append("56789");
    CHECK(sender.inFlight() == 0);  // nothing leaves before the body is complete
    pending.complete();
    CHECK(pending.waiting() == 0);
  }
  CHECK(sender.inFlight() == 1);
  CHECK(sender.queuedBytes() == head.size() + 10);
  Shadow shadow(loop, listener, sender, head.size() + 10);
  loop.run();
  CHECK(shadow.received == head + "0123456789");
  CHECK(counters.mirrorSent.get() == 1);
  CHECK(counters.mirrorDropped.get() == 0);
}

TEST_CASE("copies waiting for a body that is too large or never ends are dropped",
          "[http][mirror]") {
  event::Loop loop;
  telemetry::WorkerCounters counters;
  Listener listener;
  MirrorSender sender(loop, counters);
  {
    PendingMirrors pending(sender);
    pending.add(plainTarget(listener.address), "POST / HTTP/1.1\r\n\r\n");
    pending.add(plainTarget(listener.address), "POST / HTTP/1.1\r\n\r\n");
    const std::string piece(MirrorSender::kMaxBody / 2 + 1, 'x');
    pending.append(piece);
    pending.append(piece);  // past kMaxBody: both copies abandoned
    CHECK(pending.waiting() == 0);
    CHECK(counters.mirrorDropped.get() == 2);
    CHECK(sender.queuedBytes() == 0);
    pending.complete();  // nothing left to send
  }
  {
    PendingMirrors pending(sender);
    pending.add(plainTarget(listener.address), "POST / HTTP/1.1\r\n\r\n");
    pending.append("abc");
  }  // the exchange ended before its body did
  CHECK(counters.mirrorDropped.get() == 3);
  CHECK(sender.queuedBytes() == 0);
  CHECK(sender.inFlight() == 0);
  CHECK(counters.mirrorSent.get() == 0);
}

TEST_CASE("copy bytes the socket has not taken stay in the worker's budget until drained",
          "[http][mirror]") {
  event::Loop loop;
  telemetry::WorkerCounters counters;
  Listener listener;
  // A small receive buffer (accepted connections inherit it; it also turns off the receive
  // buffer's autotuning), so part of the copy stays in the sender's stream: the loopback lets
  // the sending socket's buffer grow to about 3.5 MiB (Linux 6.18), ~0.7 MiB stay pending.
  int small = 8192;
  REQUIRE(setsockopt(listener.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
  MirrorSender sender(loop, counters);
  // The largest copy the budget admits: far more than the socket buffers take unread.
  const std::string big(MirrorSender::kMaxQueuedBytes, 'x');
  sender.send(plainTarget(listener.address), big);
  // Wait (no deadline but the give-up) until the copy was handed to its socket: the shadow's
  // side of the connection has bytes to read.
  struct Probe {
    event::Loop& loop;
    Listener& listener;
    int conn = -1;
    event::Timer timer;
    int rounds = 0;
    Probe(event::Loop& l, Listener& li) : loop(l), listener(li), timer(l, &Probe::onTick, this) {
      timer.arm(5, false);
    }
    ~Probe() {
      if (conn >= 0) close(conn);
    }
    static void onTick(void* arg) {
      auto* p = static_cast<Probe*>(arg);
      if (p->conn < 0) p->conn = net::acceptOne(p->listener.fd, nullptr);
      int n = 0;
      if ((p->conn >= 0 && ioctl(p->conn, FIONREAD, &n) == 0 && n > 0) || ++p->rounds > 2000) {
        p->loop.stop();
        return;
      }
      p->timer.arm(5, false);
    }
  } probe(loop, listener);
  loop.run();
  REQUIRE(probe.conn >= 0);
  CHECK(sender.inFlight() == 1);
  // Some of the copy went, the rest waits in the stream: still charged, not yet released.
  CHECK(sender.queuedBytes() > 0);
  CHECK(sender.queuedBytes() < big.size());
  // The shadow reads everything: the stream drains and the budget is free again.
  Shadow shadow(loop, listener, sender, big.size());
  shadow.conn = probe.conn;
  probe.conn = -1;
  shadow.acceptWatch->disableRead();
  shadow.readWatch = std::make_unique<event::IoWatcher>(loop, shadow.conn, &Shadow::onRead,
                                                        &shadow);
  shadow.readWatch->enableRead();
  loop.run();
  CHECK(shadow.received.size() == big.size());
  CHECK(sender.queuedBytes() == 0);
  CHECK(sender.inFlight() == 0);
}
