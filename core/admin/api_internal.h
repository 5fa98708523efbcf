#pragma once
// Internal to core/admin: what the endpoint files of the admin API share (api.cc routes,
// api_config.cc, api_runtime.cc and api_accounts.cc answer).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/admin/api.h"
#include "core/admin/json.h"
#include "core/config/diff.h"
#include "core/config/model.h"

namespace gh::admin {

struct AdminApi::Call {
  const AdminRequest& req;
  const ApiContext& ctx;
  store::Store& store;
  Auth& auth;
  Principal who;
  int64_t now = 0;
  std::vector<std::string> segments;  // the path after /api/v1/, split at '/', decoded
  json::Value body;                   // the request body when it is JSON

  // A query parameter (percent-decoded), or `def`.
  std::string param(std::string_view name, std::string def = "") const;
  int64_t intParam(std::string_view name, int64_t def) const;
  // "admin api from 127.0.0.1": the audit log's `source`.
  std::string source() const;
};

AdminResponse jsonReply(int status, const json::Value& v);
AdminResponse errorReply(int status, const std::string& message,
                         json::Value extra = json::Value::object());

// Diagnostics as JSON: {file, line, column, message, path, text}; `path` is the field path the
// message names ("spec.rules[0].backendRefs[0].weight") so the UI can show it at the field.
json::Value diagnosticsJson(const std::vector<config::Diagnostic>& diags);
json::Value diffJson(const config::ConfigDiff& diff);
// A stored canonical JSON document as a value (a string when it does not parse).
json::Value documentJson(const std::string& text);

// Endpoint groups; each returns 404 for a path it does not know.
AdminResponse handleConfig(AdminApi::Call& call);     // resources, validate, versions, diff,
                                                      // rollback
AdminResponse handleRuntime(AdminApi::Call& call);    // overview, stats, topology,
                                                      // certificates, join tokens
AdminResponse handleAccounts(AdminApi::Call& call);   // session, password, users, tokens, audit
AdminResponse handleExplain(AdminApi::Call& call);    // POST authz/explain (api_explain.cc)
// stats/live, config_dump, clusters (api_observability.cc)
AdminResponse handleObservability(AdminApi::Call& call);
json::Value liveStatsJson(const AdminApi::Call& call);

// The least role each method/path needs (api.h lists them).
Role requiredRole(const std::string& method, const std::vector<std::string>& segments);

// The UI's files.
AdminResponse serveAsset(const AdminRequest& req);

}  // namespace gh::admin
