#pragma once
// Rate limiting: token buckets, and a bounded table of them keyed by principal, client IP or
// header value (the RateLimit kind).
//
// The model. A limit is `tokens` per `interval` with a `burst` (bucket capacity, default
// `tokens`): a client may spend `burst` at once, then one token every interval/tokens. This is
// the Generic Cell Rate Algorithm's view of a token bucket: instead of a token count and a
// refill time, a bucket is one number, the theoretical arrival time TAT — the moment the
// bucket will be full again. A request at time t is allowed iff max(TAT, t) + T - t <= burst*T
// (T = interval/tokens), and then TAT = max(TAT, t) + T. Refused requests change nothing; the
// time they must wait is max(TAT, t) + T - burst*T - t, rounded up to whole seconds for
// Retry-After. A bucket whose TAT is in the past is full and holds no information, so it can
// be dropped at no cost — which is what lets the table forget idle keys freely.
//
// Shared, not per worker (a decision). Dividing a limit by the worker count only holds if a
// key's requests spread evenly over workers, and they do not: a client on one keep-alive
// connection always lands on one worker (SO_REUSEPORT hashes the connection), so it would get
// limit/W. RateLimitTable is shared by all workers and lock-free: a bucket is one atomic
// 64-bit word updated by compare-and-swap, so a limit holds for the node as a whole within
// one token (see the test: a 5% window check with four threads). "Local" in the spec means
// local to the node (no rate-limit service), as in Envoy's local rate limit, whose bucket is
// also shared by its workers. It is the one shared-state exception on the request path: one
// CAS on one cache line per limited request, no lock, no allocation.
//
// Memory is bounded: the table has a fixed number of slots, organised in sets of 8 (a key can
// live only in its set). A new key takes an empty slot, or one whose bucket is full again
// (idle, nothing lost), or else the least recently used slot of its set (LRU within the set:
// an eviction, counted; the evicted key starts again with a full bucket). Races between
// workers on the same new key can briefly give it two slots (one extra burst at most), and an
// eviction racing a request of the evicted key can charge that request to the new key; both
// need the table to be full of active keys and are within the approximation LRU already makes.
//
// TokenBucket is the same algorithm for one owner (no atomics), for per-worker uses.
//
// Pure: no clock of its own (monotonic nanoseconds are passed in), no I/O.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace gh::policy {

struct RateLimitSpec {
  uint64_t tokens = 100;                        // per interval (> 0)
  uint64_t intervalNs = 1'000'000'000;          // (> 0)
  uint64_t burst = 0;                           // bucket size; 0: same as tokens
  // Time per token (T) and the tolerance burst*T, in ns.
  uint64_t emissionNs() const { return intervalNs / (tokens ? tokens : 1); }
  uint64_t capacity() const { return burst ? burst : tokens; }
};

struct RateDecision {
  bool allowed = true;
  uint64_t retryAfterNs = 0;  // refused: how long until one token is there
  // Whole seconds for the Retry-After header: rounded up, at least 1.
  uint64_t retryAfterSeconds() const {
    return retryAfterNs == 0 ? 1 : (retryAfterNs + 999'999'999) / 1'000'000'000;
  }
};

// One bucket, one owner (not thread-safe).
class TokenBucket {
 public:
  explicit TokenBucket(const RateLimitSpec& spec) : spec_(spec) {}
  RateDecision take(uint64_t nowNs);

 private:
  RateLimitSpec spec_;
  uint64_t tat_ = 0;
};

// Buckets by key, shared by all workers (thread-safe, lock-free, no allocation after
// construction). One per RateLimit resource per snapshot — or kept across reloads while the
// limit is unchanged so a reload does not hand every client a fresh burst.
class RateLimitTable {
 public:
  // `maxKeys`: slots, rounded up to a power of two, at least 8 (32 bytes each).
  RateLimitTable(const RateLimitSpec& spec, size_t maxKeys);

  RateDecision take(std::string_view key, uint64_t nowNs) { return take(hashKey(key), nowNs); }
  RateDecision take(uint64_t keyHash, uint64_t nowNs);
  static uint64_t hashKey(std::string_view key);

  size_t capacity() const { return slots_; }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  const RateLimitSpec& spec() const { return spec_; }

 private:
  struct alignas(32) Slot {
    std::atomic<uint64_t> key{0};   // 0: empty
    std::atomic<uint64_t> tat{0};   // ns
    std::atomic<uint64_t> used{0};  // last use, ns (LRU)
  };
  static constexpr size_t kWays = 8;
  Slot* find(Slot* set, uint64_t key);
  Slot* claim(Slot* set, uint64_t key, uint64_t nowNs);

  RateLimitSpec spec_;
  uint64_t emission_;
  uint64_t tolerance_;
  size_t slots_;
  size_t setMask_;
  std::unique_ptr<Slot[]> table_;
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace gh::policy
