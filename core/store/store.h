#pragma once
// Store: the only door to SQLite. Configuration versions live here.
//
// Model. A *version* is the whole set of resources at one moment, with an id (increasing),
// time, author, message and a content hash. The *active* version is the newest one: apply,
// delete, rollback and restore all create new versions. Resources are stored by content hash in
// `blobs`, so versions that share a resource share its row, and a version's list of
// (kind, namespace, name) -> blob is stored as content-addressed chunks that versions share
// too (manifest.h). Writing a version is one IMMEDIATE transaction, so a reader sees either the
// old or the new set, never a mix.
//
// Audit. Every commit that creates a version appends an audit entry (who, when, from where,
// what, versions before and after) in the same transaction: there is no version without its
// entry and no entry without its version. The log is append-only, enforced by triggers in the
// database itself, so nothing here or in any command can change or delete an entry.
//
// Runtime. The server of a data dir records which version it actually serves and which
// versions it refused (and why), so that `gatehouse history` can tell "active" (newest) from
// "running" (what answers requests) when a version could not be started.
//
// Durability: WAL journal, synchronous=FULL, busy_timeout, foreign_keys=ON,
// trusted_schema=OFF; the schema carries a version number (PRAGMA user_version) and migrates
// forward on open.
//
// Threading: a Store object is used by one thread at a time (SQLite connection semantics).
// The server's control thread owns one; each CLI command opens its own. Several processes may
// open the same file; writers serialize through SQLite's lock.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

struct sqlite3;

namespace gh::store {

class Accounts;

struct StoredResource {
  std::string kind;  // "Listener", "HTTPRoute", ...
  std::string ns;
  std::string name;
  std::string body;  // canonical JSON of the whole document
};

struct VersionInfo {
  int64_t id = 0;
  int64_t createdAtUnixMs = 0;
  std::string author;
  std::string message;
  std::string hash;  // hex SHA-256 over the sorted resources' (kind, ns, name, body hash);
                     // the exact encoding is in content_hash.h
  int64_t resourceCount = 0;
};

struct CommitInfo {
  std::string author;  // OS user for the CLI; the account for the admin UI
  std::string message;
  int64_t baseVersion = -1;  // when >= 0: refuse (a conflict) if the active version differs
  // For the audit entry:
  std::string source;            // where the change came from: "cli pid 42 on host edge-1"
  std::string action = "apply";  // apply, delete, rollback, restore, init
  std::string summary;           // what changed, one line ("+1 ~2 -0: orders canary")
};

// One entry of the audit log.
struct AuditEntry {
  int64_t id = 0;  // increasing, never reused
  int64_t atUnixMs = 0;
  std::string actor;
  std::string source;
  std::string action;         // as CommitInfo::action; also "prune" (history dropped by a
                              // commit) and "migrate" (the schema-2 conversion)
  int64_t versionBefore = 0;  // the active version before the change (0: none)
  int64_t versionAfter = 0;   // after it (the same for entries that made no version)
  std::string summary;
};

// What the server of this data dir last said about itself.
struct RuntimeState {
  int64_t runningVersion = 0;  // 0: none recorded, or the server stopped cleanly
  int64_t pid = 0;
  std::string host;
  int64_t updatedAtUnixMs = 0;
};

// What a backup holds.
struct BackupInfo {
  int64_t activeVersion = 0;
  int64_t versions = 0;  // in its history
};

// A version the server refused to serve (it failed to compile or to start), while it stays in
// history. Serving the version later (after SIGHUP, say) removes the refusal.
struct Refusal {
  int64_t version = 0;
  int64_t atUnixMs = 0;
  std::string reason;
};

// A commit refused because its baseVersion is no longer the active version fails with a message
// that starts with this prefix and names both versions; the caller re-reads and retries, or
// reports it (HTTP 409 in the admin API).
inline constexpr std::string_view kConflictPrefix = "conflict: ";
inline bool isConflict(const Status& s) {
  return !s.ok() &&
         std::string_view(s.message()).substr(0, kConflictPrefix.size()) == kConflictPrefix;
}

class Store {
 public:
  // Opens (creating when `create`) the database at `path`, applies pragmas and migrations and
  // runs PRAGMA quick_check; a corrupt file is an error naming the file.
  static Result<std::unique_ptr<Store>> open(const std::string& path, bool create);
  ~Store();

  // Id of the active (newest) version; 0 when the store holds no version yet.
  Result<int64_t> activeVersion();
  // An id that is not (or no longer) in the store is an error.
  Result<VersionInfo> versionInfo(int64_t id);
  Result<std::vector<StoredResource>> loadVersion(int64_t id);  // sorted by kind, ns, name
  // The newest `limit` versions, newest first; a negative limit means all of them.
  Result<std::vector<VersionInfo>> history(int64_t limit);

  // Stores `resources` (the complete set) as a new version and returns its id, with its audit
  // entry. When the set equals the active version's, no version (and no entry) is created and
  // the active id is returned. Keeps at most `keepVersions` versions (older ones and the chunks
  // and blobs only they used are deleted; an audit entry "prune" says which went). Two
  // resources with the same (kind, ns, name) are an error, and nothing is written.
  Result<int64_t> commit(const std::vector<StoredResource>& resources, const CommitInfo& info);

  // The newest `limit` audit entries, newest first; a negative limit means all of them.
  Result<std::vector<AuditEntry>> auditLog(int64_t limit);
  // Appends an entry for a change that is not a commit (a whole database restored from a
  // backup). id and atUnixMs are assigned here.
  Status appendAudit(const AuditEntry& entry);

  // The server's side: records that `version` now serves (and clears any refusal of it), that
  // `version` was refused for `reason`, or that the server with `pid` stopped.
  Status recordServing(int64_t version, int64_t pid, const std::string& host);
  Status recordRefusal(int64_t version, const std::string& reason);
  Status recordStopped(int64_t pid);
  Result<RuntimeState> runtime();
  Result<std::vector<Refusal>> refusals();  // of versions still in history, by version

  // Writes a consistent copy of the whole database (history, audit log) to `path` with
  // SQLite's online backup API, in one read transaction, so commits by other processes
  // meanwhile are either wholly in the copy or not at all, and are not blocked. The copy is
  // written beside `path`, checked (quick_check) and renamed over it when complete, so `path`
  // is never half a copy. It is one self-contained file (rollback journal, not WAL), so reading
  // it creates nothing beside it. Returns what the copy holds.
  Result<BackupInfo> backupTo(const std::string& path);

  // The same from a database file that is not opened as a Store (opened read-only, so a
  // backup from an older gatehouse is copied as it is, not migrated in place). The source must
  // pass quick_check.
  static Status copyDatabase(const std::string& from, const std::string& to);

  // Changes whenever another connection committed to the database (PRAGMA data_version):
  // a cheap way for the server to notice new versions without reading them. This Store's own
  // commits do not change it; the caller already knows about those.
  Result<int64_t> dataVersion();

  // At least 1: the active version is never pruned.
  void setKeepVersions(int64_t n) { keepVersions_ = n < 1 ? 1 : n; }

  // The newest `limit` audit entries with an id below `beforeId` (0: from the newest), newest
  // first: the admin API pages the log with it.
  Result<std::vector<AuditEntry>> auditPage(int64_t beforeId, int64_t limit);

  struct Impl;

 private:
  friend class Accounts;  // accounts.h: users, sessions and API tokens on this connection
  sqlite3* connection() const;
  const std::string& path() const;

  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int64_t keepVersions_ = 500;
};

}  // namespace gh::store
