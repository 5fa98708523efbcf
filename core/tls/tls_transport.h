#pragma once
// TlsTransport: a TLS connection as a net::Transport, so a net::Stream (and the HTTP session
// above it) runs over TLS without knowing it. Server side for HTTPS and MESH_INBOUND listeners,
// client side for mTLS to mesh Services.
//
// Server side, the handshake needs no call of its own: the first read() drives it, and reads return
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
// Client side, the owner drives the handshake with handshake() once the TCP connect completes,
// before sending anything (Session does, under the connect timeout).
//
// Mesh contexts verify the peer inside the handshake (peer.h); peerIdentity() is then the
// verified SPIFFE ID, the connection's principal. A PERMISSIVE inbound transport first peeks at
// the first byte: a TLS handshake record (0x16) goes on as TLS, anything else makes the whole
// connection plain (counted: gatehouse_mesh_plaintext_connections_total).
//
// Counts completed handshakes, and failed ones by HandshakeError (and refused mesh peers by
// PeerError), in the worker's counters. Owned by the connection's owner, used on one worker
// thread; holds its context alive.

#include <sys/uio.h>

#include <memory>
#include <string>
#include <vector>

#include "core/net/stream.h"
#include "core/telemetry/counters.h"
#include "core/tls/client_context.h"
#include "core/tls/handshake_error.h"
#include "core/tls/peer.h"
#include "core/tls/server_context.h"

namespace gh::tls {

// The connection as Envoy's Lua SslConnection shows it (core/http's ScriptHost): the peer's
// leaf certificate, the protocol and cipher. Built on demand, never on the request path.
struct ConnectionDetails {
  bool peerPresented = false;
  std::vector<std::string> peerUriSans;
  std::vector<std::string> peerDnsSans;
  std::string peerSha256;  // lower-case hex of the leaf's DER
  std::string peerSerial;
  std::string peerSubject;  // RFC 2253
  std::string peerIssuer;
  std::string peerPemUrlEncoded;
  int64_t peerNotBefore = 0;
  int64_t peerNotAfter = 0;
  std::string localSubject;
  std::string version;     // "TLSv1.3"
  std::string cipherName;  // "TLS_AES_128_GCM_SHA256"
  uint16_t cipherId = 0;
  std::string sessionId;  // hex
};

class TlsTransport final : public net::Transport {
 public:
  // Server side. `counters` may be null (tests). allowPlaintext: PERMISSIVE (see above).
  TlsTransport(std::shared_ptr<const ServerContext> context, int fd,
               telemetry::WorkerCounters* counters, bool allowPlaintext = false);
  // Client side of a mesh hop: the peer must be `expectedIdentity` ("" = any valid SVID).
  TlsTransport(std::shared_ptr<const ClientContext> context, int fd,
               telemetry::WorkerCounters* counters, std::string expectedIdentity);
  ~TlsTransport() override;
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  ssize_t read(int fd, char* buf, size_t len) override;
  ssize_t writev(int fd, const iovec* iov, int n) override;
  bool wantsWrite() const override { return wantsWrite_; }
  bool hasBufferedInput() const override;
  void shutdownWrite(int fd) override;
  bool secure() const override { return mode_ != Mode::kPlain; }
  bool handshaking() const override { return mode_ != Mode::kPlain && !handshakeDone_; }
  int handshake(int fd) override;
  std::string_view peerIdentity() const override { return peer_.id; }
  std::string_view peerCertificateHash() const override { return peer_.leafSha256; }
  std::string_view serverName() const override;

  bool handshakeDone() const { return handshakeDone_; }
  const PeerResult& peer() const { return peer_; }
  ConnectionDetails details() const;

 private:
  enum class Mode : uint8_t { kSniff, kTls, kPlain };
  ssize_t sniff(int fd);  // PERMISSIVE: TLS or plain from the first byte; 1 decided, else as read
  void completed(int fd);
  // Maps an SSL_read/SSL_write failure to the Transport contract (-1 and errno).
  ssize_t failed(int ret);
  void countHandshakeError(HandshakeError e);

  std::shared_ptr<const void> context_;  // a ServerContext or a ClientContext
  SSL* ssl_;
  telemetry::WorkerCounters* counters_;
  PeerResult peer_;
  Mode mode_ = Mode::kTls;
  bool client_ = false;
  bool handshakeDone_ = false;
  bool wantsWrite_ = false;
};

}  // namespace gh::tls
