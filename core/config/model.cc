// Names and formatting for the resource model (model.h).

#include "core/config/model.h"

#include "core/base/strings.h"

namespace gh::config {

std::string Diagnostic::format() const {
  std::string out;
  if (!loc.file.empty()) {
    out = loc.file;
    if (loc.line > 0) {
      out += ':' + std::to_string(loc.line);
      if (loc.column > 0) out += ':' + std::to_string(loc.column);
    }
    out += ": ";
  }
  out += message;
  return out;
}

const char* kindName(Kind k) {
  switch (k) {
    case Kind::kListener:
      return "Listener";
    case Kind::kHttpRoute:
      return "HTTPRoute";
    case Kind::kService:
      return "Service";
    case Kind::kWorkload:
      return "Workload";
    case Kind::kMeshConfig:
      return "MeshConfig";
    case Kind::kAuthorizationPolicy:
      return "AuthorizationPolicy";
    case Kind::kLuaScript:
      return "LuaScript";
    case Kind::kRateLimit:
      return "RateLimit";
    case Kind::kEgressPolicy:
      return "EgressPolicy";
  }
  return "?";
}

namespace {
LuaSyntaxChecker gLuaSyntaxChecker = nullptr;  // set once at start-up, before any thread reads it
}  // namespace

void setLuaSyntaxChecker(LuaSyntaxChecker checker) { gLuaSyntaxChecker = checker; }
LuaSyntaxChecker luaSyntaxChecker() { return gLuaSyntaxChecker; }

const char* authzActionName(AuthzAction a) {
  switch (a) {
    case AuthzAction::kAllow:
      return "ALLOW";
    case AuthzAction::kDeny:
      return "DENY";
    case AuthzAction::kAudit:
      return "AUDIT";
    case AuthzAction::kCustom:
      return "CUSTOM";
  }
  return "?";
}

bool parseKindName(std::string_view s, Kind* out) {
  struct Alias {
    std::string_view name;
    Kind kind;
  };
  // What `gatehouse get KIND` accepts: the kind, its plural, and kubectl's short names.
  static constexpr Alias kAliases[] = {
      {"listener", Kind::kListener},   {"listeners", Kind::kListener},
      {"httproute", Kind::kHttpRoute}, {"httproutes", Kind::kHttpRoute},
      {"service", Kind::kService},     {"services", Kind::kService},
      {"svc", Kind::kService},         {"workload", Kind::kWorkload},
      {"workloads", Kind::kWorkload},  {"meshconfig", Kind::kMeshConfig},
      {"meshconfigs", Kind::kMeshConfig},
      {"authorizationpolicy", Kind::kAuthorizationPolicy},
      {"authorizationpolicies", Kind::kAuthorizationPolicy},
      {"ap", Kind::kAuthorizationPolicy},
      {"luascript", Kind::kLuaScript},
      {"luascripts", Kind::kLuaScript},
      {"lua", Kind::kLuaScript},
      {"ratelimit", Kind::kRateLimit},
      {"ratelimits", Kind::kRateLimit},
      {"egresspolicy", Kind::kEgressPolicy},
      {"egresspolicies", Kind::kEgressPolicy},
  };
  for (const Alias& a : kAliases) {
    if (str::iequals(s, a.name)) {
      *out = a.kind;
      return true;
    }
  }
  return false;
}

}  // namespace gh::config
