#pragma once
// Join tokens: how a new node proves it may obtain one workload identity, and how it knows it
// is talking to the right CA (spec/mesh.md "Enrollment", kubeadm's discovery hash).
//
// Text form (one line, URL- and shell-safe):
//
//     ghjt.<claims>.<secret>
//
//   claims  base64url (no padding) of "1 <id> <spiffe id> <expires> <ca sha256>": format
//           version 1, a 16-hex-digit token id, the SPIFFE ID the token may obtain, the expiry
//           in Unix seconds, and the SHA-256 (64 hex digits) of the CA certificate's DER;
//           fields separated by one space (none of them can hold one).
//   secret  base64url of 32 random bytes.
//
// The claims are readable by anyone holding the token and are not signed: they are the joining
// node's instructions, not the CA's authority. The CA decides from its own record, found by
// the id: it keeps SHA-256(secret) (never the secret), the identity, the expiry and whether
// the token was used, and accepts a token once, before it expires, and only for the identity
// it recorded. The joining node checks the CA certificate it is shown against the pinned
// fingerprint before it sends anything or trusts any answer.
//
// Records live in DATA_DIR/ca/tokens (mode 0600), one line per token, rewritten whole (write
// to a temporary file and rename) under an flock on DATA_DIR/ca/tokens.lock, so the CLI
// creating tokens and the server redeeming them never lose each other's writes. Records of
// tokens that expired or were used more than a week ago are dropped on each write.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/identity/ca.h"
#include "core/identity/spiffe.h"

namespace gh::identity {

struct JoinToken {
  static constexpr std::string_view kPrefix = "ghjt.";
  static constexpr size_t kSecretBytes = 32;
  static constexpr int64_t kDefaultTtlSeconds = 3600;
  static constexpr int64_t kMaxTtlSeconds = 7 * 86400;

  std::string id;  // 16 lowercase hex digits
  SpiffeId spiffeId;
  int64_t expiresAt = 0;
  std::string caFingerprint;  // 64 lowercase hex digits
  std::string secret;         // kSecretBytes raw bytes

  // Parses the text form; says what is wrong without echoing the secret.
  static Result<JoinToken> parse(std::string_view text);
  std::string format() const;
};

// The joining side's first check: is `caCertDer` the CA the token pins?
Status checkPinnedCa(const JoinToken& token, std::string_view caCertDer);

class TokenStore {
 public:
  struct Record {
    std::string id;
    std::string secretSha256;  // hex
    std::string spiffeId;
    int64_t createdAt = 0;
    int64_t expiresAt = 0;
    int64_t usedAt = 0;  // 0: not used
  };

  // caDir: DATA_DIR/ca (the records sit beside the CA they belong to).
  explicit TokenStore(std::string caDir) : caDir_(std::move(caDir)) {}

  // Makes, records and returns a new token for `id`, valid for ttlSeconds (1 s .. 7 days).
  Result<JoinToken> create(const CertificateAuthority& ca, const SpiffeId& id, int64_t ttlSeconds,
                           int64_t now);
  // Accepts a token once: known id, matching secret, not expired, not used. Marks it used and
  // returns the identity recorded for it. Failure messages never include the secret.
  Result<SpiffeId> redeem(std::string_view tokenText, int64_t now);
  Result<std::vector<Record>> list() const;

 private:
  std::string recordsPath() const { return caDir_ + "/tokens"; }
  Result<std::vector<Record>> read() const;
  Status write(const std::vector<Record>& records, int64_t now) const;
  std::string caDir_;
};

}  // namespace gh::identity
