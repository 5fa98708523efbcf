// PinnedSnapshot across snapshots: a worker's outlier-detection state follows an endpoint that
// stays (same Service, same address) into the next snapshot — a reload or a DNS re-resolution —
// and nothing else is carried.

#include <catch2/catch.hpp>

#include "core/config/snapshot.h"
#include "core/http/context.h"
#include "tests/unit/config/config_test_util.h"

using namespace gh;

namespace {

std::shared_ptr<const config::Snapshot> compileText(const std::string& endpoints,
                                                    int64_t version) {
  auto d = config::testing::decodeAndValidate(
      "apiVersion: gatehouse.dev/v1\nkind: Service\nmetadata: {name: api}\nspec:\n"
      "  endpoints: " + endpoints + "\n"
      "  trafficPolicy:\n"
      "    outlierDetection: {consecutive5xxErrors: 2, maxEjectionPercent: 100}\n"
      "---\napiVersion: gatehouse.dev/v1\nkind: Service\nmetadata: {name: plain}\nspec:\n"
      "  endpoints: " + endpoints + "\n");
  REQUIRE(d.errors == std::vector<std::string>{});
  auto snap = config::compile(version, d.resources);
  REQUIRE(snap.ok());
  return snap.value();
}

uint32_t indexOf(const upstream::Service& s, const std::string& label) {
  for (uint32_t i = 0; i < s.endpoints.size(); ++i)
    if (s.endpoints[i].label == label) return i;
  FAIL("no endpoint " << label);
  return 0;
}

}  // namespace

TEST_CASE("PinnedSnapshot carries outlier state for endpoints that stay", "[http][outlier]") {
  auto first = compileText("[{address: 10.0.0.1, port: 80}, {address: 10.0.0.2, port: 80}]", 1);
  http::PinnedSnapshot* before = new http::PinnedSnapshot(first, 1);
  const upstream::Service& api1 = first->services[0];
  REQUIRE(api1.name == "api");
  upstream::OutlierDetector& od1 = before->outlier(api1.index);
  const uint32_t two = indexOf(api1, "10.0.0.2:80");
  const uint32_t one = indexOf(api1, "10.0.0.1:80");
  CHECK_FALSE(od1.report(two, upstream::Outcome::kServerError, 1000));
  CHECK(od1.report(two, upstream::Outcome::kServerError, 1000));  // ejected
  CHECK_FALSE(od1.report(one, upstream::Outcome::kServerError, 1000));  // one error in a row
  const uint64_t until = od1.ejectedUntilMs(two);

  // The next snapshot: 10.0.0.2 moves to another index, 10.0.0.3 is new, 10.0.0.1 is gone.
  auto second = compileText("[{address: 10.0.0.3, port: 80}, {address: 10.0.0.2, port: 80}]", 1);
  http::PinnedSnapshot after(second, 2);
  after.carryOutlierState(*before);
  before->unref();
  const upstream::Service& api2 = second->services[0];
  upstream::OutlierDetector& od2 = after.outlier(api2.index);
  const uint32_t kept = indexOf(api2, "10.0.0.2:80");
  const uint32_t added = indexOf(api2, "10.0.0.3:80");
  CHECK(od2.ejected(kept));
  CHECK(od2.ejections(kept) == 1);
  CHECK(od2.ejectedUntilMs(kept) == until);
  CHECK_FALSE(od2.ejected(added));
  CHECK(od2.ejectedCount() == 1);
  // The new endpoint starts clean: one error does not eject it, a second does.
  CHECK_FALSE(od2.report(added, upstream::Outcome::kServerError, 2000));
  // A Service without outlier detection has nothing to carry.
  CHECK_FALSE(second->services[1].outlier.enabled());
}
