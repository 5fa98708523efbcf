// Configuration versions in SQLite.
//
// A version is the complete set of resources at one moment, never a delta. Whole sets make
// every operation that matters simple: loading a version is one indexed read, rolling back is
// committing an old set again, two nodes agree exactly when their hashes do, and pruning
// history is deleting rows, with no chain of deltas to rebase. What would make whole sets
// expensive, storing every body again in every version, is avoided by content addressing
// (schema.cc): a body is stored once under its hash and shared by every version that holds it.
//
// Writing. commit() is one BEGIN IMMEDIATE transaction. The write lock is taken first, and
// only then are the active version and its hash read, so the two checks a commit makes,
//
//   - the caller's baseVersion is still the active version (optimistic concurrency: an editor
//     who loaded version 7 must not silently overwrite version 8 that someone else applied),
//   - the new set differs from the active one (an apply that changes nothing adds no version,
//     so history records changes rather than attempts),
//
// cannot be invalidated by another writer before the new rows land. The new version gets the
// next id: ids are INTEGER PRIMARY KEY, assigned as the largest id plus one, and since pruning
// never deletes the newest version an id is never reused. Pruning runs in the same
// transaction, so history never holds more than keepVersions versions, even for an instant;
// so does the audit entry, so a version and the record of who made it land together or not at
// all. A chunk already stored is referred to, not written again, and only a new chunk's bodies
// are written: committing 10 000 resources of which one changed writes about one chunk.
// Everything a commit needs that does not need the lock (sorting, duplicate detection,
// hashing every body) is done before BEGIN, to keep the time other writers wait short.
//
// Reading. WAL lets readers run beside a writer; each read sees one committed state. A read
// made of several statements (loadVersion) is wrapped in a read transaction so that all of
// them see the same one, even if a commit prunes the version in between. A version's
// resources come back in one join over its chunk list, chunk entries and bodies, in key order
// straight from the primary keys (chunks are in key order and so are the entries inside one).
//
// Noticing change. PRAGMA data_version is a per-connection counter that moves when another
// connection commits. It reads no table, so the server's control thread can poll it often and
// load the active version only when it moved.
//
// Opening. A store that is damaged should stop the process with a clear message, not serve
// half a configuration, so open() runs PRAGMA quick_check before anything else reads the
// tables, and refuses files that are not SQLite databases, are some other program's database,
// or were laid out by a newer gatehouse (schema.h).
//
// Errors are Status messages that start with the database path and end with SQLite's own
// words (sqlite3_errmsg), so an operator sees both which file and what SQLite found.

#include "core/store/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string_view>
#include <thread>
#include <tuple>

#include "core/base/strings.h"
#include "core/store/content_hash.h"
#include "core/store/manifest.h"
#include "core/store/schema.h"
#include "core/store/sql.h"

namespace gh::store {
namespace {

// How long a statement waits for another connection's lock before failing with SQLITE_BUSY.
// Writers hold the lock for one commit, milliseconds even for a large configuration.
constexpr std::chrono::milliseconds kBusyTimeout(5000);

int64_t nowUnixMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

bool fileIsMissing(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) != 0 && errno == ENOENT;
}

auto sortKey(const StoredResource& r) {
  return std::tie(r.kind, r.ns, r.name);
}

std::string describe(const StoredResource& r) {
  return r.kind + " " + r.ns + "/" + r.name;
}

// quick_check reports problems as lines of text, grouped under a "*** in database main ***"
// heading; a Status is one line, so it carries the first problem, the most useful to show.
std::string firstProblem(std::string_view report) {
  while (!report.empty()) {
    size_t end = report.find('\n');
    std::string_view line = report.substr(0, end);
    report = end == std::string_view::npos ? std::string_view() : report.substr(end + 1);
    if (!line.empty() && !str::startsWith(line, "*** ")) return std::string(line);
  }
  return "quick_check failed without saying why";
}

AuditEntry auditFromRow(const Query& query) {
  AuditEntry entry;
  entry.id = query.int64(0);
  entry.atUnixMs = query.int64(1);
  entry.actor = query.text(2);
  entry.source = query.text(3);
  entry.action = query.text(4);
  entry.versionBefore = query.int64(5);
  entry.versionAfter = query.int64(6);
  entry.summary = query.text(7);
  return entry;
}

// The columns of a versions row, in the order the SELECTs below name them.
VersionInfo versionFromRow(const Query& query) {
  VersionInfo info;
  info.id = query.int64(0);
  info.createdAtUnixMs = query.int64(1);
  info.author = query.text(2);
  info.message = query.text(3);
  info.hash = query.text(4);
  info.resourceCount = query.int64(5);
  return info;
}

}  // namespace

struct Store::Impl {
  struct CloseConnection {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };

  explicit Impl(std::string p) : path(std::move(p)) {}

  std::string path;
  // Declared before the statements so that it is destroyed after them: SQLite closes a
  // connection only once its statements are finalized.
  std::unique_ptr<sqlite3, CloseConnection> connection;

  Statement selectActive;
  Statement selectVersion;
  Statement selectResources;
  Statement selectHistory;
  Statement selectBody;
  Statement insertBody;
  Statement insertVersion;
  Statement insertAudit;
  Statement selectAudit;
  Statement selectPruneRange;
  Statement pruneVersions;
  Statement pruneChunks;
  Statement pruneBodies;
  Statement selectDataVersion;
  Statement upsertRuntime;
  Statement clearRefusal;
  Statement upsertRefusal;
  Statement stopRuntime;
  Statement selectRuntime;
  Statement selectRefusals;
  ManifestWriter manifests;

  sqlite3* db() const { return connection.get(); }

  // "<path>: <what>: <SQLite's message>". Call it before anything else touches the
  // connection: the message is the one of the most recent call.
  Status failure(const std::string& what) const {
    return Status::error(path + ": " + what + ": " + sqlite3_errmsg(db()));
  }

  // As failure(), but names the two conditions an operator must act on, rather than retry,
  // in words of their own.
  Status openFailure(int rc, const std::string& what) const {
    if (rc == SQLITE_NOTADB) return Status::error(path + ": not a SQLite database");
    if (rc == SQLITE_CORRUPT) return failure("database is corrupt");
    return failure(what);
  }

  Status configure();
  Status enableWal();
  Status checkIntegrity();
  Status prepareStatements();

  Result<int64_t> active();
  Result<VersionInfo> version(int64_t id);
  int addAudit(const AuditEntry& entry);
};

Status Store::Impl::configure() {
  // The busy timeout first: everything after it may meet another process's lock. The pragmas
  // are per connection, so every open sets them again. synchronous=FULL syncs the WAL at every
  // commit: an apply that returned is on disk even if the machine then loses power, which is
  // worth one sync per configuration change. trusted_schema=OFF keeps a hostile file from
  // running functions through views or triggers it declares.
  sqlite3_busy_timeout(db(), static_cast<int>(kBusyTimeout.count()));
  static constexpr char kPragmas[] =
      "PRAGMA trusted_schema = OFF; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL";
  if (int rc = execute(db(), kPragmas); rc != SQLITE_OK)
    return openFailure(rc, "configuring the connection");
  return enableWal();
}

Status Store::Impl::enableWal() {
  // The journal mode is a property of the file, so only the first open of a file converts it;
  // later ones find WAL already in force and the pragma is a no-op. The conversion needs the
  // file to itself, and SQLite does not call the busy handler while it waits for that, so
  // several processes opening a new file at once would get "database is locked" however long
  // the busy timeout. They retry here instead, for as long as the busy timeout would wait.
  const auto deadline = std::chrono::steady_clock::now() + kBusyTimeout;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    Statement statement;
    int rc = statement.prepare(db(), "PRAGMA journal_mode = WAL");
    std::string mode;
    if (rc == SQLITE_OK) {
      Query query(statement);
      rc = query.step();
      if (rc == SQLITE_ROW) mode = query.text(0);
    }
    if (rc == SQLITE_BUSY && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(pause);
      pause = std::min(2 * pause, std::chrono::milliseconds(64));
      continue;
    }
    if (rc != SQLITE_ROW) return openFailure(rc, "enabling the write-ahead log");
    // SQLite answers with the mode now in force. It is not WAL when the file system cannot
    // share the WAL index between processes; readers would then block writers, so refuse
    // rather than run differently from what the design promises.
    if (mode != "wal")
      return Status::error(path + ": cannot use a write-ahead log here (journal mode is " + mode +
                           ")");
    return okStatus();
  }
}

Status Store::Impl::checkIntegrity() {
  // quick_check verifies the structure of every page and the row counts against the indexes,
  // in time linear in the file; the full integrity_check would also compare every index entry
  // with its row, which costs more and is not needed to refuse a damaged file.
  Statement statement;
  int rc = statement.prepare(db(), "PRAGMA quick_check");
  if (rc != SQLITE_OK) return openFailure(rc, "checking integrity");
  Query query(statement);
  rc = query.step();
  if (rc != SQLITE_ROW) return openFailure(rc, "checking integrity");
  std::string report = query.text(0);
  if (report == "ok") return okStatus();
  return Status::error(path + ": database is corrupt: " + firstProblem(report));
}

Status Store::Impl::prepareStatements() {
  const struct {
    Statement* statement;
    const char* sql;
  } kStatements[] = {
      {&selectActive, "SELECT coalesce(max(id), 0) FROM versions"},
      {&selectVersion,
       "SELECT id, created_at_ms, author, message, hash, resource_count FROM versions"
       " WHERE id = ?"},
      // Chunks in seq order, entries in key order inside each: the primary keys give the
      // requested order, so there is no sort.
      {&selectResources,
       "SELECT e.kind, e.namespace, e.name, b.body"
       " FROM version_chunks AS v"
       " JOIN chunk_entries AS e ON e.chunk_id = v.chunk_id"
       " JOIN bodies AS b ON b.id = e.body_id"
       " WHERE v.version_id = ? ORDER BY v.seq, e.kind, e.namespace, e.name"},
      {&selectHistory,
       "SELECT id, created_at_ms, author, message, hash, resource_count FROM versions"
       " ORDER BY id DESC LIMIT ?"},
      // A body another version already stored is kept as it is: same hash, same bytes.
      {&selectBody, "SELECT id FROM bodies WHERE hash = ?"},
      {&insertBody, "INSERT INTO bodies (hash, body) VALUES (?, ?)"},
      {&insertVersion,
       "INSERT INTO versions (created_at_ms, author, message, hash, resource_count)"
       " VALUES (?, ?, ?, ?, ?)"},
      {&insertAudit,
       "INSERT INTO audit (at_ms, actor, source, action, version_before, version_after, summary)"
       " VALUES (?, ?, ?, ?, ?, ?, ?)"},
      {&selectAudit,
       "SELECT id, at_ms, actor, source, action, version_before, version_after, summary"
       " FROM audit ORDER BY id DESC LIMIT ?"},
      // What pruneVersions is about to delete, for the audit entry that says so. Ids are
      // contiguous from the oldest kept (pruning only ever takes the oldest), so first and last
      // name the range.
      {&selectPruneRange,
       "SELECT min(id), max(id) FROM versions"
       " WHERE id <= (SELECT id FROM versions ORDER BY id DESC LIMIT 1 OFFSET ?)"},
      // Deletes everything older than the newest N (the parameter), and nothing when there are
      // N or fewer: the subquery is then NULL and no id compares <= NULL. Their
      // version_chunks and refusals rows go with them (ON DELETE CASCADE).
      {&pruneVersions,
       "DELETE FROM versions"
       " WHERE id <= (SELECT id FROM versions ORDER BY id DESC LIMIT 1 OFFSET ?)"},
      // Chunks no version refers to any more; their entries go with them (cascade).
      {&pruneChunks,
       "DELETE FROM chunks"
       " WHERE NOT EXISTS (SELECT 1 FROM version_chunks WHERE chunk_id = chunks.id)"},
      {&pruneBodies,
       "DELETE FROM bodies"
       " WHERE NOT EXISTS (SELECT 1 FROM chunk_entries WHERE body_id = bodies.id)"},
      {&upsertRuntime,
       "INSERT INTO runtime (id, running_version, pid, host, updated_at_ms) VALUES (1, ?, ?, ?, ?)"
       " ON CONFLICT (id) DO UPDATE SET running_version = excluded.running_version,"
       " pid = excluded.pid, host = excluded.host, updated_at_ms = excluded.updated_at_ms"},
      {&clearRefusal, "DELETE FROM refusals WHERE version_id = ?"},
      // A version that is no longer in history (pruned meanwhile) is not recorded: the WHERE
      // finds no row, rather than the foreign key failing the statement.
      {&upsertRefusal,
       "INSERT INTO refusals (version_id, at_ms, reason)"
       " SELECT id, ?, ? FROM versions WHERE id = ?"
       " ON CONFLICT (version_id) DO UPDATE SET at_ms = excluded.at_ms, reason = excluded.reason"},
      {&stopRuntime, "UPDATE runtime SET running_version = 0, updated_at_ms = ? WHERE pid = ?"},
      {&selectRuntime, "SELECT running_version, pid, host, updated_at_ms FROM runtime"},
      {&selectRefusals, "SELECT version_id, at_ms, reason FROM refusals ORDER BY version_id"},
      {&selectDataVersion, "PRAGMA data_version"},
  };
  for (const auto& [statement, sql] : kStatements) {
    if (statement->prepare(db(), sql, Statement::Lifetime::kConnection) != SQLITE_OK)
      return failure(std::string("preparing \"") + sql + "\"");
  }
  if (manifests.prepare(db()) != SQLITE_OK) return failure("preparing the manifest statements");
  return okStatus();
}

int Store::Impl::addAudit(const AuditEntry& entry) {
  Query query(insertAudit);
  query.bind(entry.atUnixMs)
      .bind(entry.actor)
      .bind(entry.source)
      .bind(entry.action)
      .bind(entry.versionBefore)
      .bind(entry.versionAfter)
      .bind(entry.summary);
  int rc = query.step();
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

Result<int64_t> Store::Impl::active() {
  Query query(selectActive);
  if (query.step() != SQLITE_ROW) return failure("reading the active version");
  return query.int64(0);
}

Result<VersionInfo> Store::Impl::version(int64_t id) {
  Query query(selectVersion);
  query.bind(id);
  int rc = query.step();
  if (rc == SQLITE_DONE) return Status::error(path + ": no version " + std::to_string(id));
  if (rc != SQLITE_ROW) return failure("reading version " + std::to_string(id));
  return versionFromRow(query);
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const std::string& path, bool create) {
  auto impl = std::make_unique<Impl>(path);
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  // Even a failed open returns a handle (it carries the error message), and it must be closed.
  impl->connection.reset(db);
  if (rc != SQLITE_OK) {
    if (!create && rc == SQLITE_CANTOPEN && fileIsMissing(path))
      return Status::error(path + ": no such database");
    if (db == nullptr) return Status::error(path + ": cannot open: out of memory");
    return impl->failure("cannot open");
  }

  if (Status s = impl->configure(); !s.ok()) return s;
  if (Status s = impl->checkIntegrity(); !s.ok()) return s;
  if (Status s = schema::migrate(impl->db(), path); !s.ok()) return s;
  if (Status s = impl->prepareStatements(); !s.ok()) return s;
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Result<int64_t> Store::activeVersion() {
  return impl_->active();
}

Result<VersionInfo> Store::versionInfo(int64_t id) {
  return impl_->version(id);
}

Result<std::vector<StoredResource>> Store::loadVersion(int64_t id) {
  Transaction txn(impl_->db());
  if (txn.begin(Transaction::Mode::kRead) != SQLITE_OK)
    return impl_->failure("loading version " + std::to_string(id));

  // Reading the versions row first tells "no such version" apart from "a version with no
  // resources", and gives the count to check the join against.
  Result<VersionInfo> info = impl_->version(id);
  if (!info.ok()) return info.status();

  std::vector<StoredResource> resources;
  Query query(impl_->selectResources);
  query.bind(id);
  int rc;
  while ((rc = query.step()) == SQLITE_ROW)
    resources.push_back({query.text(0), query.text(1), query.text(2), query.text(3)});
  if (rc != SQLITE_DONE) return impl_->failure("loading version " + std::to_string(id));

  // The foreign keys make a missing body or chunk impossible through this code; a mismatch means
  // the file was edited by other hands, and half a configuration must not be served as whole.
  if (static_cast<int64_t>(resources.size()) != info->resourceCount) {
    return Status::error(impl_->path + ": version " + std::to_string(id) +
                         " is damaged: " + std::to_string(resources.size()) + " of its " +
                         std::to_string(info->resourceCount) + " resources are readable");
  }
  return resources;
}

Result<std::vector<VersionInfo>> Store::history(int64_t limit) {
  std::vector<VersionInfo> versions;
  Query query(impl_->selectHistory);
  query.bind(limit);  // SQLite reads a negative LIMIT as no limit
  int rc;
  while ((rc = query.step()) == SQLITE_ROW) versions.push_back(versionFromRow(query));
  if (rc != SQLITE_DONE) return impl_->failure("reading the history");
  return versions;
}

Result<int64_t> Store::commit(const std::vector<StoredResource>& resources,
                              const CommitInfo& info) {
  // Sorted views, not copies: bodies can be large and the caller's vector stays as it is.
  std::vector<const StoredResource*> sorted;
  sorted.reserve(resources.size());
  for (const StoredResource& r : resources) sorted.push_back(&r);
  std::sort(sorted.begin(), sorted.end(), [](const StoredResource* a, const StoredResource* b) {
    return sortKey(*a) < sortKey(*b);
  });
  auto duplicate =
      std::adjacent_find(sorted.begin(), sorted.end(),
                         [](const auto* a, const auto* b) { return sortKey(*a) == sortKey(*b); });
  if (duplicate != sorted.end())
    return Status::error(impl_->path + ": commit: " + describe(**duplicate) + " appears twice");

  std::vector<std::string> bodyHashes;
  bodyHashes.reserve(sorted.size());
  VersionHasher hasher;
  for (const StoredResource* r : sorted) {
    bodyHashes.push_back(blobHash(r->body));
    hasher.add(r->kind, r->ns, r->name, bodyHashes.back());
  }
  const std::string hash = hasher.finish();
  std::vector<ManifestEntry> manifest;
  manifest.reserve(sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i)
    manifest.push_back({sorted[i]->kind, sorted[i]->ns, sorted[i]->name, bodyHashes[i]});

  Transaction txn(impl_->db());
  if (txn.begin(Transaction::Mode::kWrite) != SQLITE_OK) return impl_->failure("commit");

  Result<int64_t> active = impl_->active();
  if (!active.ok()) return active.status();
  if (info.baseVersion >= 0 && info.baseVersion != *active) {
    return Status::error(std::string(kConflictPrefix) + "the change is based on version " +
                         std::to_string(info.baseVersion) + " but version " +
                         std::to_string(*active) + " is active");
  }
  if (*active > 0) {
    Result<VersionInfo> current = impl_->version(*active);
    if (!current.ok()) return current.status();
    // Nothing is written, so the transaction's rollback on return is all the cleanup needed.
    if (current->hash == hash) return *active;
  }

  const int64_t createdAt = nowUnixMs();
  const int64_t count = static_cast<int64_t>(sorted.size());
  {
    Query query(impl_->insertVersion);
    query.bind(createdAt).bind(info.author).bind(info.message).bind(hash).bind(count);
    if (query.step() != SQLITE_DONE) return impl_->failure("commit: adding the version");
  }
  const int64_t id = sqlite3_last_insert_rowid(impl_->db());

  // Only a chunk that is new can hold a body that is new: the bodies of a stored chunk are
  // stored (its entries refer to them).
  auto storeBodies = [&](std::vector<ManifestEntry>& entries, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      {
        Query query(impl_->selectBody);
        query.bind(bodyHashes[i]);
        int rc = query.step();
        if (rc == SQLITE_ROW) {
          entries[i].bodyId = query.int64(0);
          continue;
        }
        if (rc != SQLITE_DONE) return rc;
      }
      Query query(impl_->insertBody);
      query.bind(bodyHashes[i]).bind(sorted[i]->body);
      if (int rc = query.step(); rc != SQLITE_DONE) return rc;
      entries[i].bodyId = sqlite3_last_insert_rowid(impl_->db());
    }
    return SQLITE_OK;
  };
  if (impl_->manifests.write(id, manifest, storeBodies) != SQLITE_OK)
    return impl_->failure("commit: storing the resources of version " + std::to_string(id));

  AuditEntry entry;
  entry.atUnixMs = createdAt;
  entry.actor = info.author;
  entry.source = info.source;
  entry.action = info.action;
  entry.versionBefore = *active;
  entry.versionAfter = id;
  entry.summary = info.summary;
  if (impl_->addAudit(entry) != SQLITE_OK) return impl_->failure("commit: writing the audit log");

  int64_t firstPruned = 0, lastPruned = 0;
  {
    Query query(impl_->selectPruneRange);
    query.bind(keepVersions_);
    if (query.step() != SQLITE_ROW) return impl_->failure("commit: pruning old versions");
    firstPruned = query.int64(0);  // both NULL (read as 0) when nothing is pruned
    lastPruned = query.int64(1);
  }
  if (lastPruned > 0) {
    {
      Query query(impl_->pruneVersions);
      query.bind(keepVersions_);
      if (query.step() != SQLITE_DONE) return impl_->failure("commit: pruning old versions");
    }
    const std::string range =
        firstPruned == lastPruned
            ? "version " + std::to_string(firstPruned)
            : "versions " + std::to_string(firstPruned) + " to " + std::to_string(lastPruned);
    // Same who, when and where as the commit that caused it.
    AuditEntry pruned = entry;
    pruned.action = "prune";
    pruned.versionBefore = id;
    pruned.summary = "dropped " + range + " from history (keeping the newest " +
                     std::to_string(keepVersions_) + ")";
    if (impl_->addAudit(pruned) != SQLITE_OK)
      return impl_->failure("commit: writing the audit log");
    int64_t chunksDropped = 0;
    {
      Query query(impl_->pruneChunks);
      if (query.step() != SQLITE_DONE) return impl_->failure("commit: pruning unused chunks");
      chunksDropped = sqlite3_changes64(impl_->db());
    }
    // Bodies are swept only when some chunk went: otherwise none can have lost its last user.
    if (chunksDropped > 0) {
      Query query(impl_->pruneBodies);
      if (query.step() != SQLITE_DONE) return impl_->failure("commit: pruning unused bodies");
    }
  }

  if (txn.commit() != SQLITE_OK) return impl_->failure("commit");
  return id;
}

Result<std::vector<AuditEntry>> Store::auditLog(int64_t limit) {
  std::vector<AuditEntry> entries;
  Query query(impl_->selectAudit);
  query.bind(limit);
  int rc;
  while ((rc = query.step()) == SQLITE_ROW) entries.push_back(auditFromRow(query));
  if (rc != SQLITE_DONE) return impl_->failure("reading the audit log");
  return entries;
}

Result<std::vector<AuditEntry>> Store::auditPage(int64_t beforeId, int64_t limit) {
  Statement statement;
  if (statement.prepare(impl_->db(),
                        "SELECT id, at_ms, actor, source, action, version_before, version_after,"
                        " summary FROM audit WHERE ? = 0 OR id < ? ORDER BY id DESC LIMIT ?") !=
      SQLITE_OK)
    return impl_->failure("reading the audit log");
  std::vector<AuditEntry> entries;
  Query query(statement);
  query.bind(beforeId).bind(beforeId).bind(limit);
  int rc;
  while ((rc = query.step()) == SQLITE_ROW) entries.push_back(auditFromRow(query));
  if (rc != SQLITE_DONE) return impl_->failure("reading the audit log");
  return entries;
}

sqlite3* Store::connection() const { return impl_->db(); }
const std::string& Store::path() const { return impl_->path; }

Status Store::appendAudit(const AuditEntry& entry) {
  AuditEntry stamped = entry;
  stamped.atUnixMs = nowUnixMs();
  if (impl_->addAudit(stamped) != SQLITE_OK) return impl_->failure("writing the audit log");
  return okStatus();
}

Status Store::recordServing(int64_t version, int64_t pid, const std::string& host) {
  Transaction txn(impl_->db());
  if (txn.begin(Transaction::Mode::kWrite) != SQLITE_OK)
    return impl_->failure("recording the running version");
  {
    Query query(impl_->upsertRuntime);
    query.bind(version).bind(pid).bind(host).bind(nowUnixMs());
    if (query.step() != SQLITE_DONE) return impl_->failure("recording the running version");
  }
  {
    Query query(impl_->clearRefusal);
    query.bind(version);
    if (query.step() != SQLITE_DONE) return impl_->failure("recording the running version");
  }
  if (txn.commit() != SQLITE_OK) return impl_->failure("recording the running version");
  return okStatus();
}

Status Store::recordRefusal(int64_t version, const std::string& reason) {
  Query query(impl_->upsertRefusal);
  query.bind(nowUnixMs()).bind(reason).bind(version);
  if (query.step() != SQLITE_DONE) return impl_->failure("recording a refused version");
  return okStatus();
}

Status Store::recordStopped(int64_t pid) {
  Query query(impl_->stopRuntime);
  query.bind(nowUnixMs()).bind(pid);
  if (query.step() != SQLITE_DONE) return impl_->failure("recording the server's stop");
  return okStatus();
}

Result<RuntimeState> Store::runtime() {
  RuntimeState state;
  Query query(impl_->selectRuntime);
  int rc = query.step();
  if (rc == SQLITE_DONE) return state;
  if (rc != SQLITE_ROW) return impl_->failure("reading the running version");
  state.runningVersion = query.int64(0);
  state.pid = query.int64(1);
  state.host = query.text(2);
  state.updatedAtUnixMs = query.int64(3);
  return state;
}

Result<std::vector<Refusal>> Store::refusals() {
  std::vector<Refusal> out;
  Query query(impl_->selectRefusals);
  int rc;
  while ((rc = query.step()) == SQLITE_ROW)
    out.push_back({query.int64(0), query.int64(1), query.text(2)});
  if (rc != SQLITE_DONE) return impl_->failure("reading refused versions");
  return out;
}

namespace {

// Copies every page of `source` into a new file at `path` (through a temporary name beside it,
// renamed when the copy is complete, checked and synced). sqlite3_backup_step(-1) copies in one
// go under one read transaction of the source: in WAL mode that blocks no writer, and the copy
// is of one committed state.
//
// The copy is switched to a rollback journal: page 1 comes from the source and says "WAL", and
// a WAL file cannot be read without creating -wal and -shm files beside it, which a backup on
// read-only media, or one that restore reads, should not grow. Whoever opens it as a Store
// turns WAL on again. With `info`, the copy's active version and version count are read back
// from the copy itself, which is what it holds, whatever the source committed since.
Status backupConnection(sqlite3* source, const std::string& sourceName, const std::string& path,
                        BackupInfo* info) {
  const std::string temporary = path + ".partial-" + std::to_string(getpid());
  ::unlink(temporary.c_str());
  auto fail = [&](const std::string& why) {
    ::unlink(temporary.c_str());
    ::unlink((temporary + "-journal").c_str());
    return Status::error(path + ": backup of " + sourceName + " failed: " + why);
  };

  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(temporary.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> dest(raw, sqlite3_close_v2);
  if (rc != SQLITE_OK) return fail(raw ? sqlite3_errmsg(raw) : "out of memory");
  // The copy's one transaction is synced before it commits (rollback journal, FULL).
  execute(dest.get(), "PRAGMA synchronous = FULL");
  sqlite3_busy_timeout(dest.get(), static_cast<int>(kBusyTimeout.count()));
  sqlite3_backup* backup = sqlite3_backup_init(dest.get(), "main", source, "main");
  if (backup == nullptr) return fail(sqlite3_errmsg(dest.get()));
  rc = sqlite3_backup_step(backup, -1);
  // finish() reports the error of the whole backup on the destination connection.
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    std::string why = sqlite3_errstr(rc);
    if (sqlite3_errcode(dest.get()) != SQLITE_OK) why = sqlite3_errmsg(dest.get());
    return fail(why);
  }
  {
    Statement statement;
    if (statement.prepare(dest.get(), "PRAGMA journal_mode = DELETE") != SQLITE_OK)
      return fail(sqlite3_errmsg(dest.get()));
    Query query(statement);
    if (query.step() != SQLITE_ROW || query.text(0) != "delete")
      return fail("cannot leave write-ahead-log mode: " + std::string(sqlite3_errmsg(dest.get())));
  }
  {
    Statement statement;
    if (statement.prepare(dest.get(), "PRAGMA quick_check") != SQLITE_OK)
      return fail(sqlite3_errmsg(dest.get()));
    Query query(statement);
    if (query.step() != SQLITE_ROW) return fail(sqlite3_errmsg(dest.get()));
    if (std::string report = query.text(0); report != "ok")
      return fail("the copy does not pass quick_check: " + firstProblem(report));
  }
  if (info != nullptr) {
    Statement statement;
    if (statement.prepare(dest.get(), "SELECT coalesce(max(id), 0), count(*) FROM versions") !=
        SQLITE_OK)
      return fail(sqlite3_errmsg(dest.get()));
    Query query(statement);
    if (query.step() != SQLITE_ROW) return fail(sqlite3_errmsg(dest.get()));
    info->activeVersion = query.int64(0);
    info->versions = query.int64(1);
  }
  dest.reset();

  // The rename makes the copy visible whole; syncing the directory makes the rename survive
  // a crash (the file's contents were synced by its own commit).
  if (::rename(temporary.c_str(), path.c_str()) != 0) return fail(strerror(errno));
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  if (int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return okStatus();
}

}  // namespace

Result<BackupInfo> Store::backupTo(const std::string& path) {
  BackupInfo info;
  if (Status s = backupConnection(impl_->db(), impl_->path, path, &info); !s.ok()) return s;
  return info;
}

Status Store::copyDatabase(const std::string& from, const std::string& to) {
  Impl source(from);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(from.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  source.connection.reset(db);
  if (rc != SQLITE_OK) {
    if (rc == SQLITE_CANTOPEN && fileIsMissing(from)) return Status::error(from + ": no such file");
    if (db == nullptr) return Status::error(from + ": cannot open: out of memory");
    return source.openFailure(rc, "cannot open");
  }
  sqlite3_busy_timeout(db, static_cast<int>(kBusyTimeout.count()));
  execute(db, "PRAGMA trusted_schema = OFF");
  if (Status s = source.checkIntegrity(); !s.ok()) return s;
  return backupConnection(db, from, to, nullptr);
}

Result<int64_t> Store::dataVersion() {
  Query query(impl_->selectDataVersion);
  if (query.step() != SQLITE_ROW) return impl_->failure("reading the data version");
  return query.int64(0);
}

}  // namespace gh::store
