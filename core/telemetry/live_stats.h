#pragma once
// LiveStats: the last minute of traffic per route and per Service — request rate, error rate
// (5xx share) and latency percentiles — for the admin's /api/v1/stats/live and the UI's
// overview charts.
//
// Derived, not recorded: the control thread samples the cumulative gatehouse_* series of the
// MetricsRegistry every few seconds (sample()) and keeps a minute and a bit of samples; view()
// reads the counters now and subtracts the sample closest to one minute ago. Percentiles come
// from the bucket differences, interpolated inside the bucket as Prometheus'
// histogram_quantile does, so they are as fine as the buckets (ExchangeMetrics::
// kLatencyBuckets). Nothing is added to the request path.
//
// Threads: control thread only.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/telemetry/exchange_metrics.h"
#include "core/telemetry/metrics_registry.h"

namespace gh::telemetry {

struct LiveRow {
  std::string route;     // "ns/name" (route rows)
  std::string listener;  // "ns/name" (route rows)
  std::string service;   // "ns/name"
  uint64_t requests = 0;  // in the window
  double rps = 0;
  double errorRate = 0;   // 5xx / requests (0 without requests)
  std::optional<double> p50, p95, p99;  // milliseconds; none without requests
};

struct LiveView {
  int64_t atMs = 0;
  int windowSeconds = 60;
  double coveredSeconds = 0;  // less than the window until the server has run a minute
  std::vector<LiveRow> routes;
  std::vector<LiveRow> services;
};

class LiveStats {
 public:
  LiveStats(const MetricsRegistry& reg, const ExchangeMetrics& families, int windowSeconds = 60);
  // Every few seconds (the server: 5 s).
  void sample(int64_t nowMs);
  // `labels`: the serving snapshot's (maps a route to its Service), may be null.
  LiveView view(int64_t nowMs, const SnapshotLabels* labels) const;

  // histogram_quantile over non-cumulative bucket counts (last: +Inf); upper bounds `bounds`.
  static std::optional<double> quantile(double q, const std::vector<uint64_t>& counts,
                                        const std::vector<double>& bounds);

 private:
  struct Acc {
    uint64_t requests = 0, errors = 0;
    std::vector<uint64_t> buckets;
  };
  struct Sample {
    int64_t atMs = 0;
    std::map<std::pair<ValueId, ValueId>, Acc> routes;  // (listener, route)
    std::map<ValueId, Acc> services;
  };
  Sample read(int64_t nowMs) const;

  const MetricsRegistry& reg_;
  const ExchangeMetrics& families_;
  int windowSeconds_;
  std::deque<Sample> samples_;
};

}  // namespace gh::telemetry
