#include "core/upstream/service.h"

#include <algorithm>

namespace gh::upstream {

const Endpoint* Service::pick(uint64_t n) const {
  if (endpoints.empty() || cumulativeWeight.back() == 0) return nullptr;
  if (endpoints.size() == 1) return &endpoints[0];
  uint64_t slot = n % cumulativeWeight.back();
  // Endpoint i owns slots [cum[i-1], cum[i]).
  auto it = std::upper_bound(cumulativeWeight.begin(), cumulativeWeight.end(), slot);
  return &endpoints[static_cast<size_t>(it - cumulativeWeight.begin())];
}

}  // namespace gh::upstream
