// Balancer::pick cost per policy at 10, 100 and 1 000 endpoints, with every endpoint usable
// and with 10% excluded (every tenth endpoint), and the build cost of the ring and table.
//
// Hidden from normal runs (tag [.bench]); run with
//   make unit-upstream UNIT_ARGS='[.bench]'
// Figures are for reading, not for failing a build: they depend on the machine and its load.
// Weights are equal ("eq") or 1..4 cycling ("w"), which switches round robin to its weighted
// algorithm (smooth up to kSmoothMax endpoints, EDF above) and least request to EDF. Hash keys
// come from a precomputed array of 4 096 random keys.

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/upstream/balancer.h"

using namespace gh::upstream;

namespace {

using Clock = std::chrono::steady_clock;
volatile uint32_t gSink;

const char* name(LbPolicy p) {
  switch (p) {
    case LbPolicy::kRoundRobin: return "round_robin";
    case LbPolicy::kLeastRequest: return "least_request";
    case LbPolicy::kRandom: return "random";
    case LbPolicy::kRingHash: return "ring_hash";
    case LbPolicy::kMaglev: return "maglev";
  }
  return "?";
}

}  // namespace

TEST_CASE("balancer pick cost", "[.bench][upstream]") {
  std::vector<uint64_t> keys(4096);
  Rng r(1);
  for (auto& k : keys) k = r.next();
  std::printf("%-14s %6s %3s %12s %12s %12s\n", "policy", "n", "wt", "build_us", "ns/pick",
              "ns/pick-10%");
  for (auto p : {LbPolicy::kRoundRobin, LbPolicy::kLeastRequest, LbPolicy::kRandom,
                 LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    for (size_t n : {10, 100, 1000}) {
      for (bool weighted : {false, true}) {
        std::vector<std::string> names;
        std::vector<std::string_view> views;
        std::vector<uint32_t> weights;
        for (size_t i = 0; i < n; ++i) {
          names.push_back("10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250) +
                          ":8080");
          weights.push_back(weighted ? 1 + i % 4 : 1);
        }
        for (auto& s : names) views.push_back(s);
        LbOptions opt;
        opt.policy = p;
        Balancer b;
        auto t0 = Clock::now();
        REQUIRE(Balancer::build(opt, weights, views, &b));
        double buildUs = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
        BalancerState st;
        st.reset(b, 7);
        double ns[2];
        for (int excl = 0; excl < 2; ++excl) {
          EndpointMask mask(n);
          if (excl)
            for (size_t i = 0; i < n; i += 10) mask.clear(i);
          const size_t iters = 2'000'000;
          auto t1 = Clock::now();
          for (size_t k = 0; k < iters; ++k) {
            uint32_t e = b.pick(st, mask, keys[k & 4095]);
            if (p == LbPolicy::kLeastRequest) {  // keep some requests in flight
              st.onRequestStart(e);
              if (k & 1) st.onRequestEnd(e);
            }
            gSink = e;
          }
          ns[excl] = std::chrono::duration<double, std::nano>(Clock::now() - t1).count() / iters;
          REQUIRE(gSink < n);
        }
        std::printf("%-14s %6zu %3s %12.0f %12.1f %12.1f\n", name(p), n, weighted ? "w" : "eq",
                    buildUs, ns[0], ns[1]);
      }
    }
  }
}
