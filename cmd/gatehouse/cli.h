#pragma once
// Shared plumbing of the subcommands: flag parsing and the error conventions of spec/cli.md
// (one line per problem on stderr, "gatehouse: <what>: <why>"; exit 0 ok, 1 problem found,
// 2 usage, 3 cannot open/reach what is needed).

#include <string>
#include <string_view>
#include <vector>

namespace gh::cli {

enum Exit { kOk = 0, kProblem = 1, kUsage = 2, kUnavailable = 3 };

// A minimal getopt-long: "--name value", "--name=value", "-n value", boolean "--flag";
// repeatable options collect every value. Unknown options are usage errors.
class Flags {
 public:
  struct Spec {
    std::string longName;   // "data-dir"
    char shortName = 0;     // 'f'
    bool takesValue = true;
    bool repeatable = false;
  };

  Flags(std::string command, std::vector<Spec> specs, std::string usage)
      : command_(std::move(command)), specs_(std::move(specs)), usage_(std::move(usage)) {}

  // Parses args (after the subcommand name). On error prints it with the usage and returns
  // false. `--help`/`-h` prints the usage and sets helpRequested().
  bool parse(const std::vector<std::string>& args);
  bool helpRequested() const { return help_; }

  bool has(std::string_view name) const;
  std::string get(std::string_view name, std::string def = "") const;
  std::vector<std::string> all(std::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  const std::string& usage() const { return usage_; }

 private:
  const Spec* find(std::string_view longName, char shortName) const;
  std::string command_;
  std::vector<Spec> specs_;
  std::string usage_;
  std::vector<std::pair<std::string, std::string>> values_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

// "gatehouse: <what>: <why>" on stderr.
void error(std::string_view what, std::string_view why = {});

// The OS user running the command (the author of versions made by the CLI).
std::string osUser();

int cmdRun(const std::vector<std::string>& args);
int cmdApply(const std::vector<std::string>& args);
int cmdValidate(const std::vector<std::string>& args);
int cmdGet(const std::vector<std::string>& args);
int cmdHistory(const std::vector<std::string>& args);
int cmdRollback(const std::vector<std::string>& args);
int cmdDiff(const std::vector<std::string>& args);
int cmdDelete(const std::vector<std::string>& args);
int cmdAudit(const std::vector<std::string>& args);
int cmdBackup(const std::vector<std::string>& args);
int cmdRestore(const std::vector<std::string>& args);
int cmdVersion(const std::vector<std::string>& args);
int cmdCa(const std::vector<std::string>& args);
int cmdCert(const std::vector<std::string>& args);
int cmdJoin(const std::vector<std::string>& args);
int cmdAdmin(const std::vector<std::string>& args);
int cmdAuthz(const std::vector<std::string>& args);

}  // namespace gh::cli
