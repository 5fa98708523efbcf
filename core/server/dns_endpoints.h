#pragma once
// DnsEndpoints: keeps the Services' endpoints given as DNS names resolved, on the control thread.
//
// The model (docs/traffic.md "Endpoints given as DNS names"). Workers never see a name: a
// compiled Snapshot holds addresses only. This class owns the node's one Resolver and a
// DnsWatch over every (name, port) of the serving configuration; compile() asks lookup() for
// each name's current addresses. When a name's address set changes (its first answer, or a
// different one after its TTL), the server compiles the SAME stored version again with the new
// addresses and publishes it like a reload — the version does not change, since the stored
// configuration did not. Health-check state follows endpoints by address (HealthChecker::adopt),
// so a re-resolution that keeps an address keeps its state.
//
// Before a name's first answer it contributes no endpoint (a Service with no other endpoint
// answers 503 no_healthy_upstream, like Envoy's STRICT_DNS cluster before warming); a failed
// lookup keeps the last good addresses (DnsWatch).
//
// Changes are not acted on inside the resolver's callback: they arm a timer, so the server
// never recompiles re-entrantly (from inside its own reload). A DNS-driven recompile restarts
// more than the endpoints (docs/traffic.md), so they are at least kMinRepublishMs apart: a
// change within that interval of the last republish waits for its end, and every change in
// the wait makes that one republish.
//
// Owned by the Server; control thread only. The Resolver is made on the first name, so a
// configuration without DNS endpoints never reads /etc/resolv.conf.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config/snapshot.h"
#include "core/event/loop.h"
#include "core/net/resolver.h"

namespace gh::server {

class DnsEndpoints {
 public:
  // `nameservers`: empty for /etc/resolv.conf. `onChange` runs on the loop, outside any call
  // into this class, after one or more names changed their addresses.
  DnsEndpoints(event::Loop& loop, std::vector<net::Address> nameservers,
               std::function<void()> onChange);
  ~DnsEndpoints();

  // Watches every DNS endpoint of `resources` (a name already watched keeps its addresses; a
  // new one is asked now). Never unwatches: it runs before a version is compiled, and that
  // version may still be refused while the serving one goes on using its names.
  void watchAll(const std::vector<config::Resource>& resources);
  // Stops watching every name `resources` (the serving version's) does not use: after a new
  // snapshot is published, or after a refusal (dropping only what the refused version added).
  void keepOnly(const std::vector<config::Resource>& resources);
  // For compile(): the current addresses of a watched name (null before the first answer).
  config::DnsLookupFn lookup() const;
  size_t watchedNames() const;

  static constexpr uint64_t kMinRepublishMs = 1'000;
  // How long a change seen at `nowMs` waits when the last republish was at `lastMs` (0: none).
  static uint64_t republishDelayMs(uint64_t nowMs, uint64_t lastMs);

  // gatehouse_dns_lookups_total{result}, gatehouse_dns_changes_total, gatehouse_dns_names.
  void renderMetrics(std::string& out) const;

 private:
  static void onTimer(void* arg);

  event::Loop& loop_;
  std::vector<net::Address> nameservers_;
  std::function<void()> onChange_;
  std::unique_ptr<net::Resolver> resolver_;
  std::unique_ptr<net::DnsWatch> watch_;
  std::unique_ptr<event::Timer> changed_;
  bool pending_ = false;
  uint64_t lastRepublishMs_ = 0;
};

}  // namespace gh::server
