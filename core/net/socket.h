#pragma once
// Socket helpers: listening sockets (SO_REUSEPORT, one per worker) and non-blocking connects.
// Plain functions over file descriptors; callers own the fds they get.

#include <sys/uio.h>

#include "core/base/status.h"
#include "core/net/address.h"

namespace gh::net {

// A bound, listening, non-blocking socket. With `reusePort` (SO_REUSEPORT) every worker can have
// its own socket on the same address and the kernel spreads connections across them.
Result<int> listenTcp(const Address& addr, bool reusePort, int backlog = 4096);

// Whether addr can be bound by us alone right now: SO_REUSEPORT would let us silently share a
// port with another process of the same user, so a reuse-port group is opened only after this
// exclusive probe succeeds.
Status probeExclusive(const Address& addr);

// Starts a non-blocking connect; the fd becomes writable when it completes (check
// connectResult). TCP_NODELAY is set.
Result<int> connectNonBlocking(const Address& addr);
// 0 when the connect succeeded, else the errno it failed with.
int connectResult(int fd);

// Accepts one connection (non-blocking, close-on-exec, TCP_NODELAY). Returns -1 with errno set
// when nothing is pending or on error.
int acceptOne(int listenFd, Address* peer);

Address localAddress(int fd);

}  // namespace gh::net
