#pragma once
// TlsTransport: a server-side TLS connection as a net::Transport, so a net::Stream (and the
// HTTP session above it) runs over TLS without knowing it.
//
// The handshake needs no call of its own: the first read() drives it, and reads return
// EAGAIN until application data arrives. When the handshake must send a flight the socket
// cannot take, read() returns EAGAIN with wantsWrite() true and the Stream waits for
// writability and reads again. Records that arrived whole but did not fit the caller's buffer
// stay inside BoringSSL; hasBufferedInput() tells the Stream to come back for them, since the
// socket will not signal readability for bytes already taken from it.
//
// writev() copies small pieces together into records of up to 16 KiB (one record per
// SSL_write, so a response head and a small body leave in one segment) and writes large
// pieces in place. When the socket is full it reports what was accepted; the caller keeps the
// rest and offers it again, as Stream::send does (the context sets
// SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, so the retry may come from another address).
//
// Counts completed handshakes, and failed ones by HandshakeError, in the worker's counters.
// Owned by the connection's owner, used on one worker thread; holds its ServerContext alive.

#include <sys/uio.h>

#include <memory>
#include <string>

#include "core/net/stream.h"
#include "core/telemetry/counters.h"
#include "core/tls/handshake_error.h"
#include "core/tls/server_context.h"

namespace gh::tls {

class TlsTransport final : public net::Transport {
 public:
  // `counters` may be null (tests).
  TlsTransport(std::shared_ptr<const ServerContext> context, int fd,
               telemetry::WorkerCounters* counters);
  ~TlsTransport() override;
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  ssize_t read(int fd, char* buf, size_t len) override;
  ssize_t writev(int fd, const iovec* iov, int n) override;
  bool wantsWrite() const override { return wantsWrite_; }
  bool hasBufferedInput() const override;
  void shutdownWrite(int fd) override;
  bool secure() const override { return true; }
  bool handshaking() const override { return !handshakeDone_; }

  bool handshakeDone() const { return handshakeDone_; }

 private:
  // Maps an SSL_read/SSL_write failure to the Transport contract (-1 and errno).
  ssize_t failed(int ret);
  void countHandshakeError(HandshakeError e);

  std::shared_ptr<const ServerContext> context_;
  SSL* ssl_;
  telemetry::WorkerCounters* counters_;
  bool handshakeDone_ = false;
  bool wantsWrite_ = false;
};

}  // namespace gh::tls
