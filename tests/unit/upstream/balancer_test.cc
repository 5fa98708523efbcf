// Balancer: distributions of every policy (fixed seeds, so the bounds are deterministic, not
// probabilistic: a run either always passes or always fails), exclusion, the panic threshold,
// and consistent hashing's stickiness when an endpoint is added or ejected.

#include "core/upstream/balancer.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

using namespace gh::upstream;

namespace {

struct Fixture {
  std::vector<std::string> nameStore;
  std::vector<std::string_view> names;
  std::vector<uint32_t> weights;
  Balancer balancer;
  BalancerState state;

  Fixture(LbPolicy policy, std::vector<uint32_t> w, LbOptions opt = {}) {
    weights = std::move(w);
    for (size_t i = 0; i < weights.size(); ++i)
      nameStore.push_back("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) +
                          ":8080");
    for (auto& s : nameStore) names.push_back(s);
    opt.policy = policy;
    std::string err;
    REQUIRE(Balancer::build(opt, weights, names, &balancer, &err));
    state.reset(balancer, 42);
  }
  std::vector<uint64_t> tally(size_t picks, const EndpointMask& mask) {
    std::vector<uint64_t> hits(weights.size(), 0);
    Rng keys(7);
    for (size_t k = 0; k < picks; ++k) {
      uint32_t i = balancer.pick(state, mask, keys.next());
      REQUIRE(i < weights.size());
      ++hits[i];
    }
    return hits;
  }
  std::vector<uint64_t> tally(size_t picks) { return tally(picks, EndpointMask(weights.size())); }
};

// Each endpoint's share within `tol` (relative) of its weight's share of the usable total.
void checkShares(const std::vector<uint64_t>& hits, const std::vector<uint32_t>& weights,
                 const EndpointMask& mask, double tol) {
  uint64_t total = 0, wsum = 0;
  for (size_t i = 0; i < hits.size(); ++i) {
    total += hits[i];
    if (mask.test(i)) wsum += weights[i];
  }
  for (size_t i = 0; i < hits.size(); ++i) {
    double expected = mask.test(i) ? double(total) * weights[i] / double(wsum) : 0.0;
    INFO("endpoint " << i << " hits " << hits[i] << " expected " << expected);
    if (expected == 0)
      CHECK(hits[i] == 0);
    else
      CHECK(std::abs(double(hits[i]) - expected) <= tol * expected);
  }
}

}  // namespace

TEST_CASE("EndpointMask set, count, nextSet with wrap-around, and", "[upstream][balancer]") {
  EndpointMask m(130, false);
  CHECK(m.count() == 0);
  CHECK(m.nextSet(0) == kNoEndpoint);
  m.set(3);
  m.set(64);
  m.set(129);
  m.set(129);
  CHECK(m.count() == 3);
  CHECK(m.nextSet(0) == 3);
  CHECK(m.nextSet(4) == 64);
  CHECK(m.nextSet(65) == 129);
  CHECK(m.nextSet(130) == 3);  // out of range starts over
  m.clear(3);
  CHECK(m.nextSet(0) == 64);
  m.clear(64);
  m.clear(129);
  CHECK(m.nextSet(5) == kNoEndpoint);
  EndpointMask all(130), some(130, false);
  CHECK(all.all());
  CHECK(all.count() == 130);
  some.set(7);
  some.set(100);
  EndpointMask both;
  both.assignAnd(all, some);
  CHECK(both.count() == 2);
  CHECK(both.test(100));
}

TEST_CASE("round robin: equal weights cycle exactly; excluded endpoints are stepped over",
          "[upstream][balancer]") {
  Fixture f(LbPolicy::kRoundRobin, {1, 1, 1, 1});
  auto hits = f.tally(4000);
  for (auto h : hits) CHECK(h == 1000);
  EndpointMask mask(4);
  mask.clear(1);
  hits = f.tally(3000, mask);
  CHECK(hits == std::vector<uint64_t>{1000, 0, 1000, 1000});
}

TEST_CASE("round robin: unequal weights are exact over a cycle and smooth",
          "[upstream][balancer]") {
  Fixture f(LbPolicy::kRoundRobin, {5, 1, 1});
  EndpointMask all(3);
  std::vector<uint32_t> seq;
  for (int k = 0; k < 7000; ++k) seq.push_back(f.balancer.pick(f.state, all));
  std::vector<uint64_t> hits(3, 0);
  for (auto i : seq) ++hits[i];
  CHECK(hits == std::vector<uint64_t>{5000, 1000, 1000});
  // Smooth: the weight-5 endpoint never gets more than 3 in a row (a naive scheme gives 5 then
  // 1 then 1; nginx's algorithm gives a a b a c a a).
  int run = 0, maxRun = 0;
  for (size_t k = 1; k < seq.size(); ++k) {
    run = seq[k] == seq[k - 1] ? run + 1 : 0;
    maxRun = std::max(maxRun, run);
  }
  CHECK(maxRun < 4);
  // Exclusion keeps the others' relative shares.
  EndpointMask mask(3);
  mask.clear(1);
  hits = f.tally(6000, mask);
  CHECK(hits[1] == 0);
  CHECK(hits[0] == 5000);
  CHECK(hits[2] == 1000);
}

TEST_CASE("workers seeded differently start at different endpoints", "[upstream][balancer]") {
  Fixture f(LbPolicy::kRoundRobin, std::vector<uint32_t>(16, 1));
  EndpointMask all(16);
  std::vector<uint32_t> firsts;
  for (uint64_t w = 0; w < 8; ++w) {
    BalancerState s;
    s.reset(f.balancer, mix64(w));
    firsts.push_back(f.balancer.pick(s, all));
  }
  std::sort(firsts.begin(), firsts.end());
  CHECK(std::unique(firsts.begin(), firsts.end()) - firsts.begin() >= 4);
}

TEST_CASE("random: weighted distribution within 3% over 200k picks", "[upstream][balancer]") {
  Fixture f(LbPolicy::kRandom, {1, 2, 3, 4});
  checkShares(f.tally(200000), f.weights, EndpointMask(4), 0.03);
  EndpointMask mask(4);
  mask.clear(2);
  checkShares(f.tally(200000, mask), f.weights, mask, 0.03);
  Fixture g(LbPolicy::kRandom, {1, 1, 1, 1, 1});
  checkShares(g.tally(200000), g.weights, EndpointMask(5), 0.03);
}

TEST_CASE("least request: idle endpoints share evenly; a loaded one is avoided",
          "[upstream][balancer]") {
  Fixture f(LbPolicy::kLeastRequest, {1, 1, 1, 1});
  checkShares(f.tally(100000), f.weights, EndpointMask(4), 0.03);
  // Endpoint 0 has 10 requests in flight: it wins only when both draws land on it (1/16).
  for (int k = 0; k < 10; ++k) f.state.onRequestStart(0);
  auto hits = f.tally(100000);
  CHECK(hits[0] > 100000 / 16 * 0.9);
  CHECK(hits[0] < 100000 / 16 * 1.1);
  for (int k = 0; k < 10; ++k) f.state.onRequestEnd(0);
  f.state.onRequestEnd(0);  // extra end: stays at 0
  CHECK(f.state.active(0) == 0);
  f.state.onRequestEnd(99);  // out of range: ignored
}

TEST_CASE("least request: simulated load converges to the faster endpoints",
          "[upstream][balancer]") {
  // Closed loop: 32 requests in flight; endpoint 0 takes 4x as long to answer. With P2C the
  // slow endpoint gets far fewer than a quarter of the requests.
  Fixture f(LbPolicy::kLeastRequest, {1, 1, 1, 1});
  EndpointMask all(4);
  struct InFlight { uint32_t ep; int left; };
  std::vector<InFlight> flight;
  std::vector<uint64_t> hits(4, 0);
  for (int tick = 0; tick < 20000; ++tick) {
    for (auto it = flight.begin(); it != flight.end();) {
      if (--it->left == 0) { f.state.onRequestEnd(it->ep); it = flight.erase(it); } else ++it;
    }
    while (flight.size() < 32) {
      uint32_t ep = f.balancer.pick(f.state, all);
      f.state.onRequestStart(ep);
      ++hits[ep];
      flight.push_back({ep, ep == 0 ? 8 : 2});
    }
  }
  uint64_t total = hits[0] + hits[1] + hits[2] + hits[3];
  CHECK(double(hits[0]) / double(total) < 0.15);
}

TEST_CASE("round robin above kSmoothMax endpoints: EDF, exact shares", "[upstream][balancer]") {
  std::vector<uint32_t> w(kSmoothMax + 2, 1);
  w[0] = 10;
  w[1] = 5;
  Fixture f(LbPolicy::kRoundRobin, w);
  const uint64_t cycle = 10 + 5 + kSmoothMax;
  auto hits = f.tally(cycle * 100);
  CHECK(hits[0] >= 999);
  CHECK(hits[0] <= 1001);
  CHECK(hits[1] >= 499);
  CHECK(hits[1] <= 501);
  for (size_t i = 2; i < w.size(); ++i) CHECK((hits[i] >= 99 && hits[i] <= 101));
}

TEST_CASE("least request with weights: EDF by weight/(active+1)", "[upstream][balancer]") {
  Fixture f(LbPolicy::kLeastRequest, {3, 1});
  auto hits = f.tally(40000);
  CHECK(hits[0] == 30000);
  CHECK(hits[1] == 10000);
  // Endpoint 0 busy with 5: its effective weight 3/6 = 0.5 < 1, so endpoint 1 leads.
  for (int k = 0; k < 5; ++k) f.state.onRequestStart(0);
  hits = f.tally(30000);
  CHECK(hits[1] > hits[0]);
  CHECK(double(hits[1]) / double(hits[0]) == Approx(2.0).epsilon(0.05));
}

TEST_CASE("weight 0 is never picked", "[upstream][balancer]") {
  for (auto p : {LbPolicy::kRoundRobin, LbPolicy::kLeastRequest, LbPolicy::kRandom,
                 LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    Fixture f(p, {2, 0, 1});
    auto hits = f.tally(3000);
    CHECK(hits[1] == 0);
    CHECK(hits[0] > 0);
    Fixture none(p, {0, 0});
    CHECK(none.balancer.pick(none.state, EndpointMask(2), 1) == kNoEndpoint);
  }
}

TEST_CASE("no usable endpoint: kNoEndpoint; panic threshold routes to all",
          "[upstream][balancer]") {
  for (auto p : {LbPolicy::kRoundRobin, LbPolicy::kLeastRequest, LbPolicy::kRandom,
                 LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    Fixture f(p, {1, 1, 1, 1});
    EndpointMask none(4, false);
    CHECK(f.balancer.pick(f.state, none, 5) == kNoEndpoint);
    CHECK_FALSE(f.state.panicked());

    LbOptions opt;
    opt.minHealthPercent = 50;
    Fixture g(p, {1, 1, 1, 1}, opt);
    EndpointMask one(4, false);
    one.set(2);  // 25% usable < 50%: panic, all four are candidates
    auto hits = g.tally(8000, one);
    CHECK(g.state.panicked());
    for (auto h : hits) CHECK(h > 0);
    one.set(3);  // 50%: not in panic
    hits = g.tally(8000, one);
    CHECK_FALSE(g.state.panicked());
    CHECK(hits[0] + hits[1] == 0);
  }
}

TEST_CASE("bad options are refused", "[upstream][balancer]") {
  std::vector<uint32_t> w{1, 1};
  std::vector<std::string_view> n{"a", "b"};
  Balancer b;
  std::string err;
  LbOptions opt;
  opt.policy = LbPolicy::kMaglev;
  opt.maglevTableSize = 65536;
  CHECK_FALSE(Balancer::build(opt, w, n, &b, &err));
  CHECK(err.find("prime") != std::string::npos);
  opt.maglevTableSize = 251;
  CHECK(Balancer::build(opt, w, n, &b, &err));
  opt.policy = LbPolicy::kRingHash;
  CHECK_FALSE(Balancer::build(opt, w, {}, &b, &err));
}

namespace {

// Fraction of 100k keys whose endpoint (by name) differs between two balancers.
struct Moves {
  double moved = 0;        // share of keys that moved
  double movedToNew = 0;   // share of keys that moved onto the added endpoint
};

Moves compareKeys(Fixture& before, Fixture& after, const EndpointMask& maskAfter) {
  EndpointMask allBefore(before.weights.size());
  Rng keys(99);
  uint64_t moved = 0, toNew = 0;
  const size_t n = 100000;
  for (size_t k = 0; k < n; ++k) {
    uint64_t key = keys.next();
    auto a = before.names[before.balancer.pick(before.state, allBefore, key)];
    auto bi = after.balancer.pick(after.state, maskAfter, key);
    auto b = after.names[bi];
    if (a != b) {
      ++moved;
      if (bi == after.weights.size() - 1) ++toNew;
    }
  }
  return {double(moved) / n, double(toNew) / n};
}

}  // namespace

TEST_CASE("consistent hashing: adding an endpoint moves about 1/N of the keys",
          "[upstream][balancer]") {
  for (auto p : {LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    INFO((p == LbPolicy::kRingHash ? "ring hash" : "maglev"));
    for (size_t n : {5, 10, 50}) {
      INFO("endpoints " << n << " -> " << n + 1);
      Fixture before(p, std::vector<uint32_t>(n, 1));
      Fixture after(p, std::vector<uint32_t>(n + 1, 1));
      Moves m = compareKeys(before, after, EndpointMask(n + 1));
      double ideal = 1.0 / double(n + 1);
      CHECK(m.moved > 0.5 * ideal);
      CHECK(m.moved < 1.5 * ideal);
      // Nearly every move is onto the new endpoint (all of them for the ring).
      // Most moves are onto the new endpoint: all of them for the ring; Maglev reshuffles a
      // little besides (its known small disruption).
      if (p == LbPolicy::kRingHash)
        CHECK(m.movedToNew == m.moved);
      else
        CHECK(m.movedToNew > 0.75 * m.moved);
    }
  }
}

TEST_CASE("consistent hashing: an excluded endpoint's keys spread; others' keys stay",
          "[upstream][balancer]") {
  for (auto p : {LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    Fixture f(p, std::vector<uint32_t>(10, 1));
    Fixture g(p, std::vector<uint32_t>(10, 1));
    EndpointMask mask(10);
    mask.clear(4);
    EndpointMask all(10);
    Rng keys(5);
    std::vector<uint64_t> landed(10, 0);
    uint64_t moved = 0, fromFour = 0;
    for (int k = 0; k < 100000; ++k) {
      uint64_t key = keys.next();
      uint32_t a = f.balancer.pick(f.state, all, key);
      uint32_t b = g.balancer.pick(g.state, mask, key);
      REQUIRE(b != 4);
      if (a != b) {
        ++moved;
        ++landed[b];
      }
      if (a == 4) ++fromFour;
    }
    CHECK(moved == fromFour);  // only the excluded endpoint's keys moved
    if (p == LbPolicy::kMaglev) {
      // Maglev probes the next slots, whose owners are spread: most endpoints receive some.
      int receivers = 0;
      for (auto l : landed) receivers += l > fromFour / 40;
      CHECK(receivers >= 7);
    }
    // Ejected endpoint returns: its keys come back.
    for (int k = 0; k < 1000; ++k) {
      uint64_t key = mix64(k);
      CHECK(f.balancer.pick(f.state, all, key) == g.balancer.pick(g.state, all, key));
    }
  }
}

TEST_CASE("consistent hashing: weighted shares and ring sizes", "[upstream][balancer]") {
  LbOptions opt;
  opt.minimumRingSize = 4096;
  Fixture ring(LbPolicy::kRingHash, {1, 2, 3, 4}, opt);
  CHECK(ring.balancer.ringSize() >= 4096);
  checkShares(ring.tally(200000), ring.weights, EndpointMask(4), 0.15);
  Fixture maglev(LbPolicy::kMaglev, {1, 2, 3, 4});
  CHECK(maglev.balancer.tableSize() == 65537);
  checkShares(maglev.tally(200000), maglev.weights, EndpointMask(4), 0.03);
  // The same key always lands on the same endpoint; the table does not depend on the order
  // endpoints are listed in.
  std::vector<uint32_t> w{1, 1, 1};
  std::vector<std::string_view> n1{"a:1", "b:1", "c:1"}, n2{"c:1", "a:1", "b:1"};
  for (auto p : {LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    LbOptions o;
    o.policy = p;
    Balancer b1, b2;
    REQUIRE(Balancer::build(o, w, n1, &b1));
    REQUIRE(Balancer::build(o, w, n2, &b2));
    BalancerState s1, s2;
    s1.reset(b1, 1);
    s2.reset(b2, 2);
    EndpointMask all(3);
    for (uint64_t k = 0; k < 2000; ++k) {
      uint64_t key = mix64(k);
      CHECK(n1[b1.pick(s1, all, key)] == n2[b2.pick(s2, all, key)]);
    }
  }
}
