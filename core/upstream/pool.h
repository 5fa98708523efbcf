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
// Owned by one worker; not thread-safe. Connection objects persist across requests so a
// keep-alive exchange allocates nothing here.

#include <cstdint>
#include <memory>
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

// One upstream connection: the stream plus the pool's idle bookkeeping.
class Connection final : public net::Stream::Handler {
 public:
  Connection(event::Loop& loop, int fd, const net::Address& peer);
  net::Stream& stream() { return stream_; }
  const net::Address& peer() const { return peer_; }
  uint64_t requests() const { return requests_; }
  void countRequest() { ++requests_; }

 private:
  friend class Pool;
  void onReadable() override;  // only while idle: the upstream closed or misbehaved
  void onDrained() override {}
  static void onIdleTimeout(void* arg);

  net::Stream stream_;
  net::Address peer_;
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

  // An idle connection to `peer`, or nullptr. The caller owns it and must set its handler
  // before returning to the loop (read interest is still on).
  std::unique_ptr<Connection> take(const net::Address& peer);
  // Gives a clean connection back for reuse (or closes it when the endpoint has enough idle).
  void put(std::unique_ptr<Connection> c, uint64_t idleTimeoutMs);
  size_t idleCount() const { return idleTotal_; }
  void closeAll();

 private:
  friend class Connection;
  struct AddressHash {
    size_t operator()(const net::Address& a) const;
  };
  void unlink(Connection* c);
  void destroy(Connection* c);  // unlinks and deletes

  event::Loop& loop_;
  size_t maxIdle_;
  size_t idleTotal_ = 0;
  std::unordered_map<net::Address, IdleList, AddressHash> idle_;
};

}  // namespace gh::upstream
