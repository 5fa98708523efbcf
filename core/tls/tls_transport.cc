#include "core/tls/tls_transport.h"

#include "core/identity/certificate.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cctype>
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

namespace gh::tls {

namespace {

std::string hex(const uint8_t* p, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

// Envoy's urlEncodedPemEncodedPeerCertificate: the PEM with every byte outside
// [A-Za-z0-9-._~] percent-encoded.
std::string urlEncodedPem(std::string_view der) {
  static const char kB64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  for (size_t i = 0; i < der.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(der[i]) << 16;
    if (i + 1 < der.size()) v |= static_cast<uint8_t>(der[i + 1]) << 8;
    if (i + 2 < der.size()) v |= static_cast<uint8_t>(der[i + 2]);
    b64 += kB64[(v >> 18) & 63];
    b64 += kB64[(v >> 12) & 63];
    b64 += i + 1 < der.size() ? kB64[(v >> 6) & 63] : '=';
    b64 += i + 2 < der.size() ? kB64[v & 63] : '=';
  }
  std::string pem = "-----BEGIN CERTIFICATE-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
  pem += "-----END CERTIFICATE-----\n";
  std::string out;
  for (unsigned char c : pem) {
    if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      static const char kH[] = "0123456789ABCDEF";
      out += '%';
      out += kH[c >> 4];
      out += kH[c & 15];
    }
  }
  return out;
}

}  // namespace

ConnectionDetails TlsTransport::details() const {
  ConnectionDetails d;
  if (!ssl_ || mode_ != Mode::kTls) return d;
  d.version = SSL_get_version(ssl_);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl_)) {
    d.cipherName = SSL_CIPHER_standard_name(c);
    d.cipherId = SSL_CIPHER_get_protocol_id(c);
  }
  if (SSL_SESSION* s = SSL_get_session(ssl_)) {
    unsigned len = 0;
    const uint8_t* id = SSL_SESSION_get_id(s, &len);
    d.sessionId = hex(id, len);
  }
  const STACK_OF(CRYPTO_BUFFER)* chain = SSL_get0_peer_certificates(ssl_);
  if (chain && sk_CRYPTO_BUFFER_num(chain) > 0) {
    const CRYPTO_BUFFER* leaf = sk_CRYPTO_BUFFER_value(chain, 0);
    std::string_view der(reinterpret_cast<const char*>(CRYPTO_BUFFER_data(leaf)),
                         CRYPTO_BUFFER_len(leaf));
    d.peerPresented = true;
    auto info = identity::CertificateInfo::fromDer(der);
    if (info.ok()) {
      const identity::CertificateInfo& i = info.value();
      d.peerUriSans = i.uriSans;
      d.peerSha256 = i.sha256Hex;
      d.peerSerial = i.serialHex;
      d.peerSubject = i.subject;
      d.peerIssuer = i.issuer;
      d.peerNotBefore = i.notBefore;
      d.peerNotAfter = i.notAfter;
    }
    const uint8_t* p = CRYPTO_BUFFER_data(leaf);
    if (X509* x = d2i_X509(nullptr, &p, static_cast<long>(CRYPTO_BUFFER_len(leaf)))) {
      auto* names = static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
      for (size_t k = 0; names && k < sk_GENERAL_NAME_num(names); ++k) {
        const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, k);
        if (g->type == GEN_DNS)
          d.peerDnsSans.emplace_back(
              reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName)),
              ASN1_STRING_length(g->d.dNSName));
      }
      if (names) GENERAL_NAMES_free(names);
      X509_free(x);
    }
    d.peerPemUrlEncoded = urlEncodedPem(der);
  }
  return d;
}

}  // namespace gh::tls
