#pragma once
// Server: the composition root of `gatehouse run`.
//
// The control thread (the one calling run()) owns the store, the admin listener, the listening
// sockets and the current snapshot; N worker threads own everything per-connection. The control
// loop watches the store for new versions (PRAGMA data_version, every 200 ms, and on SIGHUP),
// and for each new version runs the one reload path: load -> decode -> validate -> compile ->
// open sockets of new listeners -> publish to every worker. Any failure on that path keeps the
// previous snapshot serving and is logged, counted and recorded in the store (so `gatehouse
// history` and /ready show which version runs and why a newer one does not). SIGTERM/SIGINT drain:
// workers stop accepting, finish in-flight exchanges (bounded by the drain timeout) and run()
// returns 0.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/admin/admin_server.h"
#include "core/admin/api.h"
#include "core/base/status.h"
#include "core/config/snapshot.h"
#include "core/script/shared_dict.h"
#include "core/event/loop.h"
#include "core/server/dns_endpoints.h"
#include "core/server/health_checker.h"
#include "core/server/mesh_node.h"
#include "core/telemetry/label_slots.h"
#include "core/server/worker.h"
#include "core/telemetry/access_log.h"
#include "core/telemetry/exchange_metrics.h"
#include "core/telemetry/live_stats.h"
#include "core/telemetry/metrics_registry.h"
#include "core/telemetry/otlp_exporter.h"
#include "core/telemetry/tracing.h"
#include "core/telemetry/policy_slots.h"
#include "core/store/store.h"

namespace gh::server {

struct Options {
  std::string dataDir;
  size_t workers = 0;                        // 0: one per core
  std::string adminAddress = "127.0.0.1:9901";
  uint64_t drainTimeoutMs = 30'000;
  uint64_t pollIntervalMs = 200;
  std::string accessLog;  // empty: off; "-": standard output; else a file (reopened on SIGUSR1)
  bool accessLogJson = false;
  // Tracing: OTLP/HTTP JSON collector URL (empty: off), percent of new traces sampled.
  std::string tracingCollector;
  double tracingSamplingPercent = 1.0;
  std::string tracingServiceName = "gatehouse";
  // Name servers for endpoints given as DNS names (empty: /etc/resolv.conf).
  std::vector<net::Address> dnsServers;
};

class Server {
 public:
  explicit Server(Options options);
  ~Server();

  // Runs until drained. Returns the process exit code (0 after a clean drain, 1 when the
  // configuration cannot be served at start, 3 when the data directory cannot be used).
  int run();

 private:
  Status openDataDir();
  // The single compile-and-swap path. `recompile`: compile the serving version again even if
  // it did not change (the workload certificate was renewed).
  Status reload(const char* why, bool recompile = false);
  // Compiles a decoded, validated resource set with this node's identity, counter slots and
  // current DNS answers.
  Result<std::shared_ptr<const config::Snapshot>> compileResources(
      int64_t version, std::vector<config::Resource> resources);
  // A DNS endpoint name changed its addresses: the serving version compiled again with them
  // and published (same version, same listeners).
  void republishForDns();
  admin::AdminResponse handleAdmin(const admin::AdminRequest& req);
  std::string renderMetrics();
  void renderScriptMetrics(std::string& out);
  static void onPoll(void* arg);
  static void onSignal(void* arg, int signo);
  static void onDrainPoll(void* arg);
  void beginShutdown();

  Options opt_;
  event::Loop loop_;
  std::unique_ptr<store::Store> store_;
  int lockFd_ = -1;
  // Labelled metrics (Istio's, gatehouse_* by route and service): declared before the workers,
  // whose cells they own, so they outlive them.
  telemetry::MetricsRegistry registry_;
  telemetry::ExchangeMetrics exchangeMetrics_{registry_};
  std::vector<std::unique_ptr<telemetry::WorkerMetrics>> workerMetrics_;
  telemetry::LiveStats liveStats_{registry_, exchangeMetrics_};  // sampled every 5 s
  uint64_t liveSampledMs_ = 0;
  std::vector<std::unique_ptr<Worker>> workers_;
  SocketMap sockets_;
  std::shared_ptr<const config::Snapshot> current_;
  int64_t lastDataVersion_ = -1;
  bool ready_ = false;
  bool shuttingDown_ = false;
  uint64_t reloadsOk_ = 0;
  uint64_t reloadsFailed_ = 0;
  int64_t refusedVersion_ = 0;  // the newest version refused since the last success, or 0
  std::string refusedReason_;
  std::unique_ptr<MeshNode> mesh_;
  std::unique_ptr<HealthChecker> health_;  // active health checks of the serving snapshot
  std::unique_ptr<DnsEndpoints> dns_;      // endpoint DNS names of the serving configuration
  std::unique_ptr<telemetry::AccessLogWriter> accessLog_;
  std::unique_ptr<telemetry::OtlpExporter> tracing_;
  std::vector<std::unique_ptr<telemetry::WorkerTracing>> workerTracing_;
  script::SharedDict sharedDict_;        // gatehouse.shared, for every worker's Lua host
  telemetry::PolicySlots policySlots_;  // authz denial counters by policy, stable across reloads
  telemetry::LabelSlots rateLimitSlots_;  // rate-limit refusals by limit
  telemetry::LabelSlots egressSlots_;     // egress denials by workload and destination
  void renderTrafficMetrics(const std::vector<const telemetry::WorkerCounters*>& ws,
                            std::string& out) const;
  std::unique_ptr<admin::AdminApi> adminApi_;  // before admin_, whose handler uses it
  std::unique_ptr<admin::AdminServer> admin_;
  std::unique_ptr<event::Timer> pollTimer_;
  std::vector<std::unique_ptr<event::SignalWatcher>> signals_;
};

// The data directory a command uses: --data-dir, else $GATEHOUSE_DATA_DIR, else
// /var/lib/gatehouse when it exists and is writable, else ./gatehouse-data (spec/cli.md).
std::string resolveDataDir(const std::string& flag);

}  // namespace gh::server
