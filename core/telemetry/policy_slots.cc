#include "core/telemetry/policy_slots.h"

#include "core/telemetry/prometheus.h"

namespace gh::telemetry {

uint16_t PolicySlots::slotFor(const std::string& label) {
  auto it = slots_.find(label);
  if (it != slots_.end()) return it->second;
  if (labels_.size() >= static_cast<size_t>(kAuthzPolicySlots)) return 0;
  auto slot = static_cast<uint16_t>(labels_.size());
  labels_.push_back(label);
  slots_.emplace(label, slot);
  return slot;
}

void PolicySlots::render(const std::vector<const WorkerCounters*>& workers,
                         std::string& out) const {
  out += "# HELP gatehouse_authz_denied_total Requests denied by an AuthorizationPolicy (DENY or "
         "CUSTOM), by policy.\n# TYPE gatehouse_authz_denied_total counter\n";
  for (size_t slot = 0; slot < labels_.size(); ++slot) {
    uint64_t n = 0;
    for (const WorkerCounters* w : workers) n += w->authzDeniedByPolicy[slot].get();
    if (slot == 0 && n == 0) continue;
    out += "gatehouse_authz_denied_total{policy=\"";
    out += escapeLabelValue(labels_[slot]);
    out += "\"} " + std::to_string(n) + "\n";
  }
}

}  // namespace gh::telemetry
