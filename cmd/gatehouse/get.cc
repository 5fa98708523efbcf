// gatehouse get: resources of the active version.

#include <cstdio>

#include "cmd/gatehouse/cli.h"
#include "cmd/gatehouse/config_files.h"
#include "core/config/decode.h"

namespace gh::cli {

int cmdGet(const std::vector<std::string>& args) {
  Flags f("get", {{"output", 'o'}, {"namespace", 'n'}, {"data-dir"}},
          "usage: gatehouse get KIND [NAME] [-o yaml|json] [-n NAMESPACE] [--data-dir DIR]\n"
          "\n"
          "Prints resources of the active version: a table by default, or YAML/JSON that\n"
          "`gatehouse apply -f` takes back unchanged. KIND is listener, httproute, service,\n"
          "workload or meshconfig (singular or plural, any case). Without -n, every namespace\n"
          "is listed.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  const auto& pos = f.positional();
  if (pos.empty() || pos.size() > 2) {
    error("get", "needs KIND [NAME] (see --help)");
    return kUsage;
  }
  config::Kind kind;
  if (!config::parseKindName(pos[0], &kind)) {
    error("get: " + pos[0], "unknown kind (listener, httproute, service, workload, meshconfig)");
    return kUsage;
  }
  std::string output = f.get("output", "table");
  if (output != "table" && output != "yaml" && output != "json") {
    error("get: -o " + output, "expected yaml or json");
    return kUsage;
  }
  auto store = openStore(f.get("data-dir"), false);
  if (!store) return kUnavailable;
  int64_t version = 0;
  std::vector<config::Resource> all;
  if (!loadActive(*store, &version, &all)) return kUnavailable;

  std::vector<const config::Resource*> sel;
  for (const config::Resource& r : all) {
    if (r.kind != kind) continue;
    if (f.has("namespace") && r.meta.ns != f.get("namespace")) continue;
    if (pos.size() == 2 && r.meta.name != pos[1]) continue;
    sel.push_back(&r);
  }
  if (pos.size() == 2 && sel.empty()) {
    error("get: " + std::string(config::kindName(kind)) + " " + pos[1], "not found");
    return kProblem;
  }
  if (output == "yaml") {
    for (size_t i = 0; i < sel.size(); ++i) {
      if (i) fputs("---\n", stdout);
      fputs(config::toYaml(*sel[i]).c_str(), stdout);
    }
  } else if (output == "json") {
    if (sel.size() == 1 && pos.size() == 2) {
      printf("%s\n", sel[0]->json.c_str());
    } else {
      std::string out = "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[";
      for (size_t i = 0; i < sel.size(); ++i) {
        if (i) out += ',';
        out += sel[i]->json;
      }
      out += "]}\n";
      fputs(out.c_str(), stdout);
    }
  } else {
    printf("%-20s %-32s\n", "NAMESPACE", "NAME");
    for (const config::Resource* r : sel)
      printf("%-20s %-32s\n", r->meta.ns.c_str(), r->meta.name.c_str());
  }
  return kOk;
}

}  // namespace gh::cli
