#pragma once
// Balancer: chooses an endpoint of a Service for one request.
//
// The model. A Service's load-balancing work splits in two halves with different owners:
//
//   Balancer        compiled once per Snapshot from the endpoints' weights and names (the
//                   consistent-hash ring or Maglev table, prefix sums of weights). Immutable,
//                   shared read-only by every worker, like the Service it belongs to.
//   BalancerState   one per worker per Service: round-robin position, the EDF schedule for
//                   weighted policies, active request counts, the worker's random generator.
//                   Owned by that worker's thread only; no atomics, no locks.
//
// pick() is a const method of the Balancer that takes the worker's state and the worker's view
// of which endpoints may be used now (an EndpointMask: health checks and outlier ejection
// combined by the caller). It never allocates. It returns an endpoint index, or kNoEndpoint
// when no endpoint is usable (the caller answers 503 no_healthy_upstream).
//
// Policies (LbPolicy), all weight-aware; an endpoint of weight 0 is never picked:
//
//   kRoundRobin     equal weights: a per-worker position steps through the usable endpoints.
//                   Unequal weights, up to kSmoothMax endpoints: nginx's smooth weighted round
//                   robin — exact over a cycle of sum(weights) picks and interleaved (weights
//                   5,1,1 give a a b a c a a, not a a a a a b c); O(endpoints) a pick, which
//                   is cheaper than a heap at that size. Above kSmoothMax: earliest-deadline-
//                   first (EDF) scheduling as Envoy does — each endpoint is due every 1/weight,
//                   O(log endpoints) a pick, exact in the long run. Each worker starts at a
//                   seeded point so N workers do not all hit the same endpoint first after a
//                   reload.
//   kLeastRequest   equal weights: power of two choices — draw `choiceCount` usable endpoints
//                   at random, take the one with the fewest active requests of this worker.
//                   Unequal weights: EDF with the effective weight
//                   weight / (active + 1)^activeRequestBias, computed when an endpoint is
//                   re-scheduled (Envoy's algorithm).
//   kRandom         weighted random (prefix sums and a binary search).
//   kRingHash       Ketama-style ring: each endpoint gets points in proportion to its weight,
//                   at least minimumRingSize points in all (at most maximumRingSize); a key goes
//                   to the first point at or after its hash, clockwise.
//   kMaglev         Maglev lookup table (Eisenbud et al., NSDI 2016) of a prime size (default
//                   65537), filled in proportion to weight; a key goes to table[hash % size].
//
// Exclusion. Unusable endpoints are skipped without rebuilding anything: round robin and EDF
// pass over them (the usable ones keep their exact relative shares), random draws again, the
// ring walks clockwise to the next usable point and Maglev probes the next table slots (whose
// owners are spread evenly, so an ejected endpoint's keys spread over all the others and come
// back to it when it returns). Keys of usable endpoints never move.
//
// Panic threshold (minHealthPercent). Envoy routes to every endpoint when fewer than 50% are
// healthy; Istio's DestinationRule sets that threshold to 0% (off) unless
// outlierDetection.minHealthPercent says otherwise, and so do we: by default, with no usable
// endpoint pick() returns kNoEndpoint and the request gets 503 no_healthy_upstream. With
// minHealthPercent = P > 0, when fewer than P% of the endpoints are usable the mask is ignored
// and every endpoint of positive weight is a candidate (pick() reports it through
// `panicked()` so the caller can count it). Outlier detection never ejects more than
// maxEjectionPercent, so a panic can only come from active health checks or from both.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/upstream/hash.h"

namespace gh::upstream {

struct Service;

inline constexpr uint32_t kNoEndpoint = UINT32_MAX;
// Weighted round robin uses the smooth O(n) algorithm up to this many endpoints, EDF above.
inline constexpr size_t kSmoothMax = 32;

// A set of endpoint indexes (a bitmap). Owned by one worker; updated when health or ejection
// changes, read on every pick.
class EndpointMask {
 public:
  EndpointMask() = default;
  explicit EndpointMask(size_t n, bool value = true) { reset(n, value); }
  void reset(size_t n, bool value);  // allocates; every bit = value

  size_t size() const { return size_; }
  size_t count() const { return count_; }
  bool all() const { return count_ == size_; }
  bool test(size_t i) const { return (words_[i >> 6] >> (i & 63)) & 1; }
  void assign(size_t i, bool value);
  void set(size_t i) { assign(i, true); }
  void clear(size_t i) { assign(i, false); }
  // The first set index at or after `from` (mod size), or kNoEndpoint if none is set.
  uint32_t nextSet(size_t from) const;
  // *this = a AND b (same sizes); no allocation when the size is unchanged.
  void assignAnd(const EndpointMask& a, const EndpointMask& b);

 private:
  std::vector<uint64_t> words_;
  size_t size_ = 0;
  size_t count_ = 0;
};

enum class LbPolicy : uint8_t { kRoundRobin, kLeastRequest, kRandom, kRingHash, kMaglev };

struct LbOptions {
  LbPolicy policy = LbPolicy::kRoundRobin;
  uint32_t choiceCount = 2;                   // kLeastRequest, equal weights (>= 2)
  double activeRequestBias = 1.0;             // kLeastRequest, unequal weights
  uint64_t minimumRingSize = 1024;            // kRingHash (Istio ringHash.minimumRingSize)
  uint64_t maximumRingSize = 8 * 1024 * 1024; // kRingHash
  uint32_t maglevTableSize = 65537;           // kMaglev; must be prime (build() checks)
  uint32_t minHealthPercent = 0;              // panic threshold, 0 = off (see above)
};

class BalancerState;

// Immutable after build(); safe to share across threads.
class Balancer {
 public:
  Balancer() = default;  // no endpoints: pick() returns kNoEndpoint

  // weights[i]: endpoint i's weight (0: never picked). names[i]: its stable identity for the
  // hash-based policies (the endpoint label "10.0.0.1:8080", or "name:port" for a DNS
  // endpoint) — the ring and table depend only on names and weights, not on order. `names`
  // may be empty for the other policies. Returns false with *error set on bad options.
  static bool build(const LbOptions& options, std::span<const uint32_t> weights,
                    std::span<const std::string_view> names, Balancer* out,
                    std::string* error = nullptr);
  // Convenience: the Service's endpoints' weights and labels.
  static bool forService(const Service& service, const LbOptions& options, Balancer* out,
                         std::string* error = nullptr);

  // The endpoint for one request. `hashKey` is used by kRingHash and kMaglev only (see hash.h
  // for hashing a header, cookie or address). `available.size()` must equal size().
  uint32_t pick(BalancerState& state, const EndpointMask& available, uint64_t hashKey = 0) const;

  size_t size() const { return weights_.size(); }
  const LbOptions& options() const { return options_; }
  bool hashBased() const {
    return options_.policy == LbPolicy::kRingHash || options_.policy == LbPolicy::kMaglev;
  }
  bool equalWeights() const { return equalWeights_; }
  size_t ringSize() const { return ring_.size(); }             // kRingHash points
  size_t tableSize() const { return table_.size(); }           // kMaglev slots
  uint32_t weight(size_t i) const { return weights_[i]; }

 private:
  friend class BalancerState;
  struct RingPoint {
    uint64_t hash;
    uint32_t endpoint;
  };
  bool usable(const EndpointMask* mask, uint32_t i) const {
    return weights_[i] != 0 && (mask == nullptr || mask->test(i));
  }
  uint32_t scanUsable(const EndpointMask* mask, size_t from) const;
  uint32_t pickRoundRobin(BalancerState& st, const EndpointMask* mask) const;
  uint32_t pickEdf(BalancerState& st, const EndpointMask* mask) const;
  uint32_t pickSmooth(BalancerState& st, const EndpointMask* mask) const;
  uint32_t pickLeastRequest(BalancerState& st, const EndpointMask* mask) const;
  uint32_t pickRandom(BalancerState& st, const EndpointMask* mask) const;
  uint32_t drawUniform(BalancerState& st, const EndpointMask* mask) const;
  uint32_t pickRing(const EndpointMask* mask, uint64_t key) const;
  uint32_t pickMaglev(const EndpointMask* mask, uint64_t key) const;
  void buildRing(std::span<const std::string_view> names);
  void buildMaglev(std::span<const std::string_view> names);

  LbOptions options_;
  std::vector<uint32_t> weights_;
  std::vector<uint64_t> cumulative_;  // prefix sums of weights
  size_t positive_ = 0;               // endpoints with weight > 0
  bool equalWeights_ = true;          // all positive weights equal (and none zero)
  std::vector<RingPoint> ring_;       // sorted by hash
  std::vector<uint32_t> table_;       // Maglev
};

// One worker's mutable balancing state for one Service. Not thread-safe: its worker only.
// reset() (at snapshot adoption) allocates; nothing else does.
class BalancerState {
 public:
  BalancerState() = default;
  // Sizes the state for `balancer` and seeds the worker's generator (use a different seed per
  // worker, e.g. mix64(workerIndex)). Active counts of endpoints kept by index are carried over
  // when the size does not change; callers that reorder endpoints should reset them.
  void reset(const Balancer& balancer, uint64_t seed);

  // Active request accounting for kLeastRequest (harmless for the others): call when a request
  // is sent to the endpoint and when it ends (however it ends). Out-of-range indexes (an
  // exchange that started on an older snapshot) are ignored; counts never go below 0.
  void onRequestStart(uint32_t endpoint) {
    if (endpoint < active_.size()) ++active_[endpoint];
  }
  void onRequestEnd(uint32_t endpoint) {
    if (endpoint < active_.size() && active_[endpoint] > 0) --active_[endpoint];
  }
  uint32_t active(uint32_t endpoint) const { return active_[endpoint]; }
  // True when the last pick() ignored the mask (panic threshold).
  bool panicked() const { return panicked_; }
  Rng& rng() { return rng_; }

 private:
  friend class Balancer;
  struct EdfEntry {
    double deadline;
    uint64_t order;  // FIFO among equal deadlines
    uint32_t endpoint;
  };
  static bool later(const EdfEntry& a, const EdfEntry& b) {
    return a.deadline != b.deadline ? a.deadline > b.deadline : a.order > b.order;
  }
  void edfReplaceTop(double weight);

  Rng rng_;
  uint64_t position_ = 0;
  std::vector<uint32_t> active_;
  std::vector<EdfEntry> heap_;  // min-heap by (deadline, order)
  std::vector<int64_t> current_;  // smooth weighted round robin
  double now_ = 0;
  uint64_t order_ = 0;
  bool panicked_ = false;
};

}  // namespace gh::upstream
