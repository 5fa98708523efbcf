#pragma once
// Worker: one thread, one event loop, its own SO_REUSEPORT listening sockets, its own upstream
// pool and counters. Shared-nothing: the control thread reaches a worker only by posting to its
// loop (publish, drain) and by reading its counters.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/config/snapshot.h"
#include "core/event/loop.h"
#include "core/http/context.h"

namespace gh::server {

// The sockets of one listener: one SO_REUSEPORT socket per worker, so each worker accepts on its
// own and the kernel spreads connections. Closed when the last snapshot publication and the
// last worker acceptor using them let go, which is how an unchanged listener survives reloads
// without ever being closed.
class ListenSocketSet {
 public:
  static Result<std::shared_ptr<ListenSocketSet>> open(const net::Address& addr, size_t workers);
  ~ListenSocketSet();
  int fd(size_t worker) const { return fds_[worker]; }

 private:
  std::vector<int> fds_;
  int claim_ = -1;  // net::claimAddress: held while the sockets are open
};

using SocketMap = std::map<std::string, std::shared_ptr<ListenSocketSet>>;  // by listener key

class Worker {
 public:
  // Worker `id` of `workers` (its share of node-wide limits depends on both).
  Worker(size_t id, size_t workers = 1);
  ~Worker();

  void start();
  void join();

  // Thread-safe. The worker switches to `snap` for new exchanges and reconciles its acceptors
  // with `sockets`: unchanged listeners keep accepting, new ones start, removed ones stop.
  void publish(std::shared_ptr<const config::Snapshot> snap, SocketMap sockets);
  // Thread-safe. Stop accepting, finish in-flight exchanges, then stop the loop (at the latest
  // after timeoutMs).
  void drain(uint64_t timeoutMs);

  const telemetry::WorkerCounters& counters() const { return ctx_.counters; }
  // Before start(): where this worker writes its access-log lines.
  void setAccessLog(telemetry::AccessLogWriter::Producer* producer,
                    telemetry::AccessLogFormat format) {
    ctx_.accessLog = producer;
    ctx_.accessLogFormat = format;
  }
  // Before start(): the labelled metrics families and this worker's cells (both outlive it).
  void setMetrics(const telemetry::ExchangeMetrics* families, telemetry::WorkerMetrics* cells) {
    ctx_.exchangeMetrics = families;
    ctx_.metrics = cells;
  }
  // Before start(): this worker's tracing state (outlives it), or none.
  void setTracing(telemetry::WorkerTracing* t) { ctx_.tracing = t; }
  // Before start(): the worker's Lua host, with the process's gatehouse.shared dictionary.
  void setScriptShared(script::SharedDict* shared) {
    ctx_.scripts = std::make_unique<script::ScriptRuntime>(shared);
  }
  // The worker's Lua host, for scrapes (its counters() are thread-safe); null if none.
  const script::ScriptRuntime* scripts() const { return ctx_.scripts.get(); }
  // True once the worker's loop has returned (after a drain).
  bool stopped() const { return stopped_.load(std::memory_order_acquire); }

 private:
  struct Acceptor;
  void applyPublish(std::shared_ptr<const config::Snapshot> snap, const SocketMap& sockets);
  void beginDrain(uint64_t timeoutMs);
  static void onAccept(void* arg, short what);
  static void onSessionsEmpty(void* arg);
  static void onDrainTimeout(void* arg);

  size_t id_;
  event::Loop loop_;
  http::WorkerContext ctx_;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
  std::map<std::string, std::unique_ptr<Acceptor>> acceptors_;
  std::unique_ptr<event::Timer> drainTimer_;
};

}  // namespace gh::server
