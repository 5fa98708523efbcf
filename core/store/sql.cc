#include "core/store/sql.h"

namespace gh::store {

int Statement::prepare(sqlite3* db, const char* sql, Lifetime lifetime) {
  sqlite3_finalize(stmt_);
  stmt_ = nullptr;
  const unsigned flags = lifetime == Lifetime::kConnection ? SQLITE_PREPARE_PERSISTENT : 0;
  return sqlite3_prepare_v3(db, sql, -1, flags, &stmt_, nullptr);
}

Query& Query::bind(int64_t value) {
  // A bind can only fail on a wrong index or a statement that is mid-step, both programming
  // errors that the following step() reports as SQLITE_RANGE or SQLITE_MISUSE anyway.
  sqlite3_bind_int64(stmt_, nextParam_++, value);
  return *this;
}

Query& Query::bind(const std::string& value) {
  sqlite3_bind_text(stmt_, nextParam_++, value.data(), static_cast<int>(value.size()),
                    SQLITE_STATIC);
  return *this;
}

Query& Query::bindView(std::string_view value) {
  // A default-constructed view has no data pointer, which SQLite would bind as NULL, not as
  // the empty text it is.
  sqlite3_bind_text(stmt_, nextParam_++, value.data() ? value.data() : "",
                    static_cast<int>(value.size()), SQLITE_STATIC);
  return *this;
}

std::string Query::text(int column) const {
  // sqlite3_column_text() first: it may convert the value, and only then is the byte count
  // the count of the text returned.
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  int len = sqlite3_column_bytes(stmt_, column);
  return data == nullptr ? std::string() : std::string(data, static_cast<size_t>(len));
}

int Transaction::begin(Mode mode) {
  int rc = execute(db_, mode == Mode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN");
  open_ = rc == SQLITE_OK;
  return rc;
}

int Transaction::commit() {
  int rc = execute(db_, "COMMIT");
  // A failed COMMIT may leave the transaction open (SQLITE_BUSY) or already rolled back; the
  // destructor sorts out which.
  if (rc == SQLITE_OK) open_ = false;
  return rc;
}

Transaction::~Transaction() {
  if (open_ && !sqlite3_get_autocommit(db_)) execute(db_, "ROLLBACK");
}

int execute(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
}

}  // namespace gh::store
