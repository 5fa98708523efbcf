// RouteTable lookup and compile cost at 10, 1 000 and 100 000 routes.
//
// Hidden from normal runs (tag [.bench]); run with
//   make unit-route UNIT_ARGS='[.bench]'
// It prints figures and asserts only that lookups find what they should: timings depend on the
// machine and its load, so they are for reading, not for failing a build.
//
// Tables: N routes on one hostname, each one rule with one match, either an Exact path
// "/api/v1/service-<i>/items" or a PathPrefix "/api/v1/service-<i>" (plus a "/" route, so
// that every prefix lookup ends in a match). Requests:
//   exact hit      the exact path of some route (the best case: one hash probe)
//   exact miss     a path no route has (one probe, then nothing to try)
//   prefix hit     a route's prefix itself (the first probe hits)
//   prefix deep    eight segments below a route's prefix whose match needs a header the
//                  request lacks, so lookup probes every '/' boundary down to "/" (the worst
//                  case for a prefix table)
// "hot" repeats one request (the table's path stays in cache); "spread" cycles through 4 096
// requests over the whole table (a lookup mostly misses the CPU caches at 100 000 routes).

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/route/route_table.h"

using namespace gh;

namespace {

using Clock = std::chrono::steady_clock;

volatile uintptr_t gSink;  // keeps lookups from being optimised away

config::Resource benchRoute(size_t i, config::RouteMatch match) {
  config::Resource r;
  r.kind = config::Kind::kHttpRoute;
  r.meta.name = "route-" + std::to_string(i);
  config::HttpRouteSpec spec;
  spec.hostnames = {"bench.example.com"};
  config::RouteRule rule;
  rule.matches.push_back(std::move(match));
  rule.backendRefs.emplace_back().name = "svc";
  spec.rules.push_back(std::move(rule));
  r.spec = std::move(spec);
  return r;
}

std::string servicePath(size_t i) {
  return "/api/v1/service-" + std::to_string(i);
}

struct Built {
  std::shared_ptr<const route::RouteTable> table;
  double compileMs = 0;
};

Built build(size_t n, bool prefixes) {
  std::vector<config::Resource> routes;
  routes.reserve(n + 1);
  for (size_t i = 0; i < n; ++i) {
    config::RouteMatch m;
    if (prefixes) {
      m.path.value = servicePath(i);
      // The deep case must fall through this candidate to "/".
      config::NameValueMatch tenant;
      tenant.name = "x-tenant";
      tenant.value = "t" + std::to_string(i);
      m.headers.push_back(std::move(tenant));
    } else {
      m.path.type = config::PathMatchType::kExact;
      m.path.value = servicePath(i) + "/items";
    }
    routes.push_back(benchRoute(i, std::move(m)));
  }
  if (prefixes) routes.push_back(benchRoute(n, config::RouteMatch{}));

  std::vector<const config::Resource*> ptrs;
  for (const auto& r : routes) ptrs.push_back(&r);
  const auto resolve = [](std::string_view, std::string_view) -> std::optional<uint32_t> {
    return 0;
  };
  // Best of three: the machine is shared, and the first run also pays for first-touch page
  // faults that a long-running server has already paid.
  Built out;
  out.compileMs = 1e300;
  for (int run = 0; run < 3; ++run) {
    const auto start = Clock::now();
    auto table = route::RouteTable::compile(ptrs, resolve);
    const auto end = Clock::now();
    REQUIRE(table.ok());
    out.table = *table;
    out.compileMs =
        std::min(out.compileMs, std::chrono::duration<double, std::milli>(end - start).count());
  }
  return out;
}

struct Probe {
  std::string path;
  std::vector<http::Header> headers;
  bool expectMatch = true;
};

// Best of three runs of `rounds` passes over `probes`, in ns per lookup.
double nsPerLookup(const route::RouteTable& table, const std::vector<Probe>& probes) {
  std::vector<route::Request> requests;
  for (const Probe& p : probes) {
    route::Request r;
    r.host = "bench.example.com";
    r.path = p.path;
    r.method = "GET";
    r.headers = &p.headers;
    requests.push_back(r);
    REQUIRE((table.match(r).rule != nullptr) == p.expectMatch);
  }
  const size_t lookups = 2'000'000;
  const size_t rounds = lookups / requests.size();
  double best = 1e300;
  for (int run = 0; run < 3; ++run) {
    uintptr_t sink = 0;
    const auto start = Clock::now();
    for (size_t k = 0; k < rounds; ++k) {
      for (const route::Request& r : requests) {
        sink += reinterpret_cast<uintptr_t>(table.match(r).rule);
      }
    }
    const auto end = Clock::now();
    gSink = sink;
    const double ns = std::chrono::duration<double, std::nano>(end - start).count();
    best = std::min(best, ns / static_cast<double>(rounds * requests.size()));
  }
  return best;
}

// `count` probes spread evenly over routes 0..n-1, built by `make(i)`.
template <typename Make>
std::vector<Probe> spread(size_t n, size_t count, Make make) {
  std::vector<Probe> out;
  for (size_t k = 0; k < count; ++k) out.push_back(make((k * 7919) % n));
  return out;
}

}  // namespace

TEST_CASE("route lookup and compile cost", "[.bench]") {
  std::printf("\n%-8s %-6s %10s %10s %10s %10s %12s\n", "routes", "set", "exact-hit", "exact-miss",
              "prefix-hit", "prefix-deep", "compile-ms");
  for (size_t n : {size_t{10}, size_t{1'000}, size_t{100'000}}) {
    const Built exact = build(n, false);
    const Built prefix = build(n, true);
    REQUIRE(exact.table->ruleCount() == n);

    const auto exactHit = [](size_t i) { return Probe{servicePath(i) + "/items", {}}; };
    const auto exactMiss = [](size_t i) { return Probe{servicePath(i) + "/other", {}, false}; };
    const auto prefixHit = [](size_t i) {
      return Probe{servicePath(i), {{"x-tenant", "t" + std::to_string(i)}}};
    };
    const auto prefixDeep = [](size_t i) {
      return Probe{servicePath(i) + "/a/b/c/d/e/f/g/h", {{"x-tenant", "nobody"}}};
    };

    for (size_t count : {size_t{1}, size_t{4096}}) {
      const double eh = nsPerLookup(*exact.table, spread(n, count, exactHit));
      const double em = nsPerLookup(*exact.table, spread(n, count, exactMiss));
      const double ph = nsPerLookup(*prefix.table, spread(n, count, prefixHit));
      const double pd = nsPerLookup(*prefix.table, spread(n, count, prefixDeep));
      char compile[32] = "";
      if (count == 1)
        std::snprintf(compile, sizeof compile, "%.1f/%.1f", exact.compileMs, prefix.compileMs);
      std::printf("%-8zu %-6s %10.1f %10.1f %10.1f %11.1f %12s\n", n, count == 1 ? "hot" : "spread",
                  eh, em, ph, pd, compile);
    }
  }
  std::printf(
      "(ns per lookup and compile-ms, best of 3; compile-ms: exact table / prefix table)\n");
}
