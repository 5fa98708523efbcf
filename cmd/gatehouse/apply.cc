// gatehouse apply: files -> one new configuration version (kubectl apply semantics).

#include <cstdio>
#include <map>

#include "cmd/gatehouse/cli.h"
#include "cmd/gatehouse/config_files.h"
#include "core/config/validate.h"

namespace gh::cli {

int cmdApply(const std::vector<std::string>& args) {
  Flags f("apply",
          {{"file", 'f', true, true}, {"data-dir"}, {"prune", 0, false}, {"dry-run", 0, false},
           {"message", 'm'}},
          "usage: gatehouse apply -f PATH [-f PATH]... [--prune] [--dry-run] [--message TEXT]\n"
          "                       [--data-dir DIR]\n"
          "\n"
          "Decodes and validates every resource in the files (YAML or JSON, several documents\n"
          "per file; directories are recursed; - is standard input) and stores them as one new\n"
          "configuration version, atomically. Given resources are created or replaced, others\n"
          "are kept; with --prune the new version holds exactly the given set. --dry-run prints\n"
          "what would change and stores nothing. A running server picks the version up within\n"
          "a second. One invalid resource rejects the whole version.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  std::vector<std::string> files = f.all("file");
  if (files.empty() || !f.positional().empty()) {
    error("apply", "needs -f PATH (see --help)");
    return kUsage;
  }
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

  std::map<std::string, const config::Resource*> before, after;
  for (const config::Resource& r : active) before[resourceKey(r)] = &r;
  if (!f.has("prune")) after = before;
  for (const config::Resource& r : given) after[resourceKey(r)] = &r;

  // The merged set must be valid as a whole (a kept route may name a service the files drop).
  std::vector<config::Resource> merged;
  for (auto& [key, r] : after) merged.push_back(*r);
  std::vector<config::Diagnostic> diags;
  if (!config::validate(merged, &diags)) {
    for (const config::Diagnostic& d : diags) error(d.format());
    return kProblem;
  }

  int created = 0, configured = 0, unchanged = 0, pruned = 0;
  std::string changes;
  for (auto& [key, r] : after) {
    auto it = before.find(key);
    if (it == before.end()) {
      ++created;
      changes += "  + " + key + "\n";
    } else if (it->second->json != r->json) {
      ++configured;
      changes += "  ~ " + key + "\n";
    } else {
      ++unchanged;
    }
  }
  for (auto& [key, r] : before) {
    if (!after.count(key)) {
      ++pruned;
      changes += "  - " + key + "\n";
    }
  }
  if (dryRun) {
    printf("dry run against version %lld: %d created, %d configured, %d unchanged, %d deleted\n%s",
           static_cast<long long>(base), created, configured, unchanged, pruned, changes.c_str());
    return kOk;
  }
  std::vector<store::StoredResource> stored;
  for (auto& [key, r] : after)
    stored.push_back({config::kindName(r->kind), r->meta.ns, r->meta.name, r->json});
  std::string message = f.get("message", "gatehouse apply");
  store::CommitInfo info;
  info.author = osUser();
  info.message = message;
  info.baseVersion = base;
  auto v = store->commit(stored, info);
  if (!v.ok()) {
    error("apply", v.status().message());
    return v.status().message().rfind("conflict", 0) == 0 ? kProblem : kUnavailable;
  }
  if (v.value() == base) {
    printf("no change: version %lld is active\n", static_cast<long long>(base));
  } else {
    printf("applied version %lld: %d created, %d configured, %d unchanged, %d deleted\n%s",
           static_cast<long long>(v.value()), created, configured, unchanged, pruned,
           changes.c_str());
  }
  return kOk;
}

}  // namespace gh::cli
