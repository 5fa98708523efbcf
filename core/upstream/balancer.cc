#include "core/upstream/balancer.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>

#include "core/upstream/service.h"

namespace gh::upstream {

// ---- EndpointMask ----------------------------------------------------------------------

void EndpointMask::reset(size_t n, bool value) {
  size_ = n;
  words_.assign((n + 63) / 64, value ? ~uint64_t{0} : 0);
  if (value && (n & 63)) words_.back() = (uint64_t{1} << (n & 63)) - 1;
  count_ = value ? n : 0;
}

void EndpointMask::assign(size_t i, bool value) {
  uint64_t& w = words_[i >> 6];
  const uint64_t bit = uint64_t{1} << (i & 63);
  if (((w & bit) != 0) == value) return;
  w ^= bit;
  if (value)
    ++count_;
  else
    --count_;
}

uint32_t EndpointMask::nextSet(size_t from) const {
  if (count_ == 0) return kNoEndpoint;
  if (from >= size_) from = 0;
  const size_t nw = words_.size();
  size_t wi = from >> 6;
  uint64_t w = words_[wi] & (~uint64_t{0} << (from & 63));
  // At most nw + 1 words: the rest of the first word, the others, the start of the first.
  for (size_t step = 0; step <= nw; ++step) {
    if (w) return static_cast<uint32_t>((wi << 6) + std::countr_zero(w));
    wi = wi + 1 == nw ? 0 : wi + 1;
    w = words_[wi];
  }
  return kNoEndpoint;
}

void EndpointMask::assignAnd(const EndpointMask& a, const EndpointMask& b) {
  size_ = a.size_;
  words_.resize(a.words_.size());
  count_ = 0;
  for (size_t i = 0; i < words_.size(); ++i) {
    words_[i] = a.words_[i] & b.words_[i];
    count_ += static_cast<size_t>(std::popcount(words_[i]));
  }
}

// ---- build -------------------------------------------------------------------------------

namespace {

bool isPrime(uint64_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d)
    if (n % d == 0) return false;
  return true;
}

bool fail(std::string* error, const char* msg) {
  if (error) *error = msg;
  return false;
}

}  // namespace

bool Balancer::build(const LbOptions& options, std::span<const uint32_t> weights,
                     std::span<const std::string_view> names, Balancer* out,
                     std::string* error) {
  Balancer b;
  b.options_ = options;
  if (b.options_.choiceCount < 2) b.options_.choiceCount = 2;
  b.weights_.assign(weights.begin(), weights.end());
  b.cumulative_.reserve(weights.size());
  uint64_t sum = 0;
  uint32_t first = 0;
  for (uint32_t w : weights) {
    sum += w;
    b.cumulative_.push_back(sum);
    if (w == 0) {
      b.equalWeights_ = false;
      continue;
    }
    if (b.positive_++ == 0) first = w;
    if (w != first) b.equalWeights_ = false;
  }
  if (b.hashBased()) {
    if (names.size() != weights.size())
      return fail(error, "consistent hashing needs a name for every endpoint");
    if (options.policy == LbPolicy::kRingHash) {
      if (options.minimumRingSize == 0 || options.maximumRingSize < options.minimumRingSize)
        return fail(error, "ring size: need 0 < minimumRingSize <= maximumRingSize");
      b.buildRing(names);
    } else {
      if (!isPrime(options.maglevTableSize))
        return fail(error, "maglev table size must be a prime");
      b.buildMaglev(names);
    }
  }
  *out = std::move(b);
  return true;
}

bool Balancer::forService(const Service& service, const LbOptions& options, Balancer* out,
                          std::string* error) {
  std::vector<uint32_t> weights;
  std::vector<std::string_view> names;
  weights.reserve(service.endpoints.size());
  names.reserve(service.endpoints.size());
  for (const Endpoint& e : service.endpoints) {
    weights.push_back(e.weight);
    names.push_back(e.label);
  }
  return build(options, weights, names, out, error);
}

// Points per unit of weight: the smallest power of two that makes the ring at least
// minimumRingSize. A power of two (not the exact quotient) so that adding or removing an
// endpoint leaves the other endpoints' points where they were unless the total crosses a power
// of two; then each keeps its first points (replica j hashes (name, j)) and loses or gains
// only the tail.
void Balancer::buildRing(std::span<const std::string_view> names) {
  const uint64_t sum = cumulative_.empty() ? 0 : cumulative_.back();
  if (sum == 0) return;
  const uint64_t minRing = options_.minimumRingSize, maxRing = options_.maximumRingSize;
  uint64_t perUnit = std::bit_ceil((minRing + sum - 1) / sum);
  double scale = static_cast<double>(perUnit);
  if (static_cast<double>(sum) * scale > static_cast<double>(maxRing))
    scale = static_cast<double>(maxRing) / static_cast<double>(sum);  // huge weights: shrink
  ring_.reserve(static_cast<size_t>(static_cast<double>(sum) * scale) + weights_.size());
  for (uint32_t i = 0; i < weights_.size(); ++i) {
    if (weights_[i] == 0) continue;
    auto points = static_cast<uint64_t>(std::llround(weights_[i] * scale));
    if (points == 0) points = 1;
    for (uint64_t j = 0; j < points; ++j) ring_.push_back({hash64(names[i], j), i});
  }
  // Ties (a 2^-64 event per pair) resolve by name so the ring does not depend on order.
  std::sort(ring_.begin(), ring_.end(), [&](const RingPoint& a, const RingPoint& b) {
    return a.hash != b.hash ? a.hash < b.hash : names[a.endpoint] < names[b.endpoint];
  });
}

// Maglev population, weighted: in each round an endpoint claims its next preferred free slot
// when its share says so (an endpoint of weight w claims w/maxWeight slots per round). The
// preference list of an endpoint is (offset + j * skip) mod M with offset and skip hashed from
// its name, so it does not depend on the other endpoints; endpoints are visited in name order
// so the table does not depend on the order they were listed in.
void Balancer::buildMaglev(std::span<const std::string_view> names) {
  const uint64_t m = options_.maglevTableSize;
  struct Builder {
    uint64_t offset, skip, next, target;
    uint32_t weight, endpoint;
  };
  std::vector<Builder> builders;
  uint32_t maxWeight = 0;
  for (uint32_t i = 0; i < weights_.size(); ++i) {
    if (weights_[i] == 0) continue;
    builders.push_back({hash64(names[i], 0x6d61676c6576) % m,
                        hash64(names[i], 0x736b6970) % (m - 1) + 1, 0, 0, weights_[i], i});
    maxWeight = std::max(maxWeight, weights_[i]);
  }
  if (builders.empty()) return;
  std::sort(builders.begin(), builders.end(), [&](const Builder& a, const Builder& b) {
    return names[a.endpoint] < names[b.endpoint];
  });
  table_.assign(m, kNoEndpoint);
  uint64_t filled = 0;
  for (uint64_t round = 0; filled < m; ++round) {
    for (Builder& b : builders) {
      if (round * b.weight < b.target) continue;
      b.target += maxWeight;
      uint64_t slot;
      do {
        slot = (b.offset + b.next * b.skip) % m;
        ++b.next;
      } while (table_[slot] != kNoEndpoint);
      table_[slot] = b.endpoint;
      if (++filled == m) break;
    }
  }
}

// ---- BalancerState -------------------------------------------------------------------------

void BalancerState::reset(const Balancer& b, uint64_t seed) {
  rng_.reseed(seed);
  const size_t n = b.size();
  if (active_.size() != n) active_.assign(n, 0);
  position_ = n ? rng_.below(n) : 0;
  heap_.clear();
  current_.clear();
  now_ = 0;
  order_ = 0;
  const LbPolicy p = b.options_.policy;
  if (b.equalWeights_ || (p != LbPolicy::kRoundRobin && p != LbPolicy::kLeastRequest)) return;
  if (p == LbPolicy::kRoundRobin && n <= kSmoothMax) {
    current_.assign(n, 0);
    // Start each worker at a different point of the cycle.
    for (uint64_t k = rng_.below(n); k > 0; --k) b.pickSmooth(*this, nullptr);
    return;
  }
  // EDF, each endpoint first due at a seeded random phase of its period (all starting at
  // 1/weight would line the light endpoints up behind one long run of the heavy ones).
  heap_.reserve(b.positive_);
  for (uint32_t i = 0; i < n; ++i)
    if (b.weights_[i]) heap_.push_back({(1.0 - rng_.unit()) / b.weights_[i], order_++, i});
  std::make_heap(heap_.begin(), heap_.end(), later);
}

// Re-schedules the earliest entry at now + 1/weight (a sift-down; no allocation).
void BalancerState::edfReplaceTop(double weight) {
  EdfEntry e = heap_[0];
  e.deadline = now_ + 1.0 / weight;
  e.order = order_++;
  const size_t n = heap_.size();
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && later(heap_[c], heap_[c + 1])) ++c;
    if (!later(e, heap_[c])) break;
    heap_[i] = heap_[c];
    i = c;
  }
  heap_[i] = e;
}

// ---- pick --------------------------------------------------------------------------------

uint32_t Balancer::pick(BalancerState& st, const EndpointMask& available, uint64_t key) const {
  st.panicked_ = false;
  if (positive_ == 0) return kNoEndpoint;
  const EndpointMask* mask = &available;
  if (available.all()) {
    mask = nullptr;  // the common case: nothing to skip
  } else if (options_.minHealthPercent > 0 &&
             available.count() * 100 < uint64_t{options_.minHealthPercent} * size()) {
    mask = nullptr;
    st.panicked_ = true;
  } else if (available.count() == 0) {
    return kNoEndpoint;
  }
  switch (options_.policy) {
    case LbPolicy::kRoundRobin:
      return equalWeights_          ? pickRoundRobin(st, mask)
             : st.current_.empty() ? pickEdf(st, mask)
                                    : pickSmooth(st, mask);
    case LbPolicy::kLeastRequest:
      return equalWeights_ ? pickLeastRequest(st, mask) : pickEdf(st, mask);
    case LbPolicy::kRandom:
      return pickRandom(st, mask);
    case LbPolicy::kRingHash:
      return pickRing(mask, key);
    case LbPolicy::kMaglev:
      return pickMaglev(mask, key);
  }
  return kNoEndpoint;
}

uint32_t Balancer::scanUsable(const EndpointMask* mask, size_t from) const {
  const size_t n = size();
  for (size_t k = 0; k < n; ++k) {
    size_t i = from + k;
    if (i >= n) i -= n;
    if (usable(mask, static_cast<uint32_t>(i))) return static_cast<uint32_t>(i);
  }
  return kNoEndpoint;
}

// Equal weights: step the position past unusable endpoints, so the usable ones share evenly.
uint32_t Balancer::pickRoundRobin(BalancerState& st, const EndpointMask* mask) const {
  const size_t n = size();
  for (size_t k = 0; k < n; ++k) {
    const auto i = static_cast<uint32_t>(st.position_);
    if (++st.position_ == n) st.position_ = 0;
    if (usable(mask, i)) return i;
  }
  return kNoEndpoint;
}

// nginx's smooth weighted round robin: every usable endpoint gains its weight, the one with the
// most is picked and pays back the total. Unusable endpoints neither gain nor pay, so the
// usable ones keep their relative shares.
uint32_t Balancer::pickSmooth(BalancerState& st, const EndpointMask* mask) const {
  int64_t total = 0, bestValue = 0;
  uint32_t best = kNoEndpoint;
  const auto n = static_cast<uint32_t>(size());
  for (uint32_t i = 0; i < n; ++i) {
    if (!usable(mask, i)) continue;
    const int64_t w = weights_[i];
    total += w;
    const int64_t c = st.current_[i] += w;
    if (best == kNoEndpoint || c > bestValue) {
      best = i;
      bestValue = c;
    }
  }
  if (best != kNoEndpoint) st.current_[best] -= total;
  return best;
}

// EDF: take the earliest deadline, re-schedule it by its (effective) weight. An unusable
// endpoint is re-scheduled as if it had been picked, so the usable ones keep their relative
// shares. Bounded; a pathological weight spread falls back to a scan.
uint32_t Balancer::pickEdf(BalancerState& st, const EndpointMask* mask) const {
  if (st.heap_.empty()) return kNoEndpoint;
  const bool leastRequest = options_.policy == LbPolicy::kLeastRequest;
  const double bias = options_.activeRequestBias;
  const size_t limit = 4 * st.heap_.size() + 16;
  for (size_t k = 0; k < limit; ++k) {
    const uint32_t i = st.heap_[0].endpoint;
    st.now_ = st.heap_[0].deadline;
    double w = weights_[i];
    if (leastRequest) {
      const double a = static_cast<double>(st.active_[i]) + 1.0;
      w /= bias == 1.0 ? a : bias == 0.0 ? 1.0 : std::pow(a, bias);
    }
    st.edfReplaceTop(w);
    if (usable(mask, i)) {
      if (st.now_ > 1e12) {  // keep deadlines small enough for 1/weight to stay exact
        for (auto& e : st.heap_) e.deadline -= st.now_;
        st.now_ = 0;
      }
      return i;
    }
  }
  return scanUsable(mask, st.rng_.below(size()));
}

// A uniformly random usable endpoint (equal weights): draw again while unusable; after 16
// misses (fewer than ~1 in 10^5 picks unless most endpoints are out) scan from a random point.
uint32_t Balancer::drawUniform(BalancerState& st, const EndpointMask* mask) const {
  const size_t n = size();
  for (int k = 0; k < 16; ++k) {
    const auto i = static_cast<uint32_t>(st.rng_.below(n));
    if (usable(mask, i)) return i;
  }
  return scanUsable(mask, st.rng_.below(n));
}

uint32_t Balancer::pickLeastRequest(BalancerState& st, const EndpointMask* mask) const {
  uint32_t best = drawUniform(st, mask);
  if (best == kNoEndpoint) return best;
  for (uint32_t c = 1; c < options_.choiceCount; ++c) {
    const uint32_t other = drawUniform(st, mask);
    if (st.active_[other] < st.active_[best]) best = other;
  }
  return best;
}

uint32_t Balancer::pickRandom(BalancerState& st, const EndpointMask* mask) const {
  if (equalWeights_) return drawUniform(st, mask);
  const uint64_t total = cumulative_.back();
  for (int k = 0; k < 16; ++k) {
    const uint64_t slot = st.rng_.below(total);
    // Endpoint i owns slots [cum[i-1], cum[i]).
    const auto i = static_cast<uint32_t>(
        std::upper_bound(cumulative_.begin(), cumulative_.end(), slot) - cumulative_.begin());
    if (usable(mask, i)) return i;
  }
  return scanUsable(mask, st.rng_.below(size()));
}

uint32_t Balancer::pickRing(const EndpointMask* mask, uint64_t key) const {
  const size_t n = ring_.size();
  size_t at = static_cast<size_t>(
      std::lower_bound(ring_.begin(), ring_.end(), key,
                       [](const RingPoint& p, uint64_t k) { return p.hash < k; }) -
      ring_.begin());
  if (at == n) at = 0;
  if (mask == nullptr) return ring_[at].endpoint;
  for (size_t k = 0; k < n; ++k) {
    const uint32_t i = ring_[at].endpoint;
    if (usable(mask, i)) return i;
    if (++at == n) at = 0;
  }
  return kNoEndpoint;
}

uint32_t Balancer::pickMaglev(const EndpointMask* mask, uint64_t key) const {
  const size_t m = table_.size();
  size_t at = static_cast<size_t>(key % m);
  if (mask == nullptr) return table_[at];
  for (size_t k = 0; k < m; ++k) {
    const uint32_t i = table_[at];
    if (usable(mask, i)) return i;
    if (++at == m) at = 0;
  }
  // Only endpoints too light to own a slot are usable.
  return scanUsable(mask, static_cast<size_t>(key % size()));
}

}  // namespace gh::upstream
