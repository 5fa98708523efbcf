#include "core/config/request_policy.h"

#include <map>
#include <mutex>

#include "core/config/snapshot.h"
#include "core/telemetry/prometheus.h"

namespace gh::config {

namespace {

// Tables of the versions still served, by everything that makes a table reusable. Only the
// control thread compiles, but tests compile from several threads: hence the mutex (never
// taken on the request path).
std::mutex gTablesMu;
std::map<std::string, std::weak_ptr<policy::RateLimitTable>> gTables;

std::shared_ptr<policy::RateLimitTable> tableFor(const std::string& identity,
                                                 const RateLimitValue& v, uint64_t maxKeys) {
  policy::RateLimitSpec spec;
  spec.tokens = v.requests;
  spec.intervalNs = v.perMs * 1'000'000;
  spec.burst = v.burst;
  std::string key = identity + "|" + std::to_string(v.requests) + "|" +
                    std::to_string(v.perMs) + "|" + std::to_string(v.burst) + "|" +
                    std::to_string(maxKeys);
  std::lock_guard<std::mutex> lock(gTablesMu);
  for (auto it = gTables.begin(); it != gTables.end();)
    it = it->second.expired() ? gTables.erase(it) : std::next(it);
  if (auto existing = gTables[key].lock()) return existing;
  auto table = std::make_shared<policy::RateLimitTable>(spec, maxKeys);
  gTables[key] = table;
  return table;
}

std::string quoted(std::string_view name, std::string_view value) {
  return std::string(name) + "=\"" + telemetry::escapeLabelValue(value) + "\"";
}

bool selects(const EgressPolicySpec& p, const Resource& egressPolicy, const Resource& workload) {
  if (workload.meta.ns != egressPolicy.meta.ns) return false;
  if (!p.workload.empty()) return p.workload == workload.meta.name;
  for (const auto& [k, v] : p.matchLabels) {
    auto it = workload.meta.labels.find(k);
    if (it == workload.meta.labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

int32_t CompiledEgress::allow(uint32_t service, std::string_view host) const {
  for (const Host& h : hosts) {
    if (h.wildcard ? host.size() > h.name.size() && host.ends_with(h.name) : host == h.name)
      return h.entry;
  }
  return service < serviceEntry.size() ? serviceEntry[service] : -1;
}

Status attachRequestPolicies(const std::vector<Resource>& resources,
                             const std::vector<upstream::Service>& services,
                             std::vector<CompiledListener>* listeners,
                             const TrafficSlotFns& slots) {
  // RateLimits, by target.
  std::map<std::pair<std::string, std::string>, RateLimitList> byListener, byRoute;
  for (const Resource& r : resources) {
    if (r.kind != Kind::kRateLimit) continue;
    const RateLimitSpec& spec = r.rateLimit();
    auto limit = std::make_shared<CompiledRateLimit>();
    limit->label = r.meta.ns + "/" + r.meta.name;
    limit->key = spec.key;
    limit->header = spec.header;
    limit->table = tableFor("RateLimit " + limit->label + "|" +
                                std::to_string(static_cast<int>(spec.key)) + "|" + spec.header,
                            spec.limit, spec.maxKeys);
    if (slots.rateLimit)
      limit->slot = slots.rateLimit(quoted("kind", "RateLimit") + "," +
                                    quoted("name", limit->label));
    for (const RateLimitTargetRef& t : spec.targetRefs) {
      auto& list = t.kind == RateLimitTargetRef::Kind::kListener ? byListener : byRoute;
      list[{r.meta.ns, t.name}].push_back(limit);
    }
  }

  // EgressPolicies, by Workload.
  std::map<std::pair<std::string, std::string>, std::shared_ptr<CompiledEgress>> egress;
  std::map<std::pair<std::string, std::string>, uint32_t> serviceIndex;
  for (const upstream::Service& s : services) serviceIndex[{s.ns, s.name}] = s.index;
  const Resource* onlyWorkload = nullptr;
  size_t workloads = 0;
  for (const Resource& w : resources) {
    if (w.kind != Kind::kWorkload) continue;
    ++workloads;
    onlyWorkload = &w;
    for (const Resource& r : resources) {
      if (r.kind != Kind::kEgressPolicy || !selects(r.egressPolicy(), r, w)) continue;
      auto& e = egress[{w.meta.ns, w.meta.name}];
      if (!e) {
        e = std::make_shared<CompiledEgress>();
        e->workload = w.meta.ns + "/" + w.meta.name;
        e->serviceEntry.assign(services.size(), -1);
        e->deniedSlot.assign(services.size(), 0);
        if (slots.egress) {
          for (const upstream::Service& s : services)
            e->deniedSlot[s.index] =
                slots.egress(quoted("workload", e->workload) + "," + quoted("destination", s.label));
        }
      }
      for (const EgressDestination& d : r.egressPolicy().egress) {
        std::shared_ptr<CompiledRateLimit> limit;
        std::string what = d.host.empty() ? d.serviceNs + "/" + d.service : d.host;
        if (d.rateLimit) {
          limit = std::make_shared<CompiledRateLimit>();
          limit->label = r.meta.ns + "/" + r.meta.name + ":" + what;
          limit->table = tableFor("EgressPolicy " + e->workload + "|" + limit->label,
                                  *d.rateLimit, 8);
          if (slots.rateLimit)
            limit->slot = slots.rateLimit(quoted("kind", "EgressPolicy") + "," +
                                          quoted("name", limit->label));
        }
        auto entry = static_cast<int32_t>(e->entries.size());
        e->entries.push_back(limit);
        if (!d.host.empty()) {
          CompiledEgress::Host h;
          h.wildcard = d.host.starts_with("*.");
          h.name = h.wildcard ? d.host.substr(1) : d.host;
          h.entry = entry;
          e->hosts.push_back(std::move(h));
          continue;
        }
        auto it = serviceIndex.find({d.serviceNs, d.service});
        if (it == serviceIndex.end())
          return Status::error("EgressPolicy " + r.meta.ns + "/" + r.meta.name + ": Service " +
                               what + " does not exist");
        // The first policy naming a Service decides its rate limit (they are ORed).
        if (e->serviceEntry[it->second] < 0) e->serviceEntry[it->second] = entry;
      }
    }
  }

  for (CompiledListener& l : *listeners) {
    if (auto it = byListener.find({l.ns, l.name}); it != byListener.end())
      l.rateLimits = it->second;
    for (const auto& [key, limits] : byRoute) {
      for (const Resource& r : resources) {
        if (r.kind != Kind::kHttpRoute || r.meta.ns != key.first || r.meta.name != key.second)
          continue;
        for (const ParentRef& p : r.route().parentRefs) {
          if (p.name == l.name && (p.ns.empty() ? r.meta.ns : p.ns) == l.ns) {
            l.routeRateLimits.push_back(RouteRateLimits{key.first, key.second, limits});
            break;
          }
        }
      }
    }
    if (l.spec.protocol == Protocol::kMeshOutbound) {
      std::pair<std::string, std::string> owner{l.ns, l.spec.workload};
      if (l.spec.workload.empty() && workloads == 1)
        owner = {onlyWorkload->meta.ns, onlyWorkload->meta.name};
      if (auto it = egress.find(owner); it != egress.end()) l.egress = it->second;
    }
  }
  return okStatus();
}

}  // namespace gh::config
