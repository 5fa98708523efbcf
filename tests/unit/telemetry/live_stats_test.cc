// LiveStats (telemetry/live_stats.h): percentiles from bucket counts as Prometheus'
// histogram_quantile computes them, and the last-minute view from sampled cumulative series.

#include "core/telemetry/live_stats.h"

#include <catch2/catch.hpp>

using namespace gh::telemetry;

TEST_CASE("LiveStats::quantile interpolates inside the bucket", "[telemetry]") {
  std::vector<double> bounds{1, 2, 4};
  CHECK(!LiveStats::quantile(0.5, {0, 0, 0, 0}, bounds));
  // 10 in (0,1], 10 in (1,2]: the median is the top of the first bucket, p75 half way up the
  // second.
  CHECK(*LiveStats::quantile(0.5, {10, 10, 0, 0}, bounds) == Approx(1.0));
  CHECK(*LiveStats::quantile(0.75, {10, 10, 0, 0}, bounds) == Approx(1.5));
  // In +Inf: the highest finite bound, as histogram_quantile.
  CHECK(*LiveStats::quantile(0.99, {0, 0, 0, 5}, bounds) == Approx(4.0));
}

TEST_CASE("LiveStats: rate, 5xx share and percentiles of the last window", "[telemetry]") {
  MetricsRegistry reg;
  ExchangeMetrics fam(reg);
  auto w = reg.makeWorker();
  SnapshotLabels labels;
  labels.listeners.push_back({reg.intern("ns/l"), false});
  labels.peers = std::make_shared<PeerIndex>();
  LiveStats live(reg, fam, 60);
  live.sample(0);
  ExchangeRecord r;
  r.listener = 0;
  r.durationMs = 3;
  for (int i = 0; i < 90; ++i) {
    r.status = i < 9 ? 503 : 200;
    fam.record(*w, labels, r);
  }
  live.sample(30'000);
  LiveView v = live.view(30'000, &labels);
  REQUIRE(v.routes.size() == 1);
  const LiveRow& row = v.routes[0];
  CHECK(row.listener == "ns/l");
  CHECK(row.route == "none");
  CHECK(row.requests == 90);
  CHECK(row.rps == Approx(3.0));
  CHECK(row.errorRate == Approx(0.1));
  REQUIRE(row.p50);
  CHECK(*row.p50 > 2.0);  // in the (2 ms, 3 ms] bucket
  CHECK(*row.p50 <= 3.0);
  // A minute later with no traffic: the window holds nothing.
  live.sample(95'000);
  v = live.view(95'000, &labels);
  CHECK(v.routes[0].requests == 0);
  CHECK(!v.routes[0].p50);
  reg.forgetWorker(w.get());
}
