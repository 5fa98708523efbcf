// gatehouse ca: the mesh's built-in CA on the node that holds it (spec/mesh.md, docs/identity.md).
//
//   ca init [--trust-domain TD]      creates DATA_DIR/ca/ (refuses when a CA is already there)
//   ca token create --workload NAME  prints a single-use join token for that workload identity
//   ca token list                    the tokens this CA made, and what became of them
//
// The CA's private key never leaves DATA_DIR/ca/; a token carries no key material, only the
// identity it may obtain, its expiry, the CA's fingerprint and a secret the CA keeps a hash of.

#include "core/identity/ca.h"

#include <cstdio>
#include <ctime>

#include "cmd/gatehouse/cli.h"
#include "cmd/gatehouse/config_files.h"
#include "core/base/strings.h"
#include "core/identity/files.h"
#include "core/identity/token.h"
#include "core/server/server.h"

namespace gh::cli {
namespace {

const char kCaUsage[] =
    "usage: gatehouse ca <command> [options]\n"
    "\n"
    "The mesh CA of this node's data directory (DATA_DIR/ca/).\n"
    "\n"
    "Commands:\n"
    "  init          create the CA (a self-signed ECDSA P-256 root valid for ten years)\n"
    "  token create  print a single-use join token for one workload identity\n"
    "  token list    list the join tokens this CA made\n"
    "\n"
    "Every command takes --help.\n";

int caInit(const std::vector<std::string>& args) {
  Flags f("ca init", {{"trust-domain"}, {"data-dir"}},
          "usage: gatehouse ca init [--trust-domain TD] [--data-dir DIR]\n"
          "\n"
          "Creates the mesh CA in DATA_DIR/ca/ (mode 0700): ca.crt (0644) and ca.key (0600).\n"
          "The trust domain (default cluster.local) becomes part of every workload identity,\n"
          "spiffe://TD/ns/NAMESPACE/sa/NAME. Refuses when the data directory already holds a\n"
          "CA. Prints the CA's SHA-256 fingerprint, which join tokens pin.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  if (!f.positional().empty()) {
    error("ca init: " + f.positional().front(), "unexpected argument");
    return kUsage;
  }
  std::string td = f.get("trust-domain", "cluster.local");
  std::string why;
  if (!identity::validTrustDomain(td, &why)) {
    error("ca init: --trust-domain " + td, why);
    return kUsage;
  }
  const std::string dataDir = server::resolveDataDir(f.get("data-dir"));
  const std::string caDir = dataDir + "/ca";
  if (identity::CertificateAuthority::existsIn(caDir)) {
    error("ca init: " + caDir,
          "a CA already exists there; it is kept (remove the directory to "
          "start over: every identity it issued stops being trusted)");
    return kProblem;
  }
  Status s = identity::makePrivateDir(dataDir);
  if (!s.ok()) {
    error("ca init", s.message());
    return kUnavailable;
  }
  auto ca = identity::CertificateAuthority::create(td, time(nullptr));
  if (!ca.ok()) {
    error("ca init", ca.status().message());
    return kProblem;
  }
  s = (*ca)->save(caDir);
  if (!s.ok()) {
    error("ca init", s.message());
    return kUnavailable;
  }
  printf("created the mesh CA of trust domain %s in %s\n", td.c_str(), caDir.c_str());
  printf("fingerprint sha256:%s\n", (*ca)->fingerprint().c_str());
  printf(
      "next: gatehouse cert issue --workload NAME gives this node its identity;\n"
      "      gatehouse ca token create --workload NAME lets another node join\n");
  return kOk;
}

// Loads the CA of the data dir, printing why not (exit 3: the command cannot open what it needs).
std::unique_ptr<identity::CertificateAuthority> loadCa(const std::string& command,
                                                       const std::string& caDir) {
  if (!identity::CertificateAuthority::existsIn(caDir)) {
    error(command + ": " + caDir, "no CA here (gatehouse ca init creates one)");
    return nullptr;
  }
  auto ca = identity::CertificateAuthority::load(caDir);
  if (!ca.ok()) {
    error(command, ca.status().message());
    return nullptr;
  }
  return std::move(*ca);
}

int tokenCreate(const std::vector<std::string>& args) {
  Flags f("ca token create", {{"workload"}, {"namespace"}, {"ttl"}, {"data-dir"}},
          "usage: gatehouse ca token create --workload NAME [--namespace NS] [--ttl 1h]\n"
          "                                 [--data-dir DIR]\n"
          "\n"
          "Prints a join token on standard output: `gatehouse join --token TOKEN` on another\n"
          "node obtains the identity spiffe://TD/ns/NS/sa/NAME with it (namespace default\n"
          "\"default\"). The token is single-use, expires after --ttl (default 1h, at most\n"
          "168h) and pins this CA's fingerprint. Treat it as a secret until it is used.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  if (!f.positional().empty()) {
    error("ca token create: " + f.positional().front(), "unexpected argument");
    return kUsage;
  }
  if (!f.has("workload")) {
    error("ca token create", "--workload is required");
    return kUsage;
  }
  uint64_t ttlMs = identity::JoinToken::kDefaultTtlSeconds * 1000;
  if (f.has("ttl") && (!str::parseDuration(f.get("ttl"), &ttlMs) || ttlMs < 1000 ||
                       ttlMs > identity::JoinToken::kMaxTtlSeconds * 1000ull)) {
    error("ca token create: --ttl " + f.get("ttl"), "expected a duration from 1s to 168h");
    return kUsage;
  }
  const std::string caDir = server::resolveDataDir(f.get("data-dir")) + "/ca";
  auto ca = loadCa("ca token create", caDir);
  if (!ca) return kUnavailable;
  auto id = identity::SpiffeId::forWorkload(ca->trustDomain(), f.get("namespace", "default"),
                                            f.get("workload"));
  if (!id.ok()) {
    error("ca token create", id.status().message());
    return kUsage;
  }
  identity::TokenStore tokens(caDir);
  auto token = tokens.create(*ca, *id, static_cast<int64_t>(ttlMs / 1000), time(nullptr));
  if (!token.ok()) {
    error("ca token create", token.status().message());
    return kUnavailable;
  }
  printf("%s\n", token->format().c_str());
  fprintf(stderr, "join token %s for %s, single use, expires %s\n", token->id.c_str(),
          id->uri().c_str(), formatTime(token->expiresAt * 1000).c_str());
  return kOk;
}

int tokenList(const std::vector<std::string>& args) {
  Flags f("ca token list", {{"output", 'o'}, {"data-dir"}},
          "usage: gatehouse ca token list [-o table|json] [--data-dir DIR]\n"
          "\n"
          "Lists the join tokens of this CA: id, identity, expiry and state (unused, used,\n"
          "expired). Tokens spent more than a week ago are forgotten.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  std::string output = f.get("output", "table");
  if (output != "table" && output != "json") {
    error("ca token list: -o " + output, "expected table or json");
    return kUsage;
  }
  const std::string caDir = server::resolveDataDir(f.get("data-dir")) + "/ca";
  if (!loadCa("ca token list", caDir)) return kUnavailable;
  auto records = identity::TokenStore(caDir).list();
  if (!records.ok()) {
    error("ca token list", records.status().message());
    return kUnavailable;
  }
  const int64_t now = time(nullptr);
  auto state = [&](const identity::TokenStore::Record& r) {
    return r.usedAt ? "used" : (now >= r.expiresAt ? "expired" : "unused");
  };
  if (output == "json") {
    std::string out = "[";
    for (size_t i = 0; i < records->size(); ++i) {
      const auto& r = (*records)[i];
      if (i) out += ',';
      out += "{\"id\":" + quoteJson(r.id) + ",\"identity\":" + quoteJson(r.spiffeId) +
             ",\"createdAt\":" + std::to_string(r.createdAt) +
             ",\"expiresAt\":" + std::to_string(r.expiresAt) +
             ",\"usedAt\":" + (r.usedAt ? std::to_string(r.usedAt) : "null") + ",\"state\":\"" +
             state(r) + "\"}";
    }
    out += "]\n";
    fputs(out.c_str(), stdout);
    return kOk;
  }
  if (records->empty()) {
    printf("no join tokens (gatehouse ca token create makes one)\n");
    return kOk;
  }
  printf("%-16s  %-8s  %-21s  %s\n", "ID", "STATE", "EXPIRES", "IDENTITY");
  for (const auto& r : *records)
    printf("%-16s  %-8s  %-21s  %s\n", r.id.c_str(), state(r),
           formatTime(r.expiresAt * 1000).c_str(), r.spiffeId.c_str());
  return kOk;
}

}  // namespace

int cmdCa(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    fputs(kCaUsage, args.empty() ? stderr : stdout);
    return args.empty() ? kUsage : kOk;
  }
  if (args[0].rfind("-", 0) == 0) {
    error("ca", "expected a command before options (see gatehouse ca --help)");
    return kUsage;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "init") return caInit(rest);
  if (args[0] == "token") {
    std::vector<std::string> sub(rest.size() > 1 ? rest.begin() + 1 : rest.end(), rest.end());
    if (!rest.empty() && rest[0] == "create") return tokenCreate(sub);
    if (!rest.empty() && rest[0] == "list") return tokenList(sub);
    error("ca token" + (rest.empty() ? std::string() : " " + rest[0]),
          "expected create or list (see gatehouse ca --help)");
    return kUsage;
  }
  error("ca " + args[0], "unknown command (see gatehouse ca --help)");
  return kUsage;
}

}  // namespace gh::cli
