#pragma once
// MetricsRegistry: labelled counters, gauges and fixed-bucket histograms, written per worker
// without locks and summed when /metrics is scraped.
//
// The model. A *family* is a metric name with its type, help, label names and (histograms)
// bucket bounds; families are declared once, before the first worker is made, and never
// change. A *label value* is a string interned by the control thread into a dictionary that
// only grows: its ValueId is the same for the life of the process, so a series keeps counting
// across reloads, as a Prometheus counter must (PolicySlots' rule, generalised). A *series* is
// a family plus one ValueId per label (a LabelKey). Workers never see strings: the control
// thread interns the values a snapshot can produce (configuration names, principals) and hands
// their ids to the workers inside the snapshot; per-request values with a small closed set
// (status codes, response flags) are interned up front. Nothing a client sends (a path, an
// address) can become a label: there is no worker-side call that takes a string.
//
// Where the counts live. Each worker owns a WorkerMetrics: a fixed arena of cells and a fixed
// table of series descriptors, both allocated up front. The first time a worker records a
// LabelKey it appends a descriptor and claims cells, then publishes the new series count with a
// release store; the scraper reads the count with an acquire load and only the descriptors
// below it. Cells are relaxed atomics updated with load+store (one writer, as in counters.h):
// no lock, no read-modify-write, no allocation on the request path. The worker finds its series
// through a private open-addressing table only it touches.
//
// Bounds. The dictionary holds at most Limits::maxValues values (beyond: kOtherValue, rendered
// "other"); a worker holds at most Limits::maxSeriesPerWorker series and maxCellsPerWorker
// cells. A key that does not fit is counted in the family's overflow series (every label
// "other", created up front, rendered only when non-zero) and in overflowed().
//
// Threads. MetricsRegistry: control thread only (declare, intern, makeWorker, render).
// WorkerMetrics: recording calls on its owning worker only; the registry reads it concurrently.
// The registry must outlive its workers' metrics.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gh::telemetry {

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram };

using FamilyId = uint16_t;
using ValueId = uint32_t;
constexpr ValueId kOtherValue = 0;  // "other": unknown, or beyond the dictionary's bound
constexpr int kMaxLabels = 12;

// One ValueId per label of the family, in the order of its label names; unused tail is 0.
struct LabelKey {
  std::array<ValueId, kMaxLabels> v{};
  bool operator==(const LabelKey&) const = default;
  auto operator<=>(const LabelKey&) const = default;
};

class MetricsRegistry;

// Summed view of one series (for tests, and for /api/v1/stats-like consumers).
struct SeriesValue {
  bool found = false;
  double value = 0;                // counter or gauge
  std::vector<uint64_t> buckets;   // histogram: non-cumulative counts, last is +Inf
  uint64_t count = 0;              // histogram
  double sum = 0;                  // histogram
};

class WorkerMetrics {
 public:
  // Counter += n.
  void add(FamilyId f, const LabelKey& key, uint64_t n = 1);
  // Gauge: this worker's share (summed over workers on scrape).
  void gaugeAdd(FamilyId f, const LabelKey& key, double delta);
  void gaugeSet(FamilyId f, const LabelKey& key, double value);
  // Histogram: one observation.
  void observe(FamilyId f, const LabelKey& key, double value);

  // Keys that did not fit (counted in the family's overflow series instead). Any thread.
  uint64_t overflowed() const { return overflowed_.load(std::memory_order_relaxed); }

  WorkerMetrics(const WorkerMetrics&) = delete;
  WorkerMetrics& operator=(const WorkerMetrics&) = delete;

 private:
  friend class MetricsRegistry;
  struct Series {
    FamilyId family = 0;
    bool overflow = false;
    LabelKey key;
    uint32_t cell = 0;  // first cell
  };
  explicit WorkerMetrics(const MetricsRegistry& reg);
  uint32_t cellFor(FamilyId f, const LabelKey& key);  // worker only
  uint32_t lookupCell(FamilyId f, const LabelKey& key);
  int32_t appendSeries(FamilyId f, const LabelKey& key, bool overflow);

  const MetricsRegistry& reg_;
  std::unique_ptr<std::atomic<uint64_t>[]> cells_;
  size_t cellsUsed_ = 0;
  std::unique_ptr<Series[]> series_;
  std::atomic<uint32_t> published_{0};  // series_[0, published_) are readable by the scraper
  std::vector<uint32_t> overflowSeries_;  // by family
  // Private lookup: (hash, series index + 1) slots, power-of-two size; worker only.
  std::vector<std::pair<uint64_t, uint32_t>> index_;
  // The last series each family recorded into: steady traffic repeats its labels, and a key
  // comparison is cheaper than hashing twelve ids and probing. Worker only.
  struct Last {
    LabelKey key;
    uint32_t cell = 0;
    bool valid = false;
  };
  std::vector<Last> last_;
  std::atomic<uint64_t> overflowed_{0};
};

class MetricsRegistry {
 public:
  struct Limits {
    size_t maxValues = 1 << 16;
    size_t maxSeriesPerWorker = 4096;
    size_t maxCellsPerWorker = 1 << 17;
  };
  explicit MetricsRegistry(Limits limits);
  MetricsRegistry() : MetricsRegistry(Limits{}) {}
  ~MetricsRegistry();

  // Declares a family; before the first makeWorker(). `name` must be a valid metric name and
  // `labels` valid label names (not "le" for histograms); buckets are ascending upper bounds
  // (+Inf is implied). Returns its id.
  FamilyId addFamily(std::string name, std::string help, MetricType type,
                     std::vector<std::string> labels, std::vector<double> buckets = {});
  // The stable id of a label value (kOtherValue once the dictionary is full).
  ValueId intern(std::string_view value);
  std::string_view value(ValueId id) const { return values_[id]; }

  // A worker's metrics; the registry keeps a pointer for render(). Call before the worker runs.
  std::unique_ptr<WorkerMetrics> makeWorker();
  void forgetWorker(const WorkerMetrics* w);  // before destroying it

  // Prometheus text 0.0.4 of every family, summed over the workers: HELP and TYPE once per
  // family, series in a stable order, label values escaped, histograms cumulative with +Inf,
  // _sum and _count. A family with no series renders its HELP/TYPE only.
  void render(std::string& out) const;
  SeriesValue read(FamilyId f, const LabelKey& key) const;
  // Every series of a family, summed over the workers (the overflow series excluded).
  std::vector<std::pair<LabelKey, SeriesValue>> readAll(FamilyId f) const;
  uint64_t overflowed() const;

  struct Family {
    std::string name, help;
    MetricType type;
    std::vector<std::string> labels;
    std::vector<double> buckets;
    uint32_t cells() const {
      return type == MetricType::kHistogram ? static_cast<uint32_t>(buckets.size()) + 2 : 1;
    }
  };
  const Family& family(FamilyId f) const { return families_[f]; }
  size_t familyCount() const { return families_.size(); }
  const Limits& limits() const { return limits_; }

 private:
  struct Agg;
  void collect(FamilyId f, std::vector<std::pair<LabelKey, Agg>>& out) const;

  Limits limits_;
  std::vector<Family> families_;
  std::vector<std::string> values_{"other"};
  std::unordered_map<std::string, ValueId> valueIds_;
  std::vector<const WorkerMetrics*> workers_;
  bool frozen_ = false;
};

// A sample value as the exposition format writes it (integers without a fraction, +Inf).
void appendPromValue(std::string& out, double v);

}  // namespace gh::telemetry
