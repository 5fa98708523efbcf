#pragma once
// Enrollment: the decisions of joining and renewal, without the network (spec/mesh.md
// "Enrollment"). The enrollment server (the CA node, port 15012) and `gatehouse join` move
// these values over mTLS; everything that decides who gets which certificate is here, pure
// except for the token records and the identity files, and tested without sockets.
//
// First join (the node has a token, no certificate):
//   1. prepareJoin(token)           parse the token, refuse it if expired, make the key here
//                                   and a CSR for the token's identity;
//   2. TLS to the CA: the server presents its chain including the CA root; the joining node
//      accepts it only if verifyPinnedServer(chain, token) — the root is the pinned one and
//      the server's leaf is a valid SVID under it. Nothing is sent before that;
//   3. send token + CSR; the CA runs EnrollmentAuthority::enroll: redeems the token once,
//      signs the CSR's key for the identity *its record* names;
//   4. acceptIssued(...) on the node: the leaf must verify against the pinned root, carry the
//      token's identity and our public key; then key, leaf and bundle are stored.
// Renewal (the node has a valid certificate; survives reboots, needs no token):
//   the node connects with its current certificate as the client certificate; the server
//   verifies it with verifySvid (that is the authentication) and runs renew(peerId, csr),
//   which signs the new key for the *same* identity. The node accepts the result with
//   acceptIssued against the bundle it already trusts.
// A node whose certificate has expired cannot renew (verifySvid says expired) and must join
// again with a new token.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/identity/ca.h"
#include "core/identity/keys.h"
#include "core/identity/token.h"
#include "core/identity/verify.h"
#include "core/identity/workload.h"

namespace gh::identity {

// What the CA sends back: the leaf and the trust bundle, both PEM.
struct IssuedCertificate {
  std::string certificatePem;
  std::string bundlePem;
};

// The CA node's side. Holds references: the CA and the token store outlive it.
class EnrollmentAuthority {
 public:
  EnrollmentAuthority(const CertificateAuthority& ca, TokenStore& tokens, int64_t leafTtlSeconds)
      : ca_(ca), tokens_(tokens), ttl_(leafTtlSeconds) {}

  // A join: redeems the token (once) and signs the CSR's key for the identity on record.
  Result<IssuedCertificate> enroll(std::string_view tokenText, std::string_view csrPem,
                                   int64_t now);
  // A renewal: `peer` is the identity verifySvid established from the client certificate of
  // this very connection; the new certificate is for that identity and no other.
  Result<IssuedCertificate> renew(const SpiffeId& peer, std::string_view csrPem, int64_t now);

 private:
  Result<IssuedCertificate> issue(const SpiffeId& id, std::string_view csrPem, int64_t now);
  const CertificateAuthority& ca_;
  TokenStore& tokens_;
  int64_t ttl_;
};

// The joining node's side.
struct JoinAttempt {
  JoinToken token;
  PrivateKey key;
  std::string csrPem;
};

// Step 1: parses the token, refuses an expired one before any network, generates the key.
Result<JoinAttempt> prepareJoin(std::string_view tokenText, int64_t now);

// Step 2: whether the enrollment server's TLS chain (leaf first, as sent) is vouched for by the
// CA the token pins: the pinned root must be in the chain, and the leaf must be a valid SVID
// of the token's trust domain under it.
SvidVerdict verifyPinnedServer(const std::vector<std::string>& chainDer, const JoinToken& token,
                               int64_t now);

// Step 4 (and the end of a renewal): checks the issued leaf against `trustedRootsDer` (the
// pinned root on a join, the current bundle on a renewal), that it names `expected` and
// carries `key`'s public half, and that the bundle sent holds a trusted root; then stores key,
// leaf and bundle in identityDir and returns the loaded identity.
Result<WorkloadIdentity> acceptIssued(const IssuedCertificate& issued, const PrivateKey& key,
                                      const SpiffeId& expected,
                                      const std::vector<std::string>& trustedRootsDer,
                                      const std::string& identityDir, int64_t now);

}  // namespace gh::identity
