#include "core/tls/handshake_error.h"

namespace gh::tls {

const char* handshakeErrorName(HandshakeError e) {
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
    case HandshakeError::kOther:
      return "other";
    case HandshakeError::kCount:
      break;
  }
  return "other";
}

}  // namespace gh::tls
