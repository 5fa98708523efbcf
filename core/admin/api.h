#pragma once
// AdminApi: the admin API (JSON under /api/v1, spec/admin.md) and the embedded web UI, behind
// the admin listener. The server hands it every request except /ready and /metrics.
//
// Every endpoint names the least role it needs (viewer reads, editor changes configuration,
// admin manages users, tokens, join tokens and rolls back); every request that is not GET or
// HEAD passes the Origin and CSRF checks of auth.h; every response carries the security
// headers (a Content-Security-Policy without inline script, frame-ancestors 'none', nosniff).
//
// Configuration writes go through core/change, the path `gatehouse apply` takes: decode,
// validate the whole new set, diff, commit one version with its audit entry, based on the
// version the client read (`version` in the body; 409 when another version is active). The
// API has its own Store connection, so the server notices its commits exactly as it notices
// the CLI's (PRAGMA data_version) and applies them within a poll interval.
//
// The endpoints (method, path, least role):
//   POST /api/v1/login                              none (Origin)
//   POST /api/v1/logout                             any
//   GET  /api/v1/session                            any
//   POST /api/v1/password                           any (own password)
//   GET  /api/v1/overview                           viewer
//   GET  /api/v1/stats                              viewer
//   GET  /api/v1/topology                           viewer
//   GET  /api/v1/resources[?kind=K&namespace=NS]    viewer
//   POST /api/v1/resources                          editor   create/replace from documents
//   GET|PUT|DELETE /api/v1/resources/KIND/NS/NAME   viewer | editor | editor
//   POST /api/v1/validate                           viewer   validate (and diff) a draft
//   GET  /api/v1/versions[?before=ID&limit=N]       viewer
//   GET  /api/v1/versions/ID                        viewer
//   GET  /api/v1/diff?from=A&to=B                   viewer
//   POST /api/v1/rollback                           admin
//   POST /api/v1/authz/explain                      viewer   core/policy's decision and why
//   GET  /api/v1/certificates                       viewer
//   GET|POST /api/v1/join-tokens                    admin
//   GET|POST /api/v1/users, PUT|DELETE /api/v1/users/NAME        admin
//   GET|POST /api/v1/tokens, DELETE /api/v1/tokens/ID             admin
//   GET  /api/v1/audit[?before=ID&limit=N]          viewer
// Anything else under /api/ is 404; other paths are the UI's files (assets.h).
//
// Control thread only.

#include <functional>
#include <memory>
#include <string>

#include "core/admin/admin_server.h"
#include "core/admin/auth.h"
#include "core/config/snapshot.h"
#include "core/telemetry/live_stats.h"
#include "core/store/store.h"

namespace gh::admin {

struct ApiContext {
  std::string dataDir;
  // The server's live view; any may be null (tests).
  std::function<std::string()> metricsText;  // what /metrics shows
  std::function<std::shared_ptr<const config::Snapshot>()> snapshot;
  std::function<const config::NodeIdentity*()> identity;
  std::function<int64_t()> nowMs;  // default: the system clock
  std::function<telemetry::LiveView()> liveStats;  // the last minute per route and Service
};

class AdminApi {
 public:
  // Opens its own connection to DATA_DIR/config.db.
  static Result<std::unique_ptr<AdminApi>> open(ApiContext context);
  ~AdminApi();

  AdminResponse handle(const AdminRequest& req);

  struct Call;

 private:
  AdminApi(ApiContext context, std::unique_ptr<store::Store> store);
  AdminResponse route(Call& call);

  ApiContext ctx_;
  std::unique_ptr<store::Store> store_;
  Auth auth_;
};

// The headers every admin response carries.
void addSecurityHeaders(AdminResponse& resp);

}  // namespace gh::admin
