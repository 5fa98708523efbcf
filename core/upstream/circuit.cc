#include "core/upstream/circuit.h"

namespace gh::upstream {

uint32_t workerShare(uint32_t limit, uint32_t workers, uint32_t index) {
  if (limit == kUnlimited || workers <= 1) return limit;
  uint32_t share = limit / workers + (index < limit % workers ? 1 : 0);
  return share == 0 ? 1 : share;
}

CircuitBreaker::CircuitBreaker(const ConnectionPoolLimits& limits, uint32_t workers,
                               uint32_t index)
    : maxConnections_(workerShare(limits.maxConnections, workers, index)),
      maxPending_(limits.http1MaxPendingRequests == 0
                      ? 0  // 0 pending: no queue at all, overflow at once
                      : workerShare(limits.http1MaxPendingRequests, workers, index)),
      maxRequestsPerConnection_(limits.maxRequestsPerConnection) {}

CircuitBreaker::Admit CircuitBreaker::admit(bool idleConnectionAvailable) {
  if (idleConnectionAvailable) return Admit::kReuse;
  if (connections_ < maxConnections_) return Admit::kConnect;
  ++connectionOverflows_;
  if (pending_ < maxPending_) return Admit::kQueue;
  ++overflows_;
  return Admit::kOverflow;
}

}  // namespace gh::upstream
