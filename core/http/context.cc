#include "core/http/context.h"

#include <sys/random.h>

namespace gh::http {

uint64_t WorkerContext::random() {
  if (rng_[0] == 0 && rng_[1] == 0) {
    if (getrandom(rng_, sizeof rng_, 0) != sizeof rng_ || (rng_[0] == 0 && rng_[1] == 0))
      rng_[0] = 0x9e3779b97f4a7c15ull;
  }
  // xorshift128+: fast, good enough for load-balancing picks and request ids (not secrets).
  uint64_t s1 = rng_[0];
  const uint64_t s0 = rng_[1];
  rng_[0] = s0;
  s1 ^= s1 << 23;
  rng_[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
  return rng_[1] + s0;
}

}  // namespace gh::http
