// Service::pick: weighted round robin over the endpoints, by the worker's pick counter.

#include "core/upstream/service.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

using namespace gh;
using gh::upstream::Endpoint;
using gh::upstream::Service;

namespace {

// A Service as the snapshot compiler builds it: endpoints plus prefix sums of their weights.
Service makeService(const std::vector<uint32_t>& weights) {
  Service s;
  s.ns = "default";
  s.name = "svc";
  s.label = "default/svc";
  uint64_t cum = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    Endpoint e;
    REQUIRE(net::Address::parse("10.0.0." + std::to_string(i + 1), 8080, &e.address));
    e.weight = weights[i];
    e.label = e.address.toString();
    s.endpoints.push_back(e);
    cum += weights[i];
    s.cumulativeWeight.push_back(cum);
  }
  return s;
}

// How many times each endpoint (by index) is picked for n = first .. first+count-1.
std::vector<uint64_t> tally(const Service& s, uint64_t first, uint64_t count) {
  std::vector<uint64_t> hits(s.endpoints.size(), 0);
  for (uint64_t n = first; n < first + count; ++n) {
    const Endpoint* e = s.pick(n);
    REQUIRE(e != nullptr);
    REQUIRE(e >= s.endpoints.data());
    REQUIRE(e < s.endpoints.data() + s.endpoints.size());
    ++hits[static_cast<size_t>(e - s.endpoints.data())];
  }
  return hits;
}

}  // namespace

TEST_CASE("Service::pick: weights 1/2/3 give an exact 1:2:3 split over every cycle", "[upstream]") {
  Service s = makeService({1, 2, 3});
  // One cycle (sum of weights) from any starting point holds each endpoint `weight` times.
  for (uint64_t first : std::vector<uint64_t>{0, 1, 5, 1000, 123457}) {
    INFO("first pick " << first);
    CHECK(tally(s, first, 6) == std::vector<uint64_t>{1, 2, 3});
  }
  CHECK(tally(s, 0, 600) == std::vector<uint64_t>{100, 200, 300});
  // The sequence repeats with the cycle.
  for (uint64_t n = 0; n < 60; ++n) CHECK(s.pick(n) == s.pick(n + 6));
}

TEST_CASE("Service::pick: equal weights alternate", "[upstream]") {
  Service s = makeService({1, 1, 1});
  for (uint64_t n = 0; n < 30; ++n) CHECK(s.pick(n) == &s.endpoints[n % 3]);
  Service t = makeService({5, 5});
  CHECK(tally(t, 7, 10) == std::vector<uint64_t>{5, 5});
}

TEST_CASE("Service::pick: zero weights are never picked", "[upstream]") {
  for (const auto& weights : std::vector<std::vector<uint32_t>>{
           {0, 3, 0, 1}, {0, 1}, {1, 0}, {2, 0, 0, 0, 2}, {0, 0, 7}}) {
    Service s = makeService(weights);
    uint64_t cycle = s.cumulativeWeight.back();
    std::vector<uint64_t> want(weights.begin(), weights.end());
    for (uint64_t first : std::vector<uint64_t>{0, 3, 99}) {
      INFO("first pick " << first);
      CHECK(tally(s, first, cycle) == want);
      CHECK(tally(s, first, cycle * 10) == [&] {
        auto w = want;
        for (auto& x : w) x *= 10;
        return w;
      }());
    }
  }
}

TEST_CASE("Service::pick: a single endpoint takes every pick", "[upstream]") {
  Service s = makeService({1});
  for (uint64_t n : std::vector<uint64_t>{0, 1, 2, 1000, UINT64_MAX})
    CHECK(s.pick(n) == &s.endpoints[0]);
  Service heavy = makeService({1000});
  for (uint64_t n = 0; n < 10; ++n) CHECK(heavy.pick(n) == &heavy.endpoints[0]);
}

TEST_CASE("Service::pick: nothing to pick gives nullptr", "[upstream]") {
  Service empty;
  CHECK(empty.pick(0) == nullptr);
  CHECK(empty.pick(12345) == nullptr);
  Service zeros = makeService({0, 0, 0});
  for (uint64_t n = 0; n < 5; ++n) CHECK(zeros.pick(n) == nullptr);
  Service single = makeService({0});
  CHECK(single.pick(0) == nullptr);
}

TEST_CASE("Service::pick: large weights and counters", "[upstream]") {
  Service s = makeService({1'000'000, 1, 1'000'000});
  // The endpoint of weight 1 owns exactly one slot per cycle.
  uint64_t cycle = s.cumulativeWeight.back();
  CHECK(s.pick(1'000'000) == &s.endpoints[1]);
  CHECK(s.pick(1'000'000 + cycle) == &s.endpoints[1]);
  CHECK(s.pick(999'999) == &s.endpoints[0]);
  CHECK(s.pick(1'000'001) == &s.endpoints[2]);
  // Near the top of the counter's range, still in range.
  for (uint64_t n = UINT64_MAX - 10; n != 0; ++n) CHECK(s.pick(n) != nullptr);
}
