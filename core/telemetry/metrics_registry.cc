#include "core/telemetry/metrics_registry.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <map>

#include "core/telemetry/prometheus.h"

namespace gh::telemetry {
namespace {

uint64_t hashKey(FamilyId f, const LabelKey& key) {
  uint64_t h = 1469598103934665603ULL ^ f;
  for (ValueId v : key.v) h = (h ^ v) * 1099511628211ULL;
  h ^= h >> 31;
  return h | 1;  // 0 marks an empty slot
}

// One writer per cell: load + store, never a locked read-modify-write.
inline void bump(std::atomic<uint64_t>& c, uint64_t n) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline double loadDouble(const std::atomic<uint64_t>& c) {
  return std::bit_cast<double>(c.load(std::memory_order_relaxed));
}
inline void storeDouble(std::atomic<uint64_t>& c, double v) {
  c.store(std::bit_cast<uint64_t>(v), std::memory_order_relaxed);
}

}  // namespace

void appendPromValue(std::string& out, double v) {
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  } else {
    snprintf(buf, sizeof buf, "%.17g", v);
  }
  out += buf;
}

// ---- WorkerMetrics ----------------------------------------------------------------------------

WorkerMetrics::WorkerMetrics(const MetricsRegistry& reg) : reg_(reg) {
  const auto& lim = reg.limits();
  cells_.reset(new std::atomic<uint64_t>[lim.maxCellsPerWorker]);
  for (size_t i = 0; i < lim.maxCellsPerWorker; ++i) cells_[i].store(0, std::memory_order_relaxed);
  series_.reset(new Series[lim.maxSeriesPerWorker]);
  size_t slots = 16;
  while (slots < lim.maxSeriesPerWorker * 2) slots <<= 1;
  index_.assign(slots, {0, 0});
  last_.resize(reg.familyCount());
  // The overflow series come first, so they always fit.
  for (FamilyId f = 0; f < reg.familyCount(); ++f) {
    // A family without labels has one series: it is its own overflow and always rendered.
    int32_t s = appendSeries(f, LabelKey{}, !reg.family(f).labels.empty());
    assert(s >= 0 && "Limits too small for the families declared");
    overflowSeries_.push_back(static_cast<uint32_t>(s));
  }
}

int32_t WorkerMetrics::appendSeries(FamilyId f, const LabelKey& key, bool overflow) {
  uint32_t n = published_.load(std::memory_order_relaxed);
  uint32_t need = reg_.family(f).cells();
  if (n >= reg_.limits().maxSeriesPerWorker || cellsUsed_ + need > reg_.limits().maxCellsPerWorker)
    return -1;
  Series& s = series_[n];
  s.family = f;
  s.overflow = overflow;
  s.key = key;
  s.cell = static_cast<uint32_t>(cellsUsed_);
  cellsUsed_ += need;
  if (!overflow) {
    uint64_t h = hashKey(f, key);
    size_t mask = index_.size() - 1;
    size_t i = h & mask;
    while (index_[i].first != 0) i = (i + 1) & mask;
    index_[i] = {h, n + 1};
  }
  published_.store(n + 1, std::memory_order_release);
  return static_cast<int32_t>(n);
}

uint32_t WorkerMetrics::cellFor(FamilyId f, const LabelKey& key) {
  Last& last = last_[f];
  if (last.valid && last.key == key) return last.cell;
  uint32_t cell = lookupCell(f, key);
  // Not a key that overflowed: each of those must reach lookupCell to be counted.
  if (cell != series_[overflowSeries_[f]].cell) {
    last.key = key;
    last.cell = cell;
    last.valid = true;
  }
  return cell;
}

uint32_t WorkerMetrics::lookupCell(FamilyId f, const LabelKey& key) {
  uint64_t h = hashKey(f, key);
  size_t mask = index_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    auto [sh, idx] = index_[i];
    if (sh == 0) break;
    if (sh == h) {
      const Series& s = series_[idx - 1];
      if (s.family == f && s.key == key) return s.cell;
    }
  }
  int32_t s = appendSeries(f, key, false);
  if (s < 0) {
    overflowed_.store(overflowed_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return series_[overflowSeries_[f]].cell;
  }
  return series_[s].cell;
}

void WorkerMetrics::add(FamilyId f, const LabelKey& key, uint64_t n) {
  assert(reg_.family(f).type == MetricType::kCounter);
  bump(cells_[cellFor(f, key)], n);
}

void WorkerMetrics::gaugeAdd(FamilyId f, const LabelKey& key, double delta) {
  assert(reg_.family(f).type == MetricType::kGauge);
  auto& c = cells_[cellFor(f, key)];
  storeDouble(c, loadDouble(c) + delta);
}

void WorkerMetrics::gaugeSet(FamilyId f, const LabelKey& key, double value) {
  assert(reg_.family(f).type == MetricType::kGauge);
  storeDouble(cells_[cellFor(f, key)], value);
}

void WorkerMetrics::observe(FamilyId f, const LabelKey& key, double value) {
  const auto& fam = reg_.family(f);
  assert(fam.type == MetricType::kHistogram);
  uint32_t base = cellFor(f, key);
  // Buckets are few (Istio's duration set has 15): a linear scan beats a binary search here.
  size_t b = 0;
  while (b < fam.buckets.size() && value > fam.buckets[b]) ++b;
  bump(cells_[base + b], 1);
  auto& sum = cells_[base + fam.buckets.size() + 1];
  storeDouble(sum, loadDouble(sum) + value);
}

// ---- MetricsRegistry --------------------------------------------------------------------------

struct MetricsRegistry::Agg {
  bool overflow = false;
  double value = 0;
  std::vector<uint64_t> buckets;
  double sum = 0;
};

MetricsRegistry::MetricsRegistry(Limits limits) : limits_(limits) { valueIds_.emplace("other", 0); }
MetricsRegistry::~MetricsRegistry() = default;

FamilyId MetricsRegistry::addFamily(std::string name, std::string help, MetricType type,
                                    std::vector<std::string> labels, std::vector<double> buckets) {
  assert(!frozen_ && "families are declared before the first worker");
  assert(labels.size() <= static_cast<size_t>(kMaxLabels));
  assert(std::is_sorted(buckets.begin(), buckets.end()));
  families_.push_back(Family{std::move(name), std::move(help), type, std::move(labels),
                             std::move(buckets)});
  return static_cast<FamilyId>(families_.size() - 1);
}

ValueId MetricsRegistry::intern(std::string_view value) {
  auto it = valueIds_.find(std::string(value));
  if (it != valueIds_.end()) return it->second;
  if (values_.size() >= limits_.maxValues) return kOtherValue;
  auto id = static_cast<ValueId>(values_.size());
  values_.emplace_back(value);
  valueIds_.emplace(std::string(value), id);
  return id;
}

std::unique_ptr<WorkerMetrics> MetricsRegistry::makeWorker() {
  frozen_ = true;
  std::unique_ptr<WorkerMetrics> w(new WorkerMetrics(*this));
  workers_.push_back(w.get());
  return w;
}

void MetricsRegistry::forgetWorker(const WorkerMetrics* w) {
  workers_.erase(std::remove(workers_.begin(), workers_.end(), w), workers_.end());
}

uint64_t MetricsRegistry::overflowed() const {
  uint64_t n = 0;
  for (const WorkerMetrics* w : workers_) n += w->overflowed();
  return n;
}

void MetricsRegistry::collect(FamilyId f, std::vector<std::pair<LabelKey, Agg>>& out) const {
  const Family& fam = families_[f];
  std::map<LabelKey, Agg> merged;
  for (const WorkerMetrics* w : workers_) {
    uint32_t n = w->published_.load(std::memory_order_acquire);
    for (uint32_t i = 0; i < n; ++i) {
      const WorkerMetrics::Series& s = w->series_[i];
      if (s.family != f) continue;
      // Overflow series share the all-"other" key with a real one; keep them apart by a key
      // no real series can have (ids are < maxValues).
      LabelKey k = s.key;
      if (s.overflow) k.v.fill(UINT32_MAX);
      Agg& a = merged[k];
      a.overflow = s.overflow;
      const std::atomic<uint64_t>* c = &w->cells_[s.cell];
      switch (fam.type) {
        case MetricType::kCounter:
          a.value += static_cast<double>(c[0].load(std::memory_order_relaxed));
          break;
        case MetricType::kGauge: a.value += loadDouble(c[0]); break;
        case MetricType::kHistogram:
          a.buckets.resize(fam.buckets.size() + 1);
          for (size_t b = 0; b <= fam.buckets.size(); ++b)
            a.buckets[b] += c[b].load(std::memory_order_relaxed);
          a.sum += loadDouble(c[fam.buckets.size() + 1]);
          break;
      }
    }
  }
  out.assign(merged.begin(), merged.end());
}

SeriesValue MetricsRegistry::read(FamilyId f, const LabelKey& key) const {
  std::vector<std::pair<LabelKey, Agg>> all;
  collect(f, all);
  SeriesValue r;
  for (auto& [k, a] : all) {
    if (!(k == key)) continue;
    r.found = true;
    r.value = a.value;
    r.buckets = a.buckets;
    r.sum = a.sum;
    for (uint64_t b : a.buckets) r.count += b;
  }
  return r;
}

std::vector<std::pair<LabelKey, SeriesValue>> MetricsRegistry::readAll(FamilyId f) const {
  std::vector<std::pair<LabelKey, Agg>> all;
  collect(f, all);
  std::vector<std::pair<LabelKey, SeriesValue>> out;
  out.reserve(all.size());
  for (auto& [k, a] : all) {
    if (a.overflow) continue;
    SeriesValue r;
    r.found = true;
    r.value = a.value;
    r.buckets = std::move(a.buckets);
    r.sum = a.sum;
    for (uint64_t b : r.buckets) r.count += b;
    out.emplace_back(k, std::move(r));
  }
  return out;
}

void MetricsRegistry::render(std::string& out) const {
  std::vector<std::pair<LabelKey, Agg>> all;
  for (FamilyId f = 0; f < families_.size(); ++f) {
    const Family& fam = families_[f];
    out += "# HELP " + fam.name + ' ';
    for (char c : fam.help) {  // HELP escapes backslash and newline
      if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else out += c;
    }
    out += "\n# TYPE " + fam.name + ' ';
    out += fam.type == MetricType::kCounter ? "counter"
           : fam.type == MetricType::kGauge ? "gauge"
                                             : "histogram";
    out += '\n';
    collect(f, all);
    for (auto& [key, a] : all) {
      bool zero = a.value == 0 && a.sum == 0 &&
                  std::all_of(a.buckets.begin(), a.buckets.end(), [](uint64_t b) { return b == 0; });
      if (a.overflow && zero) continue;
      if (a.overflow && fam.labels.empty()) continue;  // no labels: nothing can overflow
      std::string labels;
      for (size_t i = 0; i < fam.labels.size(); ++i) {
        if (i) labels += ',';
        labels += fam.labels[i] + "=\"";
        labels += escapeLabelValue(a.overflow ? std::string_view("other") : value(key.v[i]));
        labels += '"';
      }
      if (fam.type != MetricType::kHistogram) {
        out += fam.name;
        if (!labels.empty()) out += '{' + labels + '}';
        out += ' ';
        appendPromValue(out, a.value);
        out += '\n';
        continue;
      }
      uint64_t cum = 0;
      for (size_t b = 0; b <= fam.buckets.size(); ++b) {
        cum += a.buckets[b];
        out += fam.name + "_bucket{" + labels + (labels.empty() ? "" : ",") + "le=\"";
        appendPromValue(out, b < fam.buckets.size() ? fam.buckets[b] : INFINITY);
        out += "\"} " + std::to_string(cum) + '\n';
      }
      std::string braces = labels.empty() ? "" : '{' + labels + '}';
      out += fam.name + "_sum" + braces + ' ';
      appendPromValue(out, a.sum);
      out += '\n' + fam.name + "_count" + braces + ' ' + std::to_string(cum) + '\n';
    }
  }
}

}  // namespace gh::telemetry
