#pragma once
// The joining node's side of enrollment over the network: `gatehouse join` and `gatehouse cert
// renew` (spec/mesh.md "Enrollment"; the protocol is enrollment_wire.h's, the decisions
// enrollment.h's). Blocking calls for the CLI and for a renewal thread, bounded in time:
// connecting may take 5 s (kConnectTimeoutMillis), the whole exchange 15 s
// (kExchangeTimeoutMillis), whatever the CA does.
//
// What is trusted, and when:
//   join     the server's chain must hold the root the token pins and a valid SVID under it
//            (verifyPinnedServer); this is checked inside the TLS handshake, so on a mismatch
//            nothing at all is sent (no token, no CSR) — the handshake ends with an alert.
//            The answer must verify against that pinned root (acceptIssued).
//   renew    the node's current certificate is the TLS client certificate (the CA's only
//            authentication); the server must present a valid SVID under the node's current
//            bundle; a new key is made here and the answer verifies against that bundle, for
//            the same identity.
// The private key is made on this node and never sent; the token's secret goes only to a CA
// that passed the pin check.
//
// Thread safety: the functions share no state; identityDir is written by one caller at a time
// (WorkloadIdentity::store's crash safety is per writer).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/identity/workload.h"

namespace gh::identity {

constexpr int kConnectTimeoutMillis = 5'000;
constexpr int kExchangeTimeoutMillis = 15'000;
// identityDir/ca-address: the HOST:PORT a node joined with, for renewal.
constexpr const char* kCaAddressFile = "ca-address";

// Why an enrollment call failed, for exit codes (spec/cli.md): the message says the rest.
enum class EnrollmentFailure : uint8_t {
  kNone,
  kInvalid,      // the CA address or the token does not parse (a usage error: exit 2)
  kRefused,      // the token expired, the CA is not the pinned one or its certificate does not
                 // verify, the CA answered 4xx, or its answer does not verify (exit 1)
  kUnreachable,  // name resolution, connect, TLS or timeouts; a 5xx or a garbled answer (exit 3)
  kLocal,        // this node's files: identityDir cannot be created, read or written (exit 3)
};

// First join: prepareJoin (refuses an expired token before any network), TLS connect,
// verifyPinnedServer on the server's chain before sending anything ("the CA at HOST:PORT is not
// the one the token pins (sha256 ...)"), POST /v1/join, acceptIssued against the pinned root;
// stores key, certificate and bundle in identityDir and writes identityDir/ca-address.
// Overwrites an identity already there (the CLI asks for --force first).
Result<WorkloadIdentity> joinMesh(const std::string& caAddress, std::string_view token,
                                  const std::string& identityDir, int64_t now,
                                  EnrollmentFailure* failure = nullptr);

// Renewal by the current certificate: refuses locally when it has expired (the node must join
// again); otherwise TLS with it as the client certificate, the server verified with verifySvid
// against the current bundle, a new key, POST /v1/renew, acceptIssued against the current
// bundle for the same identity. The new key and certificate replace the old ones together.
Result<WorkloadIdentity> renewWithCa(const std::string& caAddress, const std::string& identityDir,
                                     int64_t now, EnrollmentFailure* failure = nullptr);

// The CA address the node joined with (identityDir/ca-address), "" if none.
std::string joinedCaAddress(const std::string& identityDir);

// --- the exchange underneath (tests, tools) ---------------------------------------------------

struct CaRequest {
  std::string target;  // "/v1/join", "/v1/renew"
  std::string body;    // JSON
  // Sent as the TLS client certificate when set (its certificate alone, then its key).
  const WorkloadIdentity* clientIdentity = nullptr;
  // Judges the server's chain (DER, leaf first) inside the handshake; a failed Status ends it
  // before anything is sent. Required: nothing is sent to an unjudged server.
  std::function<Status(const std::vector<std::string>& chainDer)> verifyServer;
};

struct CaReply {
  int status = 0;
  std::string body;   // as received
  std::string error;  // the "error" member of a JSON body, if any
};

// One request to the CA at caAddress ("host:port", "[v6]:port"; host may be a DNS name) within
// the timeouts above. An HTTP error status is a reply, not a failure.
Result<CaReply> exchangeWithCa(const std::string& caAddress, const CaRequest& request,
                               EnrollmentFailure* failure = nullptr);

}  // namespace gh::identity
