#pragma once
// Peer verification for mesh hops: who is on the other end of a mutual-TLS connection.
//
// Both sides of a mesh hop check the other's certificate the same way (spec/mesh.md
// "Verification of a peer"): the chain must be a valid X.509-SVID under a root of the trust
// bundle of its SPIFFE ID's trust domain (identity::verifySvid decides, with its reasons). The
// client side also checks that the identity is the one the Service expects. The check runs
// inside the handshake (BoringSSL's custom-verify callback), so a refused peer gets a TLS alert
// and never reaches HTTP: an expired certificate gets certificate_expired, an unknown issuer
// unknown_ca, anything else bad_certificate.
//
// PeerTrust is the per-context part (the bundles), immutable and shared. PeerResult is the
// per-connection part: the transport owns one and lends it to its SSL object for the duration
// of the handshake; afterwards it holds the verified identity (the connection's principal) or
// the reason the peer was refused.

#include <cstdint>
#include <string>
#include <vector>

#include "core/identity/verify.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace gh::tls {

// Why a mesh peer was refused: the SVID reasons of identity::SvidError, and one more for the
// client side. Label values of gatehouse_mesh_peer_rejected_total{reason}.
enum class PeerError : uint8_t {
  kNone = 0,
  // 1 .. identity::SvidError::kCount - 1: the SvidError of the same value
  kIdentityMismatch = static_cast<uint8_t>(identity::SvidError::kCount),  // valid, not expected
  kCount
};
const char* peerErrorName(PeerError e);  // "no_certificate", ..., "identity_mismatch"

struct PeerTrust {
  std::vector<identity::TrustBundle> bundles;
};

struct PeerResult {
  std::string expected;  // client side: the SPIFFE ID the peer must have ("" = any)
  PeerError error = PeerError::kNone;
  std::string id;            // the verified SPIFFE ID (URI form); empty until verified
  std::string leafSha256;    // hex SHA-256 of the peer's leaf (DER), for x-forwarded-client-cert
  std::string detail;        // for the log: what exactly was wrong
  bool verified() const { return !id.empty(); }
};

// Installs the verifying callback on `ctx`, with `trust` looked up from the context (it must
// outlive the context). requireCertificate: a peer without a certificate fails the handshake
// (servers under STRICT, and always on the client side).
void enablePeerVerification(SSL_CTX* ctx, const PeerTrust* trust, bool requireCertificate);
// Lends `result` to one connection (before its handshake starts).
void attachPeerResult(SSL* ssl, PeerResult* result);

}  // namespace gh::tls
