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
#include <memory>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/config/model.h"
#include "core/http/parser.h"
#include "core/net/address.h"
#include "core/route/route_table.h"
#include "core/tls/server_context.h"
#include "core/upstream/service.h"

namespace gh::config {

struct CompiledListener {
  std::string ns;
  std::string name;
  std::string key;  // "address:port" — a listener with the same key keeps its sockets
  ListenerSpec spec;
  net::Address address;
  http::Limits limits;
  std::shared_ptr<const route::RouteTable> routes;
  // HTTPS: certificates, SNI and tickets. New connections take the one of the worker's
  // current snapshot; a connection keeps the one it was accepted with.
  std::shared_ptr<const tls::ServerContext> tls;
};

struct Snapshot {
  int64_t version = 0;
  std::vector<CompiledListener> listeners;
  std::vector<upstream::Service> services;  // services[i].index == i
  std::vector<Resource> resources;          // the decoded set, for dumps and diffs
};

// Compiles a validated resource set. Fails only on what validation cannot see (it should
// normally have caught everything).
Result<std::shared_ptr<const Snapshot>> compile(int64_t version, std::vector<Resource> resources);

}  // namespace gh::config
