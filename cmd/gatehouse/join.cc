// gatehouse join: a new node obtains its workload identity from the mesh CA (spec/mesh.md
// "Enrollment", docs/identity.md).
//
//   join --ca HOST:PORT --token TOKEN [--force]
//
// The token (`gatehouse ca token create` on the CA node) pins the CA: the node checks the CA's
// certificate against it before sending anything. The key is made here and never leaves
// DATA_DIR/identity/. Exit codes (spec/cli.md): 0 joined; 1 refused (by the CA, an expired
// token, a CA that is not the pinned one, an identity already here without --force); 2 usage;
// 3 the CA cannot be reached or the data dir cannot be written.

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>

#include "cmd/gatehouse/cert_output.h"
#include "cmd/gatehouse/cli.h"
#include "core/identity/enrollment_client.h"
#include "core/identity/workload.h"
#include "core/server/server.h"

namespace gh::cli {

int cmdJoin(const std::vector<std::string>& args) {
  Flags f("join", {{"ca"}, {"token"}, {"force", 0, false}, {"data-dir"}},
          "usage: gatehouse join --ca HOST:PORT --token TOKEN [--force] [--data-dir DIR]\n"
          "\n"
          "Joins the mesh: connects to the CA node's enrollment port (MeshConfig.caAddress,\n"
          "default 15012), checks that the CA is the one the token pins (its SHA-256) before\n"
          "sending anything, generates this node's key locally, and stores the workload\n"
          "certificate and the trust bundle in DATA_DIR/identity/, with the CA address for\n"
          "renewal. The token comes from `gatehouse ca token create` on the CA node and works\n"
          "once; --token - reads it from standard input (keeps it out of the process list).\n"
          "HOST may be a name, an IPv4 address or [IPv6]. Replacing an identity the node\n"
          "already has needs --force.\n"
          "Exits 1 when refused (the CA said no, the token expired, or the CA is not the pinned\n"
          "one), 2 for usage errors, 3 when the CA cannot be reached or the data dir written.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  if (!f.positional().empty()) {
    error("join: " + f.positional().front(), "unexpected argument");
    return kUsage;
  }
  if (!f.has("ca") || !f.has("token")) {
    error("join", "--ca HOST:PORT and --token TOKEN are required");
    return kUsage;
  }
  const std::string address = f.get("ca");
  std::string token = f.get("token");
  if (token == "-") {
    if (!std::getline(std::cin, token)) token.clear();
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.empty()) {
      error("join: --token -", "no token on standard input");
      return kUsage;
    }
  }
  const std::string dataDir = server::resolveDataDir(f.get("data-dir"));
  const std::string idDir = dataDir + "/identity";
  if (identity::WorkloadIdentity::existsIn(idDir) && !f.has("force")) {
    auto current = identity::WorkloadIdentity::load(idDir);
    error("join", "this node already has a workload identity (" +
                      (current.ok() ? current->id.uri() : "in " + idDir) +
                      "); --force replaces it");
    return kProblem;
  }
  identity::EnrollmentFailure why = identity::EnrollmentFailure::kNone;
  auto joined = identity::joinMesh(address, token, idDir, time(nullptr), &why);
  if (!joined.ok()) {
    error("join", joined.status().message());
    return exitFor(why);
  }
  const int64_t now = time(nullptr);
  printIssued("joined as", *joined, now);
  for (const auto& root : joined->bundle)
    printf("CA:        %s (sha256:%s)\n", address.c_str(), root.sha256Hex.c_str());
  return kOk;
}

}  // namespace gh::cli
