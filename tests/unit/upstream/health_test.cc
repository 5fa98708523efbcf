// HealthTracker: thresholds, the initial state, and routability changes.

#include "core/upstream/health.h"

#include <catch2/catch.hpp>

using namespace gh::upstream;

TEST_CASE("first result decides; then thresholds in a row", "[upstream][health]") {
  HealthTracker t;
  HealthCheckPolicy p;  // healthy 2, unhealthy 3
  t.reset(p, 2);
  CHECK(t.state(0) == HealthState::kUnknown);
  CHECK_FALSE(t.routable(0));
  CHECK(t.routable().count() == 0);
  CHECK(t.record(0, ProbeResult::kPass));  // one pass: healthy
  CHECK(t.state(0) == HealthState::kHealthy);
  CHECK(t.routable(0));
  CHECK_FALSE(t.record(0, ProbeResult::kFail));
  CHECK_FALSE(t.record(0, ProbeResult::kTimeout));
  CHECK_FALSE(t.record(0, ProbeResult::kPass));  // run broken
  CHECK_FALSE(t.record(0, ProbeResult::kFail));
  CHECK_FALSE(t.record(0, ProbeResult::kFail));
  CHECK(t.record(0, ProbeResult::kTimeout));  // third failure in a row
  CHECK(t.state(0) == HealthState::kUnhealthy);
  CHECK_FALSE(t.routable(0));
  CHECK_FALSE(t.record(0, ProbeResult::kPass));
  CHECK(t.record(0, ProbeResult::kPass));  // second pass in a row
  CHECK(t.state(0) == HealthState::kHealthy);

  CHECK_FALSE(t.record(1, ProbeResult::kFail));  // unknown -> unhealthy: still not routable
  CHECK(t.state(1) == HealthState::kUnhealthy);
}

TEST_CASE("unknownIsHealthy: new endpoints take traffic until a failure",
          "[upstream][health]") {
  HealthTracker t;
  HealthCheckPolicy p;
  p.unknownIsHealthy = true;
  t.reset(p, 3);
  CHECK(t.routable().all());
  CHECK_FALSE(t.record(0, ProbeResult::kPass));
  CHECK(t.record(1, ProbeResult::kFail));
  CHECK(t.routable().count() == 2);
}

TEST_CASE("thresholds of 0 act as 1; copyEndpoint keeps state", "[upstream][health]") {
  HealthTracker t, u;
  HealthCheckPolicy p;
  p.healthyThreshold = 0;
  p.unhealthyThreshold = 0;
  t.reset(p, 1);
  t.record(0, ProbeResult::kPass);
  CHECK(t.record(0, ProbeResult::kFail));
  CHECK(t.record(0, ProbeResult::kPass));
  u.reset(p, 2);
  u.copyEndpoint(t, 0, 1);
  CHECK(u.state(1) == HealthState::kHealthy);
  CHECK(u.routable(1));
  CHECK_FALSE(u.record(7, ProbeResult::kPass));  // out of range: ignored
}

TEST_CASE("HealthTable: bits, generation, copy into a worker's mask", "[upstream][health]") {
  HealthTable t(3, true);
  EndpointMask m(3, false);
  uint64_t g0 = t.generation();
  t.copyTo(&m);
  CHECK(m.count() == 3);
  t.set(1, false);
  CHECK(t.generation() != g0);
  CHECK_FALSE(t.routable(1));
  t.copyTo(&m);
  CHECK(m.count() == 2);
  CHECK_FALSE(m.test(1));
  t.set(7, false);  // out of range: ignored
  CHECK(t.size() == 3);
}
