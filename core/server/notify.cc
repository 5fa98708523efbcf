#include "core/server/notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/base/strings.h"

namespace gh::server {

namespace {

// One STATUS= line: newlines would start new assignments, so they become spaces.
void appendStatus(std::string& out, std::string_view status) {
  if (status.empty()) return;
  out += "\nSTATUS=";
  for (char c : status) out += (c == '\n' || c == '\r') ? ' ' : c;
}

uint64_t monotonicUsec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

}  // namespace

bool notifyEnabled() {
  const char* path = getenv("NOTIFY_SOCKET");
  return path && *path;
}

Status notify(std::string_view state) {
  const char* env = getenv("NOTIFY_SOCKET");
  if (!env || !*env) return okStatus();
  std::string_view path = env;

  // "/path" or "@abstract" (the '@' stands for the leading NUL of Linux's abstract namespace).
  // systemd 254+ may also pass "vsock:CID:PORT" to a VM guest; we do not run in one.
  if (path.front() != '/' && path.front() != '@')
    return Status::error("NOTIFY_SOCKET " + std::string(path) + ": unsupported address");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() > sizeof addr.sun_path - (path.front() == '/' ? 1 : 0))
    return Status::error("NOTIFY_SOCKET " + std::string(path) + ": path too long");
  memcpy(addr.sun_path, path.data(), path.size());
  if (path.front() == '@') addr.sun_path[0] = '\0';
  // An abstract name is exactly path.size() bytes (NUL included); a file path may take the
  // whole sun_path, NUL-terminated when it fits.
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() +
                                         (path.front() == '/' ? 1 : 0));
  if (len > sizeof addr) len = sizeof addr;

  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error(std::string("notify socket: ") + strerror(errno));
  ssize_t n;
  do {
    n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
                 len);
  } while (n < 0 && errno == EINTR);
  int err = errno;
  ::close(fd);
  if (n < 0) return Status::error("NOTIFY_SOCKET " + std::string(path) + ": " + strerror(err));
  if (static_cast<size_t>(n) != state.size())
    return Status::error("NOTIFY_SOCKET " + std::string(path) + ": short send");
  return okStatus();
}

Status notifyReady(std::string_view status) {
  std::string msg = "READY=1";
  appendStatus(msg, status);
  return notify(msg);
}

Status notifyReloading(std::string_view status) {
  std::string msg = "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonicUsec());
  appendStatus(msg, status);
  return notify(msg);
}

Status notifyStopping(std::string_view status) {
  std::string msg = "STOPPING=1";
  appendStatus(msg, status);
  return notify(msg);
}

Status notifyStatus(std::string_view status) {
  std::string msg;
  appendStatus(msg, status);
  if (msg.empty()) return okStatus();
  return notify(std::string_view(msg).substr(1));  // drop the leading newline
}

Status notifyWatchdog() {
  return notify("WATCHDOG=1");
}

uint64_t watchdogIntervalMs() {
  const char* usecEnv = getenv("WATCHDOG_USEC");
  if (!usecEnv || !*usecEnv) return 0;
  uint64_t usec = 0;
  if (!str::parseU64(usecEnv, &usec) || usec == 0) return 0;
  if (const char* pidEnv = getenv("WATCHDOG_PID"); pidEnv && *pidEnv) {
    uint64_t pid = 0;
    if (!str::parseU64(pidEnv, &pid) || pid != static_cast<uint64_t>(getpid())) return 0;
  }
  uint64_t ms = usec / 2 / 1000;
  return ms == 0 ? 1 : ms;
}

}  // namespace gh::server
