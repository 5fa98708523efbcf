// The index of core/policy: rules that cannot match are not visited, whatever their number;
// decisions do not depend on which bucket a rule was filed in; explain() wording.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/config/decode.h"
#include "core/policy/authz.h"

using namespace gh;

namespace {

constexpr const char* kWorkload = R"(apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: orders, namespace: production, labels: {app: orders}}
spec: {serviceAccount: orders, port: 9000}
)";

std::shared_ptr<const policy::PolicyIndex> compile(const std::string& text) {
  std::vector<config::Resource> resources;
  std::vector<config::Diagnostic> diags;
  bool ok = config::decodeText(text, "t.yaml", &resources, &diags);
  for (const auto& d : diags) UNSCOPED_INFO(d.format());
  REQUIRE(ok);
  auto index = policy::PolicyIndex::compile(resources);
  REQUIRE(index.ok());
  return *index;
}

std::string policyDoc(size_t i, const std::string& spec) {
  return "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p" +
         std::to_string(i) + ", namespace: production}\nspec: {" + spec + "}\n";
}

}  // namespace

TEST_CASE("policies that cannot match are not visited", "[policy]") {
  std::string text = kWorkload;
  const size_t n = 500;
  for (size_t i = 0; i < n; ++i) {
    std::string id = std::to_string(i);
    // Filed by principal (exact and account@td), by exact path, by path prefix, by method.
    text += policyDoc(4 * i, "rules: [{from: [{source: {principals: [\"cluster.local/ns/production/sa/c" +
                                 id + "\"]}}]}]");
    text += policyDoc(4 * i + 1, "rules: [{from: [{source: {principals: [\"a" + id +
                                     "@cluster.local\"]}}], to: [{operation: {paths: [\"/x\"]}}]}]");
    text += policyDoc(4 * i + 2, "action: DENY, rules: [{to: [{operation: {paths: [\"/p" + id +
                                     "\", \"/q" + id + "/*\"]}}]}]");
    text += policyDoc(4 * i + 3, "action: AUDIT, rules: [{to: [{operation: {methods: [M" + id +
                                     "]}}]}]");
  }
  // And one that must always be visited.
  text += policyDoc(99999, "action: DENY, rules: [{to: [{operation: {hosts: [evil.example]}}]}]");
  auto index = compile(text);
  CHECK(index->policyCount() == 4 * n + 1);
  const policy::TargetPolicies* t = index->forWorkload("production", "orders");

  policy::Request r;
  r.principal = "spiffe://cluster.local/ns/production/sa/c7";
  r.method = "GET";
  r.path = "/q7/items";
  r.host = "orders";
  CHECK(t->visitedRules(r) == 3);  // c7's ALLOW, /q7/* DENY, the hosts DENY
  policy::Decision d = t->evaluate(r);
  CHECK_FALSE(d.allow);
  CHECK(d.by == policy::Decision::By::kDeny);
  CHECK(d.policy->name == "p30");  // 4*7+2

  r.path = "/x";
  r.principal = "spiffe://cluster.local/ns/elsewhere/sa/a42";  // account@td: any namespace
  r.method = "M42";
  CHECK(t->visitedRules(r) == 3);  // a42's ALLOW, M42's AUDIT, the hosts DENY
  d = t->evaluate(r);
  CHECK(d.allow);
  CHECK(d.policy->name == "p169");
  CHECK(d.audit);
  CHECK(d.auditPolicy->name == "p171");

  r.principal = "";
  r.path = "/nothing";
  r.method = "GET";
  CHECK(t->visitedRules(r) == 1);
  d = t->evaluate(r);
  CHECK(d.by == policy::Decision::By::kNoAllowMatched);
  CHECK(policy::explain(d) == "denied: no ALLOW matched");
}

TEST_CASE("a rule found through several buckets is evaluated once, in order", "[policy]") {
  auto index = compile(std::string(kWorkload) +
                       policyDoc(1, "action: DENY, rules: [{to: [{operation: {paths: [\"/a\", \"/a*\", "
                                    "\"/a/*\"]}}]}]") +
                       policyDoc(2, "action: DENY, rules: [{}]"));
  const policy::TargetPolicies* t = index->forWorkload("production", "orders");
  policy::Request r;
  r.path = "/a/b";
  CHECK(t->visitedRules(r) == 2);
  policy::Decision d = t->evaluate(r);
  CHECK(d.policy->name == "p1");  // p1 before p2, though p2 is always visited
  r.path = "/b";
  CHECK(t->evaluate(r).policy->name == "p2");
}

TEST_CASE("targets: unknown targets allow, policies are listed in order", "[policy]") {
  auto index = compile(std::string(kWorkload) + policyDoc(2, "rules: [{}]") +
                       policyDoc(1, "action: DENY"));
  const policy::TargetPolicies* t = index->forWorkload("production", "orders");
  REQUIRE(t->policies().size() == 2);
  CHECK(t->policies()[0]->label() == "production/p1");
  CHECK(t->policies()[1]->label() == "production/p2");
  const policy::TargetPolicies* none = index->forWorkload("production", "nobody");
  REQUIRE(none != nullptr);
  policy::Decision d = none->evaluate(policy::Request{});
  CHECK(d.allow);
  CHECK(policy::explain(d) == "allowed: no ALLOW policy applies");
  CHECK(index->forListener("production", "nothing")->policies().empty());
  CHECK(index->rootNamespace() == "gatehouse-system");
}

TEST_CASE("explain", "[policy]") {
  auto index = compile(std::string(kWorkload) +
                       "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
                       "metadata: {name: block-admin, namespace: production}\n"
                       "spec: {action: DENY, rules: [{to: [{operation: {paths: [\"/admin*\"]}}]}]}\n" +
                       policyDoc(2, "rules: [{to: [{operation: {methods: [GET]}}]}]"));
  const policy::TargetPolicies* t = index->forWorkload("production", "orders");
  policy::Request r;
  r.method = "GET";
  r.path = "/admin/x";
  CHECK(policy::explain(t->evaluate(r)) == "denied by DENY policy production/block-admin rule 0");
  r.path = "/";
  CHECK(policy::explain(t->evaluate(r)) == "allowed by ALLOW policy production/p2 rule 0");
  r.method = "PUT";
  CHECK(policy::explain(t->evaluate(r)) == "denied: no ALLOW matched");
  CHECK(std::string(policy::byName(policy::Decision::By::kNoAllowMatched)) == "no_allow_matched");
}

TEST_CASE("compile refuses what validation refuses", "[policy]") {
  std::vector<config::Resource> resources;
  std::vector<config::Diagnostic> diags;
  REQUIRE(config::decodeText(policyDoc(1, "action: CUSTOM, provider: {name: nowhere}"), "t.yaml",
                             &resources, &diags));
  auto index = policy::PolicyIndex::compile(resources);
  REQUIRE_FALSE(index.ok());
  CHECK(index.status().message() ==
        "AuthorizationPolicy production/p1: provider \"nowhere\" is not declared");
}
