#pragma once
// Why a TLS handshake failed, as counted in gatehouse_tls_handshake_errors_total{reason}.
//
// The set is small and fixed so the metric's labels stay bounded; anything BoringSSL reports
// that is not one of the named cases is kOther. No OpenSSL types here: telemetry includes it.

#include <cstdint>

namespace gh::tls {

enum class HandshakeError : uint8_t {
  kProtocolVersion,  // no TLS version both sides accept (e.g. a TLS 1.2 client, minVersion 1.3)
  kNoSharedCipher,   // no cipher suite, group or signature algorithm in common
  kNotTls,           // the first bytes were not a TLS ClientHello (plain HTTP to an HTTPS port)
  kPeerAlert,        // the client aborted with an alert (it distrusts our certificate, ...)
  kClosed,           // the client closed or reset the connection mid-handshake
  kCertificate,      // no certificate could be installed for the connection
  kPeerCertificate,  // a mesh peer's certificate was refused (the reason: mesh peer metric)
  kOther,            // any other handshake failure
  kCount
};

// The label value: "protocol_version", "no_shared_cipher", ... Inline, so telemetry can render
// the metric without linking this module.
inline const char* handshakeErrorName(HandshakeError e) {
  switch (e) {
    case HandshakeError::kProtocolVersion:
      return "protocol_version";
    case HandshakeError::kNoSharedCipher:
      return "no_shared_cipher";
    case HandshakeError::kNotTls:
      return "not_tls";
    case HandshakeError::kPeerAlert:
      return "peer_alert";
    case HandshakeError::kClosed:
      return "closed";
    case HandshakeError::kCertificate:
      return "certificate";
    case HandshakeError::kPeerCertificate:
      return "peer_certificate";
    case HandshakeError::kOther:
      return "other";
    case HandshakeError::kCount:
      break;
  }
  return "other";
}

}  // namespace gh::tls
