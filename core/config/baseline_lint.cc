// The built-in policy lint (baseline_lint.h).
//
// The rule-language part is a baseline like any other, embedded as text and parsed on first
// use; a parse error there is a bug in this file, caught by the unit tests (which parse it),
// and aborts rather than silently running without lint.

#include "core/config/baseline_lint.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "core/base/strings.h"

namespace gh::config {

namespace {

constexpr std::string_view kLintNames[] = {
    "authz-allow-nothing",   "authz-allow-everything",         "authz-deny-http-only-without-ports",
    kLintUnknownTrustDomain, "authz-selector-matches-nothing",
};

constexpr const char* kLintRules = R"(
- name: authz-allow-nothing
  severity: warning
  description: >-
    An ALLOW policy without rules matches no request. It allows nothing; all it does is turn
    on deny-by-default for the workloads it selects.
  select:
    kinds: [AuthorizationPolicy]
    where: [{path: spec.action, equals: ALLOW, default: ALLOW}]
  forbid:
    - {path: "spec.rules[*]", absent: true}
  message: >-
    an ALLOW policy with no rules allows nothing: requests to the workloads it selects are
    denied unless another ALLOW policy matches (to deny everything on purpose, write
    action: DENY with rules: [{}])

- name: authz-allow-everything
  severity: warning
  description: >-
    A rule with no from, to or when (rules: [{}]) matches every request, so an ALLOW policy
    holding one allows everything for the workloads it selects.
  select:
    kinds: [AuthorizationPolicy]
    where: [{path: spec.action, equals: ALLOW, default: ALLOW}]
  forbid:
    - path: "spec.rules[*]"
      where:
        - {path: "from[*]", absent: true}
        - {path: "to[*]", absent: true}
        - {path: "when[*]", absent: true}
  message: >-
    this rule has no from, to or when, so it matches every request: the policy allows
    everything for the workloads it selects

- name: authz-deny-http-only-without-ports
  severity: warning
  description: >-
    A DENY rule on HTTP-only fields (methods, paths, hosts, request principals, request.*
    conditions) cannot be checked on non-HTTP traffic, where it denies the whole connection;
    scoping it to ports keeps that to the ports meant.
  select:
    kinds: [AuthorizationPolicy]
    where: [{path: spec.action, equals: DENY}]
  forbid:
    - path: "spec.rules[*]"
      where:
        - anyOf:
            - {path: "to[*].operation.methods[*]", exists: true}
            - {path: "to[*].operation.notMethods[*]", exists: true}
            - {path: "to[*].operation.paths[*]", exists: true}
            - {path: "to[*].operation.notPaths[*]", exists: true}
            - {path: "to[*].operation.hosts[*]", exists: true}
            - {path: "to[*].operation.notHosts[*]", exists: true}
            - {path: "from[*].source.requestPrincipals[*]", exists: true}
            - {path: "from[*].source.notRequestPrincipals[*]", exists: true}
            - {path: "when[*].key", like: "request.*"}
        - {path: "to[*].operation.ports[*]", absent: true}
  message: >-
    this DENY rule matches on HTTP-only fields with no to.operation.ports: on traffic that is
    not HTTP it denies every connection; add the ports it is meant for

- name: authz-selector-matches-nothing
  severity: warning
  description: >-
    A policy whose selector matches no Workload of the configuration applies to nothing;
    usually a typo in a label.
  select:
    kinds: [AuthorizationPolicy]
    where: [{path: spec.selector, exists: true}]
  requireRelated:
    kinds: [Workload]
    relation: selectedBy
  message: spec.selector matches no Workload in this configuration, so the policy applies to nothing
)";

// The trust domain a principal names, or "" when it names none that can be checked.
//   spiffe://td/ns/x/sa/y  ->  td        td/ns/x/sa/y  ->  td        sa@td  ->  td
std::string_view trustDomainOf(std::string_view p) {
  std::string_view td;
  if (str::startsWith(p, "spiffe://")) {
    p.remove_prefix(9);
    td = p.substr(0, p.find('/'));
  } else if (size_t at = p.find('@'); at != std::string_view::npos) {
    td = p.substr(at + 1);
  } else if (size_t slash = p.find('/'); slash != std::string_view::npos) {
    td = p.substr(0, slash);
  }
  if (td.find('*') != std::string_view::npos) return {};
  return td;
}

FieldPath pathOf(std::string_view text) {
  FieldPath p;
  std::string error;
  bool ok = parseFieldPath(text, &p, &error);
  if (!ok) abort();  // the paths below are constants
  return p;
}

}  // namespace

std::span<const std::string_view> lintRuleNames() {
  return kLintNames;
}

bool isLintRuleName(std::string_view name) {
  return std::find(std::begin(kLintNames), std::end(kLintNames), name) != std::end(kLintNames);
}

const std::vector<BaselineRule>& lintRules() {
  static const std::vector<BaselineRule> rules = [] {
    std::vector<BaselineRule> out;
    std::vector<Diagnostic> diags;
    YamlReader reader(kLintRules);
    YamlNode root;
    std::vector<YamlProblem> problems;
    bool ok = reader.next(&root, &problems) == YamlReader::Status::kDocument && problems.empty() &&
              parseRules(root, "<lint>", true, &out, &diags);
    if (!ok) {
      for (const Diagnostic& d : diags) fprintf(stderr, "lint rules: %s\n", d.format().c_str());
      abort();
    }
    return out;
  }();
  return rules;
}

void lintTrustDomains(const std::vector<ConfigDocument>& docs, Severity severity,
                      std::vector<Finding>* out) {
  static const FieldPath kTrustDomain = pathOf("spec.trustDomain");
  static const FieldPath kPrincipals[] = {
      pathOf("spec.rules[*].from[*].source.principals[*]"),
      pathOf("spec.rules[*].from[*].source.notPrincipals[*]"),
  };
  static const FieldPath kWhen = pathOf("spec.rules[*].when[*]");
  static const FieldPath kWhenValues[] = {pathOf("values[*]"), pathOf("notValues[*]")};

  std::vector<std::string> known;
  bool declared = false;
  for (const ConfigDocument& d : docs) {
    if (d.kind != "MeshConfig") continue;
    // MeshConfig has one trust domain (no aliases: spec.trustDomainAliases is not a field).
    for (const FieldValue& v : fieldValues(d.root, kTrustDomain)) {
      if (v.node->isScalar()) known.push_back(v.node->value);
      declared = true;
    }
  }
  if (!declared) known.insert(known.begin(), "cluster.local");
  std::string knownText;
  for (size_t i = 0; i < known.size(); ++i) knownText += (i ? ", " : "") + known[i];

  for (const ConfigDocument& d : docs) {
    if (d.kind != "AuthorizationPolicy") continue;
    std::vector<FieldValue> principals;
    for (const FieldPath& p : kPrincipals)
      for (FieldValue& v : fieldValues(d.root, p)) principals.push_back(std::move(v));
    for (const FieldValue& cond : fieldValues(d.root, kWhen)) {
      const YamlNode* key = cond.node->find("key");
      if (key == nullptr || !key->isScalar() || key->value != "source.principal") continue;
      for (const FieldPath& p : kWhenValues) {
        for (FieldValue& v : fieldValues(*cond.node, p)) {
          v.path = cond.path + "." + v.path;
          principals.push_back(std::move(v));
        }
      }
    }
    for (const FieldValue& v : principals) {
      if (!v.node->isScalar()) continue;
      std::string_view td = trustDomainOf(v.node->value);
      if (td.empty() || std::find(known.begin(), known.end(), td) != known.end()) continue;
      Finding f;
      f.severity = severity;
      f.rule = std::string(kLintUnknownTrustDomain);
      f.kind = d.kind;
      f.ns = d.ns;
      f.name = d.name;
      f.path = v.path;
      f.loc = SourceLoc{d.loc.file, v.node->line, v.node->column};
      f.message = "principal \"" + v.node->value + "\" names trust domain \"" + std::string(td) +
                  "\", which this mesh does not have (" + knownText + "): no peer can present it";
      out->push_back(std::move(f));
    }
  }
}

}  // namespace gh::config
