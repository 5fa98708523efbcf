#pragma once
// ClientContext: the client side of a mesh hop — this node's workload certificate presented to
// the upstream hop, and the upstream's certificate checked inside the handshake (peer.h): a
// valid SVID of a trusted trust domain, and, when the Service names one, exactly its expected
// identity (spec/mesh.md "Outbound").
//
// Built on the control thread with each snapshot from the node's current workload identity,
// immutable afterwards and shared by all workers; a connection holds the context it was made
// with, so after a renewal new connections present the new certificate while established ones
// finish with the old. TLS 1.3 only (both ends are ours), no session resumption (each
// connection authenticates with the certificates current when it starts).

#include <memory>
#include <string_view>

#include "core/base/status.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace gh::tls {

class Certificate;
struct PeerTrust;

class ClientContext {
 public:
  static Result<std::shared_ptr<const ClientContext>> build(
      std::shared_ptr<const Certificate> certificate, std::shared_ptr<const PeerTrust> trust);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  const Certificate& certificate() const { return *certificate_; }

  // A new client-side connection object in connect state, or null when out of memory. The
  // caller owns it (SSL_free) and keeps this context alive as long as it lives.
  SSL* newConnection() const;

 private:
  ClientContext() = default;
  SSL_CTX* ctx_ = nullptr;
  std::shared_ptr<const Certificate> certificate_;
  std::shared_ptr<const PeerTrust> trust_;
};

}  // namespace gh::tls
