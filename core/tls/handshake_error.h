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
  kOther,            // any other handshake failure
  kCount
};

// The label value: "protocol_version", "no_shared_cipher", ...
const char* handshakeErrorName(HandshakeError e);

}  // namespace gh::tls
