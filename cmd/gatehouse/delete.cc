// gatehouse delete KIND NAME: removes one resource, as a new version.
//
// The rest of the configuration must stay valid without it: deleting a Service that a route
// still sends traffic to, or a Listener a route is attached to, is refused with the references
// that stand in the way (validation of the remaining set, the same checks apply makes). Based
// on the active version read here, refused as a conflict if it moved, unless --force.

#include <cstdio>

#include "cmd/gatehouse/cli.h"
#include "cmd/gatehouse/config_files.h"
#include "core/config/diff.h"

namespace gh::cli {

int cmdDelete(const std::vector<std::string>& args) {
  std::vector<Flags::Spec> specs = {{"namespace", 'n'}, {"data-dir"}, {"dry-run", 0, false}};
  specs.insert(specs.end(), kWriteFlags.begin(), kWriteFlags.end());
  Flags f("delete", specs,
          "usage: gatehouse delete KIND NAME [-n NAMESPACE] [--message TEXT] [--dry-run]\n"
          "                        [--base-version N] [--force] [--data-dir DIR]\n"
          "\n"
          "Removes the resource as a new configuration version. KIND is listener, httproute,\n"
          "service, workload or meshconfig (singular or plural, any case); NAMESPACE defaults\n"
          "to `default`. Refused when other resources still refer to it (the remaining\n"
          "configuration must be valid) and when another version became active since it was\n"
          "read (unless --force).\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  const auto& pos = f.positional();
  if (pos.size() != 2) {
    error("delete", "needs KIND NAME (see --help)");
    return kUsage;
  }
  config::Kind kind;
  if (!config::parseKindName(pos[0], &kind)) {
    error("delete: " + pos[0], "unknown kind (listener, httproute, service, workload, meshconfig)");
    return kUsage;
  }
  WriteOptions opts;
  if (!parseWriteOptions(f, "delete", &opts)) return kUsage;
  const std::string ns = f.get("namespace", "default");
  const std::string name = std::string(config::kindName(kind)) + " " + ns + "/" + pos[1];

  auto store = openStore(f.get("data-dir"), false);
  if (!store) return kUnavailable;
  int64_t active = 0;
  std::vector<config::Resource> current;
  if (!loadActive(*store, &active, &current)) return kUnavailable;
  if (int rc = checkBase("delete", opts, active); rc != kOk) return rc;

  std::vector<const config::Resource*> before, after;
  bool found = false;
  for (const config::Resource& r : current) {
    before.push_back(&r);
    if (r.kind == kind && r.meta.ns == ns && r.meta.name == pos[1]) {
      found = true;
    } else {
      after.push_back(&r);
    }
  }
  if (!found) {
    error("delete " + name, "not found in the active version " + std::to_string(active));
    return kProblem;
  }
  if (!validateSet(after, "delete " + name)) return kProblem;

  config::ConfigDiff diff = config::diffResources(before, after);
  if (f.has("dry-run")) {
    printf("dry run against version %lld: %s\n%s", static_cast<long long>(active),
           config::formatCounts(diff).c_str(), config::formatDiff(diff).c_str());
    return kOk;
  }
  Outcome outcome{"delete", "deleted " + name + " in", "delete", "delete " + name,
                  "gatehouse delete " + name};
  return commitSet(*store, after, diff, active, opts, outcome);
}

}  // namespace gh::cli
