#pragma once
// Service: a compiled Service resource — where requests routed to it go.
//
// Immutable once compiled into a Snapshot and shared read-only by all workers. Per-worker
// mutable state (round-robin position, pooled connections) lives in the worker, indexed by
// Service::index, never in the Service itself.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config/model.h"
#include "core/net/address.h"
#include "core/upstream/balancer.h"
#include "core/upstream/circuit.h"
#include "core/upstream/health.h"
#include "core/upstream/outlier.h"

namespace gh::upstream {

struct Endpoint {
  net::Address address;
  uint32_t weight = 1;
  std::string label;  // "10.0.0.1:8080"
  std::string hostname;  // the DNS name it was resolved from ("" for an address in the config)
};

struct Service {
  std::string ns;
  std::string name;
  std::string label;  // "ns/name"
  uint32_t index = 0; // dense, per snapshot
  std::vector<Endpoint> endpoints;
  std::vector<uint64_t> cumulativeWeight;  // prefix sums of endpoint weights
  // The DNS endpoints of the config as "name:port", resolved or not (a name without an answer
  // yet contributes no endpoint); for the admin API.
  std::vector<std::string> dnsNames;
  std::optional<config::DirectResponse> directResponse;
  uint64_t connectTimeoutMs = 5'000;
  uint64_t idleTimeoutMs = 60'000;
  // Mesh: originate mTLS and require this peer identity; poolIdentity is the pool key part
  // (the identity, or "*" for any identity of the trust domain). Empty for plain services.
  bool mesh = false;
  std::string identity;
  std::string poolIdentity;

  // How a worker chooses among the endpoints (trafficPolicy.loadBalancer), compiled once per
  // snapshot; `usable` is every endpoint (health checks and outlier ejection will narrow it
  // per worker). For consistent hashing, `hash` says what the key is taken of.
  Balancer balancer;
  EndpointMask usable;
  config::ConsistentHash hash;
  // trafficPolicy.outlierDetection: each worker ejects endpoints from what it sees (the
  // detector lives with the worker's snapshot state); disabled when not configured.
  OutlierPolicy outlier{0, 0};
  // trafficPolicy.connectionPool limits (circuit breaking), node-wide as configured; each
  // worker takes its share (circuit.h). circuitBreaking is false when neither maxConnections
  // nor http1MaxPendingRequests is set (then no worker keeps any breaker state).
  ConnectionPoolLimits limits;
  bool circuitBreaking = false;
  // spec.healthCheck: null when not configured. The server's HealthChecker probes the
  // endpoints and writes the table; workers read it (health.h). healthPath and healthHost
  // make the probe's request line and Host header (the Service's name, as Envoy sends the
  // cluster name).
  std::shared_ptr<HealthTable> health;
  HealthCheckPolicy healthPolicy;
  std::string healthPath;

  // Weighted round robin: the n-th pick of a worker (n = its counter for this service).
  const Endpoint* pick(uint64_t n) const;
};

}  // namespace gh::upstream
