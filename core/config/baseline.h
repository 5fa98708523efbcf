#pragma once
// Policy checks over a whole configuration: the built-in lint rules of spec/config.md and the
// compliance rules of a baseline (baseline_rules.h), evaluated on positioned document trees.
//
// Why trees and not the typed model: the rules are about fields of any kind, including kinds a
// later build decodes (AuthorizationPolicy), and each finding must name
// the line and column of the value that breaks the rule. The engine therefore knows no schema:
// a rule that names a field this configuration does not have simply finds nothing there.
//
// What a finding points at:
//   - a value that breaks a rule (a forbidden value, a required value that is wrong): that
//     value, with its concrete path ("spec.rules[1].from[0].source.principals[0]");
//   - a missing field: the closest enclosing node that exists (the mapping that should hold
//     it), with the path as the rule wrote it;
//   - a missing related resource: the selected resource's start (or, for `selectedBy`, its
//     spec.selector);
//   - a missing resource (`requireExists` with nothing of the kind): the rule's assertion in
//     the baseline file.
//
// checkPolicies is pure: a function of the documents and the baseline; any thread.

#include <string>
#include <vector>

#include "core/config/baseline_document.h"
#include "core/config/baseline_rules.h"

namespace gh::config {

struct Finding {
  Severity severity = Severity::kError;
  std::string rule;
  std::string kind;  // of the resource concerned; for requireExists, the kind looked for
  std::string ns;    // "" when no resource is concerned
  std::string name;
  std::string path;  // field path; "" for the resource as a whole
  SourceLoc loc;
  std::string message;

  // "file:line:column: error: rule: Kind ns/name: path: message" (parts that are empty are
  // left out).
  std::string format() const;

  bool operator==(const Finding&) const = default;
};

// Everything the lint set (with the baseline's lint settings) and the baseline's rules find,
// ordered by file, line and column. `baseline` may be null: lint only.
std::vector<Finding> checkPolicies(const std::vector<ConfigDocument>& docs,
                                   const Baseline* baseline);

// The rules alone, with their own severities (no lint, no ordering): what the tests of a
// single rule use.
std::vector<Finding> evaluateRules(const std::vector<BaselineRule>& rules,
                                   const std::vector<ConfigDocument>& docs);

// The values a field path reaches from `root`, in document order, each with its concrete path
// ("spec.rules[1].from[0].source.principals[0]"). Null values are not values.
struct FieldValue {
  const YamlNode* node = nullptr;
  std::string path;
};
std::vector<FieldValue> fieldValues(const YamlNode& root, const FieldPath& path);

// Whether any finding is an error (the ones that make `validate` fail).
bool hasErrors(const std::vector<Finding>& findings);

// The namespace whose policies apply to every workload: MeshConfig `default`'s
// spec.rootNamespace, else "gatehouse-system" (spec/authz.md).
std::string rootNamespaceOf(const std::vector<ConfigDocument>& docs);

// Whether `selector` (an AuthorizationPolicy-style spec.selector holder) selects `target`:
// same namespace (or the selector's resource is in `rootNs`), no targetRef(s), and its
// spec.selector — absent, or matchLabels / matchExpressions as in Kubernetes — matches the
// target's metadata.labels.
bool selectsResource(const ConfigDocument& selector, const ConfigDocument& target,
                     const std::string& rootNs);

}  // namespace gh::config
