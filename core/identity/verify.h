#pragma once
// verifySvid: is a peer's certificate chain a valid X.509-SVID of a trust domain we trust, and
// whose? (spec/mesh.md "Verification of a peer").
//
// The checks, in the order they run; the first that fails decides the reason, and each reason
// has its own value so the TLS layer can count handshake failures by reason
// (gatehouse_tls_handshake_errors_total{reason}):
//   1. kNoCertificate    the peer sent no certificate
//   2. kMalformed        a certificate of the chain does not parse
//   3. kLeafIsCa         the leaf says CA:TRUE (a CA must never act as a workload)
//   4. kKeyUsage         the leaf has no keyUsage, lacks digitalSignature, or allows
//                        keyCertSign or cRLSign
//      kExtendedKeyUsage when the peer's role is given: the leaf has no extendedKeyUsage or
//                        it lacks clientAuth (a client) / serverAuth (a server)
//   5. kNoUriSan         the leaf has no URI subjectAltName
//   6. kManyUriSans      it has more than one (the identity would be ambiguous)
//   7. kNotSpiffe        the URI is not a valid SPIFFE ID (wrong scheme, bad syntax)
//   8. kTrustDomain      the SPIFFE ID's trust domain is neither ours nor a federated one
//   9. kNotYetValid /    `now` is before the leaf's notBefore, or at or after its notAfter
//      kExpired          (checked on the leaf before the chain, so the common case names itself)
//  10. kUntrusted        no chain from the leaf, through the intermediates the peer sent, to a
//                        root of that trust domain's bundle (unknown issuer, bad signature,
//                        an expired intermediate or root, a violated name constraint)
// The checks are those of the SPIFFE X.509-SVID standard. Roots are chosen by the SPIFFE ID's
// trust domain: a federated domain's root never vouches for our own identities.
//
// Pure function of its inputs (the clock is an argument); safe from any thread.

#include <cstdint>
#include <string>
#include <vector>

#include "core/identity/spiffe.h"

namespace gh::identity {

enum class SvidError : uint8_t {
  kNone,
  kNoCertificate,
  kMalformed,
  kLeafIsCa,
  kKeyUsage,
  kNoUriSan,
  kManyUriSans,
  kNotSpiffe,
  kTrustDomain,
  kNotYetValid,
  kExpired,
  kUntrusted,
  kExtendedKeyUsage,
  kCount
};

// The role the peer plays in the connection being verified, for the extendedKeyUsage check.
enum class SvidRole : uint8_t { kAny, kClient, kServer };

// The label value: "no_certificate", "malformed", "leaf_is_ca", ...
const char* svidErrorName(SvidError e);

// The roots (DER) that vouch for one trust domain's identities.
struct TrustBundle {
  std::string trustDomain;
  std::vector<std::string> rootsDer;
};

struct SvidVerdict {
  SvidError error = SvidError::kNone;
  SpiffeId id;         // set when ok()
  std::string detail;  // for logs: what exactly was wrong

  bool ok() const { return error == SvidError::kNone; }
};

// `chainDer`: the leaf first, then any intermediates, as the peer sent them. `bundles`: ours
// and those of federated trust domains. `now`: Unix seconds.
SvidVerdict verifySvid(const std::vector<std::string>& chainDer,
                       const std::vector<TrustBundle>& bundles, int64_t now,
                       SvidRole role = SvidRole::kAny);

}  // namespace gh::identity
