#include "core/net/socket.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

namespace gh::net {
namespace {
void setNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}
}  // namespace

Result<int> listenTcp(const Address& addr, bool reusePort, int backlog) {
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error(std::string("socket: ") + strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reusePort) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (addr.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, addr.sockaddr(), addr.length()) != 0 || listen(fd, backlog) != 0) {
    std::string why = std::string("bind ") + addr.toString() + ": " + strerror(errno);
    close(fd);
    return Status::error(why);
  }
  return fd;
}

Status probeExclusive(const Address& addr) {
  auto fd = listenTcp(addr, false, 1);
  if (!fd.ok()) return fd.status();
  close(fd.value());
  return okStatus();
}

Result<int> claimAddress(const Address& addr) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error(std::string("socket: ") + strerror(errno));
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  // Abstract namespace (leading NUL): no file, per network namespace like the TCP port.
  std::string name = "gatehouse/listen/" + addr.toString();
  size_t n = std::min(name.size(), sizeof un.sun_path - 1);
  memcpy(un.sun_path + 1, name.data(), n);
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&un), len) != 0) {
    std::string why = std::string("bind ") + addr.toString() + ": " + strerror(errno);
    if (errno == EADDRINUSE) why += " (by another Gatehouse process)";
    close(fd);
    return Status::error(why);
  }
  return fd;
}

Result<int> connectNonBlocking(const Address& addr) {
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error(std::string("socket: ") + strerror(errno));
  setNoDelay(fd);
  if (connect(fd, addr.sockaddr(), addr.length()) != 0 && errno != EINPROGRESS) {
    std::string why = std::string("connect ") + addr.toString() + ": " + strerror(errno);
    close(fd);
    return Status::error(why);
  }
  return fd;
}

int connectResult(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

int acceptOne(int listenFd, Address* peer) {
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int fd = accept4(listenFd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return -1;
  setNoDelay(fd);
  if (peer) *peer = Address::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  return fd;
}

Address localAddress(int fd) {
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return Address();
  return Address::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

void acknowledgeNow(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

}  // namespace gh::net
