#include "core/admin/auth.h"

#include "core/base/sha256.h"
#include "core/base/strings.h"
#include "core/identity/encoding.h"
#include "core/identity/password.h"

namespace gh::admin {
namespace {

std::string cookieValue(std::string_view cookieHeader, std::string_view name) {
  for (std::string_view part : str::split(cookieHeader, ';')) {
    part = str::trimOws(part);
    size_t eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name)
      return std::string(part.substr(eq + 1));
  }
  return "";
}

// A scrypt hash to verify against when the user does not exist, so that a wrong user name
// costs as much as a wrong password and the timing does not tell which it was.
const std::string& decoyHash() {
  static const std::string h = identity::hashPassword(identity::randomSecret(16));
  return h;
}

constexpr std::string_view kTokenPrefix = "ghat_";

}  // namespace

Role parseRole(const std::string& s) {
  if (s == "viewer") return Role::kViewer;
  if (s == "editor") return Role::kEditor;
  if (s == "admin") return Role::kAdmin;
  return Role::kNone;
}

const char* roleName(Role r) {
  switch (r) {
    case Role::kViewer: return "viewer";
    case Role::kEditor: return "editor";
    case Role::kAdmin: return "admin";
    default: return "none";
  }
}

std::string Auth::cookieName(const AdminRequest& req) {
  return req.secure ? "__Host-gh_session" : "gh_session";
}

std::string Auth::cookieFor(const AdminRequest& req, const std::string& id, int64_t maxAgeMs) {
  std::string c = cookieName(req) + "=" + id + "; Path=/; HttpOnly; SameSite=Strict";
  if (req.secure) c += "; Secure";
  c += "; Max-Age=" + std::to_string(id.empty() ? 0 : maxAgeMs / 1000);
  return c;
}

std::optional<Principal> Auth::identify(const AdminRequest& req, int64_t nowMs) {
  std::string_view authz = req.header("authorization");
  if (str::startsWith(authz, "Bearer ")) {
    std::string_view text = str::trimOws(authz.substr(7));
    if (!str::startsWith(text, kTokenPrefix)) return std::nullopt;
    text.remove_prefix(kTokenPrefix.size());
    size_t us = text.find('_');
    if (us == std::string_view::npos) return std::nullopt;
    std::string id(text.substr(0, us));
    auto token = accounts_.token(id);
    if (!token.ok() || !token.value()) return std::nullopt;
    const store::ApiToken& t = *token.value();
    if (t.expiresAtUnixMs != 0 && t.expiresAtUnixMs <= nowMs) return std::nullopt;
    if (!identity::constantTimeEquals(Sha256::hex(text.substr(us + 1)), t.secretHash))
      return std::nullopt;
    // Last use is kept to the minute: a CI job polling every second writes once a minute.
    if (nowMs - t.lastUsedUnixMs > 60'000) accounts_.touchToken(id, nowMs);
    Principal p;
    p.user = "token:" + t.id + " (" + t.name + ")";
    p.role = parseRole(t.role);
    p.viaToken = true;
    return p;
  }
  std::string id = cookieValue(req.header("cookie"), cookieName(req));
  if (id.empty()) return std::nullopt;
  std::string idHash = Sha256::hex(id);
  auto s = accounts_.session(idHash);
  if (!s.ok() || !s.value()) return std::nullopt;
  const store::Session& session = *s.value();
  if (nowMs - session.lastSeenUnixMs > kIdleMs || nowMs - session.createdAtUnixMs > kAbsoluteMs) {
    accounts_.removeSession(idHash);
    return std::nullopt;
  }
  if (nowMs - session.lastSeenUnixMs > 10'000) accounts_.touchSession(idHash, nowMs);
  Principal p;
  p.user = session.user;
  p.role = parseRole(session.role);
  p.mustChangePassword = session.mustChange;
  p.sessionIdHash = idHash;
  p.csrf = session.csrf;
  return p;
}

bool Auth::originMatches(const AdminRequest& req) {
  std::string_view origin = req.header("origin");
  std::string_view host = req.header("host");
  if (origin.empty() || host.empty()) return false;
  std::string expected = std::string(req.secure ? "https://" : "http://") + std::string(host);
  return str::iequals(origin, expected);
}

bool Auth::checkChange(const AdminRequest& req, const Principal& p, std::string* why) const {
  if (p.viaToken) {
    if (!req.header("origin").empty() && !originMatches(req)) {
      *why = "the Origin does not match this admin address";
      return false;
    }
    return true;
  }
  if (!originMatches(req)) {
    *why = req.header("origin").empty() ? "a change needs an Origin header"
                                        : "the Origin does not match this admin address";
    return false;
  }
  std::string_view token = req.header("x-csrf-token");
  if (token.empty() || !identity::constantTimeEquals(token, p.csrf)) {
    *why = "missing or wrong CSRF token (X-CSRF-Token)";
    return false;
  }
  return true;
}

bool Auth::throttled(const std::string& key, int limit, int64_t nowMs, int64_t* retryAfter) {
  auto it = failures_.find(key);
  if (it == failures_.end()) return false;
  auto& times = it->second;
  while (!times.empty() && nowMs - times.front() > kThrottleWindowMs) times.pop_front();
  if (static_cast<int>(times.size()) < limit) return false;
  *retryAfter = (times.front() + kThrottleWindowMs - nowMs) / 1000 + 1;
  return true;
}

void Auth::recordFailure(const std::string& key, int64_t nowMs) {
  failures_[key].push_back(nowMs);
  // Forget keys whose failures have all aged out, so the map does not grow without bound.
  if (nowMs - lastSweepMs_ > kThrottleWindowMs) {
    lastSweepMs_ = nowMs;
    for (auto it = failures_.begin(); it != failures_.end();) {
      if (!it->second.empty() && nowMs - it->second.back() > kThrottleWindowMs) {
        it = failures_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

Auth::LoginResult Auth::login(const AdminRequest& req, const std::string& user,
                              const std::string& password, int64_t nowMs) {
  LoginResult r;
  int64_t retry = 0;
  const std::string userKey = "user:" + user, addrKey = "addr:" + req.peer;
  if (throttled(userKey, kMaxFailuresPerUser, nowMs, &retry) ||
      throttled(addrKey, kMaxFailuresPerAddress, nowMs, &retry)) {
    r.status = 429;
    r.error = "too many failed logins; try again later";
    r.retryAfterSeconds = retry;
    return r;
  }
  auto found = accounts_.user(user);
  bool ok = false;
  if (found.ok() && found.value()) {
    ok = identity::verifyPassword(password, found.value()->passwordHash);
  } else {
    identity::verifyPassword(password, decoyHash());
  }
  if (!ok) {
    recordFailure(userKey, nowMs);
    recordFailure(addrKey, nowMs);
    r.status = 401;
    r.error = "wrong user name or password";
    return r;
  }
  failures_.erase(userKey);
  accounts_.removeExpiredSessions(nowMs - kIdleMs, nowMs - kAbsoluteMs);
  const std::string id = identity::randomSecret(16);  // 128 bits
  store::Session s;
  s.idHash = Sha256::hex(id);
  s.user = user;
  s.csrf = identity::randomSecret(24);
  s.address = req.peer;
  s.createdAtUnixMs = nowMs;
  s.lastSeenUnixMs = nowMs;
  if (Status st = accounts_.createSession(s); !st.ok()) {
    r.status = 500;
    r.error = st.message();
    return r;
  }
  r.principal.user = user;
  r.principal.role = parseRole(found.value()->role);
  r.principal.mustChangePassword = found.value()->mustChange;
  r.principal.sessionIdHash = s.idHash;
  r.principal.csrf = s.csrf;
  r.cookie = cookieFor(req, id, kAbsoluteMs);
  return r;
}

std::string Auth::logout(const AdminRequest& req, const Principal& p) {
  if (!p.sessionIdHash.empty()) accounts_.removeSession(p.sessionIdHash);
  return cookieFor(req, "", 0);
}

}  // namespace gh::admin
