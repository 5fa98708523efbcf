#pragma once
// Resolver and DnsWatch: asynchronous DNS for Service endpoints given as names.
//
// Where it runs (a decision): on the control thread's Loop, not on the workers. Endpoints are
// part of the compiled Snapshot, which workers only read; a name's addresses are therefore
// resolved on the control thread, and a change (new TTL expiry, new answer) is published the
// way every other change is: the control side builds the Service's endpoint list anew and
// publishes a new snapshot (or, later, a finer-grained endpoint update). A worker never waits
// for DNS and never holds resolver state; one resolution serves all workers; per-worker
// balancer, health and outlier state is carried over for endpoints that stay (by label).
//
// Resolver wraps libevent's evdns (asynchronous UDP, retries, timeouts) on one Loop: A and
// AAAA are asked in parallel and merged; the answer's TTL is the smallest of the records'.
// Name servers come from /etc/resolv.conf unless given (the tests point it at an in-process
// responder). Searching (resolv.conf's search list) is off: endpoint names are used as
// written. Numeric addresses never get here (config decodes them with Address::parse).
//
// DnsWatch keeps a set of (name, port) resolved: it re-resolves each one when its TTL runs
// out (clamped to [minRefreshMs, maxRefreshMs]) and calls onChange only when the set of
// addresses differs from the last one published. A failed lookup keeps the last good
// addresses (a resolver hiccup must not empty a Service) and retries after retryMs.
//
// Both are owned by, and must only be used on, the thread of the Loop they were made with.
// Callbacks run on that thread. Destroying a Resolver drops outstanding lookups without
// calling their callbacks.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/event/loop.h"
#include "core/net/address.h"

struct evdns_base;

namespace gh::net {

class Resolver {
 public:
  struct Options {
    std::vector<Address> nameservers;  // empty: /etc/resolv.conf
    uint64_t timeoutMs = 2'000;        // per attempt
    int attempts = 2;
    bool ipv6 = true;                  // also ask AAAA
  };
  struct Answer {
    int error = 0;                     // 0, or an evdns DNS_ERR_* code (see errorText)
    std::vector<Address> addresses;    // sorted, port applied
    uint32_t ttlSeconds = 0;
  };
  using Callback = std::function<void(const Answer&)>;

  Resolver(event::Loop& loop, const Options& options);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Starts resolving `name`; `cb` runs exactly once on the loop's thread (unless the Resolver
  // is destroyed first). Allocates: control path only.
  void resolve(const std::string& name, uint16_t port, Callback cb);
  static const char* errorText(int error);

 private:
  struct Query;
  static void onReply(int result, char type, int count, int ttl, void* addresses, void* arg);
  void finish(Query* q);

  event::Loop& loop_;
  Options options_;
  struct evdns_base* base_ = nullptr;
  std::vector<std::unique_ptr<Query>> pending_;
};

class DnsWatch {
 public:
  struct Options {
    uint64_t minRefreshMs = 1'000;
    uint64_t maxRefreshMs = 300'000;
    uint64_t retryMs = 5'000;
  };
  using OnChange = std::function<void(const std::string& name, uint16_t port,
                                      const std::vector<Address>& addresses)>;

  DnsWatch(event::Loop& loop, Resolver& resolver, const Options& options, OnChange onChange);
  ~DnsWatch();
  // Starts watching (resolves now). Watching the same name and port again does nothing.
  void watch(const std::string& name, uint16_t port);
  void unwatch(const std::string& name, uint16_t port);
  // The last published addresses (null until the first successful answer).
  const std::vector<Address>* current(const std::string& name, uint16_t port) const;
  // What is watched, in the order watch() was called.
  std::vector<std::pair<std::string, uint16_t>> watched() const;
  // Answers received since construction: all of them, the failed ones (the last good
  // addresses were kept), and those that changed a name's address set (onChange calls).
  uint64_t lookups() const { return lookups_; }
  uint64_t failures() const { return failures_; }
  uint64_t changes() const { return changes_; }

 private:
  struct Entry;
  static void onTimer(void* arg);
  void refresh(Entry* e);

  event::Loop& loop_;
  Resolver& resolver_;
  Options options_;
  OnChange onChange_;
  std::vector<std::unique_ptr<Entry>> entries_;
  uint64_t lastId_ = 0;
  std::shared_ptr<bool> alive_;  // lets late resolver callbacks see that the watch is gone
  uint64_t lookups_ = 0;
  uint64_t failures_ = 0;
  uint64_t changes_ = 0;
};

}  // namespace gh::net
