// gatehouse restore FILE: brings back a configuration from a backup (gatehouse backup).
//
// Two ways, for two situations:
//
//   restore FILE [--version N]   The usual one. The backup's active version (or version N of
//                                its history) is validated and committed here as a NEW version,
//                                with an audit entry "restore" naming the file. History and the
//                                audit log stay append-only, nothing is replaced underneath
//                                anyone, and a running server picks the version up like any
//                                other apply. Based on the active version, refused as a
//                                conflict if it moved (unless --force).
//
//   restore FILE --replace       Disaster recovery: the database itself is replaced by the
//                                backup (its history and audit log), e.g. when config.db is
//                                corrupt and the server refuses to start. Only with no server
//                                running on the data dir (it takes DATA_DIR/run.lock, as
//                                `gatehouse run` does). The previous file is kept beside it as
//                                config.db.replaced-TIME, and the restored log gets an entry
//                                saying what happened.
//
// The backup file is never modified: it is first copied (online backup API, read-only) to a
// temporary file, and only the copy is opened, checked and, if it is from an older gatehouse,
// migrated.

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "cmd/gatehouse/cli.h"
#include "cmd/gatehouse/config_files.h"
#include "core/base/strings.h"
#include "core/config/diff.h"
#include "core/server/server.h"

namespace gh::cli {
namespace {

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// A database file and its WAL companions, removed when the owner goes out of scope.
struct TemporaryDatabase {
  std::string path;
  ~TemporaryDatabase() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((path + suffix).c_str());
  }
};

std::string timestamp() {
  time_t now = time(nullptr);
  struct tm t;
  gmtime_r(&now, &t);
  char buf[32];
  strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &t);
  return buf;
}

int replaceDatabase(const std::string& file, const std::string& dataDirFlag) {
  const std::string dir = server::resolveDataDir(dataDirFlag);
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    error("data dir " + dir, strerror(errno));
    return kUnavailable;
  }
  // The lock `gatehouse run` holds for its whole life: with it, no server can start (or be
  // running) on this data dir while the file is swapped.
  const std::string lockPath = dir + "/run.lock";
  int lock = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0) {
    error(lockPath, strerror(errno));
    return kUnavailable;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{lock};
  if (flock(lock, LOCK_EX | LOCK_NB) != 0) {
    error("restore --replace",
          "data dir " + dir +
              " is in use by a `gatehouse run`; stop it first, or restore without --replace "
              "(which works while the server runs)");
    return kUnavailable;
  }

  const std::string db = dir + "/config.db";
  int64_t before = 0;
  if (exists(db)) {
    // Only for the audit entry: a database that does not open (the usual reason to be here)
    // is replaced all the same.
    if (auto old = store::Store::open(db, false); old.ok()) {
      if (auto v = (*old)->activeVersion(); v.ok()) before = v.value();
    }
  }

  TemporaryDatabase staging{db + ".restoring-" + std::to_string(getpid())};
  if (Status s = store::Store::copyDatabase(file, staging.path); !s.ok()) {
    error("restore", s.message());
    return kUnavailable;
  }
  const std::string aside = db + ".replaced-" + timestamp();
  int64_t after = 0;
  size_t versions = 0;
  {
    auto copy = store::Store::open(staging.path, false);
    if (!copy.ok()) {
      error("restore: " + file, copy.status().message());
      return kProblem;
    }
    auto active = (*copy)->activeVersion();
    auto history = (*copy)->history(-1);
    if (!active.ok() || !history.ok()) {
      error("restore: " + file, (!active.ok() ? active.status() : history.status()).message());
      return kProblem;
    }
    after = active.value();
    versions = history->size();
    store::AuditEntry entry;
    entry.actor = osUser();
    entry.source = cliSource();
    entry.action = "restore";
    entry.versionBefore = before;
    entry.versionAfter = after;
    entry.summary = "replaced the whole database with " + file + " (" + std::to_string(versions) +
                    " versions and its audit log)" +
                    (exists(db) ? "; the previous database is kept as " + aside : "");
    if (Status s = (*copy)->appendAudit(entry); !s.ok()) {
      error("restore", s.message());
      return kUnavailable;
    }
  }  // closed: the WAL is checkpointed into the file and removed

  if (exists(db)) {
    if (::rename(db.c_str(), aside.c_str()) != 0) {
      error("restore: moving " + db + " aside", strerror(errno));
      return kUnavailable;
    }
    // The log holds commits the main file may not have yet: it travels with its database.
    if (exists(db + "-wal")) ::rename((db + "-wal").c_str(), (aside + "-wal").c_str());
    ::unlink((db + "-shm").c_str());
  }
  if (::rename(staging.path.c_str(), db.c_str()) != 0) {
    error("restore: moving the restored copy into place", strerror(errno));
    return kUnavailable;
  }
  if (int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  printf("replaced %s with %s: active version %lld, %zu versions in history\n", db.c_str(),
         file.c_str(), static_cast<long long>(after), versions);
  if (exists(aside)) printf("the previous database is kept as %s\n", aside.c_str());
  return kOk;
}

}  // namespace

int cmdRestore(const std::vector<std::string>& args) {
  std::vector<Flags::Spec> specs = {
      {"version"}, {"replace", 0, false}, {"dry-run", 0, false}, {"data-dir"}};
  specs.insert(specs.end(), kWriteFlags.begin(), kWriteFlags.end());
  Flags f("restore", specs,
          "usage: gatehouse restore FILE [--version N] [--dry-run] [--message TEXT]\n"
          "                         [--base-version N] [--force] [--data-dir DIR]\n"
          "       gatehouse restore FILE --replace [--data-dir DIR]\n"
          "\n"
          "Brings back the configuration of a backup made by `gatehouse backup`: its active\n"
          "version (or version N of its history) becomes a new version here, validated like\n"
          "any apply, with an audit entry naming FILE; a running server picks it up. History\n"
          "is kept. --dry-run prints what would change.\n"
          "\n"
          "--replace replaces the whole database (history and audit log) with the backup, for\n"
          "when config.db is lost or corrupt. Refused while `gatehouse run` uses the data dir;\n"
          "the previous file is kept as config.db.replaced-TIME. FILE itself is never changed.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  if (f.positional().size() != 1 || f.positional()[0] == "-") {
    error("restore", "needs one FILE (see --help)");
    return kUsage;
  }
  const std::string file = f.positional()[0];
  if (f.has("replace")) {
    for (const char* other : {"version", "dry-run", "base-version", "force", "message"}) {
      if (f.has(other)) {
        error(std::string("restore: --") + other, "does not go with --replace");
        return kUsage;
      }
    }
    return replaceDatabase(file, f.get("data-dir"));
  }
  WriteOptions opts;
  if (!parseWriteOptions(f, "restore", &opts)) return kUsage;
  uint64_t wanted = 0;
  if (f.has("version") && (!str::parseU64(f.get("version"), &wanted) || wanted == 0)) {
    error("restore: --version " + f.get("version"), "expected a version number");
    return kUsage;
  }

  // Read the backup through a copy in the temporary directory: the file itself stays as it is.
  std::error_code ec;
  std::string tmpDir = std::filesystem::temp_directory_path(ec).string();
  if (ec) tmpDir = "/tmp";
  TemporaryDatabase copyPath{tmpDir + "/gatehouse-restore-" + std::to_string(getpid()) + ".db"};
  if (Status s = store::Store::copyDatabase(file, copyPath.path); !s.ok()) {
    error("restore", s.message());
    return exists(file) ? kProblem : kUnavailable;
  }
  std::vector<config::Resource> restored;
  int64_t version = 0;
  std::string hash;
  {
    auto backup = store::Store::open(copyPath.path, false);
    if (!backup.ok()) {
      error("restore: " + file, backup.status().message());
      return kProblem;
    }
    auto active = (*backup)->activeVersion();
    if (!active.ok()) {
      error("restore: " + file, active.status().message());
      return kProblem;
    }
    version = wanted ? static_cast<int64_t>(wanted) : active.value();
    if (version == 0) {
      error("restore: " + file, "the backup holds no version");
      return kProblem;
    }
    auto info = (*backup)->versionInfo(version);
    if (!info.ok()) {
      error("restore: " + file, "no version " + std::to_string(version) + " in the backup");
      return kProblem;
    }
    hash = info->hash;
    auto stored = (*backup)->loadVersion(version);
    if (!stored.ok()) {
      error("restore: " + file, stored.status().message());
      return kProblem;
    }
    if (!decodeStored(version, stored.value(), &restored)) return kProblem;
  }

  const bool dryRun = f.has("dry-run");
  std::unique_ptr<store::Store> store;
  int64_t active = 0;
  std::vector<config::Resource> current;
  if (!dryRun || storeExists(f.get("data-dir"))) {
    store = openStore(f.get("data-dir"), !dryRun);
    if (!store) return kUnavailable;
    if (!loadActive(*store, &active, &current)) return kUnavailable;
  }
  if (int rc = checkBase("restore", opts, active); rc != kOk) return rc;

  std::vector<const config::Resource*> set, now;
  for (const config::Resource& r : restored) set.push_back(&r);
  for (const config::Resource& r : current) now.push_back(&r);
  const std::string what = "restore from " + file + " (version " + std::to_string(version) +
                           ", hash " + hash.substr(0, 12) + ")";
  if (!validateSet(set, what)) return kProblem;
  config::ConfigDiff diff = config::diffResources(now, set);
  if (dryRun) {
    printf("dry run: %s against version %lld: %s\n%s", what.c_str(), static_cast<long long>(active),
           config::formatCounts(diff).c_str(), config::formatDiff(diff).c_str());
    return kOk;
  }
  Outcome outcome{"restore", "restored version " + std::to_string(version) + " of " + file + " as",
                  "restore", what, what};
  return commitSet(*store, set, diff, active, opts, outcome);
}

}  // namespace gh::cli
