#pragma once
// CertificateInfo: what the identity module reads back out of one X.509 certificate, for
// `gatehouse cert status`, the renewal schedule and tests. Parsing only; trust decisions are
// verify.h's. Plain value, copyable.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace gh::identity {

struct CertificateInfo {
  std::string der;
  std::string subject;  // one line, RFC 2253 order ("CN=x,O=gatehouse")
  std::string issuer;
  std::string serialHex;  // lowercase, no leading zeros
  int64_t notBefore = 0;  // Unix seconds
  int64_t notAfter = 0;
  bool isCa = false;
  std::vector<std::string> uriSans;
  std::string sha256Hex;  // fingerprint of the DER

  static Result<CertificateInfo> fromDer(std::string_view der);
};

// Every CERTIFICATE block of a PEM text; an error when there is none or one does not parse.
Result<std::vector<CertificateInfo>> readPemCertificates(std::string_view pem);

}  // namespace gh::identity
