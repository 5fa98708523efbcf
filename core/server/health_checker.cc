#include "core/server/health_checker.h"

#include <algorithm>

#include "core/base/log.h"

namespace gh::server {

HealthChecker::HealthChecker(event::Loop& loop) : loop_(loop) {}

HealthChecker::~HealthChecker() = default;

void HealthChecker::stop() { services_.clear(); }

size_t HealthChecker::probedEndpoints() const {
  size_t n = 0;
  for (const auto& c : services_) n += c->targets.size();
  return n;
}

void HealthChecker::adopt(const config::Snapshot& snap) {
  std::vector<std::unique_ptr<Checked>> next;
  for (const upstream::Service& svc : snap.services) {
    if (!svc.health) continue;
    auto c = std::make_unique<Checked>();
    c->label = svc.label;
    c->host = svc.name;
    c->path = svc.healthPath;
    c->table = svc.health;
    c->tracker.reset(svc.healthPolicy, svc.endpoints.size());
    Checked* old = nullptr;
    for (auto& o : services_)
      if (o && o->label == svc.label) old = o.get();
    for (uint32_t i = 0; i < svc.endpoints.size(); ++i) {
      const upstream::Endpoint& e = svc.endpoints[i];
      std::unique_ptr<Target> t;
      if (old) {
        for (auto& ot : old->targets) {
          if (!ot || ot->label != e.label) continue;
          // Kept: its state, and its probe and timer as they are (a probe in flight reports
          // to the new tracker).
          c->tracker.copyEndpoint(old->tracker, ot->index, i);
          t = std::move(ot);
          break;
        }
      }
      if (!t) {
        t = std::make_unique<Target>();
        t->owner = this;
        t->address = e.address;
        t->label = e.label;
        t->probe = std::make_unique<upstream::HealthProbe>(loop_, &HealthChecker::onResult,
                                                           t.get());
        t->timer = std::make_unique<event::Timer>(loop_, &HealthChecker::onTimer, t.get());
        // Spread first probes over the start of the interval (see the header).
        seed_ = seed_ * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t spread = std::min<uint64_t>(svc.healthPolicy.intervalMs / 10, 1000);
        t->timer->arm(spread ? (seed_ >> 33) % spread : 0, false);
      }
      t->service = c.get();
      t->index = i;
      c->table->set(i, c->tracker.routable(i));
      c->targets.push_back(std::move(t));
    }
    next.push_back(std::move(c));
  }
  services_ = std::move(next);  // endpoints not carried over: probes cancelled, timers freed
}

void HealthChecker::onTimer(void* arg) {
  auto* t = static_cast<Target*>(arg);
  const Checked& c = *t->service;
  t->probe->start(t->address, c.host, c.path, c.tracker.policy().timeoutMs);
}

void HealthChecker::onResult(void* arg, upstream::ProbeResult result) {
  auto* t = static_cast<Target*>(arg);
  HealthChecker& self = *t->owner;
  Checked& c = *t->service;
  self.results_[static_cast<int>(result)].inc();
  if (c.tracker.record(t->index, result)) {
    bool up = c.tracker.routable(t->index);
    c.table->set(t->index, up);
    self.transitions_[up ? 1 : 0].inc();
    if (up)
      LOG_INFO("health check: endpoint %s of Service %s is healthy", t->label.c_str(),
               c.label.c_str());
    else
      LOG_WARN("health check: endpoint %s of Service %s is unhealthy (%s)", t->label.c_str(),
               c.label.c_str(), result == upstream::ProbeResult::kTimeout ? "timeout" : "failed");
  }
  t->timer->arm(c.tracker.policy().intervalMs);
}

void HealthChecker::renderMetrics(std::string& out) const {
  static const char* kResult[] = {"pass", "fail", "timeout"};
  out += "# HELP gatehouse_upstream_health_checks_total Active health-check probes, by result.\n"
         "# TYPE gatehouse_upstream_health_checks_total counter\n";
  for (int r = 0; r < 3; ++r)
    out += std::string("gatehouse_upstream_health_checks_total{result=\"") + kResult[r] +
           "\"} " + std::to_string(results_[r].get()) + "\n";
  out += "# HELP gatehouse_upstream_health_transitions_total Endpoints that active health checks "
         "took out of service (unhealthy) or put back (healthy).\n"
         "# TYPE gatehouse_upstream_health_transitions_total counter\n";
  out += "gatehouse_upstream_health_transitions_total{to=\"unhealthy\"} " +
         std::to_string(transitions_[0].get()) + "\n";
  out += "gatehouse_upstream_health_transitions_total{to=\"healthy\"} " +
         std::to_string(transitions_[1].get()) + "\n";
  size_t healthy = 0, total = 0;
  for (const auto& c : services_)
    for (size_t i = 0; i < c->targets.size(); ++i) {
      ++total;
      if (c->tracker.routable(i)) ++healthy;
    }
  out += "# HELP gatehouse_upstream_health_checked_endpoints Endpoints under active health "
         "checks, by state.\n# TYPE gatehouse_upstream_health_checked_endpoints gauge\n";
  out += "gatehouse_upstream_health_checked_endpoints{state=\"routable\"} " +
         std::to_string(healthy) + "\n";
  out += "gatehouse_upstream_health_checked_endpoints{state=\"unhealthy\"} " +
         std::to_string(total - healthy) + "\n";
}

}  // namespace gh::server
