#pragma once
// Module-private: blocking-with-a-deadline sockets and TLS for the enrollment server and
// client. Only core/identity/enrollment_*.cc include this (it speaks <openssl/ssl.h>, which the
// house keeps behind core/tls and core/identity; identity may not use core/net or core/tls).
//
// Why not blocking sockets with SO_RCVTIMEO: a timeout per read lets a slow peer trickle one
// byte every 9 seconds forever. Here every socket is non-blocking and every wait is a poll()
// bounded by one absolute deadline per connection, so "10 s for the whole exchange" holds
// whatever the peer does. A wait also ends when an optional stop descriptor becomes readable
// (the server's shutdown pipe), so stopping the server never waits for a slow peer.
//
// A TlsChannel is used by one thread at a time.

#include <openssl/ssl.h>
#include <signal.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace gh::identity::io {

// Keeps SIGPIPE from killing the process while this thread writes to a peer that may have gone
// (BoringSSL writes with write(2), not send(MSG_NOSIGNAL)); a SIGPIPE raised meanwhile is
// consumed. For the lifetime of the object, on the thread that made it. `gatehouse run`
// ignores SIGPIPE anyway; the CLI and tests do not.
class SigpipeGuard {
 public:
  SigpipeGuard();
  ~SigpipeGuard();
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t old_;
  bool wasPending_ = false;
};

// Milliseconds on the monotonic clock.
int64_t monotonicMillis();

// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset();

 private:
  int fd_ = -1;
};

// "1.2.3.4:5678" / "[::1]:5678" of a socket's peer.
std::string peerAddress(int fd);

// Resolves host (getaddrinfo) and connects to the first address that answers, non-blocking,
// within timeoutMs overall. Every failure here is the network's (or the name service's).
Result<Fd> connectTo(const std::string& host, uint16_t port, int timeoutMs);

// Listens on host:port (host "" = any, IPv6 literal without brackets) with SO_REUSEADDR;
// port 0 picks one. The descriptor is non-blocking and close-on-exec.
Result<Fd> listenOn(const std::string& host, uint16_t port, uint16_t* boundPort);

// A certificate chain (DER, leaf first) and its key, ready for SSL_CTX_set_chain_and_key.
struct ChainAndKey {
  std::vector<std::string> chainDer;
  EVP_PKEY* key = nullptr;  // not owned
};

// A TLS 1.3-only context over CRYPTO_BUFFERs (no X509 objects, no default verification: the
// verdict on a peer is ours, verifySvid's). `certificate` may be null (a client without one).
// On a server, a client certificate is requested but optional.
Result<bssl::UniquePtr<SSL_CTX>> newContext(bool server, const ChainAndKey* certificate);

class TlsChannel {
 public:
  // Takes the (non-blocking) socket. `deadlineMs` is absolute, on monotonicMillis().
  TlsChannel(SSL_CTX* ctx, Fd fd, bool server, int64_t deadlineMs, int stopFd = -1);

  SSL* ssl() const { return ssl_.get(); }
  int fd() const { return fd_.get(); }

  // Judges the peer's chain (DER, leaf first) during the handshake; a failed Status ends it
  // with an alert, before this side sends anything more, and handshake() returns that Status
  // (refusedPeer() then says so). Without a verifier any chain is accepted, and the caller
  // judges peerChain() afterwards (the server does: a client certificate is optional).
  using Verifier = std::function<Status(const std::vector<std::string>& chainDer)>;
  void setVerifier(Verifier v) { verifier_ = std::move(v); }

  Status handshake();
  Status writeAll(std::string_view bytes);
  // Up to `cap` bytes appended to *out; 0 at a clean end of stream.
  Result<size_t> readSome(std::string* out, size_t cap);
  // Reads until a head ("\r\n\r\n") is complete, at most wire::kMaxHeadBytes, into *buffer
  // (which may hold more: the start of the body). Returns the head's length.
  Result<size_t> readHead(std::string* buffer);
  // Reads until *buffer holds at least `total` bytes.
  Status readUntil(std::string* buffer, size_t total);
  // Reads and discards up to `limit` bytes or until the peer closes, for at most `maxMillis`
  // (within the deadline): after an early answer (413), so that closing with unread bytes does
  // not reset the connection before the peer has read the answer.
  void drain(size_t limit, int maxMillis);
  // Sends close_notify once, without waiting for the peer's.
  void shutdown();

  // The peer's certificates as sent, leaf first; empty when it sent none.
  std::vector<std::string> peerChain() const;

  bool timedOut() const { return timedOut_; }
  bool refusedPeer() const { return !refusal_.ok(); }

 private:
  static enum ssl_verify_result_t verifyCallback(SSL* ssl, uint8_t* alert);
  // Waits for what SSL_get_error asked for; an error on deadline, stop or poll failure.
  Status wait(int sslError);
  Status sslFailure(const char* during, int ret);

  Fd fd_;
  bssl::UniquePtr<SSL> ssl_;
  int64_t deadlineMs_;
  int stopFd_;
  bool timedOut_ = false;
  Verifier verifier_;
  Status refusal_;
};

}  // namespace gh::identity::io
