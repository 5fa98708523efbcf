// The authorization index and the decision order (authz.h).
//
// Layout
// ------
//   PolicyIndex ── targets: (Workload ns/name) -> TargetPolicies, (Listener ns/name) -> ...
//     owns every PolicyRef and CompiledRule once (deques: addresses stay put), whatever
//     number of targets share them.
//   TargetPolicies ── one RuleIndex per action (CUSTOM, DENY, ALLOW, AUDIT) and, for the
//     dry-run policies, per action again; plus whether an ALLOW policy applies at all.
//   RuleIndex ── the rules of one action at one target, in evaluation order, each filed in
//     one bucket by the one request fact it needs (see authz.h "Cost"):
//        principal  exact SPIFFE ID URI     "spiffe://cluster.local/ns/a/sa/b"
//        account    exact account@domain    "frontend@cluster.local"
//        path       exact path              "/healthz"
//        prefix     path prefix             "/api/"  (probed once per distinct length)
//        method     exact method            "DELETE"
//        always     none of those (checked for every request)
//     A rule goes under principal/account when every `from` lists principals and all of
//     them are exact; else under path when every `to` lists paths and all are exact or
//     prefixes; else under method likewise; else always. The condition is necessary for the
//     rule to match, so skipping a rule whose bucket the request does not hit never changes a
//     decision. A lookup gathers the candidates of the request's buckets, sorts them into
//     evaluation order (they may come from several buckets) and stops at the first match.

#include "core/policy/authz.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <tuple>

#include "core/base/strings.h"
#include "core/policy/rule.h"
#include "core/route/string_index.h"

namespace gh::policy {

namespace {

constexpr std::string_view kSpiffe = "spiffe://";

// The rule's principal keys when every `from` has only exact principals; else false.
bool principalKeys(const config::AuthzRule& r, std::vector<std::string>* uris,
                   std::vector<std::string>* accounts) {
  if (r.from.empty()) return false;
  for (const config::AuthzSource& s : r.from) {
    if (s.principals.empty()) return false;
    for (const std::string& p : s.principals)
      if (p.find('*') != std::string::npos) return false;
  }
  for (const config::AuthzSource& s : r.from) {
    for (const std::string& p : s.principals) {
      if (p.find('@') != std::string::npos) {
        accounts->push_back(p);
      } else {
        uris->push_back(str::startsWith(p, kSpiffe) ? p : std::string(kSpiffe) + p);
      }
    }
  }
  return true;
}

// Exact paths and prefixes when every `to` has paths of those forms only.
bool pathKeys(const config::AuthzRule& r, std::vector<std::string>* exact,
              std::vector<std::string>* prefixes) {
  if (r.to.empty()) return false;
  for (const config::AuthzOperation& o : r.to) {
    if (o.paths.empty()) return false;
    for (const std::string& p : o.paths)
      if (p.empty() || p.front() == '*' ||
          (p.back() == '*' && p.find('*') != p.size() - 1) || p == "*")
        return false;
  }
  for (const config::AuthzOperation& o : r.to) {
    for (const std::string& p : o.paths) {
      if (p.back() == '*')
        prefixes->push_back(p.substr(0, p.size() - 1));
      else
        exact->push_back(p);
    }
  }
  return true;
}

bool methodKeys(const config::AuthzRule& r, std::vector<std::string>* methods) {
  if (r.to.empty()) return false;
  for (const config::AuthzOperation& o : r.to) {
    if (o.methods.empty()) return false;
    for (const std::string& m : o.methods)
      if (m.find('*') != std::string::npos) return false;
  }
  for (const config::AuthzOperation& o : r.to)
    for (const std::string& m : o.methods) methods->push_back(m);
  return true;
}

// The candidate buffer of the calling thread: reused, so a lookup does not allocate once it
// has grown to the largest candidate set seen.
std::vector<uint32_t>& candidateBuffer() {
  thread_local std::vector<uint32_t> buffer;
  return buffer;
}

}  // namespace

// --- RuleIndex ----------------------------------------------------------------------------

class RuleIndex {
 public:
  // `rules` with their source (for the facets), in evaluation order.
  void build(const std::vector<std::pair<const CompiledRule*, const config::AuthzRule*>>& rules);

  bool empty() const { return rules_.empty(); }
  // The first rule (in evaluation order) that matches, or nullptr.
  const CompiledRule* first(MatchContext& c) const;
  // Every rule that matches, in order.
  void all(MatchContext& c, std::vector<const CompiledRule*>* out) const;
  // How many rules a request would visit.
  size_t visited(MatchContext& c) const;

 private:
  struct Span {
    uint32_t begin = 0;
    uint32_t count = 0;
  };
  using Buckets = route::StringIndex<Span>;

  // Candidates of `c` into `out`, sorted and unique.
  void gather(MatchContext& c, std::vector<uint32_t>* out) const;
  void add(const Buckets& b, std::string_view key, std::vector<uint32_t>* out) const;

  std::vector<const CompiledRule*> rules_;  // evaluation order; ids index this
  std::vector<uint32_t> ids_;               // bucket contents
  std::deque<std::string> keys_;            // the bytes the buckets' keys view
  Buckets byUri_, byAccount_, byPath_, byPrefix_, byMethod_;
  std::vector<uint32_t> prefixLengths_;  // distinct, ascending
  std::vector<uint32_t> always_;
};

void RuleIndex::build(
    const std::vector<std::pair<const CompiledRule*, const config::AuthzRule*>>& rules) {
  // key -> ids, per facet; then flattened into ids_ with one Span per key.
  std::map<std::string, std::vector<uint32_t>> uri, account, path, prefix, method;
  for (uint32_t id = 0; id < rules.size(); ++id) {
    rules_.push_back(rules[id].first);
    const config::AuthzRule& r = *rules[id].second;
    std::vector<std::string> a, b;
    if (principalKeys(r, &a, &b)) {
      for (const std::string& k : a) uri[k].push_back(id);
      for (const std::string& k : b) account[k].push_back(id);
    } else if (a.clear(), b.clear(), pathKeys(r, &a, &b)) {
      for (const std::string& k : a) path[k].push_back(id);
      for (const std::string& k : b) prefix[k].push_back(id);
    } else if (a.clear(), methodKeys(r, &a)) {
      for (const std::string& k : a) method[k].push_back(id);
    } else {
      always_.push_back(id);
    }
  }
  auto flatten = [this](const std::map<std::string, std::vector<uint32_t>>& m) {
    std::vector<std::pair<std::string_view, Span>> entries;
    for (const auto& [key, list] : m) {
      keys_.push_back(key);
      std::vector<uint32_t> unique = list;
      unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
      Span s{static_cast<uint32_t>(ids_.size()), static_cast<uint32_t>(unique.size())};
      ids_.insert(ids_.end(), unique.begin(), unique.end());
      entries.emplace_back(keys_.back(), s);
    }
    return Buckets(entries);
  };
  byUri_ = flatten(uri);
  byAccount_ = flatten(account);
  byPath_ = flatten(path);
  byPrefix_ = flatten(prefix);
  byMethod_ = flatten(method);
  std::set<uint32_t> lengths;
  for (const auto& [key, list] : prefix) lengths.insert(static_cast<uint32_t>(key.size()));
  prefixLengths_.assign(lengths.begin(), lengths.end());
}

void RuleIndex::add(const Buckets& b, std::string_view key, std::vector<uint32_t>* out) const {
  if (b.empty()) return;
  if (const Span* s = b.find(key))
    out->insert(out->end(), ids_.begin() + s->begin, ids_.begin() + s->begin + s->count);
}

void RuleIndex::gather(MatchContext& c, std::vector<uint32_t>* out) const {
  out->clear();
  out->insert(out->end(), always_.begin(), always_.end());
  const Request& r = c.request;
  if (!byUri_.empty() && !r.principal.empty()) add(byUri_, r.principal, out);
  if (!byAccount_.empty() && !r.principal.empty()) {
    const identity::SpiffeId& id = c.peer();
    if (id.isWorkload()) {
      thread_local std::string key;
      key.assign(id.serviceAccount());
      key += '@';
      key += id.trustDomain();
      add(byAccount_, key, out);
    }
  }
  add(byPath_, r.path, out);
  for (uint32_t len : prefixLengths_) {
    if (len > r.path.size()) break;
    add(byPrefix_, r.path.substr(0, len), out);
  }
  add(byMethod_, r.method, out);
  if (out->size() > 1) {
    std::sort(out->begin(), out->end());
    out->erase(std::unique(out->begin(), out->end()), out->end());
  }
}

const CompiledRule* RuleIndex::first(MatchContext& c) const {
  if (rules_.empty()) return nullptr;
  std::vector<uint32_t>& candidates = candidateBuffer();
  gather(c, &candidates);
  for (uint32_t id : candidates)
    if (rules_[id]->matches(c)) return rules_[id];
  return nullptr;
}

void RuleIndex::all(MatchContext& c, std::vector<const CompiledRule*>* out) const {
  if (rules_.empty()) return;
  std::vector<uint32_t>& candidates = candidateBuffer();
  gather(c, &candidates);
  for (uint32_t id : candidates)
    if (rules_[id]->matches(c)) out->push_back(rules_[id]);
}

size_t RuleIndex::visited(MatchContext& c) const {
  if (rules_.empty()) return 0;
  std::vector<uint32_t> candidates;
  gather(c, &candidates);
  return candidates.size();
}

// --- TargetPolicies -------------------------------------------------------------------------

struct TargetPolicies::Impl {
  RuleIndex custom, deny, allow, audit;     // enforced
  RuleIndex dryDeny, dryAllow, dryAudit;    // dry-run
  bool hasAllow = false;     // an enforced ALLOW policy applies (with rules or not)
  bool hasDryAllow = false;  // a dry-run ALLOW policy applies
  bool hasDryRun = false;
  std::map<std::string, const config::ExtensionProvider*> providers;  // CUSTOM, by name
};

TargetPolicies::TargetPolicies(std::unique_ptr<Impl> impl, std::vector<const PolicyRef*> policies)
    : impl_(std::move(impl)), policies_(std::move(policies)) {}
TargetPolicies::~TargetPolicies() = default;

namespace {

// The earlier (in evaluation order) of two matches.
const CompiledRule* earlier(const CompiledRule* a, const CompiledRule* b) {
  if (a == nullptr) return b;
  if (b == nullptr) return a;
  return a->ordinal < b->ordinal ? a : b;
}

}  // namespace

Decision TargetPolicies::evaluate(const Request& request) const {
  const Impl& t = *impl_;
  Decision d;
  MatchContext c(request);
  if (!t.custom.empty()) {
    std::vector<const CompiledRule*> matched;
    t.custom.all(c, &matched);
    for (const CompiledRule* r : matched) {
      bool seen = std::any_of(d.custom.begin(), d.custom.end(), [&](const CustomCheck& k) {
        return k.policy->provider == r->policy->provider;
      });
      if (seen) continue;
      auto p = t.providers.find(r->policy->provider);
      d.custom.push_back(CustomCheck{r->policy, r->index,
                                     p != t.providers.end() ? p->second : nullptr});
    }
  }
  const CompiledRule* audit = t.audit.first(c);
  if (audit != nullptr) {
    d.audit = true;
    d.auditPolicy = audit->policy;
    d.auditRule = audit->index;
  }
  const CompiledRule* deny = t.deny.first(c);
  const CompiledRule* allow = nullptr;
  if (deny != nullptr) {
    d.allow = false;
    d.by = Decision::By::kDeny;
    d.policy = deny->policy;
    d.rule = deny->index;
  } else if (!t.hasAllow) {
    d.by = Decision::By::kNoAllowPolicy;
  } else if ((allow = t.allow.first(c)) != nullptr) {
    d.by = Decision::By::kAllow;
    d.policy = allow->policy;
    d.rule = allow->index;
  } else {
    d.allow = false;
    d.by = Decision::By::kNoAllowMatched;
  }
  if (!t.hasDryRun) return d;

  // The same order with the dry-run policies enforced too.
  Decision::DryRun& w = d.dryRun;
  w.evaluated = true;
  w.audit = d.audit || t.dryAudit.first(c) != nullptr;
  const CompiledRule* wouldDeny = earlier(deny, t.dryDeny.first(c));
  if (wouldDeny != nullptr) {
    w.allow = false;
    w.by = Decision::By::kDeny;
    w.policy = wouldDeny->policy;
    w.rule = wouldDeny->index;
    return d;
  }
  if (!t.hasAllow && !t.hasDryAllow) {
    w.by = Decision::By::kNoAllowPolicy;
    return d;
  }
  if (t.hasAllow && allow == nullptr && deny == nullptr) allow = t.allow.first(c);
  const CompiledRule* wouldAllow = earlier(allow, t.dryAllow.first(c));
  if (wouldAllow != nullptr) {
    w.by = Decision::By::kAllow;
    w.policy = wouldAllow->policy;
    w.rule = wouldAllow->index;
  } else {
    w.allow = false;
    w.by = Decision::By::kNoAllowMatched;
  }
  return d;
}

size_t TargetPolicies::visitedRules(const Request& request) const {
  const Impl& t = *impl_;
  MatchContext c(request);
  size_t n = 0;
  for (const RuleIndex* i : {&t.custom, &t.deny, &t.allow, &t.audit, &t.dryDeny, &t.dryAllow,
                             &t.dryAudit})
    n += i->visited(c);
  return n;
}

// --- PolicyIndex ----------------------------------------------------------------------------

struct PolicyIndex::Impl {
  std::string rootNamespace;
  std::vector<config::ExtensionProvider> providers;
  std::deque<PolicyRef> policies;       // evaluation order
  std::deque<CompiledRule> rules;       // evaluation order (ordinal == position)
  std::map<std::pair<std::string, std::string>, std::unique_ptr<TargetPolicies>> workloads;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<TargetPolicies>> listeners;
  std::unique_ptr<TargetPolicies> empty;
};

PolicyIndex::PolicyIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PolicyIndex::~PolicyIndex() = default;

namespace {

struct Source {  // one policy being compiled
  const config::Resource* resource;
  const PolicyRef* ref;
  std::vector<const CompiledRule*> rules;
};

std::unique_ptr<TargetPolicies> buildTarget(const std::vector<const Source*>& applicable,
                                            const std::vector<config::ExtensionProvider>& provs) {
  auto impl = std::make_unique<TargetPolicies::Impl>();
  using Entries = std::vector<std::pair<const CompiledRule*, const config::AuthzRule*>>;
  Entries custom, deny, allow, audit, dryDeny, dryAllow, dryAudit;
  std::vector<const PolicyRef*> refs;
  for (const Source* s : applicable) {
    refs.push_back(s->ref);
    const config::AuthorizationPolicySpec& spec = s->resource->authorizationPolicy();
    bool dry = spec.dryRun;
    impl->hasDryRun |= dry;
    Entries* into = nullptr;
    switch (spec.action) {
      case config::AuthzAction::kCustom:
        into = &custom;
        break;
      case config::AuthzAction::kDeny:
        into = dry ? &dryDeny : &deny;
        break;
      case config::AuthzAction::kAllow:
        into = dry ? &dryAllow : &allow;
        (dry ? impl->hasDryAllow : impl->hasAllow) = true;
        break;
      case config::AuthzAction::kAudit:
        into = dry ? &dryAudit : &audit;
        break;
    }
    for (size_t i = 0; i < s->rules.size(); ++i) into->emplace_back(s->rules[i], &spec.rules[i]);
  }
  impl->custom.build(custom);
  impl->deny.build(deny);
  impl->allow.build(allow);
  impl->audit.build(audit);
  impl->dryDeny.build(dryDeny);
  impl->dryAllow.build(dryAllow);
  impl->dryAudit.build(dryAudit);
  for (const config::ExtensionProvider& p : provs) impl->providers.emplace(p.name, &p);
  return std::make_unique<TargetPolicies>(std::move(impl), std::move(refs));
}

bool selects(const config::AuthorizationPolicySpec& p, const config::ObjectMeta& target) {
  if (!p.hasSelector) return true;
  for (const auto& [k, v] : p.matchLabels) {
    auto it = target.labels.find(k);
    if (it == target.labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

Result<std::shared_ptr<const PolicyIndex>> PolicyIndex::compile(
    const std::vector<config::Resource>& resources) {
  std::vector<const config::Resource*> ptrs;
  for (const config::Resource& r : resources) ptrs.push_back(&r);
  return compile(ptrs);
}

Result<std::shared_ptr<const PolicyIndex>> PolicyIndex::compile(
    const std::vector<const config::Resource*>& resources) {
  auto impl = std::make_unique<Impl>();
  impl->rootNamespace = config::MeshConfigSpec{}.rootNamespace;
  std::vector<const config::Resource*> policies, workloads, listeners;
  for (const config::Resource* r : resources) {
    switch (r->kind) {
      case config::Kind::kMeshConfig:
        impl->rootNamespace = r->meshConfig().rootNamespace;
        impl->providers = r->meshConfig().extensionProviders;
        break;
      case config::Kind::kAuthorizationPolicy:
        policies.push_back(r);
        break;
      case config::Kind::kWorkload:
        workloads.push_back(r);
        break;
      case config::Kind::kListener:
        if (r->listener().protocol == config::Protocol::kHttp ||
            r->listener().protocol == config::Protocol::kHttps)
          listeners.push_back(r);
        break;
      default:
        break;
    }
  }
  // Evaluation order: namespace/name, then rule order.
  std::sort(policies.begin(), policies.end(), [](const auto* a, const auto* b) {
    return std::tie(a->meta.ns, a->meta.name) < std::tie(b->meta.ns, b->meta.name);
  });
  std::vector<Source> sources;
  for (const config::Resource* r : policies) {
    const config::AuthorizationPolicySpec& spec = r->authorizationPolicy();
    if (spec.action == config::AuthzAction::kCustom) {
      bool declared = std::any_of(impl->providers.begin(), impl->providers.end(),
                                  [&](const auto& p) { return p.name == spec.provider; });
      if (!declared)
        return Status::error("AuthorizationPolicy " + r->meta.ns + "/" + r->meta.name +
                             ": provider \"" + spec.provider + "\" is not declared");
    }
    PolicyRef& ref = impl->policies.emplace_back();
    ref.ns = r->meta.ns;
    ref.name = r->meta.name;
    ref.action = spec.action;
    ref.dryRun = spec.dryRun;
    ref.ruleCount = spec.rules.size();
    ref.provider = spec.provider;
    Source s{r, &ref, {}};
    for (size_t i = 0; i < spec.rules.size(); ++i) {
      auto rule = CompiledRule::compile(spec.rules[i]);
      if (!rule.ok())
        return Status::error("AuthorizationPolicy " + ref.label() + ": spec.rules[" +
                             std::to_string(i) + "]: " + rule.status().message());
      CompiledRule& c = impl->rules.emplace_back(std::move(*rule));
      c.policy = &ref;
      c.index = static_cast<int>(i);
      c.ordinal = static_cast<uint32_t>(impl->rules.size() - 1);
      s.rules.push_back(&c);
    }
    sources.push_back(std::move(s));
  }

  const std::string& root = impl->rootNamespace;
  for (const config::Resource* w : workloads) {
    std::vector<const Source*> applicable;
    for (const Source& s : sources) {
      const config::AuthorizationPolicySpec& p = s.resource->authorizationPolicy();
      if (!p.targetRefs.empty()) continue;
      const std::string& ns = s.resource->meta.ns;
      if ((ns == w->meta.ns || ns == root) && selects(p, w->meta)) applicable.push_back(&s);
    }
    impl->workloads[{w->meta.ns, w->meta.name}] = buildTarget(applicable, impl->providers);
  }
  for (const config::Resource* l : listeners) {
    std::vector<const Source*> applicable;
    for (const Source& s : sources) {
      const config::AuthorizationPolicySpec& p = s.resource->authorizationPolicy();
      bool targeted = std::any_of(p.targetRefs.begin(), p.targetRefs.end(), [&](const auto& t) {
        return s.resource->meta.ns == l->meta.ns && t.name == l->meta.name;
      });
      bool everywhere = p.targetRefs.empty() && !p.hasSelector && s.resource->meta.ns == root;
      if (targeted || everywhere) applicable.push_back(&s);
    }
    impl->listeners[{l->meta.ns, l->meta.name}] = buildTarget(applicable, impl->providers);
  }
  impl->empty = buildTarget({}, impl->providers);
  return std::shared_ptr<const PolicyIndex>(new PolicyIndex(std::move(impl)));
}

const TargetPolicies* PolicyIndex::forWorkload(std::string_view ns, std::string_view name) const {
  auto it = impl_->workloads.find({std::string(ns), std::string(name)});
  return it != impl_->workloads.end() ? it->second.get() : impl_->empty.get();
}

const TargetPolicies* PolicyIndex::forListener(std::string_view ns, std::string_view name) const {
  auto it = impl_->listeners.find({std::string(ns), std::string(name)});
  return it != impl_->listeners.end() ? it->second.get() : impl_->empty.get();
}

size_t PolicyIndex::policyCount() const {
  return impl_->policies.size();
}

const std::string& PolicyIndex::rootNamespace() const {
  return impl_->rootNamespace;
}

// --- Decisions ------------------------------------------------------------------------------

void denyByCustom(Decision* d, const CustomCheck& check) {
  d->allow = false;
  d->by = Decision::By::kCustom;
  d->policy = check.policy;
  d->rule = check.rule;
}

const char* byName(Decision::By by) {
  switch (by) {
    case Decision::By::kCustom:
      return "custom";
    case Decision::By::kDeny:
      return "deny";
    case Decision::By::kNoAllowPolicy:
      return "no_allow_policy";
    case Decision::By::kAllow:
      return "allow";
    case Decision::By::kNoAllowMatched:
      return "no_allow_matched";
  }
  return "?";
}

namespace {

std::string policyRule(const PolicyRef* p, int rule) {
  return std::string(config::authzActionName(p->action)) + " policy " + p->label() + " rule " +
         std::to_string(rule);
}

std::string outcome(bool allow, Decision::By by, const PolicyRef* p, int rule) {
  switch (by) {
    case Decision::By::kCustom:
      return "denied by " + policyRule(p, rule) + " (provider " + p->provider + ")";
    case Decision::By::kDeny:
      return "denied by " + policyRule(p, rule);
    case Decision::By::kNoAllowPolicy:
      return "allowed: no ALLOW policy applies";
    case Decision::By::kAllow:
      return "allowed by " + policyRule(p, rule);
    case Decision::By::kNoAllowMatched:
      return "denied: no ALLOW matched";
  }
  return allow ? "allowed" : "denied";
}

}  // namespace

std::string explain(const Decision& d) {
  std::string out = outcome(d.allow, d.by, d.policy, d.rule);
  if (d.audit) out += "; audited by " + policyRule(d.auditPolicy, d.auditRule);
  if (d.by != Decision::By::kCustom) {
    for (const CustomCheck& c : d.custom)
      out += "; CUSTOM check pending: provider " + c.policy->provider + " (policy " +
             c.policy->label() + " rule " + std::to_string(c.rule) + ")";
  }
  if (d.dryRun.evaluated) {
    std::string would = outcome(d.dryRun.allow, d.dryRun.by, d.dryRun.policy, d.dryRun.rule);
    // "denied by ..." -> "would be denied by ..."
    out += "; dry-run: would be " + would;
  }
  return out;
}

}  // namespace gh::policy
