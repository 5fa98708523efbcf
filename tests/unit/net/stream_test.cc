// Stream over real sockets (AF_UNIX socketpairs and loopback TCP) on a real Loop:
// send() writes at once when it can and keeps only the remainder, in order; onDrained() once the
// remainder is gone; fill() reports kData / kAgain / kEof / kFull / kError.

#include "core/net/stream.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <functional>
#include <memory>
#include <string>

#include "core/net/socket.h"

using namespace gh;
using namespace gh::net;

namespace {

struct Recorder final : Stream::Handler {
  int readable = 0;
  int drained = 0;
  std::function<void()> onRead;
  std::function<void()> onDrain;
  void onReadable() override {
    ++readable;
    if (onRead) onRead();
  }
  void onDrained() override {
    ++drained;
    if (onDrain) onDrain();
  }
};

struct Stopper {
  event::Loop& loop;
  bool fired = false;
  event::Timer timer;
  explicit Stopper(event::Loop& l) : loop(l), timer(l, &Stopper::fire, this) {}
  static void fire(void* arg) {
    auto* s = static_cast<Stopper*>(arg);
    s->fired = true;
    s->loop.stop();
  }
};

// fd[0] goes to the Stream (which closes it); fd[1] is the peer the test drives by hand.
struct Pair {
  int fd[2] = {-1, -1};
  Pair() { REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fd) == 0); }
  ~Pair() {
    if (fd[1] >= 0) close(fd[1]);
  }
  void closePeer() {
    close(fd[1]);
    fd[1] = -1;
  }
};

// A connected loopback TCP pair: client fd and server fd, both non-blocking.
struct TcpPair {
  int client = -1;
  int server = -1;
  TcpPair() {
    Address any;
    REQUIRE(Address::parse("127.0.0.1", 0, &any));
    auto l = listenTcp(any, false);
    REQUIRE(l.ok());
    auto c = connectNonBlocking(localAddress(l.value()));
    REQUIRE(c.ok());
    client = c.value();
    pollfd p{l.value(), POLLIN, 0};
    REQUIRE(poll(&p, 1, 2000) == 1);
    server = acceptOne(l.value(), nullptr);
    REQUIRE(server >= 0);
    close(l.value());
    pollfd w{client, POLLOUT, 0};
    REQUIRE(poll(&w, 1, 2000) == 1);
    REQUIRE(connectResult(client) == 0);
  }
};

std::string pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('A' + (i / 7 + seed) % 26);
  return s;
}

// Everything readable right now, without blocking.
std::string readAvailable(int fd) {
  std::string got;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// Where two byte strings first differ (-1: equal), so a failure does not print megabytes.
long firstDiff(const std::string& a, const std::string& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return static_cast<long>(i);
  return a.size() == b.size() ? -1 : static_cast<long>(n);
}

void smallBuffers(int fd, int bytes = 4096) {
  int v = bytes;
  REQUIRE(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v) == 0);
  REQUIRE(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v) == 0);
}

// Drives the loop, reading `peerFd` as it becomes readable, until `want` bytes arrived and the
// handler saw onDrained (or the guard fires).
struct PeerReader {
  event::Loop& loop;
  int fd;
  size_t want;
  Recorder& h;
  std::string got;
  event::IoWatcher watcher;
  PeerReader(event::Loop& l, int peerFd, size_t wantBytes, Recorder& rec)
      : loop(l), fd(peerFd), want(wantBytes), h(rec), watcher(l, peerFd, &PeerReader::fire, this) {
    watcher.enableRead();
  }
  ~PeerReader() { watcher.disableRead(); }
  static void fire(void* arg, short) {
    auto* r = static_cast<PeerReader*>(arg);
    r->got += readAvailable(r->fd);
    r->maybeStop();
  }
  void maybeStop() {
    if (got.size() >= want && h.drained > 0) loop.stop();
  }
};

}  // namespace

TEST_CASE("Stream: send writes at once when the socket has room", "[net]") {
  event::Loop loop;
  Stopper guard(loop);
  Pair p;
  Recorder h;
  Stream s(loop, p.fd[0], &h);
  CHECK(s.fd() == p.fd[0]);
  REQUIRE(s.send("hello"));
  CHECK(s.pending() == 0);
  // Already in the peer's socket: no loop iteration was needed.
  CHECK(readAvailable(p.fd[1]) == "hello");

  iovec pieces[3] = {
      {const_cast<char*>("a"), 1}, {const_cast<char*>("bc"), 2}, {const_cast<char*>("def"), 3}};
  REQUIRE(s.send(pieces, 3));
  CHECK(s.pending() == 0);
  CHECK(readAvailable(p.fd[1]) == "abcdef");

  REQUIRE(s.send(""));  // nothing to send is fine
  CHECK(s.pending() == 0);

  // A send that finished at once does not call onDrained.
  guard.timer.arm(30);
  loop.run();
  CHECK(h.drained == 0);
}

TEST_CASE("Stream: a full peer buffer keeps only the remainder; in order", "[net]") {
  event::Loop loop;
  Stopper guard(loop);
  Pair p;
  smallBuffers(p.fd[0]);
  smallBuffers(p.fd[1]);
  Recorder h;
  Stream s(loop, p.fd[0], &h);

  const std::string big = pattern(256 * 1024, 1);
  REQUIRE(s.send(big));
  const size_t pending1 = s.pending();
  CHECK(pending1 > 0);
  CHECK(pending1 < big.size());  // something was written at once

  // Exactly what was written is in the socket; exactly the rest is buffered.
  std::string atOnce = readAvailable(p.fd[1]);
  CHECK(atOnce.size() > 0);
  CHECK(atOnce.size() + s.pending() == big.size());
  CHECK(firstDiff(atOnce, big.substr(0, atOnce.size())) == -1);

  // The socket has room again, but bytes are pending: a later send queues behind them.
  const std::string tail = "--TAIL--";
  REQUIRE(s.send(tail));
  CHECK(s.pending() == pending1 + tail.size());
  CHECK(readAvailable(p.fd[1]).empty());

  PeerReader reader(loop, p.fd[1], big.size() - atOnce.size() + tail.size(), h);
  guard.timer.arm(5000);
  loop.run();
  CHECK_FALSE(guard.fired);
  CHECK(firstDiff(atOnce + reader.got, big + tail) == -1);
  CHECK(s.pending() == 0);
  CHECK(h.drained == 1);

  // Drained stays drained: no repeated onDrained.
  guard.timer.arm(30);
  loop.run();
  CHECK(h.drained == 1);
}

TEST_CASE("Stream: a partial write inside a multi-piece send keeps the pieces' order", "[net]") {
  event::Loop loop;
  Stopper guard(loop);
  Pair p;
  smallBuffers(p.fd[0]);
  Recorder h;
  Stream s(loop, p.fd[0], &h);

  const std::string a = pattern(100, 2), b = pattern(200 * 1024, 3), c = pattern(50 * 1024, 4);
  iovec pieces[3] = {{const_cast<char*>(a.data()), a.size()},
                     {const_cast<char*>(b.data()), b.size()},
                     {const_cast<char*>(c.data()), c.size()}};
  REQUIRE(s.send(pieces, 3));
  CHECK(s.pending() > c.size());  // the cut is inside b
  std::string atOnce = readAvailable(p.fd[1]);
  CHECK(atOnce.size() + s.pending() == a.size() + b.size() + c.size());

  const std::string d = pattern(3000, 5);
  iovec more[2] = {{const_cast<char*>(d.data()), 1000}, {const_cast<char*>(d.data() + 1000), 2000}};
  REQUIRE(s.send(more, 2));

  PeerReader reader(loop, p.fd[1], a.size() + b.size() + c.size() + d.size() - atOnce.size(), h);
  guard.timer.arm(5000);
  loop.run();
  CHECK_FALSE(guard.fired);
  CHECK(firstDiff(atOnce + reader.got, a + b + c + d) == -1);
  CHECK(h.drained == 1);
  CHECK(s.pending() == 0);
}

TEST_CASE("Stream: remainder buffering over loopback TCP", "[net]") {
  event::Loop loop;
  Stopper guard(loop);
  TcpPair t;
  // Fixed (not auto-tuned) buffers, large enough to avoid tiny-window ACK stalls.
  smallBuffers(t.client, 64 * 1024);
  smallBuffers(t.server, 64 * 1024);
  Recorder h;
  Stream s(loop, t.client, &h);

  const std::string big = pattern(4 * 1024 * 1024, 6);
  REQUIRE(s.send(big));
  CHECK(s.pending() > 0);
  CHECK(s.pending() < big.size());
  const std::string tail = "end";
  size_t before = s.pending();
  REQUIRE(s.send(tail));
  CHECK(s.pending() == before + tail.size());

  PeerReader reader(loop, t.server, big.size() + tail.size(), h);
  guard.timer.arm(10000);
  loop.run();
  CHECK_FALSE(guard.fired);
  CHECK(reader.got.size() == big.size() + tail.size());
  CHECK(firstDiff(reader.got, big + tail) == -1);
  CHECK(h.drained == 1);
  close(t.server);
}

TEST_CASE("Stream: the handler may destroy the stream in onDrained", "[net]") {
  event::Loop loop;
  Stopper guard(loop);
  Pair p;
  smallBuffers(p.fd[0]);
  Recorder h;
  auto s = std::make_unique<Stream>(loop, p.fd[0], &h);
  const std::string big = pattern(128 * 1024, 7);
  REQUIRE(s->send(big));
  REQUIRE(s->pending() > 0);
  h.onDrain = [&] {
    s.reset();
    loop.stop();
  };
  std::string got;
  struct Drain {
    int fd;
    std::string* got;
    static void fire(void* arg, short) {
      auto* d = static_cast<Drain*>(arg);
      *d->got += readAvailable(d->fd);
    }
  } drain{p.fd[1], &got};
  event::IoWatcher w(loop, p.fd[1], &Drain::fire, &drain);
  w.enableRead();
  guard.timer.arm(5000);
  loop.run();
  CHECK_FALSE(guard.fired);
  CHECK(s == nullptr);
  w.disableRead();
  got += readAvailable(p.fd[1]);
  CHECK(firstDiff(got, big) == -1);
}

TEST_CASE("Stream: waitWritable calls onDrained with nothing pending", "[net]") {
  event::Loop loop;
  Stopper guard(loop);
  Pair p;
  Recorder h;
  Stream s(loop, p.fd[0], &h);
  h.onDrain = [&] { loop.stop(); };
  s.waitWritable();
  guard.timer.arm(2000);
  loop.run();
  CHECK_FALSE(guard.fired);
  CHECK(h.drained == 1);
  // One-shot: the write interest is dropped afterwards.
  h.onDrain = nullptr;
  guard.timer.arm(30);
  loop.run();
  CHECK(h.drained == 1);
}

TEST_CASE("Stream: fill results", "[net]") {
  event::Loop loop;
  Pair p;
  Recorder h;
  Stream s(loop, p.fd[0], &h);

  SECTION("kAgain, kData, kEof") {
    CHECK(s.fill(1 << 20) == Stream::ReadResult::kAgain);
    CHECK(s.in().empty());
    REQUIRE(write(p.fd[1], "abc", 3) == 3);
    CHECK(s.fill(1 << 20) == Stream::ReadResult::kData);
    CHECK(s.in().view() == "abc");
    CHECK(s.fill(1 << 20) == Stream::ReadResult::kAgain);
    REQUIRE(write(p.fd[1], "de", 2) == 2);
    CHECK(s.fill(1 << 20) == Stream::ReadResult::kData);
    CHECK(s.in().view() == "abcde");  // appended
    p.closePeer();
    CHECK(s.fill(1 << 20) == Stream::ReadResult::kEof);
    CHECK(s.in().view() == "abcde");
  }
  SECTION("kFull at maxBuffer, room again after consume") {
    const std::string data = "0123456789abcdefghij";
    REQUIRE(write(p.fd[1], data.data(), data.size()) == static_cast<ssize_t>(data.size()));
    CHECK(s.fill(8) == Stream::ReadResult::kData);
    CHECK(s.in().view() == "01234567");
    CHECK(s.fill(8) == Stream::ReadResult::kFull);
    CHECK(s.in().view() == "01234567");
    s.in().consume(5);
    CHECK(s.fill(8) == Stream::ReadResult::kData);
    CHECK(s.in().view() == "56789abc");  // compacted: 5 bytes of room
    s.in().consume(8);
    CHECK(s.fill(8) == Stream::ReadResult::kData);
    CHECK(s.in().view() == "defghij");
  }
  SECTION("kFull while the bytes in the buffer are pinned") {
    REQUIRE(write(p.fd[1], "HEADbodyMORE", 12) == 12);
    CHECK(s.fill(8) == Stream::ReadResult::kData);
    CHECK(s.in().view() == "HEADbody");
    s.in().consumeAndPin(4);
    s.in().consume(4);
    // The buffer is at maxBuffer; the pinned head keeps its 4 bytes.
    CHECK(s.fill(8) == Stream::ReadResult::kData);
    CHECK(s.in().view() == "MORE");
    REQUIRE(write(p.fd[1], "X", 1) == 1);
    CHECK(s.fill(8) == Stream::ReadResult::kFull);
  }
}

TEST_CASE("Stream: a reset connection is kError; send then fails", "[net]") {
  signal(SIGPIPE, SIG_IGN);  // as the server does: a broken pipe is an errno, not a signal
  event::Loop loop;
  TcpPair t;
  Recorder h;
  Stream s(loop, t.client, &h);
  linger lg{1, 0};
  REQUIRE(setsockopt(t.server, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
  close(t.server);  // RST
  pollfd pf{t.client, POLLIN, 0};
  REQUIRE(poll(&pf, 1, 2000) == 1);
  CHECK(s.fill(1 << 16) == Stream::ReadResult::kError);
  CHECK(s.lastError() == ECONNRESET);
  CHECK_FALSE(s.send("x"));
}

TEST_CASE("Stream: send to a closed peer fails with the errno kept", "[net]") {
  signal(SIGPIPE, SIG_IGN);
  event::Loop loop;
  Pair p;
  Recorder h;
  Stream s(loop, p.fd[0], &h);
  p.closePeer();
  CHECK_FALSE(s.send("hello"));
  CHECK(s.lastError() == EPIPE);
  CHECK_FALSE(s.send("again"));
}

TEST_CASE("Stream: onReadable when data arrives; while reading is enabled", "[net]") {
  event::Loop loop;
  Stopper guard(loop);
  Pair p;
  Recorder h;
  Stream s(loop, p.fd[0], &h);
  h.onRead = [&] {
    s.fill(1 << 16);
    loop.stop();
  };
  CHECK_FALSE(s.reading());
  s.enableRead();
  CHECK(s.reading());
  guard.timer.arm(30);
  loop.run();
  CHECK(guard.fired);
  CHECK(h.readable == 0);

  REQUIRE(write(p.fd[1], "ping", 4) == 4);
  guard.fired = false;
  guard.timer.arm(2000);
  loop.run();
  CHECK_FALSE(guard.fired);
  CHECK(h.readable == 1);
  CHECK(s.in().view() == "ping");

  s.disableRead();
  REQUIRE(write(p.fd[1], "more", 4) == 4);
  guard.fired = false;
  guard.timer.arm(30);
  loop.run();
  CHECK(guard.fired);
  CHECK(h.readable == 1);
}

TEST_CASE("Stream: destroying the stream closes the socket", "[net]") {
  event::Loop loop;
  Pair p;
  Recorder h;
  {
    Stream s(loop, p.fd[0], &h);
    s.enableRead();
  }
  char c;
  CHECK(read(p.fd[1], &c, 1) == 0);  // EOF: the other end is closed
}

TEST_CASE("Stream: releaseBuffers frees idle buffers only", "[net]") {
  event::Loop loop;
  Pair p;
  Recorder h;
  Stream s(loop, p.fd[0], &h);
  REQUIRE(write(p.fd[1], "abc", 3) == 3);
  REQUIRE(s.fill(1 << 16) == Stream::ReadResult::kData);
  s.releaseBuffers();
  CHECK(s.in().view() == "abc");  // data is kept
  s.in().consume(3);
  s.releaseBuffers();
  CHECK(s.in().capacity() == 0);
}
