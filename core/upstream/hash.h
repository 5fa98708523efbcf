#pragma once
// Hashing and randomness for load balancing: a 64-bit hash of request keys and endpoint names,
// and a small fast random generator.
//
// hash64 is xxHash64 (the published XXH64 algorithm, written here from its specification; the
// unit test checks it against reference vectors, so hashes stay stable across versions and
// machines — consistent hashing depends on that: a key must land on the same endpoint after a
// restart or on another node). The caller hashes whatever the consistentHash policy names (a
// header value, a cookie, the source IP's bytes) and passes the 64-bit result to the balancer.
//
// Rng is xoshiro256** seeded through splitmix64: not cryptographic, ~1 ns a draw, one per
// worker (owned by the worker, not thread-safe). Deterministic for a given seed, which is what
// the distribution tests rely on.
//
// Everything here is pure, allocation-free and safe to call from any thread.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/net/address.h"

namespace gh::upstream {

// xxHash64 of `len` bytes at `data` with `seed` (named apart from hash64 so that a literal
// and a 0 seed cannot pick the wrong overload).
uint64_t hashBytes(const void* data, size_t len, uint64_t seed = 0);
inline uint64_t hash64(std::string_view s, uint64_t seed = 0) {
  return hashBytes(s.data(), s.size(), seed);
}
// The hash of a client address for source-IP affinity: the IP bytes only (not the port, which
// changes with every connection).
uint64_t hashIp(const net::Address& addr);

// A strong 64-bit finalizer (splitmix64's): spreads a counter or a weak key over 64 bits.
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed = 0x5eed) { reseed(seed); }
  void reseed(uint64_t seed) {
    for (auto& w : s_) w = mix64(seed += 0x9E3779B97F4A7C15ull);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n) (Lemire's multiply-shift; the bias for n < 2^32 is below 2^-32).
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }
  // Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace gh::upstream
