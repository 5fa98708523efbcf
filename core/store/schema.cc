// The migration steps, oldest first. Append; never edit a step that has shipped.
//
// Schema 1, configuration versions:
//
//   versions            one row per version: who, when, why, and the content hash
//      |  1..n
//   version_resources   (version, kind, namespace, name) -> blob hash; the complete set
//      |  n..1
//   blobs               resource bodies by hex SHA-256, each body stored once
//
// A version is written whole and never changed afterwards. Resources are addressed by content
// so that a version which changes one resource out of a thousand adds one blob, not a thousand;
// what it does add is a thousand small version_resources rows, which keeps every version a
// plain join away from its complete set (no walking back through deltas to load or to prune).
// version_resources is WITHOUT ROWID because its primary key is all it is looked up by, and
// rows in key order are what loading a version returns. Pruning deletes whole versions (the
// foreign key cascades to their rows) and then the blobs nothing refers to any more; the index
// on blob_hash serves both that sweep and SQLite's foreign-key check when a blob is deleted,
// which would otherwise scan every version's rows for every blob.
//
// Schema 2, shared manifests, the audit log and what the server runs:
//
//   versions --> version_chunks (version, seq) --> chunks (id, hash) --> chunk_entries --> bodies
//   bodies       blobs again, with an integer id that entries refer to (manifest.h says why)
//   audit        append-only: who changed what, when, from where (triggers refuse UPDATE and
//                DELETE, so no command, not even history pruning, can edit it)
//   runtime      one row: the version the server of this data dir serves, and its pid
//   refusals     versions the server refused to serve, with the reason
//
// version_resources grew by one row per resource per version: 500 versions of 10 000 resources
// are five million rows. Schema 2 replaces it by content-addressed chunks of the list
// (manifest.h has the model), so a version that changes one resource adds one chunk and a
// short list of chunk references. The bodies are copied from blobs into bodies, keeping their
// rowids as ids; the lists of schema-1 versions are converted in the same transaction; then
// version_resources and blobs are dropped. Version ids and hashes do not change.
// Every table a chunk is reached from has an index on the column that refers to it, for the
// same reason as version_resources_by_blob above: the pruning sweeps and the foreign-key
// checks would otherwise scan.
//
// Schema 3, admin accounts (spec/admin.md; core/store/accounts.h has the model):
//
//   users        name, role (viewer, editor, admin), scrypt hash with its parameters, and
//                whether the password must be changed at the next login (the initial one)
//   sessions     logged-in browsers: SHA-256 of the session id (never the id itself), the
//                CSRF token, the address, created and last-seen times; cascade with the user
//   api_tokens   tokens for CI: public id, SHA-256 of the secret, role, expiry, last use
//
// They live beside the configuration so that a backup carries them and `gatehouse admin user
// add` works on a stopped node; changes to them are audited in the same transaction.

#include "core/store/schema.h"

#include <unistd.h>

#include <chrono>
#include <iterator>

#include "core/store/manifest.h"
#include "core/store/sql.h"

namespace gh::store::schema {
namespace {

Status failure(sqlite3* db, const std::string& path, const std::string& what) {
  return Status::error(path + ": " + what + ": " + sqlite3_errmsg(db));
}

Status convertToChunks(sqlite3* db, const std::string& path);

// A step is SQL, then optionally code for what SQL cannot do (hashing), in one transaction.
struct Step {
  const char* sql;
  Status (*convert)(sqlite3* db, const std::string& path) = nullptr;
};

// kSteps[N - 1] takes the schema from version N - 1 to version N.
const Step kSteps[] = {
    // 1: configuration versions.
    {R"sql(
      CREATE TABLE blobs (
        hash TEXT PRIMARY KEY,
        body TEXT NOT NULL
      );
      CREATE TABLE versions (
        id INTEGER PRIMARY KEY,
        created_at_ms INTEGER NOT NULL,
        author TEXT NOT NULL,
        message TEXT NOT NULL,
        hash TEXT NOT NULL,
        resource_count INTEGER NOT NULL
      );
      CREATE TABLE version_resources (
        version_id INTEGER NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        blob_hash TEXT NOT NULL REFERENCES blobs(hash),
        PRIMARY KEY (version_id, kind, namespace, name)
      ) WITHOUT ROWID;
      CREATE INDEX version_resources_by_blob ON version_resources(blob_hash);
    )sql"},
    // 2: shared manifests, audit log, runtime state.
    {R"sql(
      CREATE TABLE bodies (
        id INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL
      );
      INSERT INTO bodies (id, hash, body) SELECT rowid, hash, body FROM blobs;
      CREATE TABLE chunks (
        id INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE
      );
      CREATE TABLE chunk_entries (
        chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        body_id INTEGER NOT NULL REFERENCES bodies(id),
        PRIMARY KEY (chunk_id, kind, namespace, name)
      ) WITHOUT ROWID;
      CREATE INDEX chunk_entries_by_body ON chunk_entries(body_id);
      CREATE TABLE version_chunks (
        version_id INTEGER NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        chunk_id INTEGER NOT NULL REFERENCES chunks(id),
        PRIMARY KEY (version_id, seq)
      ) WITHOUT ROWID;
      CREATE INDEX version_chunks_by_chunk ON version_chunks(chunk_id);

      CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        source TEXT NOT NULL,
        action TEXT NOT NULL,
        version_before INTEGER NOT NULL,
        version_after INTEGER NOT NULL,
        summary TEXT NOT NULL
      );
      CREATE TRIGGER audit_refuses_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
      CREATE TRIGGER audit_refuses_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

      CREATE TABLE runtime (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        running_version INTEGER NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL
      );
      CREATE TABLE refusals (
        version_id INTEGER PRIMARY KEY REFERENCES versions(id) ON DELETE CASCADE,
        at_ms INTEGER NOT NULL,
        reason TEXT NOT NULL
      );
    )sql",
     convertToChunks},
    // 3: admin accounts (core/admin): users, their sessions, and API tokens.
    {R"sql(
      CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
        password_hash TEXT NOT NULL,
        must_change INTEGER NOT NULL DEFAULT 0,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
      );
      CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        address TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        last_seen_ms INTEGER NOT NULL
      );
      CREATE INDEX sessions_by_user ON sessions(user_name);
      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
        secret_hash TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        last_used_ms INTEGER NOT NULL DEFAULT 0
      );
    )sql"},
};

// Runs `sql` once per row of one integer column, calling `fn` with it; SQLite's result code.
template <typename Fn>
int forEachInteger(sqlite3* db, const char* sql, Fn fn) {
  Statement statement;
  if (int rc = statement.prepare(db, sql); rc != SQLITE_OK) return rc;
  Query query(statement);
  int rc;
  while ((rc = query.step()) == SQLITE_ROW) {
    if (int failed = fn(query.int64(0)); failed != SQLITE_OK) return failed;
  }
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

// Schema 1 -> 2: every version's version_resources rows become a chunked manifest. The bodies
// are all there already (copied from blobs by the step's SQL), so no chunk needs any written.
// Then the old tables go, and the audit log of a database that had versions starts with an
// entry that says where it starts.
Status convertToChunks(sqlite3* db, const std::string& path) {
  ManifestWriter writer;
  Statement rows;
  if (writer.prepare(db) != SQLITE_OK ||
      rows.prepare(db,
                   "SELECT r.kind, r.namespace, r.name, r.blob_hash, b.id"
                   " FROM version_resources AS r JOIN bodies AS b ON b.hash = r.blob_hash"
                   " WHERE r.version_id = ? ORDER BY r.kind, r.namespace, r.name") != SQLITE_OK)
    return failure(db, path, "converting version lists to schema 2");

  int64_t versions = 0;
  int rc = forEachInteger(db, "SELECT id FROM versions ORDER BY id", [&](int64_t id) {
    // The strings must outlive the views the writer takes.
    std::vector<std::string> fields;
    std::vector<int64_t> bodyIds;
    {
      Query query(rows);
      query.bind(id);
      int step;
      while ((step = query.step()) == SQLITE_ROW) {
        for (int c = 0; c < 4; ++c) fields.push_back(query.text(c));
        bodyIds.push_back(query.int64(4));
      }
      if (step != SQLITE_DONE) return step;
    }
    std::vector<ManifestEntry> entries;
    for (size_t i = 0; i < bodyIds.size(); ++i) {
      const size_t f = 4 * i;
      entries.push_back({fields[f], fields[f + 1], fields[f + 2], fields[f + 3], bodyIds[i]});
    }
    ++versions;
    // Every body is in `bodies` already, and every entry carries its id.
    return writer.write(id, entries,
                        [](std::vector<ManifestEntry>&, size_t, size_t) { return SQLITE_OK; });
  });
  if (rc != SQLITE_OK) return failure(db, path, "converting version lists to schema 2");
  if (execute(db, "DROP TABLE version_resources; DROP TABLE blobs") != SQLITE_OK)
    return failure(db, path, "dropping the tables of schema 1");
  // A new database passes through schema 1 too; it has no history to account for.
  if (versions == 0) return okStatus();

  Statement insert;
  if (insert.prepare(db,
                     "INSERT INTO audit (at_ms, actor, source, action, version_before,"
                     " version_after, summary) VALUES (?, 'gatehouse', ?, 'migrate',"
                     " (SELECT coalesce(max(id), 0) FROM versions),"
                     " (SELECT coalesce(max(id), 0) FROM versions), ?)") != SQLITE_OK)
    return failure(db, path, "starting the audit log");
  using namespace std::chrono;
  const int64_t now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  const std::string source = "schema migration, pid " + std::to_string(getpid());
  const std::string summary = "schema 1 -> 2: " + std::to_string(versions) +
                              " versions kept; changes before this entry were not audited";
  Query query(insert);
  query.bind(now).bind(source).bind(summary);
  if (query.step() != SQLITE_DONE) return failure(db, path, "starting the audit log");
  return okStatus();
}

// Runs a query of one integer (a pragma, a count) without values bound.
int readInteger(sqlite3* db, const char* sql, int64_t* out) {
  Statement statement;
  if (int rc = statement.prepare(db, sql); rc != SQLITE_OK) return rc;
  Query query(statement);
  int rc = query.step();
  if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? SQLITE_ERROR : rc;
  *out = query.int64(0);
  return SQLITE_OK;
}

// Reads the schema version, after deciding from the header and the table list that the
// database is ours to use: one a gatehouse has written (our application id), or a brand-new
// empty file (version 0). Call it inside a transaction: the three reads must see one state of
// the file, or a migration committed between them by another process makes a half-migrated
// file appear that never existed.
Status inspect(sqlite3* db, const std::string& path, int64_t* version) {
  int64_t applicationId = 0, userVersion = 0, objects = 0;
  if (readInteger(db, "PRAGMA application_id", &applicationId) != SQLITE_OK ||
      readInteger(db, "PRAGMA user_version", &userVersion) != SQLITE_OK ||
      readInteger(db, "SELECT count(*) FROM sqlite_schema", &objects) != SQLITE_OK) {
    return failure(db, path, "reading the schema version");
  }
  const bool ours = applicationId == kApplicationId;
  const bool empty = applicationId == 0 && userVersion == 0 && objects == 0;
  if (!ours && !empty) {
    return Status::error(path + ": not a gatehouse database (it is some other program's " +
                         "SQLite database: application_id " + std::to_string(applicationId) +
                         ", user_version " + std::to_string(userVersion) + ")");
  }
  if (userVersion > kVersion) {
    return Status::error(path + ": schema version " + std::to_string(userVersion) +
                         " is newer than this gatehouse (" + std::to_string(kVersion) + ")");
  }
  *version = userVersion;
  return okStatus();
}

}  // namespace

const int64_t kVersion = static_cast<int64_t>(std::size(kSteps));

Status migrate(sqlite3* db, const std::string& path) {
  // The common case, an up-to-date database, is settled by a read and takes no write lock, so
  // opening a store never waits behind another process's commit.
  int64_t current = 0;
  {
    Transaction read(db);
    if (read.begin(Transaction::Mode::kRead) != SQLITE_OK)
      return failure(db, path, "reading the schema version");
    if (Status s = inspect(db, path, &current); !s.ok()) return s;
  }

  while (current < kVersion) {
    Transaction txn(db);
    if (txn.begin(Transaction::Mode::kWrite) != SQLITE_OK)
      return failure(db, path, "migrating the schema");
    // Look again under the write lock: another process may have migrated since the read above.
    if (Status s = inspect(db, path, &current); !s.ok()) return s;
    if (current == kVersion) break;

    const int64_t next = current + 1;
    // Pragmas take no bound parameters; these two numbers are this build's own constants.
    const std::string stamp = "PRAGMA user_version = " + std::to_string(next) +
                              "; PRAGMA application_id = " + std::to_string(kApplicationId);
    const Step& step = kSteps[current];
    if (execute(db, step.sql) != SQLITE_OK)
      return failure(db, path, "migrating the schema to version " + std::to_string(next));
    if (step.convert != nullptr) {
      if (Status s = step.convert(db, path); !s.ok()) return s;
    }
    if (execute(db, stamp.c_str()) != SQLITE_OK || txn.commit() != SQLITE_OK)
      return failure(db, path, "migrating the schema to version " + std::to_string(next));
    current = next;
  }
  return okStatus();
}

}  // namespace gh::store::schema
