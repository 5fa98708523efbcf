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

// Claims addr among Gatehouse processes: binds an abstract Unix socket named after it, which
// one process at a time can hold and the kernel releases when the holder exits. Two processes
// can both pass probeExclusive before either has bound its reuse-port group, and would then
// share the port without a word; the claim, taken first and held as long as the sockets are
// open, closes that window. Returns the descriptor to keep open (closing it releases).
Result<int> claimAddress(const Address& addr);

// Starts a non-blocking connect; the fd becomes writable when it completes (check
// connectResult). TCP_NODELAY is set.
Result<int> connectNonBlocking(const Address& addr);
// 0 when the connect succeeded, else the errno it failed with.
int connectResult(int fd);

// Accepts one connection (non-blocking, close-on-exec, TCP_NODELAY). Returns -1 with errno set
// when nothing is pending or on error.
int acceptOne(int listenFd, Address* peer);

Address localAddress(int fd);

// Sends any delayed ACK now (TCP_QUICKACK). For the end of a server-side TLS 1.3 handshake:
// the client's Finished is the last thing it sends before its request, and the server has
// nothing to answer it with (BoringSSL sends its session tickets in the first flight), so
// the kernel would delay the ACK by up to 40 ms, and a client that leaves Nagle's algorithm on
// (Python, Java and most libraries do) holds its request back until that ACK arrives.
void acknowledgeNow(int fd);

}  // namespace gh::net
