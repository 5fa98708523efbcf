#pragma once
// The authorization engine: Istio's AuthorizationPolicy, compiled once per snapshot into an
// index, then asked once per request "may this request proceed, and which policy says so?".
//
// What it decides (../shared/spec/authz.md, Istio's semantics exactly)
// ----------------------------------------------------------------------
// For one target — a Workload (mesh inbound) or an edge Listener — the policies that apply
// are evaluated in Istio's order:
//   1. CUSTOM: the CUSTOM policies whose rules match are handed back (Decision::custom); the
//      caller asks their providers, and any denial denies (denyByCustom). The engine does no
//      I/O, so this step is the caller's.
//   2. DENY: if any DENY policy matches, deny.
//   3. If no ALLOW policy applies to the target, allow.
//   4. If any ALLOW policy matches, allow.
//   5. Otherwise deny.
// AUDIT policies never change the outcome: a match sets Decision::audit. Dry-run policies
// (annotation istio.io/dry-run: "true") change nothing either: Decision::dryRun says what would
// have been decided had they been enforced together with the others.
//
// A policy matches when one of its rules does; no rules: nothing (an ALLOW policy without
// rules still *applies*, so it turns on deny-by-default); `rules: [{}]` matches everything.
// A rule matches when one `from` matches (or there is none), one `to` matches (or there is
// none) and every `when` holds; inside a source or an operation the fields are ANDed, the
// values of one field ORed, and a `not*` field excludes. Strings match exactly, by prefix
// ("abc*"), by suffix ("*abc") or by presence ("*": any non-empty value; for a header in `when`,
// the header being there). A request without an mTLS peer has no principal and no namespace:
// it matches notPrincipals/notNamespaces and never principals/namespaces, not even "*".
//
// Which policies apply to a target
// --------------------------------
// A Workload: the policies of its namespace whose selector matches its labels (no selector:
// all of the namespace), and those of the root namespace (MeshConfig rootNamespace, default
// gatehouse-system) whose selector matches its labels. An edge Listener: the policies whose
// targetRefs name it, and the root namespace's policies without a selector ("everywhere").
// Policies with targetRefs never apply to Workloads.
//
// Cost
// ----
// Per target and per action, every rule is filed under one cheap request fact it requires: the
// peer principal (exact SPIFFE ID, or exact `account@trustdomain`), else the path (exact, or a
// prefix "abc*"), else the method (exact); rules that require none of these are always
// visited. A request visits only the rules filed under its own principal, path (and its
// prefixes, one probe per distinct prefix length) and method, plus the always-visited ones: a
// policy that cannot match is not looked at, so 10 000 policies cost what 10 do
// (tests/unit/policy/authz_bench.cc).
//
// Ownership and threads: a PolicyIndex is immutable once compiled, owns everything it points
// to (PolicyRef, TargetPolicies, CustomCheck providers), and is shared read-only by every
// worker — evaluate() is safe to call concurrently, does no I/O and takes no lock. A Decision
// points into the index: keep the index (the Snapshot) alive while the Decision is used.
// Evaluation allocates only to parse the peer principal (once per request, when a rule looks at
// it), to join repeated headers, and for Decision::custom when a CUSTOM policy matches.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/config/ip_block.h"
#include "core/config/model.h"
#include "core/http/parser.h"  // http::Header (a plain pair of views)

namespace gh::policy {

// An IP address as the engine compares it. core/policy does not use core/net: a socket
// address is more than matching needs, and config's type is the one the policies are parsed
// into. The session converts the peer's net::Address once (parseIpAddress of its text, or the
// bytes directly).
using IpAddress = config::IpAddress;

// The request as authorization sees it. Views must outlive evaluate() only.
struct Request {
  std::string_view principal;  // the verified SPIFFE ID URI of the mTLS peer; empty: no peer
  std::string_view method;     // as received ("GET")
  std::string_view path;       // normalised (http::normalizePath), without the query
  std::string_view host;       // Host / :authority as received, port included when sent:
                               // Istio matches `hosts` against it whole, case-insensitively
                               // ("example.com" does not match "example.com:8080"; write
                               // "example.com:*" too)
  uint16_t port = 0;           // the destination port: the listener's (inbound) port
  std::optional<IpAddress> sourceIp;  // the peer's address (ipBlocks, source.ip)
  std::optional<IpAddress> remoteIp;  // the client's address from trusted X-Forwarded-For
                                      // (remoteIpBlocks, remote.ip); unset: sourceIp
  std::string_view sni;               // the TLS server name the client asked for; empty: none
  std::span<const http::Header> headers;  // names compared case-insensitively; a repeated
                                          // header is matched as its values joined by ","
};

// One AuthorizationPolicy as decisions name it.
struct PolicyRef {
  std::string ns;
  std::string name;
  config::AuthzAction action = config::AuthzAction::kAllow;
  bool dryRun = false;
  size_t ruleCount = 0;
  std::string provider;  // CUSTOM: the extension provider's name

  std::string label() const { return ns + "/" + name; }  // "production/block-admin"
};

// A CUSTOM policy whose rule matched: the caller sends the request to `provider` (Envoy's
// ext_authz HTTP contract) and calls denyByCustom when it does not allow.
struct CustomCheck {
  const PolicyRef* policy = nullptr;
  int rule = -1;
  const config::ExtensionProvider* provider = nullptr;  // the MeshConfig's declaration
};

struct Decision {
  // Which step of the order decided.
  enum class By {
    kCustom,          // a CUSTOM provider denied (set by denyByCustom only)
    kDeny,            // a DENY policy matched: policy/rule name it
    kNoAllowPolicy,   // allowed: no ALLOW policy applies to the target
    kAllow,           // an ALLOW policy matched: policy/rule name it
    kNoAllowMatched,  // denied: ALLOW policies apply and none matched
  };
  bool allow = true;
  By by = By::kNoAllowPolicy;
  const PolicyRef* policy = nullptr;  // kCustom, kDeny, kAllow; nullptr otherwise
  int rule = -1;                      // index in the policy's spec.rules

  // AUDIT: the first AUDIT policy (and rule) that matched; the outcome is unchanged.
  bool audit = false;
  const PolicyRef* auditPolicy = nullptr;
  int auditRule = -1;

  // CUSTOM policies that matched, in policy order (one per provider): ask each provider
  // before acting on `allow`; a denial from any denies (denyByCustom).
  std::vector<CustomCheck> custom;

  // What would have been decided with the dry-run policies enforced as well. `evaluated` is
  // false when no dry-run policy applies to the target (then the rest is meaningless).
  struct DryRun {
    bool evaluated = false;
    bool allow = true;
    By by = By::kNoAllowPolicy;
    const PolicyRef* policy = nullptr;
    int rule = -1;
    bool audit = false;
  } dryRun;
};

// Turns `d` into a denial by CUSTOM `check` (its provider did not allow the request).
void denyByCustom(Decision* d, const CustomCheck& check);

// One line for logs and the CLI:
//   "denied by DENY policy production/block-admin rule 0"
//   "allowed: no ALLOW policy applies"
//   "allowed by ALLOW policy production/allow-frontend-to-orders rule 0"
//   "denied: no ALLOW matched"
//   "denied by CUSTOM policy production/ext rule 0 (provider ext-authz)"
// followed, when they apply, by "; audited by AUDIT policy ns/name rule N",
// "; CUSTOM check pending: provider P (policy ns/name rule N)" and
// "; dry-run: would be denied by DENY policy ns/name rule N".
std::string explain(const Decision& d);
// The deciding step alone ("deny", "no_allow_policy", "allow", "no_allow_matched", "custom"),
// for metrics and access-log fields.
const char* byName(Decision::By by);

// The compiled policies of one target. Immutable; owned by its PolicyIndex.
class TargetPolicies {
 public:
  Decision evaluate(const Request& request) const;

  // The policies that apply, in evaluation order (namespace/name): for explain and tests.
  const std::vector<const PolicyRef*>& policies() const { return policies_; }
  // How many rules evaluate(request) looks at (all actions, dry-run included): what the index
  // saves, for tests and the benchmark.
  size_t visitedRules(const Request& request) const;

  struct Impl;
  ~TargetPolicies();
  TargetPolicies(std::unique_ptr<Impl> impl, std::vector<const PolicyRef*> policies);

 private:
  std::unique_ptr<Impl> impl_;
  std::vector<const PolicyRef*> policies_;
};

class PolicyIndex {
 public:
  // Compiles the AuthorizationPolicies of a validated resource set for every Workload and
  // every edge Listener of the set (the other resources are read for labels, the root
  // namespace and the extension providers). Fails only on what validation reports first
  // (a bad principal or CIDR, an undeclared provider).
  static Result<std::shared_ptr<const PolicyIndex>> compile(
      const std::vector<const config::Resource*>& resources);
  static Result<std::shared_ptr<const PolicyIndex>> compile(
      const std::vector<config::Resource>& resources);

  // The policies of a Workload / an edge Listener, never null: a target no policy applies to
  // (or one the set does not have) gets an empty TargetPolicies, which allows everything
  // ("no ALLOW policy applies"). A map lookup: resolve once per snapshot (and keep the
  // pointer with the listener), not per request.
  const TargetPolicies* forWorkload(std::string_view ns, std::string_view name) const;
  const TargetPolicies* forListener(std::string_view ns, std::string_view name) const;

  size_t policyCount() const;
  const std::string& rootNamespace() const;

  struct Impl;
  ~PolicyIndex();
  explicit PolicyIndex(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace gh::policy
