#include "core/http/context.h"

#include <sys/random.h>

#include <string_view>
#include <unordered_map>

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

void PinnedSnapshot::carryOutlierState(const PinnedSnapshot& previous) {
  const config::Snapshot& old = previous.get();
  std::unordered_map<std::string_view, uint32_t> oldServices;
  for (const upstream::Service& s : old.services)
    if (s.outlier.enabled()) oldServices.emplace(s.label, s.index);
  if (oldServices.empty()) return;
  std::unordered_map<std::string_view, uint32_t> oldEndpoints;
  for (const upstream::Service& s : snap_->services) {
    if (!s.outlier.enabled()) continue;
    auto it = oldServices.find(s.label);
    if (it == oldServices.end()) continue;
    const upstream::Service& o = old.services[it->second];
    oldEndpoints.clear();
    for (uint32_t i = 0; i < o.endpoints.size(); ++i) oldEndpoints.emplace(o.endpoints[i].label, i);
    for (uint32_t i = 0; i < s.endpoints.size(); ++i) {
      auto e = oldEndpoints.find(s.endpoints[i].label);
      if (e != oldEndpoints.end())
        outliers_[s.index].copyEndpoint(previous.outliers_[o.index], e->second, i);
    }
  }
}

}  // namespace gh::http
