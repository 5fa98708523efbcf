// Resolver and DnsWatch against a tiny DNS responder on 127.0.0.1 (UDP, same loop): A
// answers with a TTL, empty AAAA answers, NXDOMAIN, re-resolution on TTL, keeping the last
// good answer through a failure.

#include "core/net/resolver.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "core/event/loop.h"

using namespace gh;

namespace {

// Answers A queries for the names in `records` (IN, the given TTL), NOERROR with no answer
// for other types, NXDOMAIN for unknown names; `serverFail` answers SERVFAIL to everything.
class FakeDns {
 public:
  explicit FakeDns(event::Loop& loop) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
    socklen_t len = sizeof sin;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sin), &len);
    address = net::Address::fromSockaddr(reinterpret_cast<sockaddr*>(&sin), len);
    watcher_ = std::make_unique<event::IoWatcher>(loop, fd_, &FakeDns::onReadable, this);
    watcher_->enableRead();
  }
  ~FakeDns() {
    watcher_.reset();
    ::close(fd_);
  }

  net::Address address;
  std::map<std::string, std::vector<std::string>> records;  // lower-case name -> IPv4s
  uint32_t ttl = 0;
  bool serverFail = false;
  int queries = 0;

 private:
  static void onReadable(void* arg, short) { static_cast<FakeDns*>(arg)->answer(); }
  void answer() {
    uint8_t q[512];
    sockaddr_storage from{};
    socklen_t fromLen = sizeof from;
    ssize_t n = ::recvfrom(fd_, q, sizeof q, 0, reinterpret_cast<sockaddr*>(&from), &fromLen);
    if (n < 12) return;
    ++queries;
    // Question: labels from offset 12, then type and class.
    std::string name;
    size_t at = 12;
    while (at < size_t(n) && q[at] != 0) {
      const size_t len = q[at];
      if (!name.empty()) name += '.';
      for (size_t i = 1; i <= len; ++i) name += char(std::tolower(q[at + i]));  // 0x20 mixing
      at += len + 1;
    }
    const size_t qend = at + 5;  // zero label + type + class
    const uint16_t qtype = uint16_t(q[at + 1] << 8 | q[at + 2]);
    std::vector<uint8_t> r(q, q + qend);
    r[2] = 0x81;  // QR, RD
    r[3] = 0x80;  // RA, rcode 0
    r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
    auto it = records.find(name);
    if (serverFail) {
      r[3] = 0x82;
    } else if (it == records.end()) {
      r[3] = 0x83;  // NXDOMAIN
    } else if (qtype == 1) {
      r[7] = uint8_t(it->second.size());
      for (const auto& ip : it->second) {
        const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, uint8_t(ttl >> 24), uint8_t(ttl >> 16),
                              uint8_t(ttl >> 8), uint8_t(ttl), 0, 4};
        r.insert(r.end(), rr, rr + sizeof rr);
        in_addr a{};
        ::inet_pton(AF_INET, ip.c_str(), &a);
        auto* b = reinterpret_cast<uint8_t*>(&a);
        r.insert(r.end(), b, b + 4);
      }
    }
    ::sendto(fd_, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), fromLen);
  }

  int fd_ = -1;
  std::unique_ptr<event::IoWatcher> watcher_;
};

// Stops the loop after `ms` so a broken resolver fails the test instead of hanging it.
struct Watchdog {
  Watchdog(event::Loop& loop, uint64_t ms) : timer(loop, &Watchdog::fire, this), loop(loop) {
    timer.arm(ms, false);
  }
  static void fire(void* arg) {
    auto* w = static_cast<Watchdog*>(arg);
    w->fired = true;
    w->loop.stop();
  }
  event::Timer timer;
  event::Loop& loop;
  bool fired = false;
};

std::vector<std::string> ips(const std::vector<net::Address>& addrs) {
  std::vector<std::string> out;
  for (auto& a : addrs) out.push_back(a.toString());
  return out;
}

}  // namespace

TEST_CASE("resolver: A records with port and TTL, NXDOMAIN, SERVFAIL", "[net][resolver]") {
  event::Loop loop;
  FakeDns dns(loop);
  dns.records["orders.internal"] = {"10.0.0.12", "10.0.0.11"};
  dns.ttl = 30;
  net::Resolver::Options opt;
  opt.nameservers = {dns.address};
  opt.timeoutMs = 500;
  net::Resolver resolver(loop, opt);
  Watchdog dog(loop, 5000);

  std::vector<net::Resolver::Answer> answers;
  auto collect = [&](const net::Resolver::Answer& a) {
    answers.push_back(a);
    if (answers.size() == 3) loop.stop();
  };
  resolver.resolve("Orders.Internal", 15006, collect);
  resolver.resolve("missing.internal", 80, collect);
  resolver.resolve("orders.internal", 80, [&](const net::Resolver::Answer& a) {
    collect(a);
  });
  loop.run();
  REQUIRE_FALSE(dog.fired);
  REQUIRE(answers.size() == 3);
  int ok = 0, missing = 0;
  for (auto& a : answers) {
    if (a.error == 0) {
      ++ok;
      CHECK(a.ttlSeconds == 30);
      REQUIRE(a.addresses.size() == 2);
      CHECK(a.addresses[0].ip() == "10.0.0.11");  // sorted
      CHECK(a.addresses[1].ip() == "10.0.0.12");
      CHECK((a.addresses[0].port() == 15006 || a.addresses[0].port() == 80));
    } else {
      ++missing;
      CHECK(a.addresses.empty());
      CHECK(std::string(net::Resolver::errorText(a.error)).size() > 0);
    }
  }
  CHECK(ok == 2);
  CHECK(missing == 1);

  dns.serverFail = true;
  bool failed = false;
  resolver.resolve("orders.internal", 80, [&](const net::Resolver::Answer& a) {
    failed = a.error != 0;
    loop.stop();
  });
  loop.run();
  REQUIRE_FALSE(dog.fired);
  CHECK(failed);
}

TEST_CASE("dns watch: re-resolves on TTL, publishes changes only, survives failures",
          "[net][resolver]") {
  event::Loop loop;
  FakeDns dns(loop);
  dns.records["api.internal"] = {"10.1.0.1"};
  dns.ttl = 0;  // re-resolve at the minimum refresh
  net::Resolver::Options opt;
  opt.nameservers = {dns.address};
  opt.timeoutMs = 300;
  opt.attempts = 1;
  net::Resolver resolver(loop, opt);
  Watchdog dog(loop, 8000);

  std::vector<std::vector<std::string>> published;
  net::DnsWatch::Options wopt;
  wopt.minRefreshMs = 30;
  wopt.retryMs = 30;
  int ticks = 0;
  net::DnsWatch watch(loop, resolver, wopt,
                      [&](const std::string& name, uint16_t port,
                          const std::vector<net::Address>& addrs) {
                        CHECK(name == "api.internal");
                        CHECK(port == 8080);
                        published.push_back(ips(addrs));
                      });
  watch.watch("api.internal", 8080);
  watch.watch("api.internal", 8080);  // no-op

  // A timer drives the scenario: after the first answer, wait for some unchanged refreshes,
  // then change the records, then fail the server, then stop.
  struct Step {
    static void fire(void* arg) { (*static_cast<std::function<void()>*>(arg))(); }
  };
  std::function<void()> step;
  event::Timer stepper(loop, &Step::fire, &step);
  int phase = 0;
  int queriesAtChange = 0;
  step = [&] {
    ++ticks;
    if (phase == 0 && published.size() == 1 && dns.queries >= 6) {
      phase = 1;  // several refreshes, nothing new published
      dns.records["api.internal"] = {"10.1.0.3", "10.1.0.2"};
    } else if (phase == 1 && published.size() == 2) {
      phase = 2;
      dns.serverFail = true;
      queriesAtChange = dns.queries;
    } else if (phase == 2 && dns.queries >= queriesAtChange + 4) {
      loop.stop();
      return;
    }
    stepper.arm(20, false);
  };
  stepper.arm(20, false);
  loop.run();
  REQUIRE_FALSE(dog.fired);
  REQUIRE(published.size() == 2);
  CHECK(published[0] == std::vector<std::string>{"10.1.0.1:8080"});
  CHECK(published[1] == std::vector<std::string>{"10.1.0.2:8080", "10.1.0.3:8080"});
  // Failures kept the last good answer.
  const auto* cur = watch.current("api.internal", 8080);
  REQUIRE(cur != nullptr);
  CHECK(ips(*cur) == published[1]);
  watch.unwatch("api.internal", 8080);
  CHECK(watch.current("api.internal", 8080) == nullptr);
}

// An answer for a name unwatched while its lookup was in flight must not land on a name
// watched after it (the new entry is usually allocated where the freed one was).
TEST_CASE("dns watch: a late answer for an unwatched name is dropped", "[net][resolver]") {
  event::Loop loop;
  FakeDns dns(loop);
  dns.records["old.internal"] = {"10.2.0.1"};
  dns.records["new.internal"] = {"10.2.0.2"};
  dns.ttl = 60;
  net::Resolver::Options opt;
  opt.nameservers = {dns.address};
  opt.timeoutMs = 300;
  opt.attempts = 1;
  net::Resolver resolver(loop, opt);
  Watchdog dog(loop, 5000);

  std::vector<std::pair<std::string, std::vector<std::string>>> published;
  net::DnsWatch watch(loop, resolver, net::DnsWatch::Options{},
                      [&](const std::string& name, uint16_t,
                          const std::vector<net::Address>& addrs) {
                        published.emplace_back(name, ips(addrs));
                      });
  watch.watch("old.internal", 80);
  watch.unwatch("old.internal", 80);  // its lookup is still in flight
  watch.watch("new.internal", 80);

  struct Step {
    static void fire(void* arg) { (*static_cast<std::function<void()>*>(arg))(); }
  };
  std::function<void()> step;
  event::Timer stepper(loop, &Step::fire, &step);
  int settle = 0;
  step = [&] {
    // Both names asked (A and AAAA each) and answered; a few more turns for stragglers.
    if (dns.queries >= 4 && !published.empty() && ++settle > 5) {
      loop.stop();
      return;
    }
    stepper.arm(10, false);
  };
  stepper.arm(10, false);
  loop.run();
  REQUIRE_FALSE(dog.fired);
  REQUIRE(published.size() == 1);
  CHECK(published[0].first == "new.internal");
  CHECK(published[0].second == std::vector<std::string>{"10.2.0.2:80"});
  REQUIRE(watch.current("new.internal", 80) != nullptr);
  CHECK(ips(*watch.current("new.internal", 80)) == std::vector<std::string>{"10.2.0.2:80"});
  CHECK(watch.current("old.internal", 80) == nullptr);
}
