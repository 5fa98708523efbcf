// gatehouse cert: this node's workload identity (DATA_DIR/identity/).
//
//   cert status   identity, serial, validity, when it renews; the CA too if this node holds it
//   cert issue    on the CA node only: a key made here and a certificate from the local CA,
//                 without network or token (holding the CA key is the authority). Other nodes
//                 get theirs with `gatehouse join`.
//   cert renew    on a node that joined: a new key and certificate from the CA it joined,
//                 authenticated by the current certificate (no token). Exit codes as join's.
//
// Exit codes of `cert status`: 0 when the node has a valid identity, 1 when it has none, when
// it has expired, or when its files are damaged or too open (the check a monitoring probe
// wants), 2 for usage errors.

#include <cstdio>
#include <ctime>

#include "cmd/gatehouse/cert_output.h"
#include "cmd/gatehouse/cli.h"
#include "cmd/gatehouse/config_files.h"
#include "core/base/strings.h"
#include "core/identity/ca.h"
#include "core/identity/workload.h"
#include "core/server/server.h"

namespace gh::cli {
namespace {

const char kCertUsage[] =
    "usage: gatehouse cert <command> [options]\n"
    "\n"
    "This node's workload certificate (DATA_DIR/identity/).\n"
    "\n"
    "Commands:\n"
    "  status   show identity, serial, validity and renewal time\n"
    "  issue    on the CA node: issue this node's certificate from the local CA\n"
    "  renew    on a joined node: renew now from the CA, authenticated by the current certificate\n"
    "\n"
    "Every command takes --help.\n";

int certStatus(const std::vector<std::string>& args) {
  Flags f("cert status", {{"output", 'o'}, {"data-dir"}},
          "usage: gatehouse cert status [-o text|json] [--data-dir DIR]\n"
          "\n"
          "Shows this node's workload certificate: SPIFFE ID, serial, validity, when it is\n"
          "renewed (half its life plus up to 10% jitter), the trust bundle; and the CA's\n"
          "fingerprint when this node holds the CA. Exits 1 when the node has no valid\n"
          "identity (none yet, expired, or files damaged or readable by others).\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  if (!f.positional().empty()) {
    error("cert status: " + f.positional().front(), "unexpected argument");
    return kUsage;
  }
  std::string output = f.get("output", "text");
  if (output != "text" && output != "json") {
    error("cert status: -o " + output, "expected text or json");
    return kUsage;
  }
  const std::string dataDir = server::resolveDataDir(f.get("data-dir"));
  const std::string caDir = dataDir + "/ca";
  const std::string idDir = dataDir + "/identity";
  const int64_t now = time(nullptr);

  std::unique_ptr<identity::CertificateAuthority> ca;
  std::string caProblem;
  if (identity::CertificateAuthority::existsIn(caDir)) {
    auto loaded = identity::CertificateAuthority::load(caDir);
    if (loaded.ok())
      ca = std::move(*loaded);
    else
      caProblem = loaded.status().message();
  }
  std::optional<identity::WorkloadIdentity> id;
  std::string problem;
  if (identity::WorkloadIdentity::existsIn(idDir)) {
    auto loaded = identity::WorkloadIdentity::load(idDir);
    if (loaded.ok())
      id = std::move(*loaded);
    else
      problem = loaded.status().message();
  } else {
    problem = "no workload identity in " + idDir +
              (ca ? " (gatehouse cert issue creates one from this node's CA)"
                  : " (gatehouse join obtains one)");
  }
  const bool expired = id && now >= id->certificate.notAfter;
  if (expired) problem = "the workload certificate has expired; the node must join again";
  const bool ok = id && !expired;

  if (output == "json") {
    std::string out = "{\"identity\":";
    if (id) {
      const auto& c = id->certificate;
      out += "{\"spiffeId\":" + quoteJson(id->id.uri()) + ",\"serial\":" + quoteJson(c.serialHex) +
             ",\"notBefore\":" + quoteJson(formatTime(c.notBefore * 1000)) +
             ",\"notAfter\":" + quoteJson(formatTime(c.notAfter * 1000)) +
             ",\"renewAt\":" + quoteJson(formatTime(id->renewAt() * 1000)) +
             ",\"notAfterUnix\":" + std::to_string(c.notAfter) +
             ",\"renewAtUnix\":" + std::to_string(id->renewAt()) +
             ",\"secondsToRenewal\":" + std::to_string(id->renewAt() - now) +
             ",\"expired\":" + (expired ? "true" : "false") + ",\"bundle\":[";
      for (size_t i = 0; i < id->bundle.size(); ++i)
        out += (i ? "," : "") + quoteJson(id->bundle[i].sha256Hex);
      out += "]}";
    } else {
      out += "null";
    }
    out += ",\"problem\":" + (problem.empty() ? std::string("null") : quoteJson(problem));
    out += ",\"ca\":";
    if (ca)
      out += "{\"trustDomain\":" + quoteJson(ca->trustDomain()) +
             ",\"fingerprint\":" + quoteJson(ca->fingerprint()) +
             ",\"notAfter\":" + quoteJson(formatTime(ca->notAfter() * 1000)) + "}";
    else if (!caProblem.empty())
      out += "{\"problem\":" + quoteJson(caProblem) + "}";
    else
      out += "null";
    out += "}\n";
    fputs(out.c_str(), stdout);
    return ok ? kOk : kProblem;
  }

  if (id) {
    const auto& c = id->certificate;
    printf("identity:     %s\n", id->id.uri().c_str());
    printf("serial:       %s\n", c.serialHex.c_str());
    printf("not before:   %s\n", formatTime(c.notBefore * 1000).c_str());
    printf("not after:    %s%s\n", when(c.notAfter, now).c_str(), expired ? " EXPIRED" : "");
    printf("renewal:      %s\n", when(id->renewAt(), now).c_str());
    for (const auto& root : id->bundle)
      printf("trust bundle: %s (sha256:%s)\n", root.subject.c_str(), root.sha256Hex.c_str());
  }
  if (ca) {
    printf("CA:           this node holds the CA of trust domain %s\n", ca->trustDomain().c_str());
    printf("CA sha256:    %s\n", ca->fingerprint().c_str());
    printf("CA expires:   %s\n", when(ca->notAfter(), now).c_str());
  }
  if (!caProblem.empty()) error("cert status: CA", caProblem);
  if (!problem.empty()) error("cert status", problem);
  return ok ? kOk : kProblem;
}

int certIssue(const std::vector<std::string>& args) {
  Flags f("cert issue", {{"workload"}, {"namespace"}, {"ttl"}, {"force", 0, false}, {"data-dir"}},
          "usage: gatehouse cert issue --workload NAME [--namespace NS] [--ttl 24h] [--force]\n"
          "                            [--data-dir DIR]\n"
          "\n"
          "On the node that holds the CA: generates a key in DATA_DIR/identity/ and issues this\n"
          "node's workload certificate spiffe://TD/ns/NS/sa/NAME (namespace default \"default\")\n"
          "from the local CA, without network or token. Run again to re-issue. Replacing an\n"
          "identity by a different one needs --force. Other nodes use gatehouse join.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  if (!f.positional().empty()) {
    error("cert issue: " + f.positional().front(), "unexpected argument");
    return kUsage;
  }
  if (!f.has("workload")) {
    error("cert issue", "--workload is required");
    return kUsage;
  }
  uint64_t ttlMs = identity::CertificateAuthority::kDefaultLeafTtlSeconds * 1000;
  if (f.has("ttl") &&
      (!str::parseDuration(f.get("ttl"), &ttlMs) || ttlMs < 60'000 || ttlMs > 90ull * 86400'000)) {
    error("cert issue: --ttl " + f.get("ttl"), "expected a duration from 1m to 2160h");
    return kUsage;
  }
  const std::string dataDir = server::resolveDataDir(f.get("data-dir"));
  const std::string caDir = dataDir + "/ca";
  const std::string idDir = dataDir + "/identity";
  if (!identity::CertificateAuthority::existsIn(caDir)) {
    error("cert issue: " + caDir,
          "no CA on this node (gatehouse ca init creates one; other nodes use gatehouse join)");
    return kUnavailable;
  }
  auto ca = identity::CertificateAuthority::load(caDir);
  if (!ca.ok()) {
    error("cert issue", ca.status().message());
    return kUnavailable;
  }
  auto id = identity::SpiffeId::forWorkload((*ca)->trustDomain(), f.get("namespace", "default"),
                                            f.get("workload"));
  if (!id.ok()) {
    error("cert issue", id.status().message());
    return kUsage;
  }
  if (identity::WorkloadIdentity::existsIn(idDir) && !f.has("force")) {
    auto current = identity::WorkloadIdentity::load(idDir);
    if (current.ok() && !(current->id == *id)) {
      error("cert issue",
            "this node is " + current->id.uri() + "; --force replaces it by " + id->uri());
      return kProblem;
    }
  }
  auto issued = identity::issueFromLocalCa(**ca, idDir, *id, static_cast<int64_t>(ttlMs / 1000),
                                           time(nullptr));
  if (!issued.ok()) {
    error("cert issue", issued.status().message());
    return kUnavailable;
  }
  printIssued("issued", *issued, time(nullptr));
  return kOk;
}

int certRenew(const std::vector<std::string>& args) {
  Flags f("cert renew", {{"ca"}, {"data-dir"}},
          "usage: gatehouse cert renew [--ca HOST:PORT] [--data-dir DIR]\n"
          "\n"
          "Renews this node's workload certificate now, from the CA it joined (the address\n"
          "recorded by gatehouse join in DATA_DIR/identity/ca-address, or --ca). The current\n"
          "certificate authenticates the request (no token); a new key is made here, and the\n"
          "new key and certificate replace the old ones together. A node whose certificate has\n"
          "expired must join again. On the CA node, gatehouse cert issue re-issues instead.\n"
          "Exits 1 when the CA refuses, 2 for usage errors, 3 when the CA cannot be reached or\n"
          "the identity cannot be read or written.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  if (!f.positional().empty()) {
    error("cert renew: " + f.positional().front(), "unexpected argument");
    return kUsage;
  }
  const std::string dataDir = server::resolveDataDir(f.get("data-dir"));
  const std::string idDir = dataDir + "/identity";
  if (!identity::WorkloadIdentity::existsIn(idDir)) {
    error("cert renew", "no workload identity in " + idDir + " (gatehouse join obtains one)");
    return kProblem;
  }
  std::string address = f.get("ca", identity::joinedCaAddress(idDir));
  if (address.empty()) {
    if (identity::CertificateAuthority::existsIn(dataDir + "/ca"))
      error("cert renew", "this node holds the CA; gatehouse cert issue re-issues its certificate");
    else
      error("cert renew", "no CA address recorded in " + idDir + "; pass --ca HOST:PORT");
    return kUsage;
  }
  identity::EnrollmentFailure why = identity::EnrollmentFailure::kNone;
  auto renewed = identity::renewWithCa(address, idDir, time(nullptr), &why);
  if (!renewed.ok()) {
    error("cert renew", renewed.status().message());
    return exitFor(why);
  }
  printIssued("renewed", *renewed, time(nullptr));
  return kOk;
}

}  // namespace

int cmdCert(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    fputs(kCertUsage, args.empty() ? stderr : stdout);
    return args.empty() ? kUsage : kOk;
  }
  if (args[0].rfind("-", 0) == 0) {
    error("cert", "expected a command before options (see gatehouse cert --help)");
    return kUsage;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "status") return certStatus(rest);
  if (args[0] == "issue") return certIssue(rest);
  if (args[0] == "renew") return certRenew(rest);
  error("cert " + args[0], "unknown command (see gatehouse cert --help)");
  return kUsage;
}

}  // namespace gh::cli
