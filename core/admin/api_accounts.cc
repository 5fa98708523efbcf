// Accounts endpoints: the caller's session and password, users, API tokens and the audit log.
// Passwords come in request bodies only and never leave: not in a response, not in the log,
// not in the audit summary.

#include <algorithm>
#include <unistd.h>

#include "core/admin/api_internal.h"
#include "core/admin/bootstrap.h"
#include "core/base/sha256.h"
#include "core/identity/encoding.h"
#include "core/identity/password.h"

namespace gh::admin {
namespace {

using Call = AdminApi::Call;

constexpr size_t kMinPassword = 10;
constexpr size_t kMaxPassword = 1024;

bool passwordAcceptable(const std::string& p, std::string* why) {
  if (p.size() < kMinPassword) {
    *why = "a password needs at least " + std::to_string(kMinPassword) + " characters";
    return false;
  }
  if (p.size() > kMaxPassword) {
    *why = "a password may have at most " + std::to_string(kMaxPassword) + " characters";
    return false;
  }
  return true;
}

bool nameAcceptable(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != '@')
      return false;
  return true;
}

store::Actor actorOf(const Call& call) { return {call.who.user, call.source()}; }

AdminResponse fromStatus(const Status& s, int conflictStatus = 409) {
  if (s.ok()) return jsonReply(200, json::Value::object().set("ok", true));
  const std::string& m = s.message();
  if (m.find("not found") != std::string::npos) return errorReply(404, m);
  if (m.find("already exists") != std::string::npos || m.find("no admin") != std::string::npos)
    return errorReply(conflictStatus, m);
  if (m.find("unknown role") != std::string::npos) return errorReply(400, m);
  return errorReply(500, m);
}

json::Value userJson(const store::User& u) {
  return json::Value::object()
      .set("name", u.name)
      .set("role", u.role)
      .set("mustChangePassword", u.mustChange)
      .set("createdAt", u.createdAtUnixMs)
      .set("updatedAt", u.updatedAtUnixMs);
}

AdminResponse session(Call& call) {
  return jsonReply(200, json::Value::object()
                            .set("user", call.who.user)
                            .set("role", roleName(call.who.role))
                            .set("csrf", call.who.csrf)
                            .set("viaToken", call.who.viaToken)
                            .set("mustChangePassword", call.who.mustChangePassword));
}

AdminResponse changeOwnPassword(Call& call) {
  if (call.req.method != "POST") return errorReply(405, "use POST");
  if (call.who.viaToken) return errorReply(400, "an API token has no password");
  std::string current = call.body.getString("current"), next = call.body.getString("new");
  auto user = call.auth.accounts().user(call.who.user);
  if (!user.ok() || !user.value()) return errorReply(404, "no such user");
  if (!identity::verifyPassword(current, user.value()->passwordHash))
    return errorReply(403, "the current password is wrong");
  std::string why;
  if (!passwordAcceptable(next, &why)) return errorReply(400, why);
  if (next == current) return errorReply(400, "the new password must differ from the current one");
  Status s = call.auth.accounts().setPassword(call.who.user, identity::hashPassword(next),
                                              actorOf(call), call.who.sessionIdHash);
  if (!s.ok()) return fromStatus(s);
  // The one-time password has served its purpose.
  if (user.value()->mustChange)
    ::unlink((call.ctx.dataDir + "/" + kInitialPasswordFile).c_str());
  return jsonReply(200, json::Value::object().set("ok", true));
}

AdminResponse users(Call& call) {
  const auto& seg = call.segments;
  const std::string& m = call.req.method;
  store::Accounts& accounts = call.auth.accounts();
  if (seg.size() == 1 && (m == "GET" || m == "HEAD")) {
    auto list = accounts.users();
    if (!list.ok()) return errorReply(500, list.status().message());
    json::Value items = json::Value::array();
    for (const store::User& u : list.value()) items.push(userJson(u));
    return jsonReply(200, json::Value::object().set("items", items));
  }
  if (seg.size() == 1 && m == "POST") {
    store::User u;
    u.name = call.body.getString("name");
    u.role = call.body.getString("role", "viewer");
    std::string password = call.body.getString("password"), why;
    if (!nameAcceptable(u.name))
      return errorReply(400, "a user name is 1 to 64 letters, digits, '-', '_', '.' or '@'");
    if (!store::isRole(u.role)) return errorReply(400, "role must be viewer, editor or admin");
    if (!passwordAcceptable(password, &why)) return errorReply(400, why);
    u.passwordHash = identity::hashPassword(password);
    Status s = accounts.addUser(u, actorOf(call));
    if (!s.ok()) return fromStatus(s);
    return jsonReply(201, userJson(u));
  }
  if (seg.size() != 2) return errorReply(404, "no such endpoint");
  const std::string& name = seg[1];
  if (m == "PUT" || m == "PATCH") {
    if (const json::Value* r = call.body.find("role"); r && r->isString()) {
      if (!store::isRole(r->asString()))
        return errorReply(400, "role must be viewer, editor or admin");
      if (Status s = accounts.setRole(name, r->asString(), actorOf(call)); !s.ok())
        return fromStatus(s);
    }
    if (const json::Value* p = call.body.find("password"); p && p->isString()) {
      std::string why;
      if (!passwordAcceptable(p->asString(), &why)) return errorReply(400, why);
      if (Status s = accounts.setPassword(name, identity::hashPassword(p->asString()),
                                          actorOf(call));
          !s.ok())
        return fromStatus(s);
    }
    auto u = accounts.user(name);
    if (!u.ok() || !u.value()) return errorReply(404, "user " + name + ": not found");
    return jsonReply(200, userJson(*u.value()));
  }
  if (m == "DELETE") return fromStatus(accounts.removeUser(name, actorOf(call)));
  return errorReply(405, "use PUT or DELETE");
}

AdminResponse tokens(Call& call) {
  const auto& seg = call.segments;
  const std::string& m = call.req.method;
  store::Accounts& accounts = call.auth.accounts();
  if (seg.size() == 1 && (m == "GET" || m == "HEAD")) {
    auto list = accounts.tokens();
    if (!list.ok()) return errorReply(500, list.status().message());
    json::Value items = json::Value::array();
    for (const store::ApiToken& t : list.value())
      items.push(json::Value::object()
                     .set("id", t.id)
                     .set("name", t.name)
                     .set("role", t.role)
                     .set("createdBy", t.createdBy)
                     .set("createdAt", t.createdAtUnixMs)
                     .set("expiresAt", t.expiresAtUnixMs)
                     .set("lastUsedAt", t.lastUsedUnixMs));
    return jsonReply(200, json::Value::object().set("items", items));
  }
  if (seg.size() == 1 && m == "POST") {
    store::ApiToken t;
    t.name = call.body.getString("name");
    t.role = call.body.getString("role", "viewer");
    int64_t ttlDays = call.body.getInt("ttlDays", 90);
    if (t.name.empty() || t.name.size() > 100) return errorReply(400, "`name` is required");
    if (!store::isRole(t.role)) return errorReply(400, "role must be viewer, editor or admin");
    if (ttlDays < 0 || ttlDays > 3650) return errorReply(400, "ttlDays: 0 (never) to 3650");
    t.id = identity::hexEncode(identity::randomBytes(8));
    std::string secret = identity::randomSecret(32);
    t.secretHash = Sha256::hex(secret);
    t.createdBy = call.who.user;
    t.createdAtUnixMs = call.now;
    t.expiresAtUnixMs = ttlDays == 0 ? 0 : call.now + ttlDays * 86'400'000;
    if (Status s = accounts.addToken(t, actorOf(call)); !s.ok()) return fromStatus(s);
    // The only time the secret is shown.
    return jsonReply(201, json::Value::object()
                              .set("id", t.id)
                              .set("name", t.name)
                              .set("role", t.role)
                              .set("expiresAt", t.expiresAtUnixMs)
                              .set("token", "ghat_" + t.id + "_" + secret));
  }
  if (seg.size() == 2 && m == "DELETE") return fromStatus(accounts.revokeToken(seg[1], actorOf(call)));
  return errorReply(404, "no such endpoint");
}

AdminResponse audit(Call& call) {
  int64_t before = call.intParam("before", 0);
  int64_t limit = std::clamp<int64_t>(call.intParam("limit", 50), 1, 500);
  auto page = call.store.auditPage(before, limit + 1);
  if (!page.ok()) return errorReply(500, page.status().message());
  json::Value items = json::Value::array();
  int64_t last = 0;
  auto& entries = page.value();
  for (size_t i = 0; i < entries.size() && static_cast<int64_t>(i) < limit; ++i) {
    const store::AuditEntry& e = entries[i];
    items.push(json::Value::object()
                   .set("id", e.id)
                   .set("at", e.atUnixMs)
                   .set("actor", e.actor)
                   .set("source", e.source)
                   .set("action", e.action)
                   .set("versionBefore", e.versionBefore)
                   .set("versionAfter", e.versionAfter)
                   .set("summary", e.summary));
    last = e.id;
  }
  bool more = static_cast<int64_t>(entries.size()) > limit;
  return jsonReply(200, json::Value::object().set("items", items).set(
                            "next", more ? json::Value(last) : json::Value()));
}

}  // namespace

AdminResponse handleAccounts(AdminApi::Call& call) {
  const std::string& first = call.segments[0];
  bool get = call.req.method == "GET" || call.req.method == "HEAD";
  if (first == "session" && call.segments.size() == 1 && get) return session(call);
  if (first == "password" && call.segments.size() == 1) return changeOwnPassword(call);
  if (first == "users") return users(call);
  if (first == "tokens") return tokens(call);
  if (first == "audit" && call.segments.size() == 1 && get) return audit(call);
  return errorReply(404, "no such endpoint");
}

}  // namespace gh::admin
