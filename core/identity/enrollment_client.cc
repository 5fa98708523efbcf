#include "core/identity/enrollment_client.h"

#include "core/base/sha256.h"
#include "core/identity/enrollment.h"
#include "core/identity/enrollment_io.h"
#include "core/identity/enrollment_wire.h"
#include "core/identity/files.h"
#include "core/identity/token.h"
#include "core/identity/verify.h"

namespace gh::identity {
namespace {

Status failWith(EnrollmentFailure* out, EnrollmentFailure kind, std::string message) {
  if (out) *out = kind;
  return Status::error(std::move(message));
}

// Reads certificate and bundle from a 200 answer.
Result<IssuedCertificate> issuedFrom(const CaReply& reply, const std::string& caAddress,
                                     EnrollmentFailure* failure) {
  auto json = wire::JsonStrings::parse(reply.body);
  const std::string* cert = json.ok() ? json->get("certificate") : nullptr;
  const std::string* bundle = json.ok() ? json->get("bundle") : nullptr;
  if (!cert || !bundle)
    return failWith(failure, EnrollmentFailure::kUnreachable,
                    "the CA at " + caAddress + " answered 200 without a certificate and bundle");
  return IssuedCertificate{*cert, *bundle};
}

// A non-200 reply as a failure: 4xx is the CA's refusal, anything else its trouble.
Status replyFailure(const CaReply& reply, const std::string& caAddress, const char* what,
                    EnrollmentFailure* failure) {
  std::string why = reply.error.empty() ? std::string(wire::reasonPhrase(reply.status))
                                        : reply.error;
  const bool refused = reply.status >= 400 && reply.status < 500;
  return failWith(failure, refused ? EnrollmentFailure::kRefused : EnrollmentFailure::kUnreachable,
                  "the CA at " + caAddress + " " + (refused ? "refused the " : "failed the ") +
                      what + " (" + std::to_string(reply.status) + "): " + why);
}

Status recordCaAddress(const std::string& identityDir, const std::string& caAddress) {
  if (joinedCaAddress(identityDir) == caAddress) return okStatus();
  return writeFileAtomic(identityDir + "/" + kCaAddressFile, caAddress + "\n", 0644);
}

}  // namespace

Result<CaReply> exchangeWithCa(const std::string& caAddress, const CaRequest& request,
                               EnrollmentFailure* failure) {
  if (failure) *failure = EnrollmentFailure::kNone;
  if (!request.verifyServer)
    return failWith(failure, EnrollmentFailure::kInvalid, "no verifier for the CA's certificate");
  auto hp = wire::parseHostPort(caAddress);
  if (!hp.ok()) return failWith(failure, EnrollmentFailure::kInvalid, hp.status().message());
  const int64_t deadline = io::monotonicMillis() + kExchangeTimeoutMillis;
  io::SigpipeGuard noSigpipe;
  auto fd = io::connectTo(hp->host, hp->port, kConnectTimeoutMillis);
  if (!fd.ok())
    return failWith(failure, EnrollmentFailure::kUnreachable,
                    "cannot reach the CA at " + caAddress + ": " + fd.status().message());

  io::ChainAndKey chain;
  if (request.clientIdentity)
    chain = {{request.clientIdentity->certificate.der}, request.clientIdentity->key->get()};
  auto ctx = io::newContext(false, request.clientIdentity ? &chain : nullptr);
  if (!ctx.ok()) return failWith(failure, EnrollmentFailure::kLocal, ctx.status().message());
  io::TlsChannel ch(ctx->get(), std::move(*fd), false, deadline);
  ch.setVerifier(request.verifyServer);
  Status s = ch.handshake();
  if (!s.ok()) {
    if (ch.refusedPeer()) return failWith(failure, EnrollmentFailure::kRefused, s.message());
    return failWith(failure, EnrollmentFailure::kUnreachable,
                    "the CA at " + caAddress + ": " + s.message());
  }
  s = ch.writeAll(wire::formatRequest(request.target, caAddress, request.body));
  if (!s.ok())
    return failWith(failure, EnrollmentFailure::kUnreachable,
                    "the CA at " + caAddress + ": " + s.message());

  std::string buffer;
  auto headLen = ch.readHead(&buffer);
  if (!headLen.ok())
    return failWith(failure, EnrollmentFailure::kUnreachable,
                    "the CA at " + caAddress + ": " + headLen.status().message());
  auto head = wire::parseResponseHead(std::string_view(buffer).substr(0, *headLen));
  if (!head.ok())
    return failWith(failure, EnrollmentFailure::kUnreachable,
                    "the CA at " + caAddress + " answered garbled HTTP: " + head.status().message());
  if (head->hasContentLength) {
    if (head->contentLength > wire::kMaxResponseBodyBytes)
      return failWith(failure, EnrollmentFailure::kUnreachable,
                      "the CA at " + caAddress + " answered with a body too large");
    s = ch.readUntil(&buffer, *headLen + head->contentLength);
    if (!s.ok())
      return failWith(failure, EnrollmentFailure::kUnreachable,
                      "the CA at " + caAddress + ": " + s.message());
  } else {
    const size_t cap = *headLen + wire::kMaxResponseBodyBytes;
    while (true) {  // to the end of the stream
      if (buffer.size() > cap)
        return failWith(failure, EnrollmentFailure::kUnreachable,
                        "the CA at " + caAddress + " answered with a body too large");
      auto n = ch.readSome(&buffer, cap + 1 - buffer.size());
      if (!n.ok())
        return failWith(failure, EnrollmentFailure::kUnreachable,
                        "the CA at " + caAddress + ": " + n.status().message());
      if (*n == 0) break;
    }
  }
  ch.shutdown();
  CaReply reply;
  reply.status = head->status;
  reply.body = buffer.substr(*headLen, head->hasContentLength ? head->contentLength
                                                              : std::string::npos);
  if (reply.status != 200) {
    auto json = wire::JsonStrings::parse(reply.body);
    if (json.ok())
      if (const std::string* e = json->get("error")) reply.error = e->substr(0, 1000);
  }
  return reply;
}

Result<WorkloadIdentity> joinMesh(const std::string& caAddress, std::string_view token,
                                  const std::string& identityDir, int64_t now,
                                  EnrollmentFailure* failure) {
  if (failure) *failure = EnrollmentFailure::kNone;
  auto hp = wire::parseHostPort(caAddress);
  if (!hp.ok()) return failWith(failure, EnrollmentFailure::kInvalid, hp.status().message());
  auto parsed = JoinToken::parse(token);
  if (!parsed.ok())
    return failWith(failure, EnrollmentFailure::kInvalid, parsed.status().message());
  auto attempt = prepareJoin(token, now);
  if (!attempt.ok())
    return failWith(failure, EnrollmentFailure::kRefused, attempt.status().message());
  // Before the network: a token spent on a node that cannot store the result is lost.
  Status s = makePrivateDir(identityDir);
  if (!s.ok()) return failWith(failure, EnrollmentFailure::kLocal, s.message());

  const JoinToken& t = attempt->token;
  std::string pinnedRoot;
  CaRequest request;
  request.target = "/v1/join";
  request.body = wire::jsonObject({{"token", token}, {"csr", attempt->csrPem}});
  request.verifyServer = [&](const std::vector<std::string>& chain) -> Status {
    const std::string* pinned = nullptr;
    for (const std::string& der : chain)
      if (Sha256::hex(der) == t.caFingerprint) pinned = &der;
    if (!pinned) {
      std::string shown = chain.empty() ? "no certificate"
                                        : "its chain ends with sha256 " + Sha256::hex(chain.back());
      return Status::error("the CA at " + caAddress + " is not the one the token pins (sha256 " +
                           t.caFingerprint + "; " + shown + ")");
    }
    SvidVerdict v = verifyPinnedServer(chain, t, now);
    if (!v.ok())
      return Status::error("the CA at " + caAddress +
                           " holds the pinned root but its certificate does not verify (" +
                           svidErrorName(v.error) + "): " + v.detail);
    pinnedRoot = *pinned;
    return okStatus();
  };
  auto reply = exchangeWithCa(caAddress, request, failure);
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) return replyFailure(*reply, caAddress, "join", failure);
  auto issued = issuedFrom(*reply, caAddress, failure);
  if (!issued.ok()) return issued.status();
  auto stored = acceptIssued(*issued, attempt->key, t.spiffeId, {pinnedRoot}, identityDir, now);
  if (!stored.ok())
    return failWith(failure, EnrollmentFailure::kRefused,
                    "the CA at " + caAddress + " answered with a certificate this node refuses: " +
                        stored.status().message());
  s = recordCaAddress(identityDir, caAddress);
  if (!s.ok())
    return failWith(failure, EnrollmentFailure::kLocal,
                    "joined, but cannot record the CA address: " + s.message());
  return stored;
}

Result<WorkloadIdentity> renewWithCa(const std::string& caAddress, const std::string& identityDir,
                                     int64_t now, EnrollmentFailure* failure) {
  if (failure) *failure = EnrollmentFailure::kNone;
  auto hp = wire::parseHostPort(caAddress);
  if (!hp.ok()) return failWith(failure, EnrollmentFailure::kInvalid, hp.status().message());
  if (!WorkloadIdentity::existsIn(identityDir))
    return failWith(failure, EnrollmentFailure::kLocal,
                    "no workload identity in " + identityDir + " to renew (gatehouse join first)");
  auto current = WorkloadIdentity::load(identityDir);
  if (!current.ok()) return failWith(failure, EnrollmentFailure::kLocal, current.status().message());
  if (now >= current->certificate.notAfter)
    return failWith(failure, EnrollmentFailure::kRefused,
                    "the certificate of " + current->id.uri() +
                        " has expired, so it cannot authenticate a renewal; the node must join "
                        "again with a new token");
  std::vector<std::string> roots;
  for (const CertificateInfo& c : current->bundle) roots.push_back(c.der);
  const std::string td(current->id.trustDomain());

  auto key = PrivateKey::generate();
  if (!key.ok()) return failWith(failure, EnrollmentFailure::kLocal, key.status().message());
  auto csr = createCsr(*key, current->id);
  if (!csr.ok()) return failWith(failure, EnrollmentFailure::kLocal, csr.status().message());

  CaRequest request;
  request.target = "/v1/renew";
  request.body = wire::jsonObject({{"csr", *csr}});
  request.clientIdentity = &*current;
  request.verifyServer = [&](const std::vector<std::string>& chain) -> Status {
    SvidVerdict v = verifySvid(chain, {{td, roots}}, now, SvidRole::kServer);
    if (v.ok()) return okStatus();
    return Status::error("the CA at " + caAddress +
                         " presents a certificate this node's trust bundle does not vouch for (" +
                         svidErrorName(v.error) + "): " + v.detail);
  };
  auto reply = exchangeWithCa(caAddress, request, failure);
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) return replyFailure(*reply, caAddress, "renewal", failure);
  auto issued = issuedFrom(*reply, caAddress, failure);
  if (!issued.ok()) return issued.status();
  auto stored = acceptIssued(*issued, *key, current->id, roots, identityDir, now);
  if (!stored.ok())
    return failWith(failure, EnrollmentFailure::kRefused,
                    "the CA at " + caAddress + " answered with a certificate this node refuses: " +
                        stored.status().message());
  Status s = recordCaAddress(identityDir, caAddress);
  if (!s.ok())
    return failWith(failure, EnrollmentFailure::kLocal,
                    "renewed, but cannot record the CA address: " + s.message());
  return stored;
}

std::string joinedCaAddress(const std::string& identityDir) {
  const std::string path = identityDir + "/" + kCaAddressFile;
  if (!fileExists(path)) return "";
  auto text = readWholeFile(path);
  if (!text.ok()) return "";
  std::string s = *text;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace gh::identity
