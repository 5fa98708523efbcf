// Authorization cost per request at 10, 1 000 and 10 000 policies on one workload.
//
// Hidden from normal runs (tag [.bench]); run with
//   make unit-policy UNIT_ARGS='[.bench]'
// It prints ns per decision and the ratio to the 10-policy set (the goal of spec/authz.md:
// at most 1.1 for 10 000 vs 10), and asserts only that the decisions are right: timings depend
// on the machine and its load, so they are for reading, not for failing a build.
//
// The policy set, all selecting the same Workload (the worst case: the index by target does
// not help), in equal parts:
//   ALLOW  principals [cluster.local/ns/production/sa/client-<i>], to paths [/api/v1/svc-<i>/*]
//   ALLOW  principals [client-<i>@cluster.local], to methods [GET, POST]
//   DENY   to paths [/admin/svc-<i>*]
//   DENY   to methods [PURGE-<i>]
// plus, in every set, the same two policies every request must visit (a DENY on notPrincipals
// and an AUDIT on a header), so all sets do the same work for a matching request.
// Requests: "allow" — a client's GET on its own path (allowed by its first ALLOW policy);
// "deny" — a client's GET on an admin path (denied by a DENY policy); "no match" — an unknown
// principal (denied: no ALLOW matched). "hot" repeats one request; "spread" cycles through
// 1 024 of them over the whole set.

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/config/decode.h"
#include "core/policy/authz.h"

using namespace gh;

namespace {

using Clock = std::chrono::steady_clock;
volatile uintptr_t gSink;

std::string policies(size_t n) {
  std::string text = R"(apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: orders, namespace: production, labels: {app: orders}}
spec: {serviceAccount: orders, port: 9000}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: always-deny-plaintext, namespace: production}
spec: {action: DENY, rules: [{from: [{source: {notPrincipals: ["*"]}}]}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: always-audit, namespace: production}
spec: {action: AUDIT, rules: [{when: [{key: "request.headers[x-audit]", values: ["*"]}]}]}
)";
  const size_t groups = std::max<size_t>(1, (n - 2) / 4);
  for (size_t i = 0; i < groups; ++i) {
    std::string id = std::to_string(i);
    auto doc = [&](const std::string& name, const std::string& spec) {
      text += "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: " +
              name + "-" + id + ", namespace: production}\nspec: {" + spec + "}\n";
    };
    doc("allow-path", "rules: [{from: [{source: {principals: [\"cluster.local/ns/production/sa/client-" +
                          id + "\"]}}], to: [{operation: {paths: [\"/api/v1/svc-" + id + "/*\"]}}]}]");
    doc("allow-method", "rules: [{from: [{source: {principals: [\"client-" + id +
                            "@cluster.local\"]}}], to: [{operation: {methods: [GET, POST]}}]}]");
    doc("deny-admin", "action: DENY, rules: [{to: [{operation: {paths: [\"/admin/svc-" + id + "*\"]}}]}]");
    doc("deny-method", "action: DENY, rules: [{to: [{operation: {methods: [PURGE-" + id + "]}}]}]");
  }
  return text;
}

struct Probe {
  std::string principal, path;
  bool allow;
};

double nsPerDecision(const policy::TargetPolicies& t, const std::vector<Probe>& probes) {
  std::vector<policy::Request> requests;
  for (const Probe& p : probes) {
    policy::Request r;
    r.principal = p.principal;
    r.method = "GET";
    r.path = p.path;
    r.host = "orders";
    r.port = 9000;
    requests.push_back(r);
    REQUIRE(t.evaluate(r).allow == p.allow);
  }
  const size_t decisions = 1'000'000;
  const size_t rounds = decisions / requests.size();
  double best = 1e300;
  for (int run = 0; run < 5; ++run) {
    uintptr_t sink = 0;
    const auto start = Clock::now();
    for (size_t k = 0; k < rounds; ++k)
      for (const policy::Request& r : requests)
        sink += reinterpret_cast<uintptr_t>(t.evaluate(r).policy);
    const auto end = Clock::now();
    gSink = sink;
    best = std::min(best, std::chrono::duration<double, std::nano>(end - start).count() /
                              static_cast<double>(rounds * requests.size()));
  }
  return best;
}

}  // namespace

TEST_CASE("authorization cost per request", "[.bench]") {
  std::printf("\n%-9s %-6s %10s %10s %10s %12s\n", "policies", "set", "allow", "deny", "no-match",
              "compile-ms");
  double base[2][3] = {};
  for (size_t n : {size_t{10}, size_t{1'000}, size_t{10'000}}) {
    std::vector<config::Resource> resources;
    std::vector<config::Diagnostic> diags;
    REQUIRE(config::decodeText(policies(n), "bench.yaml", &resources, &diags));
    const auto start = Clock::now();
    auto index = policy::PolicyIndex::compile(resources);
    const double compileMs =
        std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    REQUIRE(index.ok());
    const policy::TargetPolicies* t = (*index)->forWorkload("production", "orders");
    const size_t groups = std::max<size_t>(1, (n - 2) / 4);
    for (int spread = 0; spread < 2; ++spread) {
      const size_t count = spread ? 1024 : 1;
      std::vector<Probe> allow, deny, none;
      for (size_t k = 0; k < count; ++k) {
        std::string id = std::to_string((k * 7919) % groups);
        std::string who = "spiffe://cluster.local/ns/production/sa/client-" + id;
        allow.push_back({who, "/api/v1/svc-" + id + "/items", true});
        deny.push_back({who, "/admin/svc-" + id + "/x", false});
        none.push_back({"spiffe://cluster.local/ns/production/sa/stranger-" + id,
                        "/api/v1/svc-" + id + "/items", false});
      }
      double v[3] = {nsPerDecision(*t, allow), nsPerDecision(*t, deny), nsPerDecision(*t, none)};
      if (n == 10)
        for (int i = 0; i < 3; ++i) base[spread][i] = v[i];
      std::printf("%-9zu %-6s %10.1f %10.1f %10.1f %12.1f", n, spread ? "spread" : "hot", v[0], v[1],
                  v[2], compileMs);
      if (n != 10)
        std::printf("   ratio to 10: %.2f %.2f %.2f", v[0] / base[spread][0],
                    v[1] / base[spread][1], v[2] / base[spread][2]);
      std::printf("\n");
    }
  }
  std::printf("(ns per decision, best of 5)\n");
}
