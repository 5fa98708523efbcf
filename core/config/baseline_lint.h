#pragma once
// The built-in policy lint of spec/config.md ("what istioctl analyze would flag, and more"),
// run by `validate` on every configuration, with or without a baseline.
//
// Every lint rule is about AuthorizationPolicy, so none can fire before that kind decodes: the
// rules are ready and tested on synthetic documents, and start working the day the decoder
// accepts the kind. Four are written in the baseline rule language itself (the language is
// general enough, and that keeps them readable); the trust-domain check needs to take
// principals apart and is written in C++.
//
//   authz-allow-nothing                 ALLOW policy without rules: allows nothing
//   authz-allow-everything              a rule with no from, to or when (`rules: [{}]`)
//   authz-deny-http-only-without-ports  DENY rule on HTTP-only fields with no port scope
//   authz-unknown-trust-domain          a principal names a trust domain the mesh doesn't have
//   authz-selector-matches-nothing      spec.selector matches no Workload
//
// All are warnings by default; a baseline may raise, lower or turn off each one
// (`lint: {authz-allow-nothing: error}`). Read-only after first use; any thread.

#include <span>
#include <string_view>
#include <vector>

#include "core/config/baseline.h"
#include "core/config/baseline_rules.h"

namespace gh::config {

inline constexpr std::string_view kLintUnknownTrustDomain = "authz-unknown-trust-domain";

// Every lint rule name, in the order of the table above.
std::span<const std::string_view> lintRuleNames();
bool isLintRuleName(std::string_view name);

// The lint rules written in the rule language (all but the trust-domain check), parsed once.
const std::vector<BaselineRule>& lintRules();

// authz-unknown-trust-domain: every principal of an AuthorizationPolicy (principals,
// notPrincipals, and when-conditions on source.principal) whose trust domain is not the
// MeshConfig's spec.trustDomain (default cluster.local: a mesh has one trust domain, and
// MeshConfig has no aliases). Principals whose trust domain part holds a '*' are not checked.
void lintTrustDomains(const std::vector<ConfigDocument>& docs, Severity severity,
                      std::vector<Finding>* out);

}  // namespace gh::config
