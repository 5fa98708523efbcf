// OutlierDetector: consecutive errors eject, ejection time grows, maxEjectionPercent caps,
// endpoints return after their time and their multiplier decays.

#include "core/upstream/outlier.h"

#include <catch2/catch.hpp>

using namespace gh::upstream;

TEST_CASE("outcomeForStatus", "[upstream][outlier]") {
  CHECK(outcomeForStatus(200) == Outcome::kSuccess);
  CHECK(outcomeForStatus(404) == Outcome::kSuccess);
  CHECK(outcomeForStatus(500) == Outcome::kServerError);
  CHECK(outcomeForStatus(502) == Outcome::kGatewayError);
  CHECK(outcomeForStatus(503) == Outcome::kGatewayError);
  CHECK(outcomeForStatus(504) == Outcome::kGatewayError);
  CHECK(outcomeForStatus(505) == Outcome::kServerError);
}

TEST_CASE("five 5xx in a row eject; a success in between resets", "[upstream][outlier]") {
  OutlierDetector d;
  OutlierPolicy p;
  p.maxEjectionPercent = 50;
  d.reset(p, 4);
  for (int k = 0; k < 4; ++k) CHECK_FALSE(d.report(1, Outcome::kServerError, 1000));
  CHECK_FALSE(d.report(1, Outcome::kSuccess, 1000));
  for (int k = 0; k < 4; ++k) CHECK_FALSE(d.report(1, Outcome::kServerError, 1000));
  CHECK(d.report(1, Outcome::kConnectFailure, 1000));  // local failures count as 5xx
  CHECK(d.ejected(1));
  CHECK(d.available().count() == 3);
  CHECK(d.ejectedUntilMs(1) == 31000);
  // Reports while ejected (requests that were in flight) change nothing.
  CHECK_FALSE(d.report(1, Outcome::kServerError, 1001));
  CHECK(d.ejectionsTotal() == 1);
}

TEST_CASE("gateway errors: own counter; 500 does not count", "[upstream][outlier]") {
  OutlierDetector d;
  OutlierPolicy p;
  p.consecutive5xxErrors = 0;
  p.consecutiveGatewayErrors = 3;
  p.maxEjectionPercent = 100;
  d.reset(p, 2);
  CHECK_FALSE(d.report(0, Outcome::kGatewayError, 0));
  CHECK_FALSE(d.report(0, Outcome::kServerError, 0));  // a 500: not a gateway error
  CHECK_FALSE(d.report(0, Outcome::kTimeout, 0));
  CHECK(d.report(0, Outcome::kReset, 0));  // 502, timeout, reset: three in a row
  // consecutive5xxErrors = 0 is off: 500s never eject.
  for (int k = 0; k < 100; ++k) CHECK_FALSE(d.report(1, Outcome::kServerError, 0));
}

TEST_CASE("ejection time grows with repeated ejections and decays in service",
          "[upstream][outlier]") {
  OutlierDetector d;
  OutlierPolicy p;
  p.consecutive5xxErrors = 1;
  p.intervalMs = 10'000;
  p.baseEjectionTimeMs = 30'000;
  p.maxEjectionTimeMs = 70'000;
  p.maxEjectionPercent = 100;
  d.reset(p, 2);
  uint64_t t = 0;
  CHECK(d.report(0, Outcome::kGatewayError, t));
  CHECK(d.ejectedUntilMs(0) == 30'000);
  CHECK(d.tick(20'000) == 0);
  CHECK(d.ejected(0));
  CHECK(d.tick(30'000) == 1);
  CHECK_FALSE(d.ejected(0));
  t = 31'000;
  CHECK(d.report(0, Outcome::kGatewayError, t));
  CHECK(d.ejections(0) == 2);
  CHECK(d.ejectedUntilMs(0) == t + 60'000);
  CHECK(d.tick(t + 60'000) == 1);
  t += 60'000;
  CHECK(d.report(0, Outcome::kGatewayError, t));
  CHECK(d.ejectedUntilMs(0) == t + 70'000);  // 3 x 30 s capped at 70 s
  d.tick(t + 70'000);
  t += 70'000;
  CHECK(d.ejections(0) == 3);
  // In service for whole intervals: the multiplier goes down one per interval.
  d.tick(t + 10'000);
  CHECK(d.ejections(0) == 2);
  d.tick(t + 15'000);
  CHECK(d.ejections(0) == 2);
  d.tick(t + 20'000);
  CHECK(d.ejections(0) == 1);
  d.tick(t + 30'000);
  CHECK(d.ejections(0) == 0);
}

TEST_CASE("maxEjectionPercent caps ejections; at least one may go", "[upstream][outlier]") {
  OutlierPolicy p;
  p.consecutive5xxErrors = 1;
  p.maxEjectionPercent = 50;
  OutlierDetector d;
  d.reset(p, 5);
  CHECK(d.maxEjected() == 2);
  CHECK(d.report(0, Outcome::kServerError, 0));
  CHECK(d.report(1, Outcome::kServerError, 0));
  CHECK_FALSE(d.report(2, Outcome::kServerError, 0));
  CHECK_FALSE(d.report(3, Outcome::kServerError, 0));
  CHECK(d.overflowEjections() == 2);
  CHECK(d.available().count() == 3);
  // Once one returns, the next error of a failing endpoint ejects it.
  d.tick(30'000);
  CHECK(d.report(2, Outcome::kServerError, 30'000));

  p.maxEjectionPercent = 10;
  d.reset(p, 3);
  CHECK(d.maxEjected() == 1);  // 10% of 3 is 0: Envoy still ejects one
  p.maxEjectionPercent = 0;
  d.reset(p, 3);
  CHECK_FALSE(d.report(0, Outcome::kServerError, 0));
}

TEST_CASE("a single endpoint can be ejected: nothing is usable (503)", "[upstream][outlier]") {
  OutlierPolicy p;
  p.consecutive5xxErrors = 2;
  OutlierDetector d;
  d.reset(p, 1);
  d.report(0, Outcome::kServerError, 0);
  CHECK(d.report(0, Outcome::kServerError, 0));
  CHECK(d.available().count() == 0);
  Balancer b;
  std::vector<uint32_t> w{1};
  REQUIRE(Balancer::build({}, w, {}, &b));
  BalancerState st;
  st.reset(b, 1);
  CHECK(b.pick(st, d.available()) == kNoEndpoint);
}

TEST_CASE("copyEndpoint carries state across a reload", "[upstream][outlier]") {
  OutlierPolicy p;
  p.consecutive5xxErrors = 1;
  p.maxEjectionPercent = 100;
  OutlierDetector before, after;
  before.reset(p, 2);
  before.report(1, Outcome::kServerError, 0);
  after.reset(p, 3);
  after.copyEndpoint(before, 1, 2);  // endpoint 1 is now listed third
  CHECK(after.ejected(2));
  CHECK(after.ejections(2) == 1);
  CHECK(after.tick(30'000) == 1);
}
