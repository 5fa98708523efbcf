#include "core/tls/peer.h"

#include <openssl/pool.h>
#include <openssl/ssl.h>

#include <ctime>

#include "core/base/sha256.h"
#include "core/telemetry/counters.h"

namespace gh::tls {

static_assert(static_cast<int>(PeerError::kCount) <= telemetry::kMeshPeerReasons);

namespace {

int ctxIndex() {
  static const int i = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return i;
}

int sslIndex() {
  static const int i = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return i;
}

uint8_t alertFor(identity::SvidError e) {
  switch (e) {
    case identity::SvidError::kExpired:
    case identity::SvidError::kNotYetValid:
      return SSL_AD_CERTIFICATE_EXPIRED;
    case identity::SvidError::kUntrusted:
      return SSL_AD_UNKNOWN_CA;
    default:
      return SSL_AD_BAD_CERTIFICATE;
  }
}

ssl_verify_result_t verifyPeer(SSL* ssl, uint8_t* outAlert) {
  auto* trust = static_cast<const PeerTrust*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctxIndex()));
  auto* result = static_cast<PeerResult*>(SSL_get_ex_data(ssl, sslIndex()));
  if (!trust || !result) {
    *outAlert = SSL_AD_INTERNAL_ERROR;
    return ssl_verify_invalid;
  }
  std::vector<std::string> chain;
  if (const STACK_OF(CRYPTO_BUFFER)* certs = SSL_get0_peer_certificates(ssl)) {
    for (size_t i = 0; i < sk_CRYPTO_BUFFER_num(certs); ++i) {
      const CRYPTO_BUFFER* b = sk_CRYPTO_BUFFER_value(certs, i);
      chain.emplace_back(reinterpret_cast<const char*>(CRYPTO_BUFFER_data(b)),
                         CRYPTO_BUFFER_len(b));
    }
  }
  // A server checks a client certificate, a client a server certificate.
  identity::SvidRole role =
      SSL_is_server(ssl) ? identity::SvidRole::kClient : identity::SvidRole::kServer;
  identity::SvidVerdict v = identity::verifySvid(chain, trust->bundles, time(nullptr), role);
  if (!v.ok()) {
    result->error = static_cast<PeerError>(v.error);
    result->detail = v.detail;
    *outAlert = alertFor(v.error);
    return ssl_verify_invalid;
  }
  std::string id = v.id.uri();
  if (!result->expected.empty() && id != result->expected) {
    result->error = PeerError::kIdentityMismatch;
    result->detail = "the peer is " + id + ", expected " + result->expected;
    *outAlert = SSL_AD_BAD_CERTIFICATE;
    return ssl_verify_invalid;
  }
  result->leafSha256 = Sha256::hex(chain.front());
  result->id = std::move(id);
  return ssl_verify_ok;
}

}  // namespace

const char* peerErrorName(PeerError e) {
  if (e == PeerError::kIdentityMismatch) return "identity_mismatch";
  if (e == PeerError::kNone || e >= PeerError::kCount) return "none";
  return identity::svidErrorName(static_cast<identity::SvidError>(e));
}

void enablePeerVerification(SSL_CTX* ctx, const PeerTrust* trust, bool requireCertificate) {
  SSL_CTX_set_ex_data(ctx, ctxIndex(), const_cast<PeerTrust*>(trust));
  int mode = SSL_VERIFY_PEER | (requireCertificate ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
  SSL_CTX_set_custom_verify(ctx, mode, &verifyPeer);
}

void attachPeerResult(SSL* ssl, PeerResult* result) {
  SSL_set_ex_data(ssl, sslIndex(), result);
}

}  // namespace gh::tls
