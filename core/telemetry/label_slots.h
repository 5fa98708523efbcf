#pragma once
// LabelSlots: stable counter slots for a bounded set of label values of one metric.
//
// Workers count in fixed per-worker arrays indexed by slot (no map on the request path); this
// registry, owned by the control thread, gives each label value a slot the first time a
// snapshot names it and keeps it for the life of the process, so a counter keeps counting
// across reloads as a Prometheus counter must. Slot 0 collects the values beyond the last slot
// (rendered as `other`), which bounds the metric's cardinality whatever the configuration.
// The rate-limit and egress counters (gatehouse_rate_limited_total,
// gatehouse_egress_denied_total) use it; PolicySlots is the same idea for authorization.
//
// Control thread only.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/telemetry/counters.h"

namespace gh::telemetry {

class LabelSlots {
 public:
  // `labels` is the label part for a value: a list of `name="value"` already escaped, e.g.
  // workload="default/frontend",destination="default/orders".
  uint16_t slotFor(const std::string& labels);
  // Renders `name` as a counter: one sample per slot in use, `counter(worker, slot)` summed.
  template <typename F>
  void render(const char* name, const char* help, const std::vector<const WorkerCounters*>& ws,
              F counter, std::string& out) const {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
    for (size_t slot = 0; slot < labels_.size(); ++slot) {
      uint64_t n = 0;
      for (const WorkerCounters* w : ws) n += counter(*w, slot).get();
      if (slot == 0 && n == 0) continue;
      out += std::string(name) + "{" + labels_[slot] + "} " + std::to_string(n) + "\n";
    }
  }

 private:
  std::unordered_map<std::string, uint16_t> slots_;
  std::vector<std::string> labels_{"overflow=\"true\""};  // by slot
};

}  // namespace gh::telemetry
