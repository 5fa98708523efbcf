// gatehouse rollback VERSION: makes an old version's configuration active again, as a new
// version.
//
// History is never rewritten: rolling back to version 3 from version 7 creates version 8 whose
// content (and so hash) equals version 3's, with an audit entry "rollback". The old set is
// validated again first, by this build's rules, so a rollback cannot bring back something the
// server would refuse. Like every write it is based on the active version read here and
// refused if another became active meanwhile (unless --force).

#include <cstdio>

#include "cmd/gatehouse/cli.h"
#include "cmd/gatehouse/config_files.h"
#include "core/base/strings.h"
#include "core/config/diff.h"

namespace gh::cli {

int cmdRollback(const std::vector<std::string>& args) {
  std::vector<Flags::Spec> specs = {{"data-dir"}, {"dry-run", 0, false}};
  specs.insert(specs.end(), kWriteFlags.begin(), kWriteFlags.end());
  Flags f("rollback", specs,
          "usage: gatehouse rollback VERSION [--message TEXT] [--dry-run] [--base-version N]\n"
          "                          [--force] [--data-dir DIR]\n"
          "\n"
          "Makes VERSION's configuration active again by storing it as a new version (history\n"
          "is kept; `gatehouse history` lists the versions). Prints what changes, field by\n"
          "field; --dry-run prints it and stores nothing. Refused when another version became\n"
          "active since it was read (or since --base-version N), unless --force.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  uint64_t target = 0;
  if (f.positional().size() != 1 || !str::parseU64(f.positional()[0], &target) || target == 0) {
    error("rollback", "needs one VERSION, a number (see gatehouse history)");
    return kUsage;
  }
  WriteOptions opts;
  if (!parseWriteOptions(f, "rollback", &opts)) return kUsage;
  auto store = openStore(f.get("data-dir"), false);
  if (!store) return kUnavailable;
  int64_t active = 0;
  std::vector<config::Resource> current;
  if (!loadActive(*store, &active, &current)) return kUnavailable;
  if (int rc = checkBase("rollback", opts, active); rc != kOk) return rc;

  const int64_t version = static_cast<int64_t>(target);
  std::vector<config::Resource> old;
  if (!loadVersion(*store, version, &old)) return kProblem;
  std::vector<const config::Resource*> set, now;
  for (const config::Resource& r : old) set.push_back(&r);
  for (const config::Resource& r : current) now.push_back(&r);
  const std::string what = "rollback to version " + std::to_string(version);
  if (!validateSet(set, what)) return kProblem;

  config::ConfigDiff diff = config::diffResources(now, set);
  if (f.has("dry-run")) {
    printf("dry run: rollback from version %lld to version %lld: %s\n%s",
           static_cast<long long>(active), static_cast<long long>(version),
           config::formatCounts(diff).c_str(), config::formatDiff(diff).c_str());
    return kOk;
  }
  Outcome outcome{"rollback", "rolled back to version " + std::to_string(version) + " as",
                  "rollback", what, what};
  return commitSet(*store, set, diff, active, opts, outcome);
}

}  // namespace gh::cli
