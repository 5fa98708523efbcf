#pragma once
// WorkerContext: everything one worker thread shares among its connections.
//
// One per worker, created and used only on that worker's thread: the loop, the upstream pool,
// the counters, the current snapshot, a random source, reusable scratch memory. Nothing here
// is locked; the control thread talks to a worker only by posting tasks to its loop (snapshot
// swaps, drain), and reads its counters (relaxed atomics) when scraping.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config/snapshot.h"
#include "core/event/loop.h"
#include "core/http/mirror.h"
#include "core/script/runtime.h"
#include "core/http/parser.h"
#include "core/telemetry/access_log.h"
#include "core/telemetry/counters.h"
#include "core/telemetry/exchange_metrics.h"
#include "core/telemetry/tracing.h"
#include "core/upstream/pool.h"
#include "core/upstream/retry.h"

namespace gh::http {

class Session;

// A snapshot as held by one worker. Exchanges pin it with a plain (non-atomic) count, so
// pinning costs nothing shared across cores; the worker's own reference is dropped when a
// newer snapshot replaces it, and the last exchange to finish frees it.
class PinnedSnapshot {
 public:
  // `seed` (from the worker's random source) makes each worker start its round robin at a
  // different endpoint.
  // `worker` of `workers`: this worker's share of the circuit-breaking limits.
  PinnedSnapshot(std::shared_ptr<const config::Snapshot> s, uint64_t seed, uint32_t worker = 0,
                 uint32_t workers = 1)
      : snap_(std::move(s)),
        balancers_(snap_->services.size()),
        outliers_(balancers_.size()),
        health_(balancers_.size()),
        breakers_(balancers_.size()),
        waiting_(balancers_.size()) {
    budgets_.reserve(balancers_.size());
    for (size_t i = 0; i < balancers_.size(); ++i) {
      const upstream::Service& svc = snap_->services[i];
      // Envoy's retry budget: 20% of active requests, at least 3 for the node.
      budgets_.emplace_back(20, 3, workers, worker);
      if (svc.circuitBreaking) breakers_[i] = upstream::CircuitBreaker(svc.limits, workers, worker);
      balancers_[i].reset(svc.balancer, seed + i * 0x9e3779b97f4a7c15ull);
      if (svc.outlier.enabled()) outliers_[i].reset(svc.outlier, svc.endpoints.size());
      if (svc.health) {
        health_[i].mask.reset(svc.endpoints.size(), true);
        health_[i].combined.reset(svc.endpoints.size(), true);
      }
    }
  }
  // Takes over this worker's outlier-detection state from the snapshot this one replaces,
  // for every endpoint still there (same Service label, same address): a reload or a DNS
  // re-resolution that keeps an endpoint keeps its ejection and its run of errors, as Envoy
  // keeps a host's outlier status across cluster updates. New endpoints start clean.
  // Allocates: called when a snapshot is published, never per request.
  void carryOutlierState(const PinnedSnapshot& previous);
  const config::Snapshot& get() const { return *snap_; }
  const std::shared_ptr<const config::Snapshot>& shared() const { return snap_; }
  void ref() { ++refs_; }
  void unref() {
    if (--refs_ == 0) delete this;
  }
  // This worker's load-balancing state for a service of this snapshot.
  upstream::BalancerState& balancer(uint32_t service) { return balancers_[service]; }
  // This worker's outlier detector for a service (meaningful when its policy is enabled).
  // Its state follows endpoints that stay into the next snapshot (carryOutlierState).
  upstream::OutlierDetector& outlier(uint32_t service) { return outliers_[service]; }
  // This worker's circuit breaker for a service (meaningful when svc.circuitBreaking) and the
  // exchanges queued for one of its connections, oldest first (intrusive, through
  // Session::nextWaiting/prevWaiting; managed by the sessions). Limits and queues start
  // afresh with each snapshot; an exchange keeps using its own snapshot's.
  upstream::CircuitBreaker& breaker(uint32_t service) { return breakers_[service]; }
  // This worker's retry budget for a service (requests through routes with a retry policy).
  upstream::RetryBudget& retryBudget(uint32_t service) { return budgets_[service]; }
  struct WaitQueue {
    Session* head = nullptr;
    Session* tail = nullptr;
  };
  WaitQueue& waiting(uint32_t service) { return waiting_[service]; }

  // The endpoints this worker may pick for `svc` now: all of them, less those active health
  // checks find unhealthy (refreshed from the Service's HealthTable when its generation
  // moved), less those this worker's outlier detection ejected. No allocation; with neither
  // feature configured it is the Service's own all-set mask.
  const upstream::EndpointMask& usable(const upstream::Service& svc) {
    const upstream::EndpointMask* m = &svc.usable;
    HealthView* h = nullptr;
    if (svc.health) {
      h = &health_[svc.index];
      uint64_t g = svc.health->generation();
      if (g != h->generation) {
        svc.health->copyTo(&h->mask);
        h->generation = g;
      }
      m = &h->mask;
    }
    if (svc.outlier.enabled()) {
      upstream::OutlierDetector& od = outliers_[svc.index];
      if (od.ejectedCount() != 0) od.tick(event::Loop::nowMs());
      if (!h) return od.available();
      if (od.ejectedCount() != 0) {
        h->combined.assignAnd(*m, od.available());
        m = &h->combined;
      }
    }
    return *m;
  }

 private:
  std::shared_ptr<const config::Snapshot> snap_;
  std::vector<upstream::BalancerState> balancers_;
  std::vector<upstream::OutlierDetector> outliers_;
  struct HealthView {  // this worker's copy of a Service's HealthTable
    uint64_t generation = 0;  // tables start at 1: the first use copies
    upstream::EndpointMask mask;
    upstream::EndpointMask combined;  // mask AND outlier detection's
  };
  std::vector<HealthView> health_;
  std::vector<upstream::CircuitBreaker> breakers_;
  std::vector<WaitQueue> waiting_;
  std::vector<upstream::RetryBudget> budgets_;
  uint32_t refs_ = 1;
};

// One listener as one worker sees it; outlives snapshots in which the listener is unchanged.
// Sessions hold a reference so a listener removed by a reload is only freed after its last
// connection closes.
class WorkerListener {
 public:
  const config::CompiledListener* current = nullptr;  // in the worker's current snapshot
  bool removed = false;
  void ref() { ++refs_; }
  void unref() {
    if (--refs_ == 0) delete this;
  }

 private:
  uint32_t refs_ = 1;
};

struct WorkerContext {
  explicit WorkerContext(event::Loop& l) : loop(l), pool(l) {}

  event::Loop& loop;
  upstream::Pool pool;
  telemetry::WorkerCounters counters;
  PinnedSnapshot* snapshot = nullptr;  // current; sessions pin it per exchange
  uint32_t workerIndex = 0;            // this worker's index and the number of workers
  uint32_t workerCount = 1;            // (shares of node-wide limits)
  bool draining = false;
  std::string scratch;                 // serialization of heads; reused, never shrinks
  // The access log (gatehouse run --access-log): this worker's ring, or null when off.
  telemetry::AccessLogWriter::Producer* accessLog = nullptr;
  telemetry::AccessLogFormat accessLogFormat = telemetry::AccessLogFormat::kText;
  std::string logLine;                 // one formatted line; reused
  // Labelled metrics (Istio's and gatehouse_* by route/service): the server's families and
  // this worker's cells; null when the server runs without them (tests).
  const telemetry::ExchangeMetrics* exchangeMetrics = nullptr;
  telemetry::WorkerMetrics* metrics = nullptr;
  // Tracing (gatehouse run --tracing-collector): this worker's ids, sampler and span queue;
  // null when off (trace headers then pass through untouched).
  telemetry::WorkerTracing* tracing = nullptr;
  // This worker's Lua host (one VM per worker per script set); created by the worker before
  // its loop runs (Worker::setScriptShared), or by the first exchange that needs it.
  std::unique_ptr<script::ScriptRuntime> scripts;
  std::unique_ptr<MirrorSender> mirror;  // RequestMirror copies; created on first use
  Session* sessions = nullptr;         // intrusive list of live sessions
  size_t sessionCount = 0;
  void (*onSessionsEmpty)(void* arg) = nullptr;  // called while draining when the last ends
  void* onSessionsEmptyArg = nullptr;

  uint64_t random();  // xorshift128+, seeded from the kernel

 private:
  uint64_t rng_[2] = {0, 0};
};

}  // namespace gh::http
