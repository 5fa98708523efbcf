// gatehouse diff: what `apply -f` would change against the active version, or what changed
// between two stored versions, resource by resource and field by field (core/config/diff.h).
//
// Reads only: nothing is stored and no lock is taken beyond SQLite's read transaction. Exit 0
// whatever the diff; with --exit-code, 1 when there are differences (for scripts and CI).

#include "core/config/diff.h"

#include <cstdio>
#include <map>

#include "cmd/gatehouse/cli.h"
#include "cmd/gatehouse/config_files.h"
#include "core/base/strings.h"

namespace gh::cli {

int cmdDiff(const std::vector<std::string>& args) {
  Flags f("diff",
          {{"file", 'f', true, true},
           {"prune", 0, false},
           {"from"},
           {"to"},
           {"exit-code", 0, false},
           {"data-dir"}},
          "usage: gatehouse diff -f PATH [-f PATH]... [--prune] [--exit-code] [--data-dir DIR]\n"
          "       gatehouse diff --from VERSION [--to VERSION] [--exit-code] [--data-dir DIR]\n"
          "\n"
          "With -f: what `gatehouse apply -f PATH...` (with --prune: `apply --prune`) would\n"
          "change in the active version. With --from: what changed from one stored version to\n"
          "another (--to defaults to the active version). `+` created, `-` deleted, `~` changed,\n"
          "with one line per changed field: `spec.rules[0].backendRefs[1].weight: 90 -> 80`.\n"
          "Exit 0; with --exit-code, 1 when there is a difference.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  const std::vector<std::string> files = f.all("file");
  if (!f.positional().empty() || files.empty() == !f.has("from") ||
      (f.has("to") && !f.has("from")) || (f.has("prune") && files.empty())) {
    error("diff", "needs either -f PATH... or --from VERSION (see --help)");
    return kUsage;
  }
  auto version = [&](const char* flag, int64_t* out) {
    uint64_t n = 0;
    if (!str::parseU64(f.get(flag), &n) || n == 0 || n > INT64_MAX) {
      error(std::string("diff: --") + flag + " " + f.get(flag), "expected a version number");
      return false;
    }
    *out = static_cast<int64_t>(n);
    return true;
  };

  config::ConfigDiff diff;
  std::string heading;
  if (!files.empty()) {
    std::vector<config::Resource> given;
    if (!decodeFiles(files, &given)) return kProblem;
    std::unique_ptr<store::Store> store;
    int64_t active = 0;
    std::vector<config::Resource> current;
    // No database yet: everything would be created (as apply --dry-run reports it).
    if (storeExists(f.get("data-dir"))) {
      store = openStore(f.get("data-dir"), false);
      if (!store) return kUnavailable;
      if (!loadActive(*store, &active, &current)) return kUnavailable;
    }
    std::map<std::string, const config::Resource*> before, after;
    for (const config::Resource& r : current) before[config::resourceKey(r)] = &r;
    if (!f.has("prune")) after = before;
    for (const config::Resource& r : given) after[config::resourceKey(r)] = &r;
    std::vector<const config::Resource*> old, merged;
    for (auto& [key, r] : before) old.push_back(r);
    for (auto& [key, r] : after) merged.push_back(r);
    // What apply would refuse, it would not change: say so rather than show a diff.
    if (!validateSet(merged, "diff")) return kProblem;
    diff = config::diffResources(old, merged);
    heading = "version " + std::to_string(active) + " -> files";
  } else {
    int64_t from = 0, to = 0;
    if (!version("from", &from) || (f.has("to") && !version("to", &to))) return kUsage;
    auto store = openStore(f.get("data-dir"), false);
    if (!store) return kUnavailable;
    if (!f.has("to")) {
      auto active = store->activeVersion();
      if (!active.ok()) {
        error(active.status().message());
        return kUnavailable;
      }
      to = active.value();
    }
    std::vector<config::Resource> a, b;
    if (!loadVersion(*store, from, &a) || !loadVersion(*store, to, &b)) return kProblem;
    diff = config::diffResources(a, b);
    heading = "version " + std::to_string(from) + " -> version " + std::to_string(to);
  }
  printf("%s: %s\n%s", heading.c_str(), config::formatCounts(diff).c_str(),
         config::formatDiff(diff).c_str());
  return f.has("exit-code") && !diff.empty() ? kProblem : kOk;
}

}  // namespace gh::cli
