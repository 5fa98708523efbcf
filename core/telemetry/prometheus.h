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

// OpenMetrics 1.0 (what /metrics answers when the scraper's Accept asks for
// application/openmetrics-text) from a complete text 0.0.4 exposition as rendered here: a
// counter family is named without its samples' `_total`, double quotes in HELP are escaped,
// `untyped` is `unknown`, and `# EOF` ends it. Samples are unchanged.
std::string toOpenMetrics(std::string_view text);
constexpr const char* kTextContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kOpenMetricsContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

}  // namespace gh::telemetry
