#include "core/tls/tls_transport.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "core/net/socket.h"

namespace gh::tls {

namespace {

// One TLS record's worth of plaintext: the most one SSL_write turns into one record.
constexpr size_t kRecordBytes = 16 * 1024;

HandshakeError classify(unsigned long err) {
  if (ERR_GET_LIB(err) != ERR_LIB_SSL) return HandshakeError::kOther;
  int reason = ERR_GET_REASON(err);
  if (reason >= SSL_AD_REASON_OFFSET) return HandshakeError::kPeerAlert;
  switch (reason) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
      return HandshakeError::kProtocolVersion;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUP:
    case SSL_R_NO_COMMON_SIGNATURE_ALGORITHMS:
      return HandshakeError::kNoSharedCipher;
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_UNKNOWN_PROTOCOL:
      return HandshakeError::kNotTls;
    case SSL_R_CONNECTION_REJECTED:
    case SSL_R_CERT_CB_ERROR:
    case SSL_R_NO_CERTIFICATE_SET:
      return HandshakeError::kCertificate;
    default:
      return HandshakeError::kOther;
  }
}

}  // namespace

TlsTransport::TlsTransport(std::shared_ptr<const ServerContext> context, int fd,
                           telemetry::WorkerCounters* counters, bool allowPlaintext)
    : ssl_(context->newConnection()), counters_(counters) {
  // Without an SSL object every read fails and the session closes at once.
  if (ssl_) {
    SSL_set_fd(ssl_, fd);
    if (context->verifiesPeers()) attachPeerResult(ssl_, &peer_);
  }
  if (allowPlaintext) mode_ = Mode::kSniff;
  context_ = std::move(context);
}

TlsTransport::TlsTransport(std::shared_ptr<const ClientContext> context, int fd,
                           telemetry::WorkerCounters* counters, std::string expectedIdentity)
    : ssl_(context->newConnection()), counters_(counters), client_(true) {
  peer_.expected = std::move(expectedIdentity);
  if (ssl_) {
    SSL_set_fd(ssl_, fd);
    attachPeerResult(ssl_, &peer_);
  }
  context_ = std::move(context);
}

TlsTransport::~TlsTransport() {
  if (ssl_) SSL_free(ssl_);  // the socket BIO does not own the fd: the Stream closes it
}

void TlsTransport::countHandshakeError(HandshakeError e) {
  if (!counters_) return;
  if (peer_.error != PeerError::kNone)
    counters_->meshPeerRejected[client_ ? 1 : 0][static_cast<int>(peer_.error)].inc();
  if (client_)
    counters_->upstreamTlsHandshakeErrors.inc();
  else
    counters_->tlsHandshakeErrors[static_cast<int>(e)].inc();
}

void TlsTransport::completed(int fd) {
  handshakeDone_ = true;
  // The client's Finished is unanswered: acknowledge it now, or a Nagle client's request
  // waits for a delayed ACK (see net::acknowledgeNow).
  if (!client_) net::acknowledgeNow(fd);
  if (!counters_) return;
  if (client_) {
    counters_->upstreamTlsHandshakes.inc();
  } else {
    counters_->tlsHandshakes.inc();
    if (peer_.verified()) counters_->meshMtlsConnections.inc();
  }
}

ssize_t TlsTransport::failed(int ret) {
  int e = SSL_get_error(ssl_, ret);
  switch (e) {
    case SSL_ERROR_WANT_READ:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      wantsWrite_ = true;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:  // close_notify
      return 0;
    case SSL_ERROR_SYSCALL: {
      int saved = ret == 0 ? 0 : errno;
      ERR_clear_error();
      if (!handshakeDone_) countHandshakeError(HandshakeError::kClosed);
      if (saved == 0) return 0;  // end of stream without close_notify: HTTP framing decides
      errno = saved;
      return -1;
    }
    case SSL_ERROR_SSL: {
      if (!handshakeDone_) {
        unsigned long err = ERR_peek_error();
        HandshakeError why = classify(err);
        if (ERR_GET_LIB(err) == ERR_LIB_SSL &&
            ERR_GET_REASON(err) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
          peer_.error = static_cast<PeerError>(identity::SvidError::kNoCertificate);
          peer_.detail = "the peer sent no certificate";
        }
        if (peer_.error != PeerError::kNone) why = HandshakeError::kPeerCertificate;
        // BoringSSL reports a peer that closes mid-handshake (a TCP health check, a client
        // giving up) as a generic handshake failure; the socket tells the truth.
        char probe;
        if (why == HandshakeError::kOther && ERR_GET_LIB(err) == ERR_LIB_SSL &&
            ERR_GET_REASON(err) == SSL_R_SSL_HANDSHAKE_FAILURE &&
            ::recv(SSL_get_fd(ssl_), &probe, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
          why = HandshakeError::kClosed;
        countHandshakeError(why);
      }
      ERR_clear_error();
      errno = EPROTO;
      return -1;
    }
    default:
      ERR_clear_error();
      if (!handshakeDone_) countHandshakeError(HandshakeError::kOther);
      errno = EPROTO;
      return -1;
  }
}

ssize_t TlsTransport::sniff(int fd) {
  unsigned char first;
  ssize_t n = ::recv(fd, &first, 1, MSG_PEEK);
  if (n <= 0) return n;  // end of stream, or -1 with errno (EAGAIN: not yet)
  if (first != 0x16) {
    // Not a TLS handshake record: under PERMISSIVE the connection is plain from here on.
    mode_ = Mode::kPlain;
    SSL_free(ssl_);
    ssl_ = nullptr;
    if (counters_) counters_->meshPlaintextConnections.inc();
    return 1;
  }
  mode_ = Mode::kTls;
  return 1;
}

ssize_t TlsTransport::read(int fd, char* buf, size_t len) {
  wantsWrite_ = false;
  if (mode_ == Mode::kSniff) {
    if (ssize_t n = sniff(fd); n <= 0) return n;
  }
  if (mode_ == Mode::kPlain) return ::read(fd, buf, len);
  if (!ssl_) {
    errno = ENOMEM;
    return -1;
  }
  int r = SSL_read(ssl_, buf, static_cast<int>(len > INT_MAX ? INT_MAX : len));
  if (!handshakeDone_ && !SSL_in_init(ssl_)) completed(fd);
  if (r > 0) return r;
  return failed(r);
}

int TlsTransport::handshake(int fd) {
  wantsWrite_ = false;
  if (handshakeDone_) return 1;
  if (!ssl_) {
    errno = ENOMEM;
    return -1;
  }
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    completed(fd);
    return 1;
  }
  return static_cast<int>(failed(r));
}

ssize_t TlsTransport::writev(int fd, const iovec* iov, int n) {
  if (mode_ == Mode::kPlain) return ::writev(fd, iov, n);
  if (!ssl_) {
    errno = ENOMEM;
    return -1;
  }
  // Small pieces are gathered here, so a head and a small body become one record.
  thread_local char gather[kRecordBytes];
  size_t total = 0;
  int i = 0;
  size_t off = 0;  // consumed part of iov[i]
  while (i < n) {
    size_t avail = iov[i].iov_len - off;
    if (avail == 0) {
      ++i;
      off = 0;
      continue;
    }
    const char* p;
    size_t len;
    if (avail >= kRecordBytes) {
      p = static_cast<const char*>(iov[i].iov_base) + off;
      len = kRecordBytes;
    } else {
      len = 0;
      for (int j = i; j < n && len < kRecordBytes; ++j) {
        size_t start = j == i ? off : 0;
        size_t take = std::min(iov[j].iov_len - start, kRecordBytes - len);
        memcpy(gather + len, static_cast<const char*>(iov[j].iov_base) + start, take);
        len += take;
      }
      p = gather;
    }
    // A retry after WANT_WRITE offers the same leading bytes, at least as many: the caller
    // keeps everything not counted, and a record is never shorter than what remains of it.
    int w = SSL_write(ssl_, p, static_cast<int>(len));
    if (w <= 0) {
      if (total > 0) {
        ERR_clear_error();
        return static_cast<ssize_t>(total);
      }
      return failed(w);
    }
    total += static_cast<size_t>(w);
    // Advance the position by w bytes over the pieces.
    size_t skip = static_cast<size_t>(w);
    while (skip > 0 && i < n) {
      size_t rest = iov[i].iov_len - off;
      if (skip < rest) {
        off += skip;
        skip = 0;
      } else {
        skip -= rest;
        ++i;
        off = 0;
      }
    }
  }
  return static_cast<ssize_t>(total);
}

std::string_view TlsTransport::serverName() const {
  const char* name = ssl_ && !client_ ? SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name) : nullptr;
  return name ? std::string_view(name) : std::string_view();
}

bool TlsTransport::hasBufferedInput() const {
  return mode_ == Mode::kTls && ssl_ && SSL_has_pending(ssl_);
}

void TlsTransport::shutdownWrite(int fd) {
  // close_notify first, so the client can tell our end of stream from a truncation.
  if (ssl_ && handshakeDone_) {
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  ::shutdown(fd, SHUT_WR);
}

}  // namespace gh::tls
