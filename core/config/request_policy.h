#pragma once
// Request policies as served: the RateLimits and EgressPolicies of a configuration compiled
// into each listener of a Snapshot (docs/traffic.md "Rate limits", "Egress control").
//
// Built on the control thread by compile() (snapshot.h); immutable afterwards, except the
// token-bucket tables themselves, which are lock-free and shared by every worker
// (policy::RateLimitTable). A table is also shared across configuration versions while its
// RateLimit is unchanged (same name, limit, key and size), so a reload does not hand every
// client a fresh burst; a changed limit starts with full buckets.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/config/model.h"
#include "core/policy/token_bucket.h"

namespace gh::upstream {
struct Service;
}

namespace gh::config {

struct CompiledListener;

// One RateLimit, or the rateLimit of one EgressPolicy destination.
struct CompiledRateLimit {
  std::string label;  // "ns/name" of the RateLimit; "ns/name:destination" for egress
  RateLimitKeyType key = RateLimitKeyType::kNone;
  std::string header;  // kHeader: lower-case name
  std::shared_ptr<policy::RateLimitTable> table;
  uint16_t slot = 0;  // counter slot (gatehouse_rate_limited_total)
};

using RateLimitList = std::vector<std::shared_ptr<const CompiledRateLimit>>;

// The RateLimits targeting one HTTPRoute, for the listeners it is attached to.
struct RouteRateLimits {
  std::string ns;
  std::string name;
  RateLimitList limits;
};

// The EgressPolicies of the Workload behind one MESH_OUTBOUND listener, merged: a destination
// is allowed when any of them allows it (docs/traffic.md "Egress control").
struct CompiledEgress {
  std::string workload;  // "ns/name"
  // Allowed destinations: an entry per written destination (its rate limit may be null).
  RateLimitList entries;
  std::vector<int32_t> serviceEntry;  // by Service index: an index into entries, or -1
  struct Host {
    std::string name;  // exact, or the suffix ".example.com" of a wildcard
    bool wildcard = false;
    int32_t entry = 0;
  };
  std::vector<Host> hosts;
  std::vector<uint16_t> deniedSlot;  // by Service index: gatehouse_egress_denied_total slot

  // The entry allowing a request to Service `service` with Host `host` (lower-case, no
  // port): a host entry matching the Host first, then the Service's; -1 when none allows it.
  int32_t allow(uint32_t service, std::string_view host) const;
};

// Counter slots for the traffic metrics, from the server's LabelSlots (label text in, slot
// out); absent: everything counts in slot 0.
struct TrafficSlotFns {
  std::function<uint16_t(const std::string& labels)> rateLimit;
  std::function<uint16_t(const std::string& labels)> egress;
};

// Fills rateLimits, routeRateLimits and egress of every listener (`services` are the
// snapshot's, indexed as route tables resolve them).
Status attachRequestPolicies(const std::vector<Resource>& resources,
                             const std::vector<upstream::Service>& services,
                             std::vector<CompiledListener>* listeners,
                             const TrafficSlotFns& slots);

}  // namespace gh::config
