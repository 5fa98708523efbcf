#include "core/policy/token_bucket.h"

#include <algorithm>
#include <bit>
#include <functional>

namespace gh::policy {

namespace {

// GCRA step: given the bucket's TAT, the new TAT if allowed (0 if refused, with *wait set).
inline bool gcra(uint64_t tat, uint64_t now, uint64_t emission, uint64_t tolerance,
                 uint64_t* newTat, uint64_t* wait) {
  const uint64_t start = std::max(tat, now);
  const uint64_t next = start + emission;
  if (next - now > tolerance) {
    *wait = next - tolerance - now;
    return false;
  }
  *newTat = next;
  return true;
}

inline uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

}  // namespace

RateDecision TokenBucket::take(uint64_t nowNs) {
  RateDecision d;
  uint64_t next = 0;
  const uint64_t e = spec_.emissionNs();
  if (gcra(tat_, nowNs, e, e * spec_.capacity(), &next, &d.retryAfterNs))
    tat_ = next;
  else
    d.allowed = false;
  return d;
}

RateLimitTable::RateLimitTable(const RateLimitSpec& spec, size_t maxKeys)
    : spec_(spec),
      emission_(spec.emissionNs()),
      tolerance_(spec.emissionNs() * spec.capacity()),
      slots_(std::bit_ceil(std::max<size_t>(maxKeys, kWays))),
      setMask_(slots_ / kWays - 1),
      table_(new Slot[slots_]) {}

uint64_t RateLimitTable::hashKey(std::string_view key) {
  const uint64_t h = mix(std::hash<std::string_view>{}(key));
  return h ? h : 1;
}

RateLimitTable::Slot* RateLimitTable::find(Slot* set, uint64_t key) {
  for (size_t i = 0; i < kWays; ++i)
    if (set[i].key.load(std::memory_order_acquire) == key) return &set[i];
  return nullptr;
}

RateLimitTable::Slot* RateLimitTable::claim(Slot* set, uint64_t key, uint64_t now) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    // Empty first, then a full (idle) bucket, then the least recently used.
    Slot* victim = nullptr;
    int victimRank = 3;
    uint64_t oldest = UINT64_MAX;
    for (size_t i = 0; i < kWays; ++i) {
      Slot& s = set[i];
      const uint64_t k = s.key.load(std::memory_order_acquire);
      const int rank = k == 0 ? 0 : s.tat.load(std::memory_order_relaxed) <= now ? 1 : 2;
      const uint64_t used = s.used.load(std::memory_order_relaxed);
      if (rank < victimRank || (rank == victimRank && used < oldest)) {
        victim = &s;
        victimRank = rank;
        oldest = used;
      }
    }
    uint64_t expected = victim->key.load(std::memory_order_acquire);
    if (expected != key &&
        victim->key.compare_exchange_strong(expected, key, std::memory_order_acq_rel)) {
      if (victimRank == 2) {
        // Active bucket of another key: the new key starts full.
        victim->tat.store(now, std::memory_order_release);
        evictions_.fetch_add(1, std::memory_order_relaxed);
      }
      return victim;
    }
    if (Slot* s = find(set, key)) return s;  // another worker inserted it meanwhile
  }
  return find(set, key);
}

RateDecision RateLimitTable::take(uint64_t key, uint64_t now) {
  if (key == 0) key = 1;
  Slot* set = &table_[(mix(key) & setMask_) * kWays];
  Slot* slot = find(set, key);
  if (slot == nullptr) slot = claim(set, key, now);
  RateDecision d;
  if (slot == nullptr) return d;  // lost every race for a slot: fail open for this request
  uint64_t tat = slot->tat.load(std::memory_order_acquire);
  for (;;) {
    uint64_t next = 0;
    if (!gcra(tat, now, emission_, tolerance_, &next, &d.retryAfterNs)) {
      d.allowed = false;
      break;
    }
    if (slot->tat.compare_exchange_weak(tat, next, std::memory_order_acq_rel)) break;
  }
  slot->used.store(now, std::memory_order_relaxed);
  return d;
}

}  // namespace gh::policy
