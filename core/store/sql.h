#pragma once
// The few pieces of the SQLite C API the store builds on, given owners so that nothing leaks or
// stays open on an early return. Internal to core/store: nothing outside this directory sees
// <sqlite3.h>.
//
// Statement owns a prepared statement for the life of the connection; Query is one execution
// of it; Transaction is a BEGIN that rolls back unless committed. Values only ever reach SQL
// through bind(), so no SQL text is built from data.
//
// Functions return SQLite result codes rather than Status because the caller knows what it was
// doing and so writes the better message; sqlite3_errmsg() holds SQLite's side of the story
// until the next call on the connection.

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace gh::store {

class Statement {
 public:
  Statement() = default;
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  enum class Lifetime {
    kOnce,        // run once and dropped
    kConnection,  // kept and re-run for the life of the connection: SQLite then does not carve
                  // it from its lookaside memory, which is meant for short-lived objects
  };
  int prepare(sqlite3* db, const char* sql, Lifetime lifetime = Lifetime::kOnce);

  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// One execution of a Statement: bind parameters left to right, step, read columns. Going out of
// scope resets the statement and clears its bindings. The reset is not tidiness: a statement
// left part-way through its rows keeps its read transaction open, which pins this connection to
// an old snapshot (it would miss other connections' commits) and stops WAL checkpoints.
class Query {
 public:
  explicit Query(Statement& statement) : stmt_(statement.get()) {}
  ~Query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind(int64_t value);
  // Bound without a copy (SQLITE_STATIC): the string must outlive the Query, which is why a
  // temporary is refused at compile time.
  Query& bind(const std::string& value);
  Query& bind(std::string&&) = delete;
  // The same for a view (the bytes it points to must outlive the Query).
  Query& bindView(std::string_view value);

  // SQLITE_ROW while there are rows, then SQLITE_DONE; anything else is an error.
  int step() { return sqlite3_step(stmt_); }

  int64_t int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string text(int column) const;

 private:
  sqlite3_stmt* stmt_;
  int nextParam_ = 1;
};

// BEGIN on begin(), ROLLBACK on destruction unless commit() succeeded. SQLite itself rolls back
// on some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY, SQLITE_NOMEM), so the destructor
// checks whether a transaction is still open before issuing its own ROLLBACK.
//
// Declare the Transaction before the Queries that run inside it: they are then reset first,
// and a rollback never has to abort a statement that is still stepping.
class Transaction {
 public:
  enum class Mode {
    kRead,   // BEGIN: the first read fixes the snapshot that every later read in it sees
    kWrite,  // BEGIN IMMEDIATE: takes the write lock up front, so a writer waits (busy_timeout)
             // at the start instead of failing with SQLITE_BUSY half-way through
  };

  explicit Transaction(sqlite3* db) : db_(db) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  int begin(Mode mode);
  int commit();

 private:
  sqlite3* db_;
  bool open_ = false;
};

// Runs SQL that carries no values (schema changes, pragmas with constant arguments).
int execute(sqlite3* db, const char* sql);

}  // namespace gh::store
