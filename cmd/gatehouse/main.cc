// gatehouse: one binary, many subcommands (spec/cli.md). main() only dispatches.

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cmd/gatehouse/cli.h"
#include "core/config/model.h"
#include "core/script/script_set.h"

namespace {

const char kUsage[] =
    "usage: gatehouse <command> [options]\n"
    "\n"
    "Commands:\n"
    "  run        run the gateway in the foreground\n"
    "  apply      store resources from files as a new configuration version\n"
    "  validate   check resource files (for CI); needs no data dir and no server\n"
    "  get        print resources of the active version\n"
    "  diff       show what apply would change, or what changed between versions\n"
    "  delete     remove a resource as a new configuration version\n"
    "  history    list configuration versions and which one the server runs\n"
    "  rollback   make an old version's configuration active again\n"
    "  audit      list the audit log of configuration changes\n"
    "  backup     write a consistent copy of the configuration database\n"
    "  restore    bring back a configuration from a backup\n"
    "  ca         the mesh CA: create it, make join tokens\n"
    "  cert       this node's workload certificate: status, issue (on the CA node), renew\n"
    "  join       obtain this node's workload identity from the mesh CA with a join token\n"
    "  admin      admin UI accounts and API tokens\n"
    "  authz      explain an authorization decision; replay requests against draft policies\n"
    "  version    print version and build information\n"
    "\n"
    "Every command takes --help.\n";

struct Command {
  const char* name;
  int (*fn)(const std::vector<std::string>&);
};

const Command kCommands[] = {
    {"run", gh::cli::cmdRun},           {"apply", gh::cli::cmdApply},
    {"validate", gh::cli::cmdValidate}, {"get", gh::cli::cmdGet},
    {"diff", gh::cli::cmdDiff},         {"delete", gh::cli::cmdDelete},
    {"history", gh::cli::cmdHistory},   {"rollback", gh::cli::cmdRollback},
    {"audit", gh::cli::cmdAudit},       {"backup", gh::cli::cmdBackup},
    {"restore", gh::cli::cmdRestore},   {"version", gh::cli::cmdVersion},
    {"ca", gh::cli::cmdCa},             {"cert", gh::cli::cmdCert},
    {"admin", gh::cli::cmdAdmin},
    {"join", gh::cli::cmdJoin},         {"authz", gh::cli::cmdAuthz},
};

}  // namespace

int main(int argc, char** argv) {
  // LuaScript sources are compiled when decoded (validate, apply, the server's reloads), so a
  // syntax error is a file:line:column error like any other.
  gh::config::setLuaSyntaxChecker(&gh::script::luaSyntaxCheck);
  if (argc < 2) {
    fputs(kUsage, stderr);
    return gh::cli::kUsage;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    fputs(kUsage, stdout);
    return gh::cli::kOk;
  }
  if (name == "--version") name = "version";
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const Command& c : kCommands)
    if (name == c.name) return c.fn(args);
  gh::cli::error(name, "unknown command (see gatehouse --help)");
  return gh::cli::kUsage;
}
