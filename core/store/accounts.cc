// Users, sessions and API tokens (accounts.h). Small tables, few rows, changed rarely: the
// statements are prepared per call rather than kept, and every change is one IMMEDIATE
// transaction that also appends its audit entry.

#include "core/store/accounts.h"

#include <chrono>
#include <variant>

#include "core/store/sql.h"

namespace gh::store {
namespace {

using Value = std::variant<int64_t, std::string>;

int64_t nowUnixMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void bindAll(Query& query, const std::vector<Value>& values) {
  for (const Value& v : values) {
    if (const int64_t* i = std::get_if<int64_t>(&v)) {
      query.bind(*i);
    } else {
      query.bind(std::get<std::string>(v));
    }
  }
}

Status failure(sqlite3* db, const std::string& path, const std::string& what) {
  return Status::error(path + ": " + what + ": " + sqlite3_errmsg(db));
}

// Runs a SELECT and hands each row to `fn`.
template <typename Fn>
Status select(sqlite3* db, const std::string& path, const char* what, const char* sql,
              const std::vector<Value>& values, Fn fn) {
  Statement statement;
  if (statement.prepare(db, sql) != SQLITE_OK) return failure(db, path, what);
  Query query(statement);
  bindAll(query, values);
  int rc;
  while ((rc = query.step()) == SQLITE_ROW) fn(query);
  if (rc != SQLITE_DONE) return failure(db, path, what);
  return okStatus();
}

// Runs one statement without a transaction of its own (sessions: not audited).
Status run(sqlite3* db, const std::string& path, const char* what, const char* sql,
           const std::vector<Value>& values) {
  Statement statement;
  if (statement.prepare(db, sql) != SQLITE_OK) return failure(db, path, what);
  Query query(statement);
  bindAll(query, values);
  if (query.step() != SQLITE_DONE) return failure(db, path, what);
  return okStatus();
}

User userFromRow(const Query& q) {
  return {q.text(0), q.text(1), q.text(2), q.int64(3) != 0, q.int64(4), q.int64(5)};
}

ApiToken tokenFromRow(const Query& q) {
  return {q.text(0), q.text(1),  q.text(2),  q.text(3),
          q.text(4), q.int64(5), q.int64(6), q.int64(7)};
}

constexpr const char* kUserColumns =
    "SELECT name, role, password_hash, must_change, created_at_ms, updated_at_ms FROM users";
constexpr const char* kTokenColumns =
    "SELECT id, name, role, secret_hash, created_by, created_at_ms, expires_at_ms, last_used_ms"
    " FROM api_tokens";

}  // namespace

bool isRole(const std::string& role) {
  return role == "viewer" || role == "editor" || role == "admin";
}

Result<std::vector<User>> Accounts::users() {
  std::vector<User> out;
  std::string sql = std::string(kUserColumns) + " ORDER BY name";
  Status s = select(store_.connection(), store_.path(), "reading users", sql.c_str(), {},
                    [&](const Query& q) { out.push_back(userFromRow(q)); });
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<User>> Accounts::user(const std::string& name) {
  std::optional<User> out;
  std::string sql = std::string(kUserColumns) + " WHERE name = ?";
  Status s = select(store_.connection(), store_.path(), "reading a user", sql.c_str(), {name},
                    [&](const Query& q) { out = userFromRow(q); });
  if (!s.ok()) return s;
  return out;
}

Result<int64_t> Accounts::userCount() {
  int64_t n = 0;
  Status s = select(store_.connection(), store_.path(), "counting users",
                    "SELECT count(*) FROM users", {}, [&](const Query& q) { n = q.int64(0); });
  if (!s.ok()) return s;
  return n;
}

// One audited change: the statement, a check that it found its row, the rule that an admin
// remains once there was one, and the audit entry, in one transaction.
Status Accounts::change(const char* what, const std::string& sql,
                        const std::vector<std::string>& textArgs, const std::string& action,
                        const std::string& summary, const Actor& actor, bool mustTouchRow) {
  sqlite3* db = store_.connection();
  const std::string& path = store_.path();
  Transaction txn(db);
  if (txn.begin(Transaction::Mode::kWrite) != SQLITE_OK) return failure(db, path, what);
  auto countAdmins = [&](int64_t* n) {
    return select(db, path, what, "SELECT count(*) FROM users WHERE role = 'admin'", {},
                  [&](const Query& q) { *n = q.int64(0); });
  };
  int64_t adminsBefore = 0, adminsAfter = 0;
  if (Status s = countAdmins(&adminsBefore); !s.ok()) return s;
  {
    Statement statement;
    if (statement.prepare(db, sql.c_str()) != SQLITE_OK) return failure(db, path, what);
    Query query(statement);
    for (const std::string& a : textArgs) query.bind(a);
    int rc = query.step();
    if (rc == SQLITE_CONSTRAINT) return Status::error(std::string(what) + ": already exists");
    if (rc != SQLITE_DONE) return failure(db, path, what);
  }
  if (mustTouchRow && sqlite3_changes(db) == 0)
    return Status::error(std::string(what) + ": not found");
  if (Status s = countAdmins(&adminsAfter); !s.ok()) return s;
  if (adminsBefore > 0 && adminsAfter == 0)
    return Status::error(std::string(what) + ": refused: it would leave no admin account");

  Statement insert;
  if (insert.prepare(db,
                     "INSERT INTO audit (at_ms, actor, source, action, version_before,"
                     " version_after, summary) VALUES (?, ?, ?, ?,"
                     " (SELECT coalesce(max(id), 0) FROM versions),"
                     " (SELECT coalesce(max(id), 0) FROM versions), ?)") != SQLITE_OK)
    return failure(db, path, "writing the audit log");
  {
    Query query(insert);
    query.bind(nowUnixMs()).bind(actor.name).bind(actor.source).bind(action).bind(summary);
    if (query.step() != SQLITE_DONE) return failure(db, path, "writing the audit log");
  }
  if (txn.commit() != SQLITE_OK) return failure(db, path, what);
  return okStatus();
}

Status Accounts::addUser(const User& user, const Actor& actor) {
  if (!isRole(user.role)) return Status::error("unknown role " + user.role);
  const std::string what = "user " + user.name;
  const std::string now = std::to_string(nowUnixMs());
  return change(what.c_str(),
                "INSERT INTO users (name, role, password_hash, must_change, created_at_ms,"
                " updated_at_ms) VALUES (?, ?, ?, " + std::string(user.mustChange ? "1" : "0") +
                    ", " + now + ", " + now + ")",
                {user.name, user.role, user.passwordHash}, "user",
                "added user " + user.name + " (" + user.role + ")", actor);
}

Status Accounts::setPassword(const std::string& name, const std::string& passwordHash,
                             const Actor& actor, const std::string& keepSession) {
  const std::string what = "user " + name;
  const std::string now = std::to_string(nowUnixMs());
  Status s = change(what.c_str(),
                    "UPDATE users SET password_hash = ?, must_change = 0, updated_at_ms = " + now +
                        " WHERE name = ?",
                    {passwordHash, name}, "user", "changed the password of " + name, actor);
  if (!s.ok()) return s;
  return run(store_.connection(), store_.path(), "ending sessions",
             "DELETE FROM sessions WHERE user_name = ? AND id_hash != ?", {name, keepSession});
}

Status Accounts::setRole(const std::string& name, const std::string& role, const Actor& actor) {
  if (!isRole(role)) return Status::error("unknown role " + role);
  const std::string what = "user " + name;
  const std::string now = std::to_string(nowUnixMs());
  return change(what.c_str(),
                "UPDATE users SET role = ?, updated_at_ms = " + now + " WHERE name = ?",
                {role, name}, "user", "set the role of " + name + " to " + role, actor);
}

Status Accounts::removeUser(const std::string& name, const Actor& actor) {
  const std::string what = "user " + name;
  return change(what.c_str(), "DELETE FROM users WHERE name = ?", {name}, "user",
                "removed user " + name, actor);
}

Status Accounts::createSession(const Session& s) {
  return run(store_.connection(), store_.path(), "creating a session",
             "INSERT INTO sessions (id_hash, user_name, csrf, address, created_at_ms,"
             " last_seen_ms) VALUES (?, ?, ?, ?, ?, ?)",
             {s.idHash, s.user, s.csrf, s.address, s.createdAtUnixMs, s.lastSeenUnixMs});
}

Result<std::optional<Session>> Accounts::session(const std::string& idHash) {
  std::optional<Session> out;
  Status s = select(store_.connection(), store_.path(), "reading a session",
                    "SELECT s.id_hash, s.user_name, u.role, u.must_change, s.csrf, s.address,"
                    " s.created_at_ms, s.last_seen_ms FROM sessions AS s JOIN users AS u ON u.name = s.user_name"
                    " WHERE s.id_hash = ?",
                    {idHash}, [&](const Query& q) {
                      out = Session{q.text(0),        q.text(1), q.text(2),
                                    q.int64(3) != 0,  q.text(4), q.text(5),
                                    q.int64(6),       q.int64(7)};
                    });
  if (!s.ok()) return s;
  return out;
}

Status Accounts::touchSession(const std::string& idHash, int64_t nowUnixMs) {
  return run(store_.connection(), store_.path(), "updating a session",
             "UPDATE sessions SET last_seen_ms = ? WHERE id_hash = ?", {nowUnixMs, idHash});
}

Status Accounts::removeSession(const std::string& idHash) {
  return run(store_.connection(), store_.path(), "ending a session",
             "DELETE FROM sessions WHERE id_hash = ?", {idHash});
}

Status Accounts::removeExpiredSessions(int64_t idleBefore, int64_t createdBefore) {
  return run(store_.connection(), store_.path(), "ending expired sessions",
             "DELETE FROM sessions WHERE last_seen_ms < ? OR created_at_ms < ?",
             {idleBefore, createdBefore});
}

Status Accounts::addToken(const ApiToken& t, const Actor& actor) {
  if (!isRole(t.role)) return Status::error("unknown role " + t.role);
  const std::string what = "API token " + t.name;
  return change(what.c_str(),
                "INSERT INTO api_tokens (id, name, role, secret_hash, created_by, created_at_ms,"
                " expires_at_ms) VALUES (?, ?, ?, ?, ?, " +
                    std::to_string(t.createdAtUnixMs) + ", " + std::to_string(t.expiresAtUnixMs) +
                    ")",
                {t.id, t.name, t.role, t.secretHash, t.createdBy}, "token",
                "created API token " + t.id + " \"" + t.name + "\" (" + t.role + ")", actor);
}

Result<std::vector<ApiToken>> Accounts::tokens() {
  std::vector<ApiToken> out;
  std::string sql = std::string(kTokenColumns) + " ORDER BY created_at_ms DESC, id";
  Status s = select(store_.connection(), store_.path(), "reading API tokens", sql.c_str(), {},
                    [&](const Query& q) { out.push_back(tokenFromRow(q)); });
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<ApiToken>> Accounts::token(const std::string& id) {
  std::optional<ApiToken> out;
  std::string sql = std::string(kTokenColumns) + " WHERE id = ?";
  Status s = select(store_.connection(), store_.path(), "reading an API token", sql.c_str(),
                    {id}, [&](const Query& q) { out = tokenFromRow(q); });
  if (!s.ok()) return s;
  return out;
}

Status Accounts::touchToken(const std::string& id, int64_t nowUnixMs) {
  return run(store_.connection(), store_.path(), "updating an API token",
             "UPDATE api_tokens SET last_used_ms = ? WHERE id = ?", {nowUnixMs, id});
}

Status Accounts::revokeToken(const std::string& id, const Actor& actor) {
  const std::string what = "API token " + id;
  return change(what.c_str(), "DELETE FROM api_tokens WHERE id = ?", {id}, "token",
                "revoked API token " + id, actor);
}

}  // namespace gh::store
