#include "core/server/dns_endpoints.h"

#include <algorithm>

#include "core/base/log.h"
#include "core/telemetry/prometheus.h"

namespace gh::server {

DnsEndpoints::DnsEndpoints(event::Loop& loop, std::vector<net::Address> nameservers,
                           std::function<void()> onChange)
    : loop_(loop), nameservers_(std::move(nameservers)), onChange_(std::move(onChange)) {
  changed_ = std::make_unique<event::Timer>(loop_, &DnsEndpoints::onTimer, this);
}

// The watch goes first: it holds a reference to the resolver.
DnsEndpoints::~DnsEndpoints() {
  watch_.reset();
  resolver_.reset();
}

namespace {

// The names of `resources`' DNS endpoints, each once. Watches are keyed by name only, with
// port 0 (compile applies each endpoint's port), so an edit of the port alone keeps the
// name's addresses.
std::vector<std::pair<std::string, uint16_t>> wantedNames(
    const std::vector<config::Resource>& resources) {
  std::vector<std::pair<std::string, uint16_t>> out;
  for (const auto& [name, port] : config::dnsEndpoints(resources))
    if (std::find(out.begin(), out.end(), std::make_pair(name, uint16_t{0})) == out.end())
      out.emplace_back(name, 0);
  return out;
}

}  // namespace

void DnsEndpoints::keepOnly(const std::vector<config::Resource>& resources) {
  if (!watch_) return;
  const std::vector<std::pair<std::string, uint16_t>> wanted = wantedNames(resources);
  for (const auto& [name, port] : watch_->watched())
    if (std::find(wanted.begin(), wanted.end(), std::make_pair(name, port)) == wanted.end())
      watch_->unwatch(name, port);
}

void DnsEndpoints::watchAll(const std::vector<config::Resource>& resources) {
  std::vector<std::pair<std::string, uint16_t>> wanted = wantedNames(resources);
  if (!watch_) {
    if (wanted.empty()) return;
    net::Resolver::Options options;
    options.nameservers = nameservers_;
    resolver_ = std::make_unique<net::Resolver>(loop_, options);
    net::DnsWatch::Options watchOptions;
    watch_ = std::make_unique<net::DnsWatch>(
        loop_, *resolver_, watchOptions,
        [this](const std::string& name, uint16_t, const std::vector<net::Address>& a) {
          LOG_INFO("dns: %s now has %zu address(es)%s%s", name.c_str(), a.size(),
                   a.empty() ? "" : ", first ", a.empty() ? "" : a[0].ip().c_str());
          if (!pending_) {
            pending_ = true;
            changed_->arm(republishDelayMs(event::Loop::nowMs(), lastRepublishMs_), false);
          }
        });
  }
  for (const auto& [name, port] : wanted) watch_->watch(name, port);
}

config::DnsLookupFn DnsEndpoints::lookup() const {
  if (!watch_) return {};
  const net::DnsWatch* w = watch_.get();
  return [w](const std::string& name, uint16_t) { return w->current(name, 0); };
}

size_t DnsEndpoints::watchedNames() const {
  return watch_ ? watch_->watched().size() : 0;
}

void DnsEndpoints::onTimer(void* arg) {
  auto* self = static_cast<DnsEndpoints*>(arg);
  self->pending_ = false;
  self->lastRepublishMs_ = event::Loop::nowMs();
  self->onChange_();
}

uint64_t DnsEndpoints::republishDelayMs(uint64_t nowMs, uint64_t lastMs) {
  if (lastMs == 0 || nowMs >= lastMs + kMinRepublishMs) return 0;
  return lastMs + kMinRepublishMs - nowMs;
}

void DnsEndpoints::renderMetrics(std::string& out) const {
  uint64_t lookups = watch_ ? watch_->lookups() : 0;
  uint64_t failures = watch_ ? watch_->failures() : 0;
  out +=
      "# HELP gatehouse_dns_lookups_total Lookups of endpoint DNS names, by result (a failed "
      "one keeps the name's last good addresses).\n"
      "# TYPE gatehouse_dns_lookups_total counter\n";
  out += "gatehouse_dns_lookups_total{result=\"success\"} " + std::to_string(lookups - failures) +
         "\n";
  out += "gatehouse_dns_lookups_total{result=\"failure\"} " + std::to_string(failures) + "\n";
  telemetry::renderCounter(out, "gatehouse_dns_changes_total",
                           "Answers that changed a DNS endpoint name's addresses (each one "
                           "republishes the serving version with the new endpoints).",
                           watch_ ? watch_->changes() : 0);
  telemetry::renderGauge(out, "gatehouse_dns_names",
                         "Endpoint DNS names the serving configuration watches.",
                         static_cast<double>(watchedNames()));
}

}  // namespace gh::server
