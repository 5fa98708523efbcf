#include "core/telemetry/prometheus.h"

#include <catch2/catch.hpp>

using namespace gh::telemetry;

TEST_CASE("OpenMetrics names counter families without _total and ends with # EOF",
          "[telemetry]") {
  std::string text =
      "# HELP gatehouse_requests_total Finished exchanges (route \"none\": no route).\n"
      "# TYPE gatehouse_requests_total counter\n"
      "gatehouse_requests_total{route=\"a\"} 3\n"
      "\n"
      "# HELP gatehouse_workers Worker threads.\n"
      "# TYPE gatehouse_workers gauge\n"
      "gatehouse_workers 2\n"
      "# HELP d_seconds A histogram, with a back\\\\slash.\n"
      "# TYPE d_seconds histogram\n"
      "d_seconds_bucket{le=\"+Inf\"} 1\n"
      "d_seconds_sum 0.5\n"
      "d_seconds_count 1\n"
      "# TYPE odd untyped\n"
      "odd 1\n"
      "# a stray comment\n";
  CHECK(toOpenMetrics(text) ==
        "# HELP gatehouse_requests Finished exchanges (route \\\"none\\\": no route).\n"
        "# TYPE gatehouse_requests counter\n"
        "gatehouse_requests_total{route=\"a\"} 3\n"
        "# HELP gatehouse_workers Worker threads.\n"
        "# TYPE gatehouse_workers gauge\n"
        "gatehouse_workers 2\n"
        "# HELP d_seconds A histogram, with a back\\\\slash.\n"
        "# TYPE d_seconds histogram\n"
        "d_seconds_bucket{le=\"+Inf\"} 1\n"
        "d_seconds_sum 0.5\n"
        "d_seconds_count 1\n"
        "# TYPE odd unknown\n"
        "odd 1\n"
        "# EOF\n");
}

TEST_CASE("OpenMetrics keeps a gauge named _total as it is", "[telemetry]") {
  CHECK(toOpenMetrics("# TYPE x_total gauge\nx_total 1\n") ==
        "# TYPE x_total gauge\nx_total 1\n# EOF\n");
  CHECK(toOpenMetrics("") == "# EOF\n");
}
