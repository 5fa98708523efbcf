#include "core/identity/token.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/base/sha256.h"
#include "core/base/strings.h"
#include "core/identity/encoding.h"
#include "core/identity/files.h"

namespace gh::identity {
namespace {

constexpr int64_t kKeepSpentSeconds = 7 * 86400;
constexpr std::string_view kRecordsHeader =
    "# gatehouse join tokens v1: id sha256(secret) spiffe-id created expires used\n";

bool isHex(std::string_view s, size_t len) {
  if (s.size() != len) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool parseI64(std::string_view s, int64_t* out) {
  uint64_t v = 0;
  if (!str::parseU64(s, &v) || v > static_cast<uint64_t>(INT64_MAX)) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

// An exclusive flock on DATA_DIR/ca/tokens.lock for the life of the object.
class RecordsLock {
 public:
  explicit RecordsLock(const std::string& caDir) {
    path_ = caDir + "/tokens.lock";
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
      error_ = errno;
      ::close(fd_);
      fd_ = -1;
    } else if (fd_ < 0) {
      error_ = errno;
    }
  }
  ~RecordsLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status status() const {
    return fd_ >= 0 ? okStatus() : Status::error(path_ + ": " + strerror(error_));
  }

 private:
  std::string path_;
  int fd_ = -1;
  int error_ = 0;
};

}  // namespace

std::string JoinToken::format() const {
  std::string claims =
      "1 " + id + " " + spiffeId.uri() + " " + std::to_string(expiresAt) + " " + caFingerprint;
  return std::string(kPrefix) + base64UrlEncode(claims) + "." + base64UrlEncode(secret);
}

Result<JoinToken> JoinToken::parse(std::string_view text) {
  auto bad = [](const char* why) { return Status::error(std::string("join token: ") + why); };
  if (text.substr(0, kPrefix.size()) != kPrefix) return bad("does not start with ghjt.");
  text.remove_prefix(kPrefix.size());
  size_t dot = text.find('.');
  if (dot == std::string_view::npos || text.find('.', dot + 1) != std::string_view::npos)
    return bad("expected ghjt.<claims>.<secret>");
  std::string claims, secret;
  if (!base64UrlDecode(text.substr(0, dot), &claims)) return bad("claims are not base64url");
  if (!base64UrlDecode(text.substr(dot + 1), &secret) || secret.size() != kSecretBytes)
    return bad("secret is not 32 bytes of base64url");
  std::vector<std::string_view> f = str::split(claims, ' ');
  if (f.empty() || f[0] != "1") return bad("unknown format version");
  if (f.size() != 5) return bad("claims do not have five fields");
  JoinToken t;
  if (!isHex(f[1], 16)) return bad("token id is not 16 hex digits");
  t.id = std::string(f[1]);
  auto id = SpiffeId::parse(f[2]);
  if (!id.ok()) return Status::error("join token: " + id.status().message());
  t.spiffeId = std::move(*id);
  if (!parseI64(f[3], &t.expiresAt)) return bad("expiry is not a number");
  if (!isHex(f[4], 64)) return bad("CA fingerprint is not 64 hex digits");
  t.caFingerprint = std::string(f[4]);
  t.secret = std::move(secret);
  return t;
}

Status checkPinnedCa(const JoinToken& token, std::string_view caCertDer) {
  std::string actual = Sha256::hex(caCertDer);
  if (actual != token.caFingerprint)
    return Status::error("the CA's certificate (sha256 " + actual +
                         ") is not the one the token pins (sha256 " + token.caFingerprint + ")");
  return okStatus();
}

Result<JoinToken> TokenStore::create(const CertificateAuthority& ca, const SpiffeId& id,
                                     int64_t ttlSeconds, int64_t now) {
  if (ttlSeconds <= 0 || ttlSeconds > JoinToken::kMaxTtlSeconds)
    return Status::error("token lifetime must be between 1s and 168h");
  if (id.trustDomain() != ca.trustDomain())
    return Status::error(id.uri() + ": not in this CA's trust domain " + ca.trustDomain());
  JoinToken t;
  t.id = hexEncode(randomBytes(8));
  t.spiffeId = id;
  t.expiresAt = now + ttlSeconds;
  t.caFingerprint = ca.fingerprint();
  t.secret = randomBytes(JoinToken::kSecretBytes);

  RecordsLock lock(caDir_);
  if (!lock.status().ok()) return lock.status();
  auto records = read();
  if (!records.ok()) return records.status();
  records->push_back({t.id, Sha256::hex(t.secret), id.uri(), now, t.expiresAt, 0});
  Status s = write(*records, now);
  if (!s.ok()) return s;
  return t;
}

Result<SpiffeId> TokenStore::redeem(std::string_view tokenText, int64_t now) {
  auto token = JoinToken::parse(tokenText);
  if (!token.ok()) return token.status();
  RecordsLock lock(caDir_);
  if (!lock.status().ok()) return lock.status();
  auto records = read();
  if (!records.ok()) return records.status();
  for (Record& r : *records) {
    if (r.id != token->id) continue;
    if (!constantTimeEquals(r.secretSha256, Sha256::hex(token->secret)))
      return Status::error("join token " + r.id + ": wrong secret");
    if (r.usedAt != 0) return Status::error("join token " + r.id + ": already used");
    if (now >= r.expiresAt) return Status::error("join token " + r.id + ": expired");
    auto id = SpiffeId::parse(r.spiffeId);
    if (!id.ok()) return id.status();
    r.usedAt = now;
    Status s = write(*records, now);
    if (!s.ok()) return s;
    return *id;
  }
  return Status::error("join token " + token->id + ": unknown to this CA");
}

Result<std::vector<TokenStore::Record>> TokenStore::list() const {
  RecordsLock lock(caDir_);
  if (!lock.status().ok()) return lock.status();
  return read();
}

Result<std::vector<TokenStore::Record>> TokenStore::read() const {
  std::vector<Record> out;
  if (!fileExists(recordsPath())) return out;
  auto text = readPrivateFile(recordsPath());
  if (!text.ok()) return text.status();
  int lineNo = 0;
  for (std::string_view line : str::split(*text, '\n')) {
    ++lineNo;
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string_view> f = str::split(line, ' ');
    Record r;
    if (f.size() != 6 || !isHex(f[0], 16) || !isHex(f[1], 64) || !parseI64(f[3], &r.createdAt) ||
        !parseI64(f[4], &r.expiresAt) || !parseI64(f[5], &r.usedAt))
      return Status::error(recordsPath() + ":" + std::to_string(lineNo) + ": damaged record");
    r.id = std::string(f[0]);
    r.secretSha256 = std::string(f[1]);
    r.spiffeId = std::string(f[2]);
    out.push_back(std::move(r));
  }
  return out;
}

Status TokenStore::write(const std::vector<Record>& records, int64_t now) const {
  std::string text(kRecordsHeader);
  for (const Record& r : records) {
    int64_t spentAt = r.usedAt != 0 ? r.usedAt : r.expiresAt;
    if ((r.usedAt != 0 || r.expiresAt <= now) && now - spentAt > kKeepSpentSeconds) continue;
    text += r.id + " " + r.secretSha256 + " " + r.spiffeId + " " + std::to_string(r.createdAt) +
            " " + std::to_string(r.expiresAt) + " " + std::to_string(r.usedAt) + "\n";
  }
  return writeFileAtomic(recordsPath(), text, 0600);
}

}  // namespace gh::identity
