#pragma once
// Prometheus text exposition (format 0.0.4) of the per-worker counters, summed over workers.
// Called on the control thread when /metrics is scraped.

#include <string>
#include <string_view>
#include <vector>

#include "core/telemetry/counters.h"

namespace gh::telemetry {

void renderWorkerCounters(const std::vector<const WorkerCounters*>& workers, std::string& out);

// Helpers for the control thread's own metrics.
void renderGauge(std::string& out, const char* name, const char* help, double value);
void renderCounter(std::string& out, const char* name, const char* help, uint64_t value);
// A label value in the exposition format: backslash, double quote and newline escaped.
std::string escapeLabelValue(std::string_view v);

}  // namespace gh::telemetry
