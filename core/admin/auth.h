#pragma once
// Auth: who is calling the admin API, and whether they may (spec/admin.md "Accounts and
// security").
//
//   Sessions   POST /api/v1/login checks the password (scrypt) and creates a session: a new
//              128-bit random id (never reused: a login always makes a new one), stored only as
//              its SHA-256, sent as the cookie `__Host-gh_session` over HTTPS (Secure,
//              HttpOnly, SameSite=Strict, Path=/). Over plain HTTP — the loopback default —
//              a browser refuses a `__Host-` cookie (the prefix demands Secure), so the cookie
//              is `gh_session` with the same attributes but Secure. A session ends after
//              kIdleMs without a request or kAbsoluteMs after login, whichever comes first.
//   CSRF       each session has a random CSRF token, returned by login and GET /session; every
//              request that is not GET or HEAD must carry it in X-CSRF-Token and must carry an
//              Origin equal to the admin's own origin (scheme://Host). Login itself needs the
//              Origin (there is no token yet).
//   API tokens `Authorization: Bearer ghat_<id>_<secret>`: the role is the token's; stored as
//              SHA-256 of the secret. A bearer request carries no ambient credential, so it
//              needs no CSRF token, but an Origin it does send must match.
//   Throttling failed logins are counted per user name and per client address over
//              kThrottleWindowMs; past kMaxFailuresPerUser or kMaxFailuresPerAddress further
//              attempts are refused with 429 (and Retry-After) without checking the password,
//              so guessing costs the attacker time, and the server no scrypt work.
//
// Roles are ordered viewer < editor < admin; an endpoint names the least role it needs.
// Control thread only (uses its own Store connection).

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "core/admin/admin_server.h"
#include "core/store/accounts.h"

namespace gh::admin {

enum class Role { kNone = 0, kViewer = 1, kEditor = 2, kAdmin = 3 };
Role parseRole(const std::string& s);
const char* roleName(Role r);

// The caller of one request.
struct Principal {
  std::string user;  // account name, or "token:<id> (<name>)"
  Role role = Role::kNone;
  bool viaToken = false;
  bool mustChangePassword = false;
  std::string sessionIdHash;  // sessions only
  std::string csrf;           // sessions only
};

class Auth {
 public:
  static constexpr int64_t kIdleMs = 30 * 60 * 1000;
  static constexpr int64_t kAbsoluteMs = 12 * 60 * 60 * 1000;
  static constexpr int64_t kThrottleWindowMs = 5 * 60 * 1000;
  static constexpr int kMaxFailuresPerUser = 5;
  static constexpr int kMaxFailuresPerAddress = 20;

  explicit Auth(store::Store& store) : store_(store), accounts_(store) {}

  // The caller, from the session cookie or a bearer token; nullopt when neither is valid.
  std::optional<Principal> identify(const AdminRequest& req, int64_t nowMs);

  // Whether a changing request passes the Origin check (and, for sessions, the CSRF token).
  // On refusal, *why says which.
  bool checkChange(const AdminRequest& req, const Principal& p, std::string* why) const;
  static bool originMatches(const AdminRequest& req);

  struct LoginResult {
    int status = 200;  // 200, 401 (wrong user or password), 429 (throttled)
    std::string error;
    int64_t retryAfterSeconds = 0;
    Principal principal;
    std::string cookie;  // the Set-Cookie value
  };
  LoginResult login(const AdminRequest& req, const std::string& user, const std::string& password,
                    int64_t nowMs);
  // Ends the caller's session; returns the Set-Cookie value that clears the cookie.
  std::string logout(const AdminRequest& req, const Principal& p);

  // The Set-Cookie value for a session id (empty id: clear it).
  static std::string cookieFor(const AdminRequest& req, const std::string& id, int64_t maxAgeMs);
  static std::string cookieName(const AdminRequest& req);

  store::Accounts& accounts() { return accounts_; }

 private:
  bool throttled(const std::string& key, int limit, int64_t nowMs, int64_t* retryAfter);
  void recordFailure(const std::string& key, int64_t nowMs);

  store::Store& store_;
  store::Accounts accounts_;
  std::map<std::string, std::deque<int64_t>> failures_;  // "user:NAME" / "addr:IP" -> times
  int64_t lastSweepMs_ = 0;
};

}  // namespace gh::admin
