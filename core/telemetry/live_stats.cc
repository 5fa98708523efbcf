#include "core/telemetry/live_stats.h"

namespace gh::telemetry {

LiveStats::LiveStats(const MetricsRegistry& reg, const ExchangeMetrics& families,
                     int windowSeconds)
    : reg_(reg), families_(families), windowSeconds_(windowSeconds) {}

LiveStats::Sample LiveStats::read(int64_t nowMs) const {
  Sample s;
  s.atMs = nowMs;
  ValueId fiveXx = families_.codeClass(500);
  for (auto& [k, v] : reg_.readAll(families_.requests())) {
    Acc& a = s.routes[{k.v[0], k.v[1]}];
    auto n = static_cast<uint64_t>(v.value);
    a.requests += n;
    if (k.v[2] == fiveXx) a.errors += n;
  }
  for (auto& [k, v] : reg_.readAll(families_.duration())) s.routes[{k.v[0], k.v[1]}].buckets = v.buckets;
  for (auto& [k, v] : reg_.readAll(families_.serviceRequests())) {
    Acc& a = s.services[k.v[0]];
    auto n = static_cast<uint64_t>(v.value);
    a.requests += n;
    if (k.v[1] == fiveXx) a.errors += n;
  }
  for (auto& [k, v] : reg_.readAll(families_.serviceDuration())) s.services[k.v[0]].buckets = v.buckets;
  return s;
}

void LiveStats::sample(int64_t nowMs) {
  samples_.push_back(read(nowMs));
  // Keep one sample older than the window, so a view always has a full minute to subtract.
  int64_t horizon = nowMs - static_cast<int64_t>(windowSeconds_) * 1000;
  while (samples_.size() > 1 && samples_[1].atMs <= horizon) samples_.pop_front();
}

std::optional<double> LiveStats::quantile(double q, const std::vector<uint64_t>& counts,
                                          const std::vector<double>& bounds) {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  if (total == 0) return std::nullopt;
  double rank = q * static_cast<double>(total);
  uint64_t cum = 0;
  for (size_t b = 0; b < counts.size(); ++b) {
    uint64_t before = cum;
    cum += counts[b];
    if (static_cast<double>(cum) < rank || counts[b] == 0) continue;
    if (b >= bounds.size()) return bounds.empty() ? 0 : bounds.back();  // +Inf bucket
    double lo = b == 0 ? 0 : bounds[b - 1], hi = bounds[b];
    return lo + (hi - lo) * (rank - static_cast<double>(before)) / static_cast<double>(counts[b]);
  }
  return bounds.empty() ? 0 : bounds.back();
}

namespace {

void fill(LiveRow& row, const std::vector<uint64_t>* nowB, const std::vector<uint64_t>* thenB,
          uint64_t requests, uint64_t errors, double seconds, const std::vector<double>& bounds) {
  row.requests = requests;
  row.rps = seconds > 0 ? static_cast<double>(requests) / seconds : 0;
  row.errorRate = requests ? static_cast<double>(errors) / static_cast<double>(requests) : 0;
  if (!nowB) return;
  std::vector<uint64_t> d(*nowB);
  if (thenB)
    for (size_t i = 0; i < d.size() && i < thenB->size(); ++i) d[i] -= (*thenB)[i];
  auto ms = [](std::optional<double> s) -> std::optional<double> {
    if (!s) return s;
    return *s * 1000.0;
  };
  row.p50 = ms(LiveStats::quantile(0.50, d, bounds));
  row.p95 = ms(LiveStats::quantile(0.95, d, bounds));
  row.p99 = ms(LiveStats::quantile(0.99, d, bounds));
}

}  // namespace

LiveView LiveStats::view(int64_t nowMs, const SnapshotLabels* labels) const {
  LiveView v;
  v.atMs = nowMs;
  v.windowSeconds = windowSeconds_;
  Sample now = read(nowMs);
  // The sample closest to a window ago (the oldest kept when the server is younger).
  const Sample* then = nullptr;
  int64_t horizon = nowMs - static_cast<int64_t>(windowSeconds_) * 1000;
  for (const Sample& s : samples_) {
    if (s.atMs <= horizon) {
      then = &s;  // the newest at least a window old
    } else {
      if (!then && s.atMs <= nowMs) then = &s;  // younger server: its oldest sample
      break;
    }
  }
  v.coveredSeconds = then ? static_cast<double>(nowMs - then->atMs) / 1000.0 : 0;
  double seconds = v.coveredSeconds;
  const std::vector<double>& bounds = reg_.family(families_.duration()).buckets;
  for (const auto& [key, a] : now.routes) {
    const Acc* b = nullptr;
    if (then) {
      auto it = then->routes.find(key);
      if (it != then->routes.end()) b = &it->second;
    }
    LiveRow row;
    row.listener = std::string(reg_.value(key.first));
    row.route = std::string(reg_.value(key.second));
    if (labels) {
      auto it = labels->routeService.find(key.second);
      if (it != labels->routeService.end()) row.service = std::string(reg_.value(it->second));
    }
    fill(row, a.buckets.empty() ? nullptr : &a.buckets, b && !b->buckets.empty() ? &b->buckets : nullptr,
         a.requests - (b ? b->requests : 0), a.errors - (b ? b->errors : 0), seconds, bounds);
    v.routes.push_back(std::move(row));
  }
  for (const auto& [key, a] : now.services) {
    const Acc* b = nullptr;
    if (then) {
      auto it = then->services.find(key);
      if (it != then->services.end()) b = &it->second;
    }
    LiveRow row;
    row.service = std::string(reg_.value(key));
    fill(row, a.buckets.empty() ? nullptr : &a.buckets, b && !b->buckets.empty() ? &b->buckets : nullptr,
         a.requests - (b ? b->requests : 0), a.errors - (b ? b->errors : 0), seconds, bounds);
    v.services.push_back(std::move(row));
  }
  return v;
}

}  // namespace gh::telemetry
