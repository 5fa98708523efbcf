#include "core/telemetry/label_slots.h"

namespace gh::telemetry {

uint16_t LabelSlots::slotFor(const std::string& labels) {
  auto it = slots_.find(labels);
  if (it != slots_.end()) return it->second;
  if (labels_.size() >= static_cast<size_t>(kTrafficSlots)) return 0;
  auto slot = static_cast<uint16_t>(labels_.size());
  labels_.push_back(labels);
  slots_.emplace(labels, slot);
  return slot;
}

}  // namespace gh::telemetry
