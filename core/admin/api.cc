// Routing, authentication and the checks every request passes; the endpoints themselves are in
// api_config.cc, api_runtime.cc and api_accounts.cc.

#include "core/admin/api.h"

#include <chrono>

#include "core/admin/api_internal.h"
#include "core/base/strings.h"

namespace gh::admin {
namespace {

int64_t systemNowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percentDecode(std::string_view s, bool plusIsSpace) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hexValue(s[i + 1]) >= 0 &&
        hexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2]));
      i += 2;
    } else if (plusIsSpace && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

bool isChange(const std::string& method) { return method != "GET" && method != "HEAD"; }

}  // namespace

std::string AdminApi::Call::param(std::string_view name, std::string def) const {
  for (std::string_view pair : str::split(req.query, '&')) {
    size_t eq = pair.find('=');
    std::string key = percentDecode(pair.substr(0, eq), true);
    if (key == name)
      return eq == std::string_view::npos ? "" : percentDecode(pair.substr(eq + 1), true);
  }
  return def;
}

int64_t AdminApi::Call::intParam(std::string_view name, int64_t def) const {
  uint64_t v = 0;
  std::string s = param(name);
  if (s.empty() || !str::parseU64(s, &v) || v > static_cast<uint64_t>(INT64_MAX)) return def;
  return static_cast<int64_t>(v);
}

std::string AdminApi::Call::source() const { return "admin api from " + req.peer; }

AdminResponse jsonReply(int status, const json::Value& v) {
  AdminResponse r;
  r.status = status;
  r.contentType = "application/json";
  r.body = v.dump();
  r.body += '\n';
  return r;
}

AdminResponse errorReply(int status, const std::string& message, json::Value extra) {
  extra.set("error", message);
  return jsonReply(status, extra);
}

void addSecurityHeaders(AdminResponse& resp) {
  resp.headers.emplace_back(
      "content-security-policy",
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
      "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
      "form-action 'self'; frame-ancestors 'none'");
  resp.headers.emplace_back("x-content-type-options", "nosniff");
  resp.headers.emplace_back("x-frame-options", "DENY");
  resp.headers.emplace_back("referrer-policy", "no-referrer");
  resp.headers.emplace_back("cross-origin-opener-policy", "same-origin");
  resp.headers.emplace_back("cross-origin-resource-policy", "same-origin");
}

Role requiredRole(const std::string& method, const std::vector<std::string>& seg) {
  const std::string first = seg.empty() ? "" : seg[0];
  if (first == "session" || first == "password" || first == "logout") return Role::kViewer;
  if (first == "users" || first == "tokens" || first == "join-tokens" || first == "rollback")
    return Role::kAdmin;
  if (first == "resources" && isChange(method)) return Role::kEditor;
  // Everything else reads, or (validate, explain) computes without changing anything.
  return Role::kViewer;
}

Result<std::unique_ptr<AdminApi>> AdminApi::open(ApiContext context) {
  auto store = store::Store::open(context.dataDir + "/config.db", false);
  if (!store.ok()) return Status::error("admin API: " + store.status().message());
  if (!context.nowMs) context.nowMs = systemNowMs;
  return std::unique_ptr<AdminApi>(new AdminApi(std::move(context), std::move(store.value())));
}

AdminApi::AdminApi(ApiContext context, std::unique_ptr<store::Store> store)
    : ctx_(std::move(context)), store_(std::move(store)), auth_(*store_) {}

AdminApi::~AdminApi() = default;

AdminResponse AdminApi::handle(const AdminRequest& req) {
  AdminResponse resp;
  if (req.path == "/api" || str::startsWith(req.path, "/api/")) {
    Call call{req, ctx_, *store_, auth_, Principal{}, ctx_.nowMs(), {}, {}};
    resp = route(call);
    resp.headers.emplace_back("cache-control", "no-store");
  } else if (req.method != "GET" && req.method != "HEAD") {
    resp = {405, "text/plain; charset=utf-8", "method not allowed\n", {{"allow", "GET, HEAD"}}};
  } else {
    resp = serveAsset(req);
  }
  addSecurityHeaders(resp);
  return resp;
}

AdminResponse AdminApi::route(Call& call) {
  const AdminRequest& req = call.req;
  constexpr std::string_view kPrefix = "/api/v1/";
  if (!str::startsWith(req.path, kPrefix)) return errorReply(404, "no such endpoint");
  for (std::string_view s : str::split(std::string_view(req.path).substr(kPrefix.size()), '/'))
    call.segments.push_back(percentDecode(s, false));
  while (!call.segments.empty() && call.segments.back().empty()) call.segments.pop_back();
  if (call.segments.empty()) return errorReply(404, "no such endpoint");

  if (!req.body.empty()) {
    std::string_view type = req.header("content-type");
    if (!str::startsWith(str::toLower(type), "application/json"))
      return errorReply(415, "the body must be application/json");
    std::string why;
    if (!json::parse(req.body, &call.body, &why) || !call.body.isObject())
      return errorReply(400, "the body is not a JSON object: " + why);
  }

  const std::string& first = call.segments[0];
  if (first == "login" && call.segments.size() == 1) {
    if (req.method != "POST") return errorReply(405, "use POST");
    if (!Auth::originMatches(req))
      return errorReply(403, "a login needs an Origin header that matches this admin address");
    std::string user = call.body.getString("user"), password = call.body.getString("password");
    if (user.empty() || password.empty()) return errorReply(400, "user and password are required");
    Auth::LoginResult r = auth_.login(req, user, password, call.now);
    if (r.status != 200) {
      AdminResponse resp = errorReply(r.status, r.error);
      if (r.retryAfterSeconds > 0)
        resp.headers.emplace_back("retry-after", std::to_string(r.retryAfterSeconds));
      return resp;
    }
    json::Value v = json::Value::object();
    v.set("user", r.principal.user)
        .set("role", roleName(r.principal.role))
        .set("csrf", r.principal.csrf)
        .set("mustChangePassword", r.principal.mustChangePassword);
    AdminResponse resp = jsonReply(200, v);
    resp.headers.emplace_back("set-cookie", r.cookie);
    return resp;
  }

  auto who = auth_.identify(req, call.now);
  if (!who) {
    AdminResponse resp = errorReply(401, "login required (session expired or missing)");
    // A stale cookie is cleared, so the browser stops sending it.
    if (!req.header("cookie").empty())
      resp.headers.emplace_back("set-cookie", Auth::cookieFor(req, "", 0));
    return resp;
  }
  call.who = *who;
  if (isChange(req.method)) {
    std::string why;
    if (!auth_.checkChange(req, call.who, &why)) return errorReply(403, why);
  }
  if (first == "logout") {
    if (req.method != "POST") return errorReply(405, "use POST");
    AdminResponse resp = jsonReply(200, json::Value::object().set("ok", true));
    resp.headers.emplace_back("set-cookie", auth_.logout(req, call.who));
    return resp;
  }
  if (call.who.mustChangePassword && first != "session" && first != "password") {
    return errorReply(403, "change the one-time password first (POST /api/v1/password)",
                      json::Value::object().set("passwordChangeRequired", true));
  }
  Role need = requiredRole(req.method, call.segments);
  if (call.who.role < need) {
    return errorReply(403, std::string("this needs the ") + roleName(need) + " role; " +
                               call.who.user + " is " + roleName(call.who.role));
  }
  if (first == "session" || first == "password" || first == "users" || first == "tokens" ||
      first == "audit")
    return handleAccounts(call);
  if (first == "resources" || first == "validate" || first == "versions" || first == "diff" ||
      first == "rollback" || first == "kinds")
    return handleConfig(call);
  return handleRuntime(call);
}

}  // namespace gh::admin
