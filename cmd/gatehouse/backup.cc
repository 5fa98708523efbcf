// gatehouse backup FILE: a consistent copy of the whole configuration database.
//
// Uses SQLite's online backup API under one read transaction (store.h: backupTo), so it may run
// while a server serves and other commands apply: the copy holds exactly the versions committed
// when it started, never half of one, and nobody waits for it. The copy is complete (history,
// audit log) and is written beside FILE, checked, and renamed over it when done, so FILE is
// never a partial copy, and an older backup there is replaced only by a complete new one.

#include <cstdio>

#include "cmd/gatehouse/cli.h"
#include "cmd/gatehouse/config_files.h"
#include "core/server/server.h"

namespace gh::cli {

int cmdBackup(const std::vector<std::string>& args) {
  Flags f("backup", {{"data-dir"}},
          "usage: gatehouse backup FILE [--data-dir DIR]\n"
          "\n"
          "Writes a consistent copy of DATA_DIR/config.db (every version in history and the\n"
          "audit log) to FILE, replacing FILE if it exists. Safe while the server runs and\n"
          "while others apply. `gatehouse restore FILE` brings a configuration back.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  if (f.positional().size() != 1 || f.positional()[0] == "-") {
    error("backup", "needs one FILE (see --help)");
    return kUsage;
  }
  const std::string file = f.positional()[0];
  auto store = openStore(f.get("data-dir"), false);
  if (!store) return kUnavailable;
  auto copy = store->backupTo(file);
  if (!copy.ok()) {
    error(copy.status().message());
    return kUnavailable;
  }
  printf("backed up %s/config.db to %s: active version %lld, %lld versions in history\n",
         server::resolveDataDir(f.get("data-dir")).c_str(), file.c_str(),
         static_cast<long long>(copy->activeVersion), static_cast<long long>(copy->versions));
  return kOk;
}

}  // namespace gh::cli
