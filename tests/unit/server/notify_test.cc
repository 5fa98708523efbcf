// notify: what a service manager listening on NOTIFY_SOCKET receives, for a file socket and an
// abstract one; nothing at all (and no error) without NOTIFY_SOCKET; the watchdog interval read
// from WATCHDOG_USEC and WATCHDOG_PID.

#include "core/server/notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace gh::server {
namespace {

// Restores an environment variable at scope exit, so tests do not leak NOTIFY_SOCKET.
class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : name_(name) {
    if (const char* v = getenv(name)) {
      had_ = true;
      old_ = v;
    }
  }
  ~EnvGuard() {
    if (had_)
      setenv(name_, old_.c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

// A bound unix datagram socket playing systemd's part. `abstractNamespace`: bound to
// "\0name" and announced as "@name".
class FakeManager {
 public:
  explicit FakeManager(bool abstractNamespace) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    std::string name = "gatehouse-notify-test-" + std::to_string(getpid()) +
                       (abstractNamespace ? "-abstract" : "-file");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    socklen_t len;
    if (abstractNamespace) {
      memcpy(addr.sun_path + 1, name.data(), name.size());
      len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
      env_ = "@" + name;
    } else {
      path_ = (getenv("TMPDIR") ? std::string(getenv("TMPDIR")) : "/tmp") + "/" + name;
      ::unlink(path_.c_str());
      memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
      len = sizeof addr;
      env_ = path_;
    }
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0);
    timeval tv{2, 0};  // a missing message fails the test instead of hanging it
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~FakeManager() {
    ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  const std::string& env() const { return env_; }

  // The next datagram, or "" on timeout.
  std::string receive() {
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }

  bool pending() {
    char c;
    return ::recv(fd_, &c, 1, MSG_DONTWAIT | MSG_PEEK) >= 0;
  }

 private:
  int fd_ = -1;
  std::string path_;
  std::string env_;
};

}  // namespace

TEST_CASE("notify: without NOTIFY_SOCKET nothing is sent and nothing fails", "[server]") {
  EnvGuard g("NOTIFY_SOCKET");
  unsetenv("NOTIFY_SOCKET");
  CHECK_FALSE(notifyEnabled());
  CHECK(notifyReady("serving").ok());
  CHECK(notifyStopping().ok());
  CHECK(notifyWatchdog().ok());
}

TEST_CASE("notify: READY, STATUS, RELOADING, STOPPING and WATCHDOG reach a file socket",
          "[server]") {
  EnvGuard g("NOTIFY_SOCKET");
  FakeManager m(false);
  setenv("NOTIFY_SOCKET", m.env().c_str(), 1);
  CHECK(notifyEnabled());

  REQUIRE(notifyReady().ok());
  CHECK(m.receive() == "READY=1");

  REQUIRE(notifyReady("serving config version 3").ok());
  CHECK(m.receive() == "READY=1\nSTATUS=serving config version 3");

  REQUIRE(notifyStatus("line one\nline two").ok());
  CHECK(m.receive() == "STATUS=line one line two");

  REQUIRE(notifyReloading().ok());
  std::string r = m.receive();
  CHECK(r.rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
  CHECK(r.size() > strlen("RELOADING=1\nMONOTONIC_USEC="));

  REQUIRE(notifyStopping("draining").ok());
  CHECK(m.receive() == "STOPPING=1\nSTATUS=draining");

  REQUIRE(notifyWatchdog().ok());
  CHECK(m.receive() == "WATCHDOG=1");

  CHECK(notifyStatus("").ok());  // nothing to say: nothing sent
  CHECK_FALSE(m.pending());
}

TEST_CASE("notify: '@name' is the abstract namespace", "[server]") {
  EnvGuard g("NOTIFY_SOCKET");
  FakeManager m(true);
  setenv("NOTIFY_SOCKET", m.env().c_str(), 1);
  REQUIRE(notifyReady("up").ok());
  CHECK(m.receive() == "READY=1\nSTATUS=up");
}

TEST_CASE("notify: an unusable NOTIFY_SOCKET is an error, not a crash", "[server]") {
  EnvGuard g("NOTIFY_SOCKET");
  setenv("NOTIFY_SOCKET", "/nonexistent/gatehouse-notify.sock", 1);
  Status s = notifyReady();
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("/nonexistent/gatehouse-notify.sock") != std::string::npos);

  setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
  CHECK_FALSE(notifyReady().ok());

  setenv("NOTIFY_SOCKET", ("/" + std::string(200, 'x')).c_str(), 1);
  CHECK_FALSE(notifyReady().ok());
}

TEST_CASE("notify: the watchdog interval is half of WATCHDOG_USEC, for this process only",
          "[server]") {
  EnvGuard gu("WATCHDOG_USEC");
  EnvGuard gp("WATCHDOG_PID");
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  CHECK(watchdogIntervalMs() == 0);

  setenv("WATCHDOG_USEC", "30000000", 1);  // WatchdogSec=30
  CHECK(watchdogIntervalMs() == 15'000);

  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  CHECK(watchdogIntervalMs() == 15'000);

  setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);  // meant for someone else
  CHECK(watchdogIntervalMs() == 0);
  unsetenv("WATCHDOG_PID");

  setenv("WATCHDOG_USEC", "1000", 1);  // 1 ms: never rounds down to "no watchdog"
  CHECK(watchdogIntervalMs() == 1);

  setenv("WATCHDOG_USEC", "0", 1);
  CHECK(watchdogIntervalMs() == 0);
  setenv("WATCHDOG_USEC", "soon", 1);
  CHECK(watchdogIntervalMs() == 0);
}

}  // namespace gh::server
