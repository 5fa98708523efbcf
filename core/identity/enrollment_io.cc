#include "core/identity/enrollment_io.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/identity/enrollment_wire.h"

namespace gh::identity::io {

SigpipeGuard::SigpipeGuard() {
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  sigset_t pending;
  sigpending(&pending);
  wasPending_ = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &pipe, &old_);
}

SigpipeGuard::~SigpipeGuard() {
  if (!wasPending_) {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    timespec zero{0, 0};
    while (sigtimedwait(&pipe, nullptr, &zero) > 0) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

int64_t monotonicMillis() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = o.release();
  }
  return *this;
}

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {

std::string formatAddress(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "?";
}

bool setNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

std::string sslErrorText() {
  uint32_t e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  // "error:10000410:SSL routines:OPENSSL_internal:SSLV3_ALERT_HANDSHAKE_FAILURE" -> the last part
  std::string text = buf;
  size_t colon = text.rfind(':');
  return colon == std::string::npos ? text : text.substr(colon + 1);
}

}  // namespace

std::string peerAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  return formatAddress(reinterpret_cast<sockaddr*>(&ss));
}

Result<Fd> connectTo(const std::string& host, uint16_t port, int timeoutMs) {
  const int64_t deadline = monotonicMillis() + timeoutMs;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
  addrinfo* list = nullptr;
  const std::string portText = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), portText.c_str(), &hints, &list);
  if (rc != 0) return Status::error("cannot resolve " + host + ": " + gai_strerror(rc));
  std::string lastError = "no address";
  for (addrinfo* ai = list; ai; ai = ai->ai_next) {
    Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
      lastError = strerror(errno);
      continue;
    }
    const std::string where = formatAddress(ai->ai_addr);
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        lastError = where + ": " + strerror(errno);
        continue;
      }
      int64_t left = deadline - monotonicMillis();
      pollfd p{fd.get(), POLLOUT, 0};
      int n = left > 0 ? ::poll(&p, 1, static_cast<int>(left)) : 0;
      if (n == 0) {
        lastError = where + ": connection timed out after " + std::to_string(timeoutMs / 1000) + "s";
        break;  // the time is spent: do not try the next address
      }
      int err = 0;
      socklen_t len = sizeof err;
      if (n < 0) err = errno;
      else if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err != 0) {
        lastError = where + ": " + strerror(err);
        continue;
      }
    }
    freeaddrinfo(list);
    return fd;
  }
  freeaddrinfo(list);
  return Status::error("cannot connect to " + host + ":" + portText + " (" + lastError + ")");
}

Result<Fd> listenOn(const std::string& host, uint16_t port, uint16_t* boundPort) {
  sockaddr_storage ss{};
  socklen_t len;
  if (host.empty() || host == "0.0.0.0" || host.find(':') == std::string::npos) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    if (!host.empty() && inet_pton(AF_INET, host.c_str(), &in->sin_addr) != 1)
      return Status::error("enrollment server: bind address " + host + " is not an IP address");
    len = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) != 1)
      return Status::error("enrollment server: bind address " + host + " is not an IP address");
    len = sizeof(sockaddr_in6);
  }
  Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Status::error(std::string("enrollment server: socket: ") + strerror(errno));
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const std::string where = formatAddress(reinterpret_cast<sockaddr*>(&ss));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
    return Status::error("enrollment server: bind " + where + ": " + strerror(errno));
  if (::listen(fd.get(), 64) != 0)
    return Status::error("enrollment server: listen " + where + ": " + strerror(errno));
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
  *boundPort = ntohs(bound.ss_family == AF_INET6
                         ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                         : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

namespace {

enum ssl_verify_result_t acceptAny(SSL*, uint8_t*) { return ssl_verify_ok; }

}  // namespace

Result<bssl::UniquePtr<SSL_CTX>> newContext(bool server, const ChainAndKey* certificate) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_with_buffers_method()));
  if (!ctx) return Status::error("TLS context: " + sslErrorText());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  // Servers ask for a client certificate (renewal is authenticated by it) but do not require
  // one (a join has none); the verdict on what was sent is verifySvid's, after the handshake.
  SSL_CTX_set_custom_verify(ctx.get(), SSL_VERIFY_PEER, acceptAny);
  if (certificate) {
    std::vector<bssl::UniquePtr<CRYPTO_BUFFER>> owned;
    std::vector<CRYPTO_BUFFER*> certs;
    for (const std::string& der : certificate->chainDer) {
      owned.emplace_back(CRYPTO_BUFFER_new(reinterpret_cast<const uint8_t*>(der.data()),
                                           der.size(), nullptr));
      certs.push_back(owned.back().get());
    }
    if (certs.empty() || !certificate->key ||
        !SSL_CTX_set_chain_and_key(ctx.get(), certs.data(), certs.size(), certificate->key,
                                   nullptr))
      return Status::error("TLS context: cannot use the certificate: " + sslErrorText());
  }
  (void)server;
  return ctx;
}

TlsChannel::TlsChannel(SSL_CTX* ctx, Fd fd, bool server, int64_t deadlineMs, int stopFd)
    : fd_(std::move(fd)), ssl_(SSL_new(ctx)), deadlineMs_(deadlineMs), stopFd_(stopFd) {
  if (ssl_) {
    SSL_set_fd(ssl_.get(), fd_.get());
    SSL_set_app_data(ssl_.get(), this);
    if (server)
      SSL_set_accept_state(ssl_.get());
    else
      SSL_set_connect_state(ssl_.get());
  }
}

enum ssl_verify_result_t TlsChannel::verifyCallback(SSL* ssl, uint8_t* alert) {
  auto* self = static_cast<TlsChannel*>(SSL_get_app_data(ssl));
  Status s = self->verifier_(self->peerChain());
  if (s.ok()) return ssl_verify_ok;
  self->refusal_ = std::move(s);
  *alert = SSL_AD_BAD_CERTIFICATE;
  return ssl_verify_invalid;
}

Status TlsChannel::wait(int sslError) {
  short events;
  if (sslError == SSL_ERROR_WANT_READ)
    events = POLLIN;
  else if (sslError == SSL_ERROR_WANT_WRITE)
    events = POLLOUT;
  else
    return Status::error("TLS: unexpected state");
  while (true) {
    int64_t left = deadlineMs_ - monotonicMillis();
    if (left <= 0) {
      timedOut_ = true;
      return Status::error("timed out");
    }
    pollfd p[2] = {{fd_.get(), events, 0}, {stopFd_, POLLIN, 0}};
    int n = ::poll(p, stopFd_ >= 0 ? 2 : 1, static_cast<int>(left));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::error(std::string("poll: ") + strerror(errno));
    }
    if (stopFd_ >= 0 && (p[1].revents & POLLIN)) return Status::error("the server is stopping");
    if (n > 0) return okStatus();  // readable, writable, or an error the next call reports
  }
}

Status TlsChannel::sslFailure(const char* during, int ret) {
  int err = SSL_get_error(ssl_.get(), ret);
  if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && ret == 0)) {
    ERR_clear_error();
    return Status::error(std::string("the peer closed the connection during the ") + during);
  }
  if (err == SSL_ERROR_SYSCALL) {
    int e = errno;
    ERR_clear_error();
    return Status::error(std::string("TLS ") + during + ": " + strerror(e));
  }
  std::string text = sslErrorText();
  return Status::error(std::string("TLS ") + during + ": " + (text.empty() ? "failed" : text));
}

Status TlsChannel::handshake() {
  if (!ssl_) return Status::error("TLS: out of memory");
  if (verifier_) SSL_set_custom_verify(ssl_.get(), SSL_VERIFY_PEER, &TlsChannel::verifyCallback);
  while (true) {
    int ret = SSL_do_handshake(ssl_.get());
    if (ret == 1) return okStatus();
    if (!refusal_.ok()) {
      ERR_clear_error();
      return refusal_;
    }
    int err = SSL_get_error(ssl_.get(), ret);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      Status s = wait(err);
      if (!s.ok()) return Status::error("TLS handshake: " + s.message());
      continue;
    }
    return sslFailure("handshake", ret);
  }
}

Status TlsChannel::writeAll(std::string_view bytes) {
  while (!bytes.empty()) {
    int n = SSL_write(ssl_.get(), bytes.data(),
                      static_cast<int>(std::min<size_t>(bytes.size(), 1 << 20)));
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    int err = SSL_get_error(ssl_.get(), n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      Status s = wait(err);
      if (!s.ok()) return Status::error("sending: " + s.message());
      continue;
    }
    return sslFailure("write", n);
  }
  return okStatus();
}

Result<size_t> TlsChannel::readSome(std::string* out, size_t cap) {
  if (cap == 0) return size_t{0};
  char buf[16384];
  while (true) {
    int n = SSL_read(ssl_.get(), buf, static_cast<int>(std::min(cap, sizeof buf)));
    if (n > 0) {
      out->append(buf, static_cast<size_t>(n));
      return static_cast<size_t>(n);
    }
    int err = SSL_get_error(ssl_.get(), n);
    if (err == SSL_ERROR_ZERO_RETURN) return size_t{0};
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      Status s = wait(err);
      if (!s.ok()) return Status::error("receiving: " + s.message());
      continue;
    }
    if (err == SSL_ERROR_SYSCALL && n == 0) {
      ERR_clear_error();
      return size_t{0};  // EOF without close_notify: the caller finds the message incomplete
    }
    return sslFailure("read", n);
  }
}

Result<size_t> TlsChannel::readHead(std::string* buffer) {
  while (true) {
    if (size_t n = wire::headLength(*buffer); n != 0) {
      if (n > wire::kMaxHeadBytes) return Status::error("the HTTP head is too large");
      return n;
    }
    if (buffer->size() >= wire::kMaxHeadBytes) return Status::error("the HTTP head is too large");
    auto n = readSome(buffer, wire::kMaxHeadBytes + 4 - buffer->size());
    if (!n.ok()) return n.status();
    if (*n == 0)
      return Status::error(buffer->empty() ? "the connection closed before a request"
                                           : "the connection closed within the HTTP head");
  }
}

Status TlsChannel::readUntil(std::string* buffer, size_t total) {
  while (buffer->size() < total) {
    auto n = readSome(buffer, total - buffer->size());
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::error("the connection closed within the body");
  }
  return okStatus();
}

void TlsChannel::drain(size_t limit, int maxMillis) {
  const int64_t saved = deadlineMs_;
  deadlineMs_ = std::min(deadlineMs_, monotonicMillis() + maxMillis);
  std::string sink;
  size_t total = 0;
  while (total < limit) {
    sink.clear();
    auto n = readSome(&sink, std::min<size_t>(limit - total, 16384));
    if (!n.ok() || *n == 0) break;
    total += *n;
  }
  deadlineMs_ = saved;
  timedOut_ = false;
}

void TlsChannel::shutdown() {
  if (ssl_) {
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }
}

std::vector<std::string> TlsChannel::peerChain() const {
  std::vector<std::string> out;
  const STACK_OF(CRYPTO_BUFFER)* chain = ssl_ ? SSL_get0_peer_certificates(ssl_.get()) : nullptr;
  if (!chain) return out;
  for (size_t i = 0; i < sk_CRYPTO_BUFFER_num(chain); ++i) {
    const CRYPTO_BUFFER* b = sk_CRYPTO_BUFFER_value(chain, i);
    out.emplace_back(reinterpret_cast<const char*>(CRYPTO_BUFFER_data(b)), CRYPTO_BUFFER_len(b));
  }
  return out;
}

}  // namespace gh::identity::io
