#pragma once
// The schema of the configuration database and how a database is brought up to it.
//
// The schema has a version number kept in the database header (PRAGMA user_version). Version N
// is reached from N-1 by migration step N, and the steps form an append-only list in
// schema.cc: a step that has shipped is never edited, because databases in the field have
// already run it; a change to the schema is a new step. Each step runs in its own transaction
// together with the user_version bump that records it, so a crash leaves the database at one
// version or the next, never between.
//
// The header also carries an application id (PRAGMA application_id), written by the first step.
// It is what lets open() refuse another program's SQLite database instead of quietly adding
// gatehouse tables to it, and lets file(1) tell what a file is.

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "core/base/status.h"

namespace gh::store::schema {

// The schema version this build writes and understands.
extern const int64_t kVersion;

// "GHcf" in ASCII.
constexpr int64_t kApplicationId = 0x47486366;

// Brings the database to kVersion. Refuses a database whose schema is newer than kVersion (an
// older gatehouse must not write what a newer one laid out) and a SQLite database that belongs
// to some other program. Safe against another process migrating the same file at the same
// time: whichever takes the write lock second finds the work done. Messages start with `path`.
Status migrate(sqlite3* db, const std::string& path);

}  // namespace gh::store::schema
