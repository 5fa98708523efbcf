// gatehouse apply: files -> one new configuration version (kubectl apply semantics).
//
// The given resources are created or replaced and the others kept (with --prune the new version
// holds exactly the given set); the merged set is validated whole; --dry-run prints the diff
// and stores nothing. The write is based on the active version read here (or --base-version)
// and is refused as a conflict when another version became active meanwhile, unless --force.

#include <cstdio>

#include "cmd/gatehouse/cli.h"
#include "cmd/gatehouse/config_files.h"
#include "core/change/change.h"
#include "core/config/diff.h"

namespace gh::cli {

int cmdApply(const std::vector<std::string>& args) {
  std::vector<Flags::Spec> specs = {
      {"file", 'f', true, true}, {"data-dir"}, {"prune", 0, false}, {"dry-run", 0, false}};
  specs.insert(specs.end(), kWriteFlags.begin(), kWriteFlags.end());
  Flags f("apply", specs,
          "usage: gatehouse apply -f PATH [-f PATH]... [--prune] [--dry-run] [--message TEXT]\n"
          "                       [--base-version N] [--force] [--data-dir DIR]\n"
          "\n"
          "Decodes and validates every resource in the files (YAML or JSON, several documents\n"
          "per file; directories are recursed; - is standard input) and stores them as one new\n"
          "configuration version, atomically. Given resources are created or replaced, others\n"
          "are kept; with --prune the new version holds exactly the given set. --dry-run prints\n"
          "what would change, field by field, and stores nothing. A running server picks the\n"
          "version up within a second. One invalid resource rejects the whole version.\n"
          "\n"
          "  --base-version N  the version this change was decided on (default: the active\n"
          "                    version read now); refused if another version is active\n"
          "  --force           store the version even if the active version moved\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  std::vector<std::string> files = f.all("file");
  if (files.empty() || !f.positional().empty()) {
    error("apply", "needs -f PATH (see --help)");
    return kUsage;
  }
  WriteOptions opts;
  if (!parseWriteOptions(f, "apply", &opts)) return kUsage;
  std::vector<config::Resource> given;
  if (!decodeFiles(files, &given)) return kProblem;

  // A dry run against a data dir without a database compares with an empty configuration
  // (so "validate, dry-run, apply" works before the very first apply) and creates nothing.
  bool dryRun = f.has("dry-run");
  std::unique_ptr<store::Store> store;
  int64_t base = 0;
  std::vector<config::Resource> active;
  if (!dryRun || storeExists(f.get("data-dir"))) {
    store = openStore(f.get("data-dir"), !dryRun);
    if (!store) return kUnavailable;
    if (!loadActive(*store, &base, &active)) return kUnavailable;
  }
  if (int rc = checkBase("apply", opts, base); rc != kOk) return rc;

  // The merged set must be valid as a whole (a kept route may name a service the files drop).
  std::vector<const config::Resource*> merged = change::mergeApply(active, given, f.has("prune"));
  std::vector<const config::Resource*> old;
  for (const config::Resource& r : active) old.push_back(&r);
  if (!validateSet(merged)) return kProblem;

  config::ConfigDiff diff = config::diffResources(old, merged);
  if (dryRun) {
    printf("dry run against version %lld: %s\n%s", static_cast<long long>(base),
           config::formatCounts(diff).c_str(), config::formatDiff(diff).c_str());
    return kOk;
  }
  Outcome outcome{"apply", "applied", "apply", f.has("prune") ? "apply --prune" : "",
                  "gatehouse apply"};
  return commitSet(*store, merged, diff, base, opts, outcome);
}

}  // namespace gh::cli
