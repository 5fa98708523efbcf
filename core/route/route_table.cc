// RouteTable: compiling HTTPRoutes into host entries and path indexes, and matching requests.
//
// The table is three layers, each chosen so that lookup cost does not grow with the number of
// routes:
//
//   host    exact hostname  -> HostEntry        one hash probe
//           "*.suffix"      -> HostEntry        one probe per label boundary of the request
//                                               host, longest suffix first: O(labels)
//           no hostnames    -> the catch-all HostEntry
//   path    HostEntry::paths (PathIndex)        exact probe, regex list, prefix probes
//   rest    Candidate::conditions               method, headers, query of one RouteMatch
//
// Ownership: the table owns copies of everything lookup returns or reads (rules, their
// matches, hostnames), so it does not depend on the config resources it was compiled from.
// Rules, candidates and host entries live in deques so the pointers the indexes hold stay
// valid while the table is being built.

#include "core/route/route_table.h"

#include <algorithm>
#include <deque>
#include <numeric>
#include <unordered_map>
#include <utility>

#include "core/base/strings.h"
#include "core/route/path_index.h"
#include "core/route/string_index.h"

namespace gh::route {

namespace {

// Up to this many backends a linear walk over the weights beats a binary search (and the
// Gateway API allows at most 16 backendRefs per rule anyway).
constexpr size_t kLinearPickLimit = 16;

struct HostEntry {
  std::string name;  // "shop.example.com", "*.example.com", or "" for the catch-all
  PathIndex paths;
};

// A rule and the matches its candidates point at: a rule without matches gets the implicit
// PathPrefix "/" match here, so lookup never special-cases it.
struct CompiledRule {
  Rule rule;
  std::vector<config::RouteMatch> matches;
};

std::string routeKey(const config::Resource& r) {
  return r.meta.ns + "/" + r.meta.name;
}

// "file:line:column: HTTPRoute ns/name: " — the prefix of every compile error about `r`, at
// `where` when known, else at the start of the resource, else without a position.
std::string errorPrefix(const config::Resource& r, const config::SourceLoc& where) {
  const config::SourceLoc& loc = where.line > 0 ? where : r.loc;
  std::string out;
  if (loc.line > 0) {
    out = loc.file + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.column) + ": ";
  }
  return out + "HTTPRoute " + routeKey(r) + ": ";
}

// Lower-cases a configured hostname and drops a trailing dot; rejects shapes the index cannot
// honour (validation normally has already), rather than accepting a route that never matches.
Result<std::string> normalizeHostname(std::string_view h) {
  std::string out = str::toLower(h);
  if (!out.empty() && out.back() == '.') out.pop_back();
  const std::string_view dnsName =
      str::startsWith(out, "*.") ? std::string_view(out).substr(2) : std::string_view(out);
  if (dnsName.empty() || dnsName.find('*') != std::string_view::npos) {
    return Status::error("invalid hostname \"" + std::string(h) +
                         "\": want a DNS name or \"*.\" followed by one");
  }
  return out;
}

Status compileRule(const config::Resource& res, size_t ruleIndex,
                   const RouteTable::ServiceResolver& resolve, CompiledRule* out) {
  const config::RouteRule& in = res.route().rules[ruleIndex];
  Rule& rule = out->rule;
  rule.routeNamespace = res.meta.ns;
  rule.routeName = res.meta.name;
  rule.ruleIndex = ruleIndex;
  rule.label = routeKey(res) + "/" + (in.name.empty() ? std::to_string(ruleIndex) : in.name);
  rule.filters = in.filters;
  rule.timeouts = in.timeouts;
  if (in.retry) {
    rule.retry.attempts = in.retry->attempts;
    rule.retry.backoffBaseMs = in.retry->backoffMs;
    for (int code : in.retry->codes) rule.retry.addCode(code);
  }

  for (size_t i = 0; i < in.backendRefs.size(); ++i) {
    const config::BackendRef& ref = in.backendRefs[i];
    const std::string& ns = ref.ns.empty() ? res.meta.ns : ref.ns;
    const std::optional<uint32_t> service = resolve ? resolve(ns, ref.name) : std::nullopt;
    if (!service) {
      return Status::error(errorPrefix(res, ref.loc) + "spec.rules[" + std::to_string(ruleIndex) +
                           "].backendRefs[" + std::to_string(i) + "]: unknown backend " + ns + "/" +
                           ref.name);
    }
    rule.backends.push_back(Backend{*service, ref.weight});
    rule.totalWeight += ref.weight;
  }
  rule.fault = in.fault;
  for (const config::RouteFilter& f : in.filters) {
    if (f.type != config::FilterType::kRequestMirror) continue;
    const config::BackendRef& ref = f.mirror.backendRef;
    const std::string& ns = ref.ns.empty() ? res.meta.ns : ref.ns;
    const std::optional<uint32_t> service = resolve ? resolve(ns, ref.name) : std::nullopt;
    if (!service)
      return Status::error(errorPrefix(res, ref.loc) + "spec.rules[" + std::to_string(ruleIndex) +
                           "]: unknown mirror backend " + ns + "/" + ref.name);
    rule.mirrors.push_back(Mirror{*service, f.mirror.perMillion});
  }
  if (rule.backends.size() > kLinearPickLimit) {
    uint64_t sum = 0;
    for (const Backend& b : rule.backends) rule.cumulativeWeights.push_back(sum += b.weight);
  }

  out->matches = in.matches;
  if (out->matches.empty()) out->matches.emplace_back();  // defaults to PathPrefix "/"
  return okStatus();
}

std::string_view pathKeyOf(const config::PathMatch& p) {
  std::string_view key = p.value;
  if (p.type == config::PathMatchType::kPathPrefix) {
    while (!key.empty() && key.back() == '/') key.remove_suffix(1);
  }
  return key;
}

Status compileCandidate(const config::Resource& res, const CompiledRule& cr, uint32_t routeRank,
                        uint32_t matchIndex, Candidate* out) {
  const config::RouteMatch& m = cr.matches[matchIndex];
  // Built only for an error message: compile runs this for every match of every route.
  const auto fail = [&](const config::SourceLoc& loc, const std::string& what) {
    return Status::error(errorPrefix(res, loc) + "spec.rules[" + std::to_string(cr.rule.ruleIndex) +
                         "].matches[" + std::to_string(matchIndex) + "]." + what);
  };
  out->rule = &cr.rule;
  out->match = &m;
  out->pathKey = pathKeyOf(m.path);
  out->routeRank = routeRank;
  out->ruleIndex = static_cast<uint32_t>(cr.rule.ruleIndex);
  out->matchIndex = matchIndex;
  if (m.path.type == config::PathMatchType::kRegularExpression) {
    Result<Pattern> p = Pattern::compile(m.path.value);
    if (!p.ok()) {
      return fail(m.path.loc, "path.value: " + p.status().message());
    }
    out->pathRegex.emplace(std::move(*p));
  }
  config::SourceLoc errorLoc;
  Result<RequestConditions> conditions = RequestConditions::compile(m, &errorLoc);
  if (!conditions.ok()) return fail(errorLoc, conditions.status().message());
  out->conditions = std::move(*conditions);
  return okStatus();
}

}  // namespace

struct RouteTable::Impl {
  std::deque<CompiledRule> rules;
  std::deque<Candidate> candidates;
  std::deque<HostEntry> hosts;
  StringIndex<const HostEntry*> exactHosts;
  StringIndex<const HostEntry*> wildcardHosts;  // keyed by the suffix after "*."
  const HostEntry* catchAll = nullptr;

  const HostEntry* findHost(std::string_view host) const;
};

const HostEntry* RouteTable::Impl::findHost(std::string_view host) const {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // "example.com." is absolute
  if (const auto* e = exactHosts.find(host)) return *e;
  if (!wildcardHosts.empty()) {
    // Suffixes after each dot, longest first. A dot at 0 would leave no label for the '*'.
    for (size_t dot = host.find('.', 1); dot != std::string_view::npos;
         dot = host.find('.', dot + 1)) {
      if (const auto* e = wildcardHosts.find(host.substr(dot + 1))) return *e;
    }
  }
  return catchAll;
}

RouteTable::RouteTable(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RouteTable::~RouteTable() = default;

size_t RouteTable::ruleCount() const {
  return impl_->rules.size();
}

const Rule& RouteTable::rule(size_t i) const {
  return impl_->rules[i].rule;
}

Match RouteTable::match(const Request& request) const {
  const HostEntry* host = impl_->findHost(request.host);
  if (!host) return {};
  const Candidate* c = host->paths.find(request);
  if (!c) return {};
  return Match{c->rule, c->match};
}

Result<std::shared_ptr<const RouteTable>> RouteTable::compile(
    const std::vector<const config::Resource*>& routes, const ServiceResolver& resolve) {
  auto impl = std::make_unique<Impl>();

  // Route precedence is "namespace/name" order; rank the routes once so candidates compare
  // integers, not strings. Equal keys (validation forbids them) keep their input order.
  std::vector<std::string> keys;
  keys.reserve(routes.size());
  for (const config::Resource* r : routes) keys.push_back(routeKey(*r));
  std::vector<uint32_t> byKey(routes.size());
  std::iota(byKey.begin(), byKey.end(), 0);
  std::stable_sort(byKey.begin(), byKey.end(),
                   [&](uint32_t a, uint32_t b) { return keys[a] < keys[b]; });
  std::vector<uint32_t> rank(routes.size());
  for (uint32_t i = 0; i < byKey.size(); ++i) rank[byKey[i]] = i;

  // Candidates per host entry, gathered across routes, indexed once all are known.
  struct PendingHost {
    std::string name;
    std::vector<const Candidate*> candidates;
  };
  std::vector<PendingHost> pending;
  std::unordered_map<std::string, size_t> pendingByName;  // "" is the catch-all
  const auto pendingFor = [&](const std::string& name) {
    auto [it, inserted] = pendingByName.try_emplace(name, pending.size());
    if (inserted) pending.push_back(PendingHost{name, {}});
    return it->second;
  };

  for (size_t i = 0; i < routes.size(); ++i) {
    const config::Resource& res = *routes[i];
    const auto* spec = std::get_if<config::HttpRouteSpec>(&res.spec);
    if (res.kind != config::Kind::kHttpRoute || !spec) {
      return Status::error(errorPrefix(res, res.loc) + "not an HTTPRoute");
    }

    const size_t firstCandidate = impl->candidates.size();
    for (size_t r = 0; r < spec->rules.size(); ++r) {
      CompiledRule& cr = impl->rules.emplace_back();
      if (Status s = compileRule(res, r, resolve, &cr); !s.ok()) return s;
      for (uint32_t m = 0; m < cr.matches.size(); ++m) {
        Candidate& c = impl->candidates.emplace_back();
        if (Status s = compileCandidate(res, cr, rank[i], m, &c); !s.ok()) return s;
      }
    }

    std::vector<std::string> hostnames;
    for (const std::string& h : spec->hostnames) {
      Result<std::string> name = normalizeHostname(h);
      if (!name.ok()) return Status::error(errorPrefix(res, res.loc) + name.status().message());
      if (std::find(hostnames.begin(), hostnames.end(), *name) == hostnames.end()) {
        hostnames.push_back(std::move(*name));
      }
    }
    if (hostnames.empty()) hostnames.emplace_back();  // no hostnames: the catch-all entry
    for (const std::string& h : hostnames) {
      PendingHost& p = pending[pendingFor(h)];
      for (size_t c = firstCandidate; c < impl->candidates.size(); ++c) {
        p.candidates.push_back(&impl->candidates[c]);
      }
    }
  }

  std::vector<std::pair<std::string_view, const HostEntry*>> exact;
  std::vector<std::pair<std::string_view, const HostEntry*>> wildcard;
  for (PendingHost& p : pending) {
    const HostEntry& e =
        impl->hosts.emplace_back(HostEntry{std::move(p.name), PathIndex(std::move(p.candidates))});
    if (e.name.empty()) {
      impl->catchAll = &e;
    } else if (str::startsWith(e.name, "*.")) {
      wildcard.emplace_back(std::string_view(e.name).substr(2), &e);
    } else {
      exact.emplace_back(e.name, &e);
    }
  }
  impl->exactHosts = StringIndex<const HostEntry*>(exact);
  impl->wildcardHosts = StringIndex<const HostEntry*>(wildcard);

  return std::shared_ptr<const RouteTable>(new RouteTable(std::move(impl)));
}

// --- Rule ---------------------------------------------------------------------------------

int Rule::pickBackend(uint64_t random) const {
  if (totalWeight == 0) return -1;
  uint64_t point = random % totalWeight;
  if (cumulativeWeights.size() == backends.size()) {
    // Sums are strictly increasing across positive weights; the first sum above `point` is
    // the backend that owns it (zero weights share their predecessor's sum and lose to it).
    const auto it = std::upper_bound(cumulativeWeights.begin(), cumulativeWeights.end(), point);
    return static_cast<int>(it - cumulativeWeights.begin());
  }
  for (size_t i = 0; i < backends.size(); ++i) {
    if (point < backends[i].weight) return static_cast<int>(i);
    point -= backends[i].weight;
  }
  return -1;  // unreachable while totalWeight is the sum of the weights
}

}  // namespace gh::route
