#pragma once
// PolicySlots: which counter slot counts the denials of which AuthorizationPolicy.
//
// Workers count denials per policy in a fixed array (WorkerCounters::authzDeniedByPolicy), so
// the request path increments a plain per-worker counter and never touches a map shared with
// another thread. This registry, owned by the control thread, gives each policy label
// ("namespace/name") a slot the first time a snapshot names it, and the same slot for as long
// as the process lives: a policy's counter keeps counting across reloads, as a Prometheus
// counter must. Slot 0 collects the policies beyond the last slot (label "other"), so the
// metric's cardinality stays bounded whatever the configuration.
//
// Control thread only.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/telemetry/counters.h"

namespace gh::telemetry {

class PolicySlots {
 public:
  uint16_t slotFor(const std::string& label);
  // gatehouse_authz_denied_total{policy="ns/name"}, summed over the workers.
  void render(const std::vector<const WorkerCounters*>& workers, std::string& out) const;

 private:
  std::unordered_map<std::string, uint16_t> slots_;
  std::vector<std::string> labels_{"other"};  // by slot
};

}  // namespace gh::telemetry
