#include "core/server/server.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <thread>

#include "core/admin/admin_tls.h"
#include "core/admin/bootstrap.h"
#include "core/base/log.h"
#include "core/base/strings.h"
#include "core/config/decode.h"
#include "core/config/validate.h"
#include "core/identity/ca.h"
#include "core/server/embedded_default.h"
#include "core/server/notify.h"
#include "core/server/versions.h"
#include "core/telemetry/prometheus.h"

namespace gh::server {

namespace {

std::string hostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

std::string resolveDataDir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = getenv("GATEHOUSE_DATA_DIR"); env && *env) return env;
  if (access("/var/lib/gatehouse", W_OK) == 0) return "/var/lib/gatehouse";
  return "./gatehouse-data";
}

Server::Server(Options options) : opt_(std::move(options)) {
  if (opt_.workers == 0) {
    opt_.workers = std::thread::hardware_concurrency();
    if (opt_.workers == 0) opt_.workers = 1;
  }
}

Server::~Server() {
  for (auto& w : workers_) w->join();
  workers_.clear();
  if (lockFd_ >= 0) ::close(lockFd_);
}

Status Server::openDataDir() {
  if (mkdir(opt_.dataDir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::error("data dir " + opt_.dataDir + ": " + strerror(errno));
  std::string lock = opt_.dataDir + "/run.lock";
  lockFd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lockFd_ < 0) return Status::error(lock + ": " + strerror(errno));
  if (flock(lockFd_, LOCK_EX | LOCK_NB) != 0)
    return Status::error("data dir " + opt_.dataDir + " is in use by another `gatehouse run`");

  auto st = store::Store::open(opt_.dataDir + "/config.db", true);
  if (!st.ok()) return st.status();
  store_ = std::move(st.value());
  auto active = store_->activeVersion();
  if (!active.ok()) return active.status();
  if (active.value() == 0) {
    // First start on an empty data dir: the embedded default becomes version 1.
    std::vector<config::Resource> resources;
    std::vector<config::Diagnostic> diags;
    if (!config::decodeText(embeddedDefaultConfig(opt_.adminAddress), "<embedded>", &resources,
                            &diags))
      return Status::error("embedded default: " + diags.front().format());
    std::vector<store::StoredResource> stored;
    for (const config::Resource& r : resources)
      stored.push_back({config::kindName(r.kind), r.meta.ns, r.meta.name, r.json});
    store::CommitInfo info;
    info.author = "gatehouse";
    info.message = "embedded default configuration";
    info.source = "gatehouse run pid " + std::to_string(getpid()) + " on host " + hostName();
    info.action = "init";
    info.summary = "embedded default: " + std::to_string(stored.size()) + " resources";
    auto v = store_->commit(stored, info);
    if (!v.ok()) return v.status();
    LOG_INFO("created %s/config.db with the embedded default (version %lld)", opt_.dataDir.c_str(),
             static_cast<long long>(v.value()));
    // The embedded default also holds a mesh CA (spec/cli.md), so `ca token create` works on
    // a node that was only ever started.
    std::string caDir = opt_.dataDir + "/ca";
    if (!identity::CertificateAuthority::existsIn(caDir)) {
      auto ca = identity::CertificateAuthority::create("cluster.local", time(nullptr));
      Status saved = ca.ok() ? (*ca)->save(caDir) : ca.status();
      if (!saved.ok()) return Status::error("mesh CA: " + saved.message());
      LOG_INFO("created the mesh CA of trust domain cluster.local in %s (sha256:%s)",
               caDir.c_str(), (*ca)->fingerprint().c_str());
    }
  }
  // The admin UI's first account: `admin` with a one-time password in a file (spec/cli.md).
  if (Status s = admin::ensureInitialAdmin(*store_, opt_.dataDir); !s.ok())
    return Status::error("admin account: " + s.message());
  return okStatus();
}

// The one path from a stored version to the one serving, whatever asked for it (start, the
// data_version watcher, SIGHUP): they all call this, on the control thread, so there is one
// compile and one swap at a time and no second way to get a snapshot in. The outcome is also
// written to the store (runtime, refusals) so that `gatehouse history` shows which version
// actually runs and why a newer one does not; failing to write that is logged, never fatal:
// serving matters more than reporting.
Status Server::reload(const char* why, bool recompile) {
  auto dv = store_->dataVersion();
  if (dv.ok()) lastDataVersion_ = dv.value();
  auto active = store_->activeVersion();
  if (!active.ok()) return active.status();
  if (current_ && active.value() == current_->version && !recompile) return okStatus();

  auto fail = [&](const std::string& msg) {
    // Names only the refused version has are not watched any longer; the serving version's
    // names were never unwatched, so they keep their last good addresses.
    if (dns_) dns_->keepOnly(current_ ? current_->resources : std::vector<config::Resource>{});
    ++reloadsFailed_;
    refusedVersion_ = active.value();
    refusedReason_ = msg;
    LOG_ERROR("config version %lld not applied (%s): %s; version %lld keeps serving",
              static_cast<long long>(active.value()), why, msg.c_str(),
              static_cast<long long>(current_ ? current_->version : 0));
    if (Status s = store_->recordRefusal(active.value(), msg); !s.ok())
      LOG_WARN("cannot record the refusal of version %lld: %s",
               static_cast<long long>(active.value()), s.message().c_str());
    return Status::error(msg);
  };

  auto stored = store_->loadVersion(active.value());
  if (!stored.ok()) return fail(stored.status().message());
  std::vector<config::Resource> resources;
  std::vector<config::Diagnostic> diags;
  for (const store::StoredResource& s : stored.value()) {
    std::string origin = "version " + std::to_string(active.value()) + ":" + s.kind + "/" + s.ns +
                         "/" + s.name;
    config::decodeText(s.body, origin, &resources, &diags);
  }
  if (diags.empty()) config::validate(resources, &diags);
  if (!diags.empty()) return fail(diags.front().format());
  if (Status s = mesh_->prepare(resources); !s.ok()) return fail(s.message());
  // New DNS endpoint names are asked now; they have endpoints from their first answer on.
  // Names this version drops stay watched until it is published (it may yet be refused).
  dns_->watchAll(resources);
  auto snap = compileResources(active.value(), std::move(resources));
  if (!snap.ok()) return fail(snap.status().message());

  // Listeners that keep their address keep their sockets; new ones are opened now, before the
  // switch, so a port that cannot be bound refuses the whole version.
  SocketMap next;
  for (const config::CompiledListener& l : snap.value()->listeners) {
    auto it = sockets_.find(l.key);
    if (it != sockets_.end()) {
      next[l.key] = it->second;
      continue;
    }
    auto set = ListenSocketSet::open(l.address, workers_.size());
    if (!set.ok())
      return fail("Listener " + l.ns + "/" + l.name + ": " + set.status().message());
    next[l.key] = set.value();
  }
  sockets_ = next;
  current_ = snap.value();
  // Before publishing: endpoints kept across the reload carry their health into the new
  // snapshot's tables, so no worker sees them as not yet probed.
  if (health_) health_->adopt(*current_);
  for (auto& w : workers_) w->publish(current_, sockets_);
  dns_->keepOnly(current_->resources);
  ++reloadsOk_;
  refusedVersion_ = 0;
  refusedReason_.clear();
  LOG_INFO("serving config version %lld (%s): %zu listeners, %zu services",
           static_cast<long long>(current_->version), why, current_->listeners.size(),
           current_->services.size());
  if (Status s = store_->recordServing(current_->version, getpid(), hostName()); !s.ok())
    LOG_WARN("cannot record the running version: %s", s.message().c_str());
  return okStatus();
}

Result<std::shared_ptr<const config::Snapshot>> Server::compileResources(
    int64_t version, std::vector<config::Resource> resources) {
  config::TrafficSlotFns trafficSlots;
  trafficSlots.rateLimit = [this](const std::string& l) { return rateLimitSlots_.slotFor(l); };
  trafficSlots.egress = [this](const std::string& l) { return egressSlots_.slotFor(l); };
  return config::compile(
      version, std::move(resources), mesh_->identity(),
      [this](const std::string& label) { return policySlots_.slotFor(label); },
      [this](const config::Snapshot& snap) { return exchangeMetrics_.labelsFor(snap); },
      trafficSlots, dns_->lookup());
}

// Not a reload: the stored version did not change, so nothing is recorded in the store and
// the version number stays (docs/traffic.md). The resources are the serving snapshot's, already
// validated; the listeners are the same, so every socket is kept.
void Server::republishForDns() {
  if (shuttingDown_ || !current_) return;
  auto snap = compileResources(current_->version, current_->resources);
  if (!snap.ok()) {
    LOG_ERROR("dns: new endpoint addresses not applied: %s", snap.status().message().c_str());
    return;
  }
  current_ = snap.value();
  if (health_) health_->adopt(*current_);
  for (auto& w : workers_) w->publish(current_, sockets_);
  size_t endpoints = 0;
  for (const upstream::Service& s : current_->services) endpoints += s.endpoints.size();
  LOG_INFO("dns: version %lld republished with new endpoint addresses (%zu endpoints)",
           static_cast<long long>(current_->version), endpoints);
}

int Server::run() {
  if (Status s = openDataDir(); !s.ok()) {
    LOG_ERROR("%s", s.message().c_str());
    return 3;
  }
  for (size_t i = 0; i < opt_.workers; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, opt_.workers));
    workerMetrics_.push_back(registry_.makeWorker());
    workers_.back()->setMetrics(&exchangeMetrics_, workerMetrics_.back().get());
  }
  health_ = std::make_unique<HealthChecker>(loop_);
  dns_ = std::make_unique<DnsEndpoints>(loop_, opt_.dnsServers, [this] { republishForDns(); });
  for (auto& w : workers_) w->setScriptShared(&sharedDict_);
  mesh_ = std::make_unique<MeshNode>(loop_, opt_.dataDir, [this] {
    if (!shuttingDown_) reload("workload certificate renewed", true);
  });

  if (Status s = reload("start"); !s.ok()) return 1;

  net::Address adminAddr;
  {
    std::string a = opt_.adminAddress;
    size_t colon = a.rfind(':');
    uint64_t port = 0;
    std::string host = colon == std::string::npos ? a : a.substr(0, colon);
    if (!host.empty() && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    if (colon == std::string::npos || !str::parseU64(a.substr(colon + 1), &port) || port > 65535 ||
        !net::Address::parse(host, static_cast<uint16_t>(port), &adminAddr)) {
      LOG_ERROR("--admin %s: expected IP:PORT", a.c_str());
      return 2;
    }
  }
  admin::ApiContext apiContext;
  apiContext.dataDir = opt_.dataDir;
  apiContext.metricsText = [this] { return renderMetrics(); };
  apiContext.snapshot = [this] { return current_; };
  apiContext.identity = [this] { return mesh_->identity(); };
  apiContext.liveStats = [this] {
    return liveStats_.view(static_cast<int64_t>(event::Loop::nowMs()),
                           current_ ? current_->telemetry.get() : nullptr);
  };
  auto api = admin::AdminApi::open(std::move(apiContext));
  if (!api.ok()) {
    LOG_ERROR("%s", api.status().message().c_str());
    return 3;
  }
  adminApi_ = std::move(api.value());
  // Beyond loopback the admin is HTTPS with this node's workload certificate (spec/admin.md).
  admin::AdminServer::TlsSource adminTls;
  if (!admin::isLoopback(adminAddr.ip())) {
    adminTls = admin::identityTlsSource([this] { return mesh_->identity(); });
    if (!mesh_->identity())
      LOG_WARN("admin on %s needs HTTPS with this node's workload certificate, which it does not "
               "have yet: connections are refused until it has one",
               opt_.adminAddress.c_str());
  }
  admin_ = std::make_unique<admin::AdminServer>(
      loop_, [this](const admin::AdminRequest& r) { return handleAdmin(r); }, adminTls);
  if (Status s = admin_->listen(adminAddr); !s.ok()) {
    LOG_ERROR("%s", s.message().c_str());
    return 1;
  }

  if (!opt_.accessLog.empty()) {
    telemetry::AccessLogWriter::Options o;
    if (opt_.accessLog != "-") o.path = opt_.accessLog;
    accessLog_ = std::make_unique<telemetry::AccessLogWriter>(o);
    auto format =
        opt_.accessLogJson ? telemetry::AccessLogFormat::kJson : telemetry::AccessLogFormat::kText;
    for (auto& w : workers_) w->setAccessLog(accessLog_->producer(), format);
    if (!accessLog_->start()) {
      LOG_ERROR("access log %s: cannot open: %s", opt_.accessLog.c_str(), strerror(errno));
      return 3;
    }
  }
  if (!opt_.tracingCollector.empty()) {
    telemetry::OtlpExporter::Options o;
    std::string why;
    if (!telemetry::parseCollectorUrl(opt_.tracingCollector, o.url, &why)) {
      LOG_ERROR("--tracing-collector %s: %s", opt_.tracingCollector.c_str(), why.c_str());
      return 2;
    }
    o.serviceName = opt_.tracingServiceName;
    tracing_ = std::make_unique<telemetry::OtlpExporter>(o);
    for (auto& w : workers_) {
      workerTracing_.push_back(std::make_unique<telemetry::WorkerTracing>(
          tracing_->producer(), opt_.tracingSamplingPercent / 100.0));
      w->setTracing(workerTracing_.back().get());
    }
    tracing_->start();
    LOG_INFO("tracing: %.3g%% of new traces sampled, spans to %s", opt_.tracingSamplingPercent,
             opt_.tracingCollector.c_str());
  }
  for (auto& w : workers_) w->start();
  ready_ = true;
  LOG_INFO("gatehouse running: %zu workers, admin on %s://%s/", workers_.size(),
           adminTls ? "https" : "http", opt_.adminAddress.c_str());

  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1})
    signals_.push_back(std::make_unique<event::SignalWatcher>(loop_, sig, &Server::onSignal, this));
  signal(SIGPIPE, SIG_IGN);
  pollTimer_ = std::make_unique<event::Timer>(loop_, &Server::onPoll, this);
  pollTimer_->arm(opt_.pollIntervalMs);
  // systemd (Type=notify): ready once listeners are open and signals handled; WatchdogSec=
  // pings come from this loop, so a stuck control loop gets the service restarted.
  std::string status = "serving config version " + std::to_string(current_->version);
  if (Status n = notifyReady(status); !n.ok()) LOG_WARN("systemd notify: %s", n.message().c_str());
  event::Timer watchdog(
      loop_,
      [](void* t) {
        notifyWatchdog();
        static_cast<event::Timer*>(t)->arm(watchdogIntervalMs());
      },
      &watchdog);
  if (watchdogIntervalMs() > 0) watchdog.arm(watchdogIntervalMs());
  loop_.run();

  for (auto& w : workers_) w->join();
  if (accessLog_) accessLog_->stop();  // flushes what the workers wrote
  if (tracing_) tracing_->stop();      // likewise for the spans, within its timeout
  // Nothing serves from here on: history must not show this process as running.
  if (Status st = store_->recordStopped(getpid()); !st.ok())
    LOG_WARN("cannot record the stop: %s", st.message().c_str());
  LOG_INFO("gatehouse stopped");
  return 0;
}

void Server::onPoll(void* arg) {
  auto* s = static_cast<Server*>(arg);
  if (s->shuttingDown_) return;
  // The admin's live stats: a sample of the cumulative series every 5 s.
  uint64_t now = event::Loop::nowMs();
  if (now - s->liveSampledMs_ >= 5000) {
    s->liveStats_.sample(static_cast<int64_t>(now));
    s->liveSampledMs_ = now;
  }
  auto dv = s->store_->dataVersion();
  if (dv.ok() && dv.value() != s->lastDataVersion_) s->reload("new version");
  s->pollTimer_->arm(s->opt_.pollIntervalMs);
}

void Server::onSignal(void* arg, int signo) {
  auto* s = static_cast<Server*>(arg);
  if (signo == SIGUSR1) {
    // logrotate: the access log file is opened again by its name.
    if (s->accessLog_) s->accessLog_->reopen();
    return;
  }
  if (signo == SIGHUP) {
    // Compiles even an unchanged version: certificate files replaced in place (a renewed
    // edge certificate at the same path) are read again, as nginx and HAProxy do on reload.
    LOG_INFO("SIGHUP: re-reading configuration and certificate files");
    notifyReloading();
    s->reload("SIGHUP", true);
    notifyReady("serving config version " + std::to_string(s->current_->version));
    return;
  }
  s->beginShutdown();
}

void Server::beginShutdown() {
  if (shuttingDown_) return;
  shuttingDown_ = true;
  ready_ = false;
  notifyStopping("draining");
  LOG_INFO("draining (timeout %llu ms)", static_cast<unsigned long long>(opt_.drainTimeoutMs));
  pollTimer_.reset();
  for (auto& w : workers_) w->drain(opt_.drainTimeoutMs);
  sockets_.clear();  // workers hold the sets until their acceptors close
  // Wait for the workers without blocking the control loop (the admin keeps answering /ready
  // with 503 meanwhile): check every 50 ms.
  pollTimer_ = std::make_unique<event::Timer>(loop_, &Server::onDrainPoll, this);
  pollTimer_->arm(50);
}

void Server::onDrainPoll(void* arg) {
  auto* s = static_cast<Server*>(arg);
  for (auto& w : s->workers_) {
    if (!w->stopped()) {
      s->pollTimer_->arm(50);
      return;
    }
  }
  if (s->health_) s->health_->stop();
  s->admin_->stop();
  s->loop_.stop();
}

admin::AdminResponse Server::handleAdmin(const admin::AdminRequest& req) {
  const std::string& path = req.path;
  if (path == "/ready") {
    // Which version answers requests, and a newer one the server refused: what an operator
    // (or a deploy script) needs to tell "applied" from "serving".
    bool certOk = !current_ || !current_->usesMesh || mesh_->certificateValid(time(nullptr));
    bool ready = ready_ && current_ && certOk;
    std::string body = ready ? "ready" : shuttingDown_ ? "draining" : "not ready";
    if (current_) body += ": version " + std::to_string(current_->version);
    body += "\n";
    if (!certOk) body += "the workload certificate has expired: gatehouse join again\n";
    if (refusedVersion_ != 0) {
      body += "version " + std::to_string(refusedVersion_) + " refused: " + refusedReason_ + "\n";
    }
    return {ready ? 200 : 503, "text/plain; charset=utf-8", body, {}};
  }
  if (path == "/metrics") {
    // OpenMetrics when the scraper asks for it (Prometheus does, first in its Accept list),
    // else the classic text format.
    if (req.header("accept").find("application/openmetrics-text") != std::string_view::npos)
      return {200, telemetry::kOpenMetricsContentType, telemetry::toOpenMetrics(renderMetrics()),
              {}};
    return {200, telemetry::kTextContentType, renderMetrics(), {}};
  }
  // Everything else is the admin API and the web UI.
  return adminApi_->handle(req);
}

// Lua hooks by script, summed over workers (spec/observability.md): executions, errors and
// the time hooks ran (a summary without quantiles: _sum and _count).
void Server::renderScriptMetrics(std::string& out) {
  struct Sum {
    uint64_t calls = 0, errors = 0, durationNs = 0;
  };
  std::map<std::string, Sum> byScript;
  for (auto& w : workers_) {
    const script::ScriptRuntime* rt = w->scripts();
    if (!rt) continue;
    for (const auto& [name, c] : rt->counters()) {
      Sum& s = byScript[name];
      s.calls += c->calls.load(std::memory_order_relaxed);
      s.errors += c->errors.load(std::memory_order_relaxed) +
                  c->loadErrors.load(std::memory_order_relaxed);
      s.durationNs += c->durationNs.load(std::memory_order_relaxed);
    }
  }
  if (byScript.empty()) return;
  out += "# HELP gatehouse_lua_executions_total Lua hook calls, by script.\n"
         "# TYPE gatehouse_lua_executions_total counter\n";
  for (const auto& [name, s] : byScript)
    out += "gatehouse_lua_executions_total{script=\"" + telemetry::escapeLabelValue(name) +
           "\"} " + std::to_string(s.calls) + "\n";
  out += "# HELP gatehouse_lua_errors_total Failed Lua hook calls (errors, budgets, memory "
         "cap), by script.\n# TYPE gatehouse_lua_errors_total counter\n";
  for (const auto& [name, s] : byScript)
    out += "gatehouse_lua_errors_total{script=\"" + telemetry::escapeLabelValue(name) + "\"} " +
           std::to_string(s.errors) + "\n";
  out += "# HELP gatehouse_lua_duration_seconds Running time of Lua hook calls (waits "
         "excluded), by script.\n# TYPE gatehouse_lua_duration_seconds summary\n";
  for (const auto& [name, s] : byScript) {
    std::string label = "{script=\"" + telemetry::escapeLabelValue(name) + "\"}";
    char sum[64];
    snprintf(sum, sizeof sum, "%.9f", static_cast<double>(s.durationNs) / 1e9);
    out += "gatehouse_lua_duration_seconds_sum" + label + " " + sum + "\n";
    out += "gatehouse_lua_duration_seconds_count" + label + " " + std::to_string(s.calls) + "\n";
  }
}

// Request policies (docs/traffic.md): refusals by RateLimit and denials by workload and
// destination in stable slots, fault injection and mirroring.
void Server::renderTrafficMetrics(const std::vector<const telemetry::WorkerCounters*>& ws,
                                  std::string& out) const {
  rateLimitSlots_.render(
      "gatehouse_rate_limited_total", "Requests refused with 429 by a rate limit, by limit.", ws,
      [](const telemetry::WorkerCounters& w, size_t slot) -> const telemetry::Counter& {
        return w.rateLimited[slot];
      },
      out);
  egressSlots_.render(
      "gatehouse_egress_denied_total",
      "Requests refused with 403 egress_denied, by workload and destination Service.", ws,
      [](const telemetry::WorkerCounters& w, size_t slot) -> const telemetry::Counter& {
        return w.egressDenied[slot];
      },
      out);
  auto sum = [&](auto member) {
    uint64_t n = 0;
    for (const auto* w : ws) n += (w->*member).get();
    return n;
  };
  using C = telemetry::WorkerCounters;
  telemetry::renderCounter(out, "gatehouse_fault_delays_total",
                           "Requests delayed by a route's fault injection.", sum(&C::faultDelayed));
  telemetry::renderCounter(out, "gatehouse_fault_aborts_total",
                           "Requests aborted by a route's fault injection.", sum(&C::faultAborted));
  telemetry::renderCounter(out, "gatehouse_mirror_requests_total",
                           "Request copies sent to a RequestMirror shadow Service.",
                           sum(&C::mirrorSent));
  telemetry::renderCounter(out, "gatehouse_mirror_dropped_total",
                           "Request copies not sent (the worker's bound, a body over 64 KiB or "
                           "never completed, no usable shadow endpoint).",
                           sum(&C::mirrorDropped));
  telemetry::renderCounter(out, "gatehouse_mirror_failed_total",
                           "Request copies that failed (connect, reset or timeout).",
                           sum(&C::mirrorFailed));
}

std::string Server::renderMetrics() {
  std::string out;
  std::vector<const telemetry::WorkerCounters*> ws;
  for (auto& w : workers_) ws.push_back(&w->counters());
  telemetry::renderWorkerCounters(ws, out);
  registry_.render(out);
  telemetry::renderCounter(out, "gatehouse_metrics_series_overflow_total",
                           "Recordings counted in a family's \"other\" series because a worker's "
                           "series table was full.",
                           registry_.overflowed());
  policySlots_.render(ws, out);
  renderTrafficMetrics(ws, out);
  if (accessLog_) accessLog_->renderMetrics(out);
  if (tracing_) tracing_->renderMetrics(out);
  if (health_) health_->renderMetrics(out);
  if (dns_) dns_->renderMetrics(out);
  renderScriptMetrics(out);
  telemetry::renderGauge(out, "gatehouse_config_version", "Active configuration version.",
                         static_cast<double>(current_ ? current_->version : 0));
  out += "# HELP gatehouse_config_reloads_total Configuration versions applied or refused.\n"
         "# TYPE gatehouse_config_reloads_total counter\n";
  out += "gatehouse_config_reloads_total{result=\"success\"} " + std::to_string(reloadsOk_) + "\n";
  out += "gatehouse_config_reloads_total{result=\"failure\"} " + std::to_string(reloadsFailed_) +
         "\n";
  // Certificate expiry (spec/observability.md): this node's workload identity by its SPIFFE
  // ID, and each HTTPS listener certificate by its first DNS name (its subject without one).
  std::map<std::string, int64_t> expiry;
  const config::NodeIdentity* id = mesh_ ? mesh_->identity() : nullptr;
  if (id) expiry[id->spiffeId] = id->notAfter;
  if (current_) {
    for (const config::CompiledListener& l : current_->listeners) {
      if (!l.tls || l.tls->verifiesPeers()) continue;  // the mesh context is the identity's
      for (size_t i = 0; i < l.tls->certificateCount(); ++i) {
        const tls::Certificate& c = l.tls->certificate(i);
        expiry[c.dnsNames().empty() ? c.subject() : c.dnsNames().front()] = c.notAfter();
      }
    }
  }
  if (!expiry.empty()) {
    out += "# HELP gatehouse_cert_expiry_timestamp_seconds When a certificate this node presents "
           "expires (Unix seconds).\n# TYPE gatehouse_cert_expiry_timestamp_seconds gauge\n";
    for (const auto& [name, notAfter] : expiry)
      out += "gatehouse_cert_expiry_timestamp_seconds{identity=\"" +
             telemetry::escapeLabelValue(name) + "\"} " + std::to_string(notAfter) + "\n";
  }
  if (id)
    telemetry::renderGauge(out, "gatehouse_mesh_certificate_renewal_timestamp_seconds",
                           "When this node renews its workload certificate (Unix seconds).",
                           static_cast<double>(mesh_->renewAt()));
  telemetry::renderGauge(out, "gatehouse_workers", "Worker threads.",
                         static_cast<double>(workers_.size()));
  out += "# HELP gatehouse_build_info This binary's version and the versions of the libraries "
         "linked into it; always 1.\n# TYPE gatehouse_build_info gauge\ngatehouse_build_info{"
         "version=\"" + telemetry::escapeLabelValue(gatehouseVersion()) + "\"";
  for (const auto& [library, version] : linkedLibraryVersions())
    out += "," + library + "=\"" + telemetry::escapeLabelValue(version) + "\"";
  out += "} 1\n";
  return out;
}

}  // namespace gh::server
