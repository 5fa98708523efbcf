#include "cmd/gatehouse/config_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "core/base/strings.h"
#include "core/change/change.h"
#include "core/config/decode.h"
#include "core/server/server.h"

namespace gh::cli {

bool decodeFiles(const std::vector<std::string>& paths, std::vector<config::Resource>* out) {
  std::vector<config::Diagnostic> diags;
  bool ok = config::decodePaths(paths, out, &diags);
  for (const config::Diagnostic& d : diags) error(d.format());
  return ok && diags.empty();
}

std::unique_ptr<store::Store> openStore(const std::string& dataDirFlag, bool create) {
  std::string dir = server::resolveDataDir(dataDirFlag);
  if (create && mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    error("data dir " + dir, strerror(errno));
    return nullptr;
  }
  auto st = store::Store::open(dir + "/config.db", create);
  if (!st.ok()) {
    error(st.status().message());
    return nullptr;
  }
  return std::move(st.value());
}

bool storeExists(const std::string& dataDirFlag) {
  struct stat st;
  return stat((server::resolveDataDir(dataDirFlag) + "/config.db").c_str(), &st) == 0;
}

bool decodeStored(int64_t version, const std::vector<store::StoredResource>& stored,
                  std::vector<config::Resource>* out) {
  std::vector<config::Diagnostic> diags;
  change::decodeStored(version, stored, out, &diags);
  for (const config::Diagnostic& d : diags) error(d.format());
  return diags.empty();
}

bool loadVersion(store::Store& store, int64_t id, std::vector<config::Resource>* out) {
  auto stored = store.loadVersion(id);
  if (!stored.ok()) {
    error(stored.status().message());
    return false;
  }
  return decodeStored(id, stored.value(), out);
}

bool loadActive(store::Store& store, int64_t* version, std::vector<config::Resource>* out) {
  auto v = store.activeVersion();
  if (!v.ok()) {
    error(v.status().message());
    return false;
  }
  *version = v.value();
  if (v.value() == 0) return true;
  return loadVersion(store, v.value(), out);
}

bool validateSet(const std::vector<const config::Resource*>& set, const std::string& what) {
  std::vector<config::Diagnostic> diags;
  if (change::validateSet(set, &diags)) return true;
  if (!what.empty()) error(what, "refused: the configuration would not be valid");
  for (const config::Diagnostic& d : diags) error(d.format());
  return false;
}

bool parseWriteOptions(const Flags& f, const std::string& command, WriteOptions* out) {
  if (f.has("base-version")) {
    uint64_t n = 0;
    if (!str::parseU64(f.get("base-version"), &n) || n > INT64_MAX) {
      error(command + ": --base-version " + f.get("base-version"), "expected a version number");
      return false;
    }
    out->base = static_cast<int64_t>(n);
  }
  out->force = f.has("force");
  out->message = f.get("message");
  return true;
}

namespace {

std::string conflictAdvice(const std::string& command) {
  return "nothing was written; review the active version (gatehouse history, gatehouse diff) "
         "and run " +
         command + " again, or add --force to replace it";
}

}  // namespace

int checkBase(const std::string& command, const WriteOptions& opts, int64_t active) {
  if (opts.force || opts.base < 0 || opts.base == active) return kOk;
  error(command, std::string(store::kConflictPrefix) + "the change is based on version " +
                     std::to_string(opts.base) + " but version " + std::to_string(active) +
                     " is active; " + conflictAdvice(command));
  return kProblem;
}

int commitSet(store::Store& store, const std::vector<const config::Resource*>& set,
              const config::ConfigDiff& diff, int64_t activeRead, const WriteOptions& opts,
              const Outcome& outcome) {
  change::CommitRequest request;
  request.author = osUser();
  request.message = opts.message.empty() ? outcome.defaultMessage : opts.message;
  // Without --force the change is based on what was read (or on --base-version, which
  // checkBase already found equal to it): a version committed by someone else since then
  // makes this a conflict, decided under the write lock.
  request.base = opts.force ? -1 : activeRead;
  request.source = cliSource();
  request.action = outcome.action;
  request.summaryLead = outcome.summary;
  auto v = change::commitSet(store, set, diff, request);
  if (!v.ok()) {
    if (store::isConflict(v.status())) {
      error(outcome.command, v.status().message() + "; " + conflictAdvice(outcome.command));
      return kProblem;
    }
    error(outcome.command, v.status().message());
    return kUnavailable;
  }
  if (v.value() == activeRead) {
    printf("no change: version %lld is active\n", static_cast<long long>(activeRead));
    return kOk;
  }
  printf("%s version %lld: %s\n%s", outcome.verb.c_str(), static_cast<long long>(v.value()),
         config::formatCounts(diff).c_str(), config::formatDiff(diff).c_str());
  return kOk;
}

std::string hostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string cliSource() {
  return "cli pid " + std::to_string(getpid()) + " on host " + hostName();
}

std::string formatTime(int64_t unixMs) {
  time_t seconds = static_cast<time_t>(unixMs / 1000);
  struct tm t;
  gmtime_r(&seconds, &t);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &t);
  return buf;
}

std::string quoteJson(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace gh::cli
