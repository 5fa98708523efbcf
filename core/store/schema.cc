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
// The audit log of spec/config.md will be a later step of its own.

#include "core/store/schema.h"

#include <iterator>

#include "core/store/sql.h"

namespace gh::store::schema {
namespace {

// kSteps[N - 1] takes the schema from version N - 1 to version N.
constexpr const char* kSteps[] = {
    // 1: configuration versions.
    R"sql(
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
    )sql",
};

Status failure(sqlite3* db, const std::string& path, const std::string& what) {
  return Status::error(path + ": " + what + ": " + sqlite3_errmsg(db));
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
    if (execute(db, kSteps[current]) != SQLITE_OK || execute(db, stamp.c_str()) != SQLITE_OK ||
        txn.commit() != SQLITE_OK) {
      return failure(db, path, "migrating the schema to version " + std::to_string(next));
    }
    current = next;
  }
  return okStatus();
}

}  // namespace gh::store::schema
