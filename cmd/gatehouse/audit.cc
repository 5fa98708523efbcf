// gatehouse audit: the append-only log of configuration changes, newest first.
//
// Every change path writes it in the transaction that makes the version (store.h), so the log
// and history cannot disagree. This command only reads: no command changes or deletes an
// entry, and the database refuses it to anyone else (triggers), so what is listed here is what
// happened.

#include <cstdio>

#include "cmd/gatehouse/cli.h"
#include "cmd/gatehouse/config_files.h"
#include "core/base/strings.h"

namespace gh::cli {

int cmdAudit(const std::vector<std::string>& args) {
  Flags f("audit", {{"limit"}, {"output", 'o'}, {"data-dir"}},
          "usage: gatehouse audit [--limit N] [-o table|json] [--data-dir DIR]\n"
          "\n"
          "Lists the audit log, newest first: when (UTC), who (the OS user for the CLI), the\n"
          "action (apply, delete, rollback, restore, prune, init, migrate), the active version\n"
          "before and after, where the change came from, and what it changed. The log is\n"
          "append-only: no command edits it. --limit N shows the newest N (default 50; 0 for\n"
          "all).\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  if (!f.positional().empty()) {
    error("audit: " + f.positional().front(), "unexpected argument");
    return kUsage;
  }
  uint64_t limit = 50;
  if (f.has("limit") && !str::parseU64(f.get("limit"), &limit)) {
    error("audit: --limit " + f.get("limit"), "expected a number");
    return kUsage;
  }
  std::string output = f.get("output", "table");
  if (output != "table" && output != "json") {
    error("audit: -o " + output, "expected table or json");
    return kUsage;
  }
  auto store = openStore(f.get("data-dir"), false);
  if (!store) return kUnavailable;
  auto entries = store->auditLog(limit == 0 ? -1 : static_cast<int64_t>(limit));
  if (!entries.ok()) {
    error(entries.status().message());
    return kUnavailable;
  }

  if (output == "json") {
    std::string out = "[";
    for (size_t i = 0; i < entries->size(); ++i) {
      const store::AuditEntry& e = (*entries)[i];
      if (i) out += ',';
      out += "{\"id\":" + std::to_string(e.id) + ",\"time\":" + quoteJson(formatTime(e.atUnixMs)) +
             ",\"timeMs\":" + std::to_string(e.atUnixMs) + ",\"actor\":" + quoteJson(e.actor) +
             ",\"source\":" + quoteJson(e.source) + ",\"action\":" + quoteJson(e.action) +
             ",\"versionBefore\":" + std::to_string(e.versionBefore) +
             ",\"versionAfter\":" + std::to_string(e.versionAfter) +
             ",\"summary\":" + quoteJson(e.summary) + "}";
    }
    out += "]\n";
    fputs(out.c_str(), stdout);
    return kOk;
  }
  printf("%-6s %-21s %-14s %-9s %-11s %-34s %s\n", "ID", "TIME", "ACTOR", "ACTION", "VERSIONS",
         "SOURCE", "SUMMARY");
  for (const store::AuditEntry& e : *entries) {
    const std::string versions =
        std::to_string(e.versionBefore) + " -> " + std::to_string(e.versionAfter);
    printf("%-6lld %-21s %-14s %-9s %-11s %-34s %s\n", static_cast<long long>(e.id),
           formatTime(e.atUnixMs).c_str(), e.actor.c_str(), e.action.c_str(), versions.c_str(),
           e.source.c_str(), e.summary.c_str());
  }
  return kOk;
}

}  // namespace gh::cli
