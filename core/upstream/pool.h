#pragma once
// Pool: one worker's idle upstream connections, by endpoint address.
//
// An exchange takes a connection for its endpoint (most recently used first, so a few warm
// connections carry the load and the rest time out), uses it for one request/response, and
// puts it back only if the exchange ended cleanly with the framing intact; a connection that
// saw any framing or I/O error is closed, never reused (spec/http.md). While idle, the pool
// watches each connection: the upstream closing it (or sending stray bytes) closes it at once,
// and an idle timer closes it after the Service's idle timeout.
//
// Connections are pooled by endpoint address and security: a mutual-TLS connection carries
// the identity it verified, and is only handed to an exchange that expects that identity
// (PoolKey::identity; empty for plain connections), never to a plain one. It also remembers
// the credentials it was made with (an opaque tag: the TLS client context); an exchange that
// brings other credentials (this node's certificate was renewed) closes it instead of reusing
// it, so after a renewal every new request goes out on a connection that presented the new
// certificate and verified the peer anew.
//
// Owned by one worker; not thread-safe. Connection objects persist across requests so a
// keep-alive exchange allocates nothing here.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/event/loop.h"
#include "core/net/address.h"
#include "core/net/stream.h"

namespace gh::upstream {

class Pool;
class Connection;

// The idle connections of one endpoint, most recently used first.
struct IdleList {
  Connection* head = nullptr;
  size_t size = 0;
};

// Where a pooled connection may be reused: the endpoint, and for mutual TLS the peer
// identity the connection was made for ("*" for any identity of the trust domain).
struct PoolKey {
  net::Address address;
  std::string identity;  // empty: plain TCP
  bool operator==(const PoolKey&) const = default;
};

// One upstream connection: the stream plus the pool's idle bookkeeping. `transport` (null:
// plain) is owned by the connection and outlives its stream.
class Connection final : public net::Stream::Handler {
 public:
  Connection(event::Loop& loop, int fd, const net::Address& peer,
             std::unique_ptr<net::Transport> transport = nullptr, std::string identity = {},
             const void* credentials = nullptr);
  net::Stream& stream() { return stream_; }
  const net::Address& peer() const { return peer_; }
  uint64_t requests() const { return requests_; }
  void countRequest() { ++requests_; }

 private:
  friend class Pool;
  void onReadable() override;  // only while idle: the upstream closed or misbehaved
  void onDrained() override {}
  static void onIdleTimeout(void* arg);

  std::unique_ptr<net::Transport> transport_;  // declared before stream_: outlives it
  net::Stream stream_;
  PoolKey key_;
  net::Address& peer_ = key_.address;
  const void* credentials_;
  event::Deadline idleTimer_;
  Pool* pool_ = nullptr;       // set while idle in the pool
  IdleList* list_ = nullptr;    // the idle list it is on (unordered_map nodes never move)
  Connection* next_ = nullptr; // idle list links
  Connection* prev_ = nullptr;
  uint64_t requests_ = 0;
};

class Pool {
 public:
  explicit Pool(event::Loop& loop, size_t maxIdlePerEndpoint = 256)
      : loop_(loop), maxIdle_(maxIdlePerEndpoint) {}
  ~Pool();

  // An idle connection to `peer` made for `identity` with `credentials` (see above), or
  // nullptr; idle connections of the same key made with other credentials are closed on the
  // way. The caller owns the result and must set its handler before returning to the loop
  // (read interest is still on).
  std::unique_ptr<Connection> take(const net::Address& peer, std::string_view identity = {},
                                   const void* credentials = nullptr);
  // Gives a clean connection back for reuse (or closes it when the endpoint has enough idle).
  void put(std::unique_ptr<Connection> c, uint64_t idleTimeoutMs);
  size_t idleCount() const { return idleTotal_; }
  void closeAll();

 private:
  friend class Connection;
  // Lookups by (address, identity view) need no PoolKey, so a take() allocates nothing.
  struct KeyView {
    const net::Address& address;
    std::string_view identity;
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(const PoolKey& k) const { return (*this)(KeyView{k.address, k.identity}); }
    size_t operator()(const KeyView& k) const;
  };
  struct KeyEqual {
    using is_transparent = void;
    static KeyView view(const PoolKey& k) { return {k.address, k.identity}; }
    static const KeyView& view(const KeyView& k) { return k; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return view(a).address == view(b).address && view(a).identity == view(b).identity;
    }
  };
  void unlink(Connection* c);
  void destroy(Connection* c);  // unlinks and deletes

  event::Loop& loop_;
  size_t maxIdle_;
  size_t idleTotal_ = 0;
  std::unordered_map<PoolKey, IdleList, KeyHash, KeyEqual> idle_;
};

}  // namespace gh::upstream
