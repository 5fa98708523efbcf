// Loop, Timer, IoWatcher, SignalWatcher: real libevent loops, real descriptors and signals.
// Every test bounds its run with a "guard" timer that stops the loop, so a broken contract
// fails the test instead of hanging it.

#include "core/event/loop.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>
#include <vector>

using namespace gh::event;

namespace {

using Clock = std::chrono::steady_clock;

long long msSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// Stops the loop when it fires.
struct Stopper {
  Loop& loop;
  bool fired = false;
  Timer timer;
  explicit Stopper(Loop& l) : loop(l), timer(l, &Stopper::fire, this) {}
  static void fire(void* arg) {
    auto* s = static_cast<Stopper*>(arg);
    s->fired = true;
    s->loop.stop();
  }
};

// Counts its firings and when they happened.
struct Counter {
  int count = 0;
  std::vector<long long> at;
  Clock::time_point t0 = Clock::now();
  static void fire(void* arg) {
    auto* c = static_cast<Counter*>(arg);
    ++c->count;
    c->at.push_back(msSince(c->t0));
  }
};

struct SocketPair {
  int fd[2] = {-1, -1};
  SocketPair() {
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fd) == 0);
  }
  ~SocketPair() {
    for (int f : fd)
      if (f >= 0) close(f);
  }
};

}  // namespace

TEST_CASE("Timer: fires once; after its delay", "[event]") {
  Loop loop;
  Counter c;
  Timer t(loop, &Counter::fire, &c);
  Stopper guard(loop);
  CHECK_FALSE(t.armed());
  c.t0 = Clock::now();
  t.arm(30);
  CHECK(t.armed());
  guard.timer.arm(200);
  loop.run();
  CHECK(guard.fired);
  REQUIRE(c.count == 1);
  CHECK(c.at[0] >= 25);  // the coarse clock may round a few ms
  CHECK_FALSE(t.armed());
}

TEST_CASE("Timer: arm again replaces the pending deadline", "[event]") {
  Loop loop;
  Stopper guard(loop);

  SECTION("a shorter deadline fires early, once") {
    Counter c;
    Timer t(loop, &Counter::fire, &c);
    t.arm(1000);
    t.arm(20);
    guard.timer.arm(300);
    loop.run();
    CHECK(c.count == 1);
  }
  SECTION("a longer deadline postpones the firing") {
    Counter c;
    Timer t(loop, &Counter::fire, &c);
    int countAtProbe = -1;  // c.count seen at 100 ms: nothing may have fired yet
    struct Probe {
      Counter* c;
      int* seen;
      static void fire(void* arg) {
        auto* p = static_cast<Probe*>(arg);
        *p->seen = p->c->count;
      }
    } p{&c, &countAtProbe};
    Timer probeTimer(loop, &Probe::fire, &p);
    c.t0 = Clock::now();
    t.arm(20);
    t.arm(200);
    probeTimer.arm(100);
    guard.timer.arm(400);
    loop.run();
    CHECK(countAtProbe == 0);
    REQUIRE(c.count == 1);
    CHECK(c.at[0] >= 190);
  }
  SECTION("re-arming a timer of a shared duration moves it behind the others") {
    // Timers with the same duration share one libevent common-timeout queue; re-arming must
    // still honour the new deadline.
    std::vector<char> order;
    struct Tag {
      std::vector<char>* order;
      char name;
      static void fire(void* arg) {
        auto* t = static_cast<Tag*>(arg);
        t->order->push_back(t->name);
      }
    } a{&order, 'a'}, b{&order, 'b'};
    Timer ta(loop, &Tag::fire, &a);
    Timer tb(loop, &Tag::fire, &b);
    struct Rearm {
      Timer* t;
      static void fire(void* arg) { static_cast<Rearm*>(arg)->t->arm(80); }
    } r{&ta};
    Timer rearm(loop, &Rearm::fire, &r);
    ta.arm(80);
    tb.arm(80);
    rearm.arm(40);  // a now due at ~120 ms, b at ~80 ms
    guard.timer.arm(400);
    loop.run();
    CHECK(order == std::vector<char>{'b', 'a'});
  }
}

TEST_CASE("Timer: cancel", "[event]") {
  Loop loop;
  Counter c;
  Timer t(loop, &Counter::fire, &c);
  Stopper guard(loop);
  t.arm(20);
  t.cancel();
  CHECK_FALSE(t.armed());
  guard.timer.arm(120);
  loop.run();
  CHECK(c.count == 0);

  // A cancelled timer can be armed again.
  t.arm(10);
  guard.timer.arm(120);
  loop.run();
  CHECK(c.count == 1);

  t.cancel();  // cancelling an idle timer is harmless
  CHECK_FALSE(t.armed());
}

TEST_CASE("Timer: many durations; each timer fires exactly once", "[event]") {
  // More distinct durations than the loop registers as common timeouts, and many timers
  // sharing some of them.
  Loop loop;
  Stopper guard(loop);
  constexpr int kTimers = 100;
  std::vector<Counter> counters(kTimers);
  std::vector<std::unique_ptr<Timer>> timers;
  for (int i = 0; i < kTimers; ++i) {
    timers.push_back(std::make_unique<Timer>(loop, &Counter::fire, &counters[i]));
    timers.back()->arm(static_cast<uint64_t>(1 + i % 50));
  }
  guard.timer.arm(300);
  loop.run();
  for (int i = 0; i < kTimers; ++i) {
    INFO("timer " << i);
    CHECK(counters[i].count == 1);
  }
}

TEST_CASE("Timer: a callback may re-arm its own timer", "[event]") {
  Loop loop;
  Stopper guard(loop);
  struct Repeat {
    Timer* t = nullptr;
    int count = 0;
    static void fire(void* arg) {
      auto* r = static_cast<Repeat*>(arg);
      if (++r->count < 5) r->t->arm(5);
    }
  } r;
  Timer t(loop, &Repeat::fire, &r);
  r.t = &t;
  t.arm(5);
  guard.timer.arm(300);
  loop.run();
  CHECK(r.count == 5);
}

// --- Deadline: a Timer for deadlines that move often ----------------------------------------
// Times are checked with generous lower bounds: the Deadline reads the coarse clock (a few ms).

TEST_CASE("Deadline: fires once after its delay", "[event]") {
  Loop loop;
  Stopper guard(loop);
  Counter c;
  Deadline d(loop, &Counter::fire, &c);
  CHECK_FALSE(d.pending());
  c.t0 = Clock::now();
  d.set(40);
  CHECK(d.pending());
  guard.timer.arm(300);
  loop.run();
  REQUIRE(c.count == 1);
  CHECK(c.at[0] >= 30);
  CHECK_FALSE(d.pending());
}

TEST_CASE("Deadline: set() replaces the deadline in both directions", "[event]") {
  Loop loop;
  Stopper guard(loop);
  Counter c;
  Deadline d(loop, &Counter::fire, &c);

  SECTION("earlier") {
    c.t0 = Clock::now();
    d.set(1000);
    d.set(30);
    guard.timer.arm(300);
    loop.run();
    REQUIRE(c.count == 1);
    CHECK(c.at[0] < 300);
  }
  SECTION("later: the early wake-up does not fire, the new deadline does") {
    int countAtProbe = -1;
    struct Probe {
      Counter* c;
      int* seen;
      static void fire(void* arg) {
        auto* p = static_cast<Probe*>(arg);
        *p->seen = p->c->count;
      }
    } p{&c, &countAtProbe};
    Timer probe(loop, &Probe::fire, &p);
    c.t0 = Clock::now();
    d.set(20);
    d.set(200);
    probe.arm(100);
    guard.timer.arm(500);
    loop.run();
    CHECK(countAtProbe == 0);
    REQUIRE(c.count == 1);
    CHECK(c.at[0] >= 185);
  }
}

TEST_CASE("Deadline: pushed back on every request fires only after the last push", "[event]") {
  Loop loop;
  Stopper guard(loop);
  Counter c;
  Deadline d(loop, &Counter::fire, &c);
  struct Pusher {
    Deadline* d;
    Timer* self;
    int left = 6;
    Clock::time_point last;
    static void fire(void* arg) {
      auto* p = static_cast<Pusher*>(arg);
      p->d->set(80);
      p->last = Clock::now();
      if (--p->left > 0) p->self->arm(20);
    }
  } pusher{&d, nullptr, 6, Clock::now()};
  Timer t(loop, &Pusher::fire, &pusher);
  pusher.self = &t;
  d.set(80);
  t.arm(20);  // pushes at ~20, 40, ..., 120 ms: the deadline ends up at ~200 ms
  guard.timer.arm(600);
  loop.run();
  REQUIRE(c.count == 1);
  long long sinceLastPush =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - pusher.last).count();
  CHECK(pusher.left == 0);
  CHECK(c.at[0] >= 180);
  CHECK(sinceLastPush >= 70);
}

TEST_CASE("Deadline: clear() prevents the firing; set() after clear() works", "[event]") {
  Loop loop;
  Stopper guard(loop);
  Counter c;
  Deadline d(loop, &Counter::fire, &c);
  d.set(20);
  d.clear();
  CHECK_FALSE(d.pending());
  guard.timer.arm(120);
  loop.run();
  CHECK(c.count == 0);

  // Cleared while a wake-up is still armed, then set later than that wake-up.
  d.set(20);
  d.clear();
  c.t0 = Clock::now();
  d.set(150);
  guard.timer.arm(80);
  loop.run();
  CHECK(c.count == 0);
  guard.timer.arm(400);
  loop.run();
  REQUIRE(c.count == 1);
  CHECK(c.at[0] >= 135);
}

TEST_CASE("Deadline: the callback may set it again", "[event]") {
  Loop loop;
  Stopper guard(loop);
  struct Again {
    Deadline* d = nullptr;
    int count = 0;
    static void fire(void* arg) {
      auto* a = static_cast<Again*>(arg);
      if (++a->count < 3) a->d->set(10);
    }
  } a;
  Deadline d(loop, &Again::fire, &a);
  a.d = &d;
  d.set(10);
  guard.timer.arm(400);
  loop.run();
  CHECK(a.count == 3);
  CHECK_FALSE(d.pending());
}

TEST_CASE("Loop: stop() ends run(); run() can be called again", "[event]") {
  Loop loop;
  Stopper s(loop);
  s.timer.arm(10);
  auto t0 = Clock::now();
  loop.run();
  CHECK(s.fired);
  CHECK(msSince(t0) < 1000);
  s.fired = false;
  s.timer.arm(10);
  loop.run();
  CHECK(s.fired);
}

TEST_CASE("Loop: post() from another thread runs on the loop thread; in order", "[event]") {
  Loop loop;
  Stopper guard(loop);
  constexpr int kTasks = 2000;
  std::vector<int> seen;
  std::atomic<bool> wrongThread{false};
  const std::thread::id loopThread = std::this_thread::get_id();

  std::thread producer([&] {
    for (int i = 0; i < kTasks; ++i) {
      loop.post([&, i] {
        if (std::this_thread::get_id() != loopThread) wrongThread = true;
        seen.push_back(i);
        if (i == kTasks - 1) loop.stop();
      });
      if (i % 100 == 0) std::this_thread::yield();
    }
  });
  guard.timer.arm(5000);
  loop.run();
  producer.join();
  CHECK_FALSE(guard.fired);
  CHECK_FALSE(wrongThread);
  REQUIRE(seen.size() == static_cast<size_t>(kTasks));
  for (int i = 0; i < kTasks; ++i) {
    if (seen[i] != i) {
      FAIL("task " << seen[i] << " ran at position " << i);
    }
  }
}

TEST_CASE("Loop: tasks posted before run() run once it starts; a task may post more", "[event]") {
  Loop loop;
  Stopper guard(loop);
  std::vector<int> seen;
  loop.post([&] {
    seen.push_back(1);
    loop.post([&] {
      seen.push_back(3);
      loop.stop();
    });
  });
  loop.post([&] { seen.push_back(2); });
  guard.timer.arm(1000);
  loop.run();
  CHECK_FALSE(guard.fired);
  CHECK(seen == std::vector<int>{1, 2, 3});
}

TEST_CASE("Loop: post() from several threads loses nothing", "[event]") {
  Loop loop;
  Stopper guard(loop);
  constexpr int kThreads = 4, kEach = 500;
  int ran = 0;
  std::vector<std::vector<int>> perThread(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        loop.post([&, t, i] {
          perThread[t].push_back(i);
          if (++ran == kThreads * kEach) loop.stop();
        });
    });
  }
  guard.timer.arm(5000);
  loop.run();
  for (auto& th : threads) th.join();
  CHECK_FALSE(guard.fired);
  CHECK(ran == kThreads * kEach);
  for (int t = 0; t < kThreads; ++t) {
    REQUIRE(perThread[t].size() == static_cast<size_t>(kEach));
    for (int i = 0; i < kEach; ++i) REQUIRE(perThread[t][i] == i);  // each thread's order kept
  }
}

TEST_CASE("Loop: nowMs is monotonic and tracks time", "[event]") {
  uint64_t a = Loop::nowMs();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  uint64_t b = Loop::nowMs();
  CHECK(b >= a + 40);
  CHECK(b < a + 1000);
}

namespace {

struct IoLog {
  Loop* loop = nullptr;
  int reads = 0;
  int writes = 0;
  short lastWhat = 0;
  int stopAfterReads = 1 << 30;
  int stopAfterWrites = 1 << 30;
  static void fire(void* arg, short what) {
    auto* l = static_cast<IoLog*>(arg);
    l->lastWhat = what;
    if (what & IoWatcher::kRead) ++l->reads;
    if (what & IoWatcher::kWrite) ++l->writes;
    if (l->reads >= l->stopAfterReads || l->writes >= l->stopAfterWrites) l->loop->stop();
  }
};

}  // namespace

TEST_CASE("IoWatcher: read readiness on a socketpair", "[event]") {
  Loop loop;
  Stopper guard(loop);
  SocketPair sp;
  IoLog log;
  log.loop = &loop;
  IoWatcher w(loop, sp.fd[0], &IoLog::fire, &log);
  CHECK(w.fd() == sp.fd[0]);
  CHECK_FALSE(w.reading());
  w.enableRead();
  CHECK(w.reading());

  // Nothing to read: no callback.
  guard.timer.arm(50);
  loop.run();
  CHECK(guard.fired);
  CHECK(log.reads == 0);

  // The peer writes: readable.
  REQUIRE(write(sp.fd[1], "x", 1) == 1);
  log.stopAfterReads = 1;
  guard.fired = false;
  guard.timer.arm(1000);
  loop.run();
  CHECK_FALSE(guard.fired);
  CHECK(log.reads == 1);
  CHECK(log.lastWhat == IoWatcher::kRead);
  CHECK(log.writes == 0);

  // Level-triggered and persistent: unread data makes it fire again.
  log.stopAfterReads = 3;
  guard.timer.arm(1000);
  loop.run();
  CHECK(log.reads == 3);

  // Disabled: no more callbacks even though data is still there.
  w.disableRead();
  CHECK_FALSE(w.reading());
  int before = log.reads;
  guard.fired = false;
  guard.timer.arm(50);
  loop.run();
  CHECK(guard.fired);
  CHECK(log.reads == before);

  // Enabled twice is the same as once (no double registration).
  w.enableRead();
  w.enableRead();
  char c;
  REQUIRE(read(sp.fd[0], &c, 1) == 1);
  log.stopAfterReads = 1 << 30;
  before = log.reads;
  guard.fired = false;
  guard.timer.arm(50);
  loop.run();
  CHECK(log.reads == before);  // drained: nothing readable
}

TEST_CASE("IoWatcher: write readiness on a socketpair", "[event]") {
  Loop loop;
  Stopper guard(loop);
  SocketPair sp;
  int sndbuf = 4096;
  setsockopt(sp.fd[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  IoLog log;
  log.loop = &loop;
  IoWatcher w(loop, sp.fd[0], &IoLog::fire, &log);

  // An empty send buffer is writable at once.
  w.enableWrite();
  CHECK(w.writing());
  log.stopAfterWrites = 1;
  guard.timer.arm(1000);
  loop.run();
  CHECK_FALSE(guard.fired);
  CHECK(log.writes == 1);
  CHECK(log.lastWhat == IoWatcher::kWrite);
  CHECK(log.reads == 0);

  // Fill the socket: not writable any more.
  std::vector<char> junk(64 * 1024, 'j');
  while (write(sp.fd[0], junk.data(), junk.size()) > 0) {
  }
  REQUIRE(errno == EAGAIN);
  log.writes = 0;
  log.stopAfterWrites = 1 << 30;
  guard.timer.arm(50);
  loop.run();
  CHECK(guard.fired);
  CHECK(log.writes == 0);

  // The peer drains it: writable again.
  while (read(sp.fd[1], junk.data(), junk.size()) > 0) {
  }
  log.stopAfterWrites = 1;
  guard.fired = false;
  guard.timer.arm(1000);
  loop.run();
  CHECK_FALSE(guard.fired);
  CHECK(log.writes == 1);

  w.disableWrite();
  CHECK_FALSE(w.writing());
  log.writes = 0;
  log.stopAfterWrites = 1 << 30;
  guard.timer.arm(50);
  loop.run();
  CHECK(log.writes == 0);
}

TEST_CASE("IoWatcher: read and write directions are independent", "[event]") {
  Loop loop;
  Stopper guard(loop);
  SocketPair sp;
  IoLog log;
  log.loop = &loop;
  IoWatcher w(loop, sp.fd[0], &IoLog::fire, &log);
  w.enableRead();
  w.enableWrite();
  REQUIRE(write(sp.fd[1], "x", 1) == 1);
  guard.timer.arm(30);
  loop.run();
  CHECK(log.reads > 0);
  CHECK(log.writes > 0);
  w.disableWrite();
  log.reads = log.writes = 0;
  guard.timer.arm(30);
  loop.run();
  CHECK(log.reads > 0);
  CHECK(log.writes == 0);
  w.disableRead();
}

TEST_CASE("SignalWatcher: a signal raised inside the loop runs the callback on the loop",
          "[event]") {
  Loop loop;
  Stopper guard(loop);
  struct Seen {
    Loop* loop;
    int signo = 0;
    int count = 0;
    std::thread::id thread;
    static void fire(void* arg, int signo) {
      auto* s = static_cast<Seen*>(arg);
      s->signo = signo;
      ++s->count;
      s->thread = std::this_thread::get_id();
      s->loop->stop();
    }
  } seen{&loop, 0, 0, {}};
  SignalWatcher sw(loop, SIGUSR2, &Seen::fire, &seen);
  struct Raise {
    static void fire(void*) { raise(SIGUSR2); }
  };
  Timer raiser(loop, &Raise::fire, nullptr);
  raiser.arm(10);
  guard.timer.arm(2000);
  loop.run();
  CHECK_FALSE(guard.fired);
  CHECK(seen.count == 1);
  CHECK(seen.signo == SIGUSR2);
  CHECK(seen.thread == std::this_thread::get_id());

  // It keeps watching: a second signal is delivered too.
  raiser.arm(10);
  guard.timer.arm(2000);
  loop.run();
  CHECK(seen.count == 2);
}
