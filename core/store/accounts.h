#pragma once
// Accounts: the admin API's users, sessions and API tokens (spec/admin.md), kept in the
// configuration database beside the versions (schema 3).
//
// Model.
//   User      a name, a role (viewer < editor < admin) and a password hash in the stored form of
//             identity/password.h. Nothing here sees a password.
//   Session   a logged-in browser. The table keys it by the SHA-256 of its id: a copy of the
//             database (a backup) does not let anyone take over a session. It carries the
//             CSRF token the browser must echo on every change, the address it logged in
//             from, and the times the admin API's idle and absolute timeouts are measured
//             from. Deleting a user, or changing a password, deletes the user's sessions.
//   ApiToken  a bearer token for CI: a public id, the SHA-256 of its secret, a role (the
//             token's scope), who made it, when it expires (0: never) and when it was last used.
//
// Audit. Every change of a user or a token appends an audit entry (action "user" or "token")
// in the same transaction as the change; session logins and logouts are not configuration
// changes and are not audited here. There is always at least one admin: removing or demoting
// the last one is refused.
//
// Threading: as Store (one thread at a time); an Accounts borrows its Store's connection and
// must not outlive it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/store/store.h"

namespace gh::store {

struct User {
  std::string name;
  std::string role;          // "viewer", "editor" or "admin"
  std::string passwordHash;  // identity::hashPassword's stored form
  bool mustChange = false;   // a one-time password: only a password change is allowed
  int64_t createdAtUnixMs = 0;
  int64_t updatedAtUnixMs = 0;
};

struct Session {
  std::string idHash;  // hex SHA-256 of the session id
  std::string user;
  std::string role;  // the user's current role (read by session(); ignored by createSession)
  bool mustChange = false;  // the user's (read by session())
  std::string csrf;
  std::string address;
  int64_t createdAtUnixMs = 0;
  int64_t lastSeenUnixMs = 0;
};

struct ApiToken {
  std::string id;  // public, 16 hex digits
  std::string name;
  std::string role;
  std::string secretHash;  // hex SHA-256 of the secret
  std::string createdBy;
  int64_t createdAtUnixMs = 0;
  int64_t expiresAtUnixMs = 0;  // 0: never
  int64_t lastUsedUnixMs = 0;
};

// Who made a change, for its audit entry (the action and summary are the function's own).
struct Actor {
  std::string name;    // the account, or the OS user for the CLI
  std::string source;  // "admin api from 127.0.0.1", "cli pid 42 on host edge-1"
};

// Whether `role` is one of the three roles.
bool isRole(const std::string& role);

class Accounts {
 public:
  explicit Accounts(Store& store) : store_(store) {}

  Result<std::vector<User>> users();  // by name
  Result<std::optional<User>> user(const std::string& name);
  Result<int64_t> userCount();

  // Fails when the name is taken or the role unknown.
  Status addUser(const User& user, const Actor& actor);
  // Replaces the hash and clears mustChange; the user's sessions end, except `keepSession`
  // (the id hash of the session that made the change, if any).
  Status setPassword(const std::string& name, const std::string& passwordHash, const Actor& actor,
                     const std::string& keepSession = "");
  // Refused when it would leave no admin; the user's sessions keep going with the new role.
  Status setRole(const std::string& name, const std::string& role, const Actor& actor);
  // Refused for the last admin; the sessions go with the user.
  Status removeUser(const std::string& name, const Actor& actor);

  Status createSession(const Session& session);
  // The session with this id hash, with its user's current role; nullopt when there is none.
  Result<std::optional<Session>> session(const std::string& idHash);
  Status touchSession(const std::string& idHash, int64_t nowUnixMs);
  Status removeSession(const std::string& idHash);
  // Ends every session last seen before `idleBefore` or created before `createdBefore`.
  Status removeExpiredSessions(int64_t idleBefore, int64_t createdBefore);

  Status addToken(const ApiToken& token, const Actor& actor);
  Result<std::vector<ApiToken>> tokens();  // newest first
  Result<std::optional<ApiToken>> token(const std::string& id);
  Status touchToken(const std::string& id, int64_t nowUnixMs);
  // Fails when there is no such token.
  Status revokeToken(const std::string& id, const Actor& actor);

 private:
  Status change(const char* what, const std::string& sql,
                const std::vector<std::string>& textArgs, const std::string& action,
                const std::string& summary, const Actor& actor, bool mustTouchRow = true);
  Store& store_;
};

}  // namespace gh::store
