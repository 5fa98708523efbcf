#include "core/tls/client_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/tls/peer.h"
#include "core/tls/server_context.h"

namespace gh::tls {

Result<std::shared_ptr<const ClientContext>> ClientContext::build(
    std::shared_ptr<const Certificate> certificate, std::shared_ptr<const PeerTrust> trust) {
  if (!certificate || !trust) return Status::error("mesh traffic needs a workload identity");
  std::shared_ptr<ClientContext> cc(new ClientContext());
  cc->certificate_ = std::move(certificate);
  cc->trust_ = std::move(trust);
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (!ctx) {
    ERR_clear_error();
    return Status::error("cannot create a TLS client context");
  }
  cc->ctx_ = ctx;
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  enablePeerVerification(ctx, cc->trust_.get(), true);
  return std::shared_ptr<const ClientContext>(std::move(cc));
}

ClientContext::~ClientContext() { SSL_CTX_free(ctx_); }

SSL* ClientContext::newConnection() const {
  SSL* ssl = SSL_new(ctx_);
  if (!ssl) return nullptr;
  SSL_set_connect_state(ssl);
  if (!certificate_->install(ssl)) {
    SSL_free(ssl);
    ERR_clear_error();
    return nullptr;
  }
  SSL_set_shed_handshake_config(ssl, 1);
  return ssl;
}

}  // namespace gh::tls
