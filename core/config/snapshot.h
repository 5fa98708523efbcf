#pragma once
// Snapshot: one configuration version compiled for serving.
//
// Built once per version on the control thread (compile), then immutable and shared by all
// workers through shared_ptr. An exchange pins the snapshot it started with, so a reload never
// changes the rules under a request in flight; the old snapshot is freed when its last exchange
// ends. Everything a worker needs per request is precomputed here: route tables per listener,
// services with parsed endpoint addresses, HTTP limits, and the TLS context of each HTTPS
// listener (its certificate files are read here, so every version reads them afresh).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/base/status.h"
#include "core/config/model.h"
#include "core/config/request_policy.h"
#include "core/http/parser.h"
#include "core/net/address.h"
#include "core/policy/authz.h"
#include "core/route/route_table.h"
#include "core/script/script_set.h"
#include "core/tls/client_context.h"
#include "core/tls/peer.h"
#include "core/tls/server_context.h"
#include "core/upstream/service.h"

namespace gh::telemetry {
struct SnapshotLabels;
}

namespace gh::config {

// This node's workload identity as compile() needs it: read by the server from
// DATA_DIR/identity/ (identity::WorkloadIdentity) and passed to every compile, so a renewed
// certificate reaches new connections by compiling the same version again.
struct NodeIdentity {
  std::string spiffeId;      // ours, "spiffe://td/ns/x/sa/y"
  std::string trustDomain;
  std::shared_ptr<const tls::Certificate> certificate;  // leaf and key
  std::shared_ptr<const tls::PeerTrust> trust;          // the roots we trust
  // Built once per identity, so every snapshot compiled with the same certificate shares it:
  // pooled mTLS connections are reused across reloads and retired only by a renewal.
  std::shared_ptr<const tls::ClientContext> client;
  int64_t notAfter = 0;
};

struct CompiledListener {
  std::string ns;
  std::string name;
  std::string label;  // "ns/name", for logs
  std::string key;  // "address:port" — a listener with the same key keeps its sockets
  ListenerSpec spec;
  net::Address address;
  http::Limits limits;
  std::shared_ptr<const route::RouteTable> routes;
  // HTTPS: certificates, SNI and tickets; MESH_INBOUND: the workload certificate and peer
  // verification. New connections take the one of the worker's current snapshot; a
  // connection keeps the one it was accepted with.
  std::shared_ptr<const tls::ServerContext> tls;
  bool plaintextAllowed = false;  // MESH_INBOUND under PERMISSIVE
  // MESH_OUTBOUND: when no attached route matches, the Host names a Service (`name` or
  // `name.namespace`, spec/mesh.md "Outbound"). Null elsewhere.
  std::shared_ptr<const route::RouteTable> serviceRoutes;
  // The AuthorizationPolicies that apply here: the Workload's for MESH_INBOUND, the ones
  // targeting this listener otherwise. Points into Snapshot::policies; never null.
  const policy::TargetPolicies* authz = nullptr;
  // Request policies (request_policy.h): RateLimits targeting this listener, those targeting
  // routes attached to it, and for MESH_OUTBOUND the EgressPolicies of its Workload (null:
  // no EgressPolicy selects it, everything is allowed). Empty/null when none is configured,
  // so an unconfigured listener pays two size checks and a null check per request.
  RateLimitList rateLimits;
  std::vector<RouteRateLimits> routeRateLimits;
  std::shared_ptr<const CompiledEgress> egress;
  // LuaScript request chains (ScriptSet ids in run order), built once per snapshot so the
  // request path finds its chain by rule instead of building "namespace/name" keys: the
  // listener's own hooks, and for each rule of `routes` whose HTTPRoute has hooks of its own,
  // the listener's and the route's together. A rule that is not in the map (one of
  // `serviceRoutes`, or a route without hooks) runs the listener's.
  std::vector<int> scriptChain;
  std::unordered_map<const route::Rule*, std::vector<int>> ruleScriptChains;
  const std::vector<int>& scriptChainFor(const route::Rule* rule) const {
    auto it = ruleScriptChains.find(rule);
    return it == ruleScriptChains.end() ? scriptChain : it->second;
  }
};

// The mesh as this node takes part in it. `client` is set when a mesh Service exists.
struct MeshRuntime {
  std::string localIdentity;  // our SPIFFE ID: "By" in x-forwarded-client-cert
  std::string trustDomain;
  MtlsMode mtls = MtlsMode::kStrict;
  std::shared_ptr<const tls::ClientContext> client;
};

struct Snapshot {
  int64_t version = 0;
  std::vector<CompiledListener> listeners;
  std::vector<upstream::Service> services;  // services[i].index == i; Workloads behind
                                            // MESH_INBOUND listeners come last
  std::vector<Resource> resources;          // the decoded set, for dumps and diffs
  MeshRuntime mesh;
  bool usesMesh = false;  // a mesh listener or a mesh Service exists (needs an identity)
  std::shared_ptr<const policy::PolicyIndex> policies;
  // The counter slot of each policy that can deny (gatehouse_authz_denied_total{policy}),
  // given by the server's PolicySlots so that a policy keeps its counter across reloads.
  std::unordered_map<const policy::PolicyRef*, uint16_t> denySlots;
  // Where each CUSTOM provider (MeshConfig extensionProviders) is reached: its Service's first
  // endpoint, at the provider's port. A provider whose Service has no endpoint is absent (its
  // checks fail, then failOpen decides).
  std::unordered_map<std::string, net::Address> authzProviders;  // by provider name
  // The metric label values of this snapshot's listeners, routes and services, resolved once
  // by the server's telemetry (telemetry/exchange_metrics.h); null when metrics are off.
  std::shared_ptr<const telemetry::SnapshotLabels> telemetry;
  // The LuaScript resources, checked and ordered (null: none). Hooks attach by
  // "namespace/name" of a Listener or HTTPRoute (ScriptSet::chainFor).
  std::shared_ptr<const script::ScriptSet> scripts;
  // CUSTOM providers of the lua kind: the index in scripts->scripts() of their LuaScript.
  std::unordered_map<std::string, int> luaProviders;  // by provider name
};

// Gives each policy label ("ns/name") a stable counter slot; called on the control thread.
using PolicySlotFn = std::function<uint16_t(const std::string& label)>;
// Resolves the metric labels of a compiled snapshot; called last, on the control thread.
using TelemetryLabelFn =
    std::function<std::shared_ptr<const telemetry::SnapshotLabels>(const Snapshot& snap)>;

// The addresses a DNS endpoint (name, port) has now, from the server's DnsWatch, or null
// before its first answer. Called by compile on the control thread.
using DnsLookupFn = std::function<const std::vector<net::Address>*(const std::string& name,
                                                                   uint16_t port)>;
// Every (name, port) of the Services' endpoints given as DNS names, each once, in order.
std::vector<std::pair<std::string, uint16_t>> dnsEndpoints(const std::vector<Resource>& resources);

// Whether a resource set needs this node's workload identity (a mesh listener or Service).
bool needsIdentity(const std::vector<Resource>& resources);

// Compiles a validated resource set. Fails only on what validation cannot see (it should
// normally have caught everything) and when the mesh needs `identity` and there is none (or it
// belongs to another trust domain). An endpoint given as a DNS name becomes one endpoint per
// address `dns` has for it, each with the configured weight (none without `dns` or before the
// first answer); an address already among the Service's endpoints is not added twice.
Result<std::shared_ptr<const Snapshot>> compile(int64_t version, std::vector<Resource> resources,
                                                const NodeIdentity* identity = nullptr,
                                                const PolicySlotFn& slots = {},
                                                const TelemetryLabelFn& labels = {},
                                                const TrafficSlotFns& trafficSlots = {},
                                                const DnsLookupFn& dns = {});

}  // namespace gh::config
