// gatehouse history: the versions in the data dir, newest first, with which one the server
// actually runs.
//
// "Active" is the newest version, the one every new `gatehouse run` starts from; "running" is
// what the server of this data dir serves, as it recorded after its last successful reload.
// They differ while a reload is pending (under a second) and after the server refused a version
// (it failed to compile or to start: a port in use); history then shows the refusal and its
// reason under that version, and `*` on the version still serving.

#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <map>

#include "cmd/gatehouse/cli.h"
#include "cmd/gatehouse/config_files.h"
#include "core/base/strings.h"

namespace gh::cli {
namespace {

// Whether the server recorded in the runtime row is still alive. Only a process on this host
// can be checked; one recorded from another host (a data dir on shared storage) is believed.
bool serverAlive(const store::RuntimeState& state) {
  if (state.runningVersion == 0 || state.pid <= 0) return false;
  if (state.host != hostName()) return true;
  return kill(static_cast<pid_t>(state.pid), 0) == 0 || errno == EPERM;
}

}  // namespace

int cmdHistory(const std::vector<std::string>& args) {
  Flags f("history", {{"limit"}, {"output", 'o'}, {"data-dir"}},
          "usage: gatehouse history [--limit N] [-o table|json] [--data-dir DIR]\n"
          "\n"
          "Lists the configuration versions, newest first: id, time (UTC), author, resource\n"
          "count and message. `*` marks the version the server of this data dir is running;\n"
          "a version the server refused (it did not compile or could not start, e.g. a port\n"
          "in use) shows the reason. --limit N shows the newest N (default 20; 0 for all).\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  if (!f.positional().empty()) {
    error("history: " + f.positional().front(), "unexpected argument");
    return kUsage;
  }
  uint64_t limit = 20;
  if (f.has("limit") && !str::parseU64(f.get("limit"), &limit)) {
    error("history: --limit " + f.get("limit"), "expected a number");
    return kUsage;
  }
  std::string output = f.get("output", "table");
  if (output != "table" && output != "json") {
    error("history: -o " + output, "expected table or json");
    return kUsage;
  }
  auto store = openStore(f.get("data-dir"), false);
  if (!store) return kUnavailable;
  auto versions = store->history(limit == 0 ? -1 : static_cast<int64_t>(limit));
  auto all = store->history(-1);
  auto state = store->runtime();
  auto refused = store->refusals();
  for (const Status* s : {&versions.status(), &all.status(), &state.status(), &refused.status()}) {
    if (!s->ok()) {
      error(s->message());
      return kUnavailable;
    }
  }
  const bool alive = serverAlive(*state);
  const int64_t running = alive ? state->runningVersion : 0;
  const int64_t active = all->empty() ? 0 : all->front().id;
  std::map<int64_t, std::string> reasons;
  for (const store::Refusal& r : *refused) reasons[r.version] = r.reason;

  if (output == "json") {
    std::string out = "{\"active\":" + std::to_string(active) +
                      ",\"running\":" + (alive ? std::to_string(running) : "null") + ",\"server\":";
    out += alive ? "{\"pid\":" + std::to_string(state->pid) +
                       ",\"host\":" + quoteJson(state->host) + "}"
                 : "null";
    out += ",\"versions\":[";
    for (size_t i = 0; i < versions->size(); ++i) {
      const store::VersionInfo& v = (*versions)[i];
      if (i) out += ',';
      auto reason = reasons.find(v.id);
      out += "{\"id\":" + std::to_string(v.id) +
             ",\"createdAt\":" + quoteJson(formatTime(v.createdAtUnixMs)) +
             ",\"createdAtMs\":" + std::to_string(v.createdAtUnixMs) +
             ",\"author\":" + quoteJson(v.author) + ",\"message\":" + quoteJson(v.message) +
             ",\"hash\":" + quoteJson(v.hash) +
             ",\"resources\":" + std::to_string(v.resourceCount) +
             ",\"running\":" + (v.id == running ? "true" : "false") +
             ",\"refused\":" + (reason == reasons.end() ? "null" : quoteJson(reason->second)) + "}";
    }
    out += "]}\n";
    fputs(out.c_str(), stdout);
    return kOk;
  }

  if (active == 0) {
    printf("no versions yet (gatehouse apply -f FILE creates the first)\n");
  } else if (alive) {
    printf("active version %lld; the server (pid %lld on %s) runs version %lld\n",
           static_cast<long long>(active), static_cast<long long>(state->pid), state->host.c_str(),
           static_cast<long long>(running));
  } else {
    printf("active version %lld; no server is running on this data dir\n",
           static_cast<long long>(active));
  }
  if (versions->empty()) return kOk;
  printf("   %-8s %-21s %-16s %-9s  %s\n", "VERSION", "CREATED", "AUTHOR", "RESOURCES", "MESSAGE");
  for (const store::VersionInfo& v : *versions) {
    printf("%s  %-8lld %-21s %-16s %-9lld  %s\n", v.id == running ? "*" : " ",
           static_cast<long long>(v.id), formatTime(v.createdAtUnixMs).c_str(), v.author.c_str(),
           static_cast<long long>(v.resourceCount), v.message.c_str());
    if (auto reason = reasons.find(v.id); reason != reasons.end())
      printf("   %-8s refused by the server: %s\n", "", reason->second.c_str());
  }
  if (all->size() > versions->size()) {
    printf("(%zu older versions not shown; --limit 0 shows all)\n", all->size() - versions->size());
  }
  return kOk;
}

}  // namespace gh::cli
