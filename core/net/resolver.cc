#include "core/net/resolver.h"

#include <event2/dns.h>

#include <algorithm>
#include <cstring>

#include "core/base/log.h"

namespace gh::net {

namespace {

bool addressLess(const Address& a, const Address& b) {
  if (a.family() != b.family()) return a.family() < b.family();
  const int c = std::memcmp(a.sockaddr(), b.sockaddr(), std::min(a.length(), b.length()));
  return c < 0;
}

}  // namespace

struct Resolver::Query {
  Resolver* owner;
  std::string name;
  uint16_t port;
  Callback cb;
  int remaining = 0;
  int firstError = 0;
  uint32_t ttl = UINT32_MAX;
  std::vector<Address> addresses;
};

Resolver::Resolver(event::Loop& loop, const Options& options) : loop_(loop), options_(options) {
  base_ = evdns_base_new(loop.base(),
                         options.nameservers.empty() ? EVDNS_BASE_INITIALIZE_NAMESERVERS : 0);
  for (const Address& ns : options.nameservers)
    evdns_base_nameserver_sockaddr_add(base_, ns.sockaddr(), ns.length(), 0);
  const std::string timeout = std::to_string(double(options.timeoutMs) / 1000.0);
  evdns_base_set_option(base_, "timeout:", timeout.c_str());
  evdns_base_set_option(base_, "attempts:", std::to_string(options.attempts).c_str());
}

Resolver::~Resolver() {
  if (base_) evdns_base_free(base_, 0);  // 0: outstanding callbacks are not called
}

void Resolver::resolve(const std::string& name, uint16_t port, Callback cb) {
  auto q = std::make_unique<Query>();
  q->owner = this;
  q->name = name;
  q->port = port;
  q->cb = std::move(cb);
  Query* raw = q.get();
  pending_.push_back(std::move(q));
  raw->remaining = options_.ipv6 ? 2 : 1;
  // A reply can arrive synchronously (e.g. a name in /etc/hosts); count first, then ask.
  const int asks = raw->remaining;
  if (!evdns_base_resolve_ipv4(base_, name.c_str(), DNS_QUERY_NO_SEARCH, &onReply, raw))
    onReply(DNS_ERR_UNKNOWN, DNS_IPv4_A, 0, 0, nullptr, raw);
  if (asks == 2 &&
      !evdns_base_resolve_ipv6(base_, name.c_str(), DNS_QUERY_NO_SEARCH, &onReply, raw))
    onReply(DNS_ERR_UNKNOWN, DNS_IPv6_AAAA, 0, 0, nullptr, raw);
}

void Resolver::onReply(int result, char type, int count, int ttl, void* addresses, void* arg) {
  auto* q = static_cast<Query*>(arg);
  if (result == DNS_ERR_NONE && count > 0) {
    for (int i = 0; i < count; ++i) {
      Address a;
      if (type == DNS_IPv4_A) {
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(q->port);
        std::memcpy(&sin.sin_addr, static_cast<const char*>(addresses) + 4 * i, 4);
        a = Address::fromSockaddr(reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
      } else if (type == DNS_IPv6_AAAA) {
        sockaddr_in6 sin6{};
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(q->port);
        std::memcpy(&sin6.sin6_addr, static_cast<const char*>(addresses) + 16 * i, 16);
        a = Address::fromSockaddr(reinterpret_cast<const sockaddr*>(&sin6), sizeof sin6);
      } else {
        continue;
      }
      q->addresses.push_back(a);
    }
    q->ttl = std::min(q->ttl, static_cast<uint32_t>(std::max(ttl, 0)));
  } else if (result != DNS_ERR_NONE && result != DNS_ERR_NODATA && q->firstError == 0) {
    q->firstError = result;
  }
  if (--q->remaining == 0) q->owner->finish(q);
}

void Resolver::finish(Query* q) {
  Answer answer;
  answer.addresses = std::move(q->addresses);
  std::sort(answer.addresses.begin(), answer.addresses.end(), addressLess);
  answer.addresses.erase(std::unique(answer.addresses.begin(), answer.addresses.end()),
                         answer.addresses.end());
  if (answer.addresses.empty()) {
    answer.error = q->firstError ? q->firstError : DNS_ERR_NODATA;
  } else {
    answer.ttlSeconds = q->ttl == UINT32_MAX ? 0 : q->ttl;
  }
  Callback cb = std::move(q->cb);
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [q](const std::unique_ptr<Query>& p) { return p.get() == q; });
  if (it != pending_.end()) pending_.erase(it);  // q is gone from here on
  cb(answer);
}

const char* Resolver::errorText(int error) {
  return error == 0 ? "ok" : evdns_err_to_string(error);
}

// ---- DnsWatch ------------------------------------------------------------------------------

struct DnsWatch::Entry {
  DnsWatch* owner;
  uint64_t id;  // never reused, unlike the Entry's address: what a late answer is matched by
  std::string name;
  uint16_t port;
  std::vector<Address> addresses;
  bool published = false;
  bool inFlight = false;
  std::unique_ptr<event::Timer> timer;
};

DnsWatch::DnsWatch(event::Loop& loop, Resolver& resolver, const Options& options,
                   OnChange onChange)
    : loop_(loop),
      resolver_(resolver),
      options_(options),
      onChange_(std::move(onChange)),
      alive_(std::make_shared<bool>(true)) {}

DnsWatch::~DnsWatch() { *alive_ = false; }

void DnsWatch::watch(const std::string& name, uint16_t port) {
  for (auto& e : entries_)
    if (e->name == name && e->port == port) return;
  auto e = std::make_unique<Entry>();
  e->owner = this;
  e->id = ++lastId_;
  e->name = name;
  e->port = port;
  e->timer = std::make_unique<event::Timer>(loop_, &DnsWatch::onTimer, e.get());
  Entry* raw = e.get();
  entries_.push_back(std::move(e));
  refresh(raw);
}

void DnsWatch::unwatch(const std::string& name, uint16_t port) {
  // An answer still in flight finds the entry gone (looked up by id in refresh(): a new entry
  // may be allocated at the freed one's address before that answer arrives).
  std::erase_if(entries_, [&](const std::unique_ptr<Entry>& e) {
    return e->name == name && e->port == port;
  });
}

const std::vector<Address>* DnsWatch::current(const std::string& name, uint16_t port) const {
  for (auto& e : entries_)
    if (e->name == name && e->port == port) return e->published ? &e->addresses : nullptr;
  return nullptr;
}

std::vector<std::pair<std::string, uint16_t>> DnsWatch::watched() const {
  std::vector<std::pair<std::string, uint16_t>> out;
  for (auto& e : entries_) out.emplace_back(e->name, e->port);
  return out;
}

void DnsWatch::onTimer(void* arg) {
  auto* e = static_cast<Entry*>(arg);
  e->owner->refresh(e);
}

void DnsWatch::refresh(Entry* e) {
  if (e->inFlight) return;
  e->inFlight = true;
  std::weak_ptr<bool> alive = alive_;
  const uint64_t id = e->id;
  resolver_.resolve(e->name, e->port, [this, id, alive](const Resolver::Answer& a) {
    auto still = alive.lock();
    if (!still || !*still) return;
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [id](const std::unique_ptr<Entry>& p) { return p->id == id; });
    if (it == entries_.end()) return;  // unwatched meanwhile
    Entry* e = it->get();
    e->inFlight = false;
    ++lookups_;
    if (a.error) {
      ++failures_;
      LOG_WARN("dns: %s: %s; keeping %zu address(es), retrying", e->name.c_str(),
                  Resolver::errorText(a.error), e->addresses.size());
      e->timer->arm(options_.retryMs, false);
      return;
    }
    const uint64_t ttlMs = uint64_t{a.ttlSeconds} * 1000;
    e->timer->arm(std::clamp(ttlMs, options_.minRefreshMs, options_.maxRefreshMs), false);
    if (e->published && a.addresses == e->addresses) return;
    e->addresses = a.addresses;
    e->published = true;
    ++changes_;
    onChange_(e->name, e->port, e->addresses);
  });
}

}  // namespace gh::net
