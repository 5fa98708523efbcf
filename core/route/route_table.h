#pragma once
// RouteTable: the HTTPRoutes attached to one listener, compiled for lookup.
//
// A RouteTable is immutable once compiled and safe to share across worker threads; it is
// built once per configuration snapshot, off the worker threads. Pure: no I/O, no loop.
//
// Lookup follows the Gateway API (v1) precedence, implemented with indexes so it never scans
// every route:
//   1. Host: the most specific hostname wins — an exact hostname, else the longest matching
//      wildcard ("*.shop.example.com" before "*.example.com"), else routes with no hostnames.
//      A wildcard matches one or more labels in front of the suffix, never the suffix alone.
//      Once a host entry is chosen, only its rules are considered (as Envoy's virtual hosts).
//   2. Within that host entry, across all rules of all routes: Exact path, then
//      RegularExpression paths (implementation-specific in the Gateway API; we put them after
//      Exact, before prefixes, as Istio does), then PathPrefix by longest prefix (prefixes
//      match whole path segments: "/foo" matches "/foo" and "/foo/bar", not "/foobar");
//      then a match with a method before one without; then more header matches; then more
//      query-param matches; then route order by "namespace/name"; then rule order, then match
//      order within the rule.
//   The first candidate (in that order) whose method, header and query conditions all hold
//   is the match.
// Details of that order: prefixes "/foo" and "/foo/" match the same paths, and the one with
// more characters comes first (the Gateway API's "largest number of characters"); a rule
// without matches is one PathPrefix "/" match; how headers and query parameters compare
// (repeated fields, percent-decoding) is in conditions.h. Lookup does not allocate (but for
// the one per-thread buffer conditions.h describes).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/config/model.h"
#include "core/http/parser.h"
#include "core/upstream/retry.h"

namespace gh::route {

struct Backend {
  uint32_t service = 0;  // index given by the ServiceResolver at compile time
  uint32_t weight = 1;
};

// A RequestMirror filter of a rule, its backendRef resolved.
struct Mirror {
  uint32_t service = 0;
  uint32_t perMillion = 1'000'000;
};

// One rule of one HTTPRoute: what a request is routed to.
struct Rule {
  std::string routeNamespace;
  std::string routeName;
  size_t ruleIndex = 0;
  std::string label;  // "namespace/name" plus "/rule-name" or "/N": for logs and metrics
  std::vector<config::RouteFilter> filters;  // in declared order
  std::vector<Backend> backends;             // weight 0 entries kept (never picked)
  uint64_t totalWeight = 0;
  config::RouteTimeouts timeouts;
  // rules[].retry, compiled (attempts 0: none). The session applies it (upstream/retry.h).
  upstream::RetryPolicy retry;
  std::optional<config::FaultInjection> fault;  // rules[].fault
  std::vector<Mirror> mirrors;                  // RequestMirror filters, in declared order
  // Running sums of the backend weights, filled by compile only for rules with many backends
  // (where pickBackend binary-searches them); empty otherwise, and then pickBackend walks the
  // weights, so a Rule built by hand needs only backends and totalWeight.
  std::vector<uint64_t> cumulativeWeights;

  // Picks a backend with probability weight/totalWeight given `random` (any 64-bit value,
  // uniformly distributed). Returns -1 when totalWeight is 0 (answer 500, per Gateway API).
  int pickBackend(uint64_t random) const;
};

// The request as routing sees it. All views must outlive the call only.
struct Request {
  std::string_view host;   // lower-case, without port
  std::string_view path;   // normalised (http::normalizePath), without query
  std::string_view query;  // raw query string after '?', may be empty
  std::string_view method;
  const std::vector<http::Header>* headers = nullptr;
};

struct Match {
  const Rule* rule = nullptr;                 // nullptr: no route (answer 404)
  const config::RouteMatch* match = nullptr;  // which match of the rule applied
};

class RouteTable {
 public:
  // Maps a backendRef (namespace, name) to a service index; nullopt when unknown.
  using ServiceResolver =
      std::function<std::optional<uint32_t>(std::string_view ns, std::string_view name)>;

  // `routes` are the HTTPRoute resources attached to one listener. RE2 compile errors and
  // unknown backends fail the compile (validation normally catches them first).
  static Result<std::shared_ptr<const RouteTable>> compile(
      const std::vector<const config::Resource*>& routes, const ServiceResolver& resolve);

  Match match(const Request& request) const;
  size_t ruleCount() const;
  // The i-th rule (0 <= i < ruleCount()), for consumers that precompute something per rule
  // (telemetry labels); the reference is stable for the table's life.
  const Rule& rule(size_t i) const;

  ~RouteTable();
  struct Impl;

 private:
  explicit RouteTable(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gh::route
