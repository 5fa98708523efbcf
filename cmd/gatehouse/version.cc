// gatehouse version: version, build and linked library versions.

#include <cstdio>

#include "cmd/gatehouse/cli.h"
#include "core/server/versions.h"

namespace gh::cli {

int cmdVersion(const std::vector<std::string>& args) {
  Flags f("version", {}, "usage: gatehouse version\n\nPrints version and build information.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  printf("gatehouse %s\n", server::gatehouseVersion());
  printf("built: %s %s, %s, static\n", __DATE__, __TIME__, __VERSION__);
  for (const auto& [name, version] : server::linkedLibraryVersions())
    printf("  %-10s %s\n", name.c_str(), version.c_str());
  return kOk;
}

}  // namespace gh::cli
