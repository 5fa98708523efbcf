#pragma once
// Store: the only door to SQLite. Configuration versions live here.
//
// Model. A *version* is the whole set of resources at one moment, with an id (increasing),
// time, author, message and a content hash. The *active* version is the newest one: apply,
// delete and (later) rollback all create new versions. Resources are stored by content hash in
// `blobs`, so versions that share a resource share its row; `version_resources` maps a version
// to its (kind, namespace, name) -> blob. Writing a version is one IMMEDIATE transaction, so a
// reader sees either the old or the new set, never a mix.
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

namespace gh::store {

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
  std::string author;  // OS user for the CLI
  std::string message;
  int64_t baseVersion = -1;  // when >= 0: refuse (a conflict) if the active version differs
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

  // Stores `resources` (the complete set) as a new version and returns its id. When the set
  // equals the active version's, no version is created and the active id is returned.
  // Keeps at most `keepVersions` versions (older ones and unreferenced blobs are deleted).
  // Two resources with the same (kind, ns, name) are an error, and nothing is written.
  Result<int64_t> commit(const std::vector<StoredResource>& resources, const CommitInfo& info);

  // Changes whenever another connection committed to the database (PRAGMA data_version):
  // a cheap way for the server to notice new versions without reading them. This Store's own
  // commits do not change it; the caller already knows about those.
  Result<int64_t> dataVersion();

  // At least 1: the active version is never pruned.
  void setKeepVersions(int64_t n) { keepVersions_ = n < 1 ? 1 : n; }

  struct Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int64_t keepVersions_ = 500;
};

}  // namespace gh::store
