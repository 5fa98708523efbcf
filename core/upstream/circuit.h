#pragma once
// CircuitBreaker: connectionPool limits of one Service as seen by one worker, and the overflow
// decision (503 "overflow", counted).
//
// Owned by one worker per Service; not thread-safe; no allocation. The worker tells it when
// connections open and close and when requests queue for a connection; admit() says what a new
// request may do.
//
// Limits are per worker. Istio's fields (connectionPool.tcp.maxConnections,
// connectionPool.http.http1MaxPendingRequests) are per proxy, and Envoy enforces them per
// process: its circuit-breaker counters are shared by all worker threads ("this bound applies
// to the sum of connections across all workers threads", Envoy's circuit breaking
// architecture page). Gatehouse keeps the request path free of shared counters, so a
// configured limit L is split across the W workers: worker i gets floor(L/W), plus one for
// the first L mod W workers, so the shares add up to exactly L. A share is never below 1
// (a worker with a limit of 0 could serve nothing), so a limit smaller than the worker count
// may be exceeded by up to W - L in all. SO_REUSEPORT spreads connections evenly over workers,
// so a worker overflows when the node as a whole is near the limit; the price of not sharing is
// that a worker may refuse while another still has room (with an uneven load).
//
// maxRequestsPerConnection is per connection and needs no split: after that many requests the
// connection is closed instead of returned to the pool (0 = unlimited).
//
// How the HTTP session uses it (core/http/session.cc): a "connection" here is a connection in
// use by an exchange of the Service — HTTP/1.1 carries one request at a time, so it is also a
// request in flight. The session calls admit(false) once per exchange: kConnect takes a slot
// (onConnectionOpened) that the exchange holds until it ends, whether it then reuses a pooled
// connection or opens one; kQueue puts the exchange in the Service's wait queue (onQueued),
// and a finishing exchange hands its slot straight to the oldest waiter (onDequeued) instead of
// giving it back (onConnectionClosed); kOverflow is answered 503 overflow. Idle pooled
// connections hold no slot (Envoy counts them against max_connections; they are closed after
// the idle timeout). A breaker belongs to one worker's view of one snapshot: limits and queue
// start afresh with each configuration version, as outlier detection does.

#include <cstdint>

namespace gh::upstream {

inline constexpr uint32_t kUnlimited = UINT32_MAX;

struct ConnectionPoolLimits {
  uint32_t maxConnections = kUnlimited;           // tcp.maxConnections (Istio: 2^32-1)
  uint32_t http1MaxPendingRequests = kUnlimited;  // http.http1MaxPendingRequests
  uint32_t maxRequestsPerConnection = 0;          // http.maxRequestsPerConnection; 0: no limit
};

// Worker `index`'s share of a process-wide `limit` over `workers` workers (see above).
uint32_t workerShare(uint32_t limit, uint32_t workers, uint32_t index);

class CircuitBreaker {
 public:
  enum class Admit : uint8_t {
    kReuse,     // an idle pooled connection is available: use it
    kConnect,   // open a new connection (then call onConnectionOpened)
    kQueue,     // wait for a connection to be released (onQueued / onDequeued)
    kOverflow,  // refuse: 503 overflow (counted here)
  };

  CircuitBreaker() = default;
  // `limits` as configured for the process; this worker's share is taken here.
  CircuitBreaker(const ConnectionPoolLimits& limits, uint32_t workers, uint32_t index);

  // What a new request may do, given whether the pool has an idle connection for it.
  Admit admit(bool idleConnectionAvailable);

  void onConnectionOpened() { ++connections_; }
  void onConnectionClosed() {
    if (connections_) --connections_;
  }
  void onQueued() { ++pending_; }
  void onDequeued() {
    if (pending_) --pending_;
  }
  // After a request on a connection that has now carried `requests` requests: may the
  // connection go back to the pool?
  bool mayReuse(uint64_t requests) const {
    return maxRequestsPerConnection_ == 0 || requests < maxRequestsPerConnection_;
  }

  uint32_t connections() const { return connections_; }
  uint32_t pending() const { return pending_; }
  uint32_t maxConnections() const { return maxConnections_; }
  uint32_t maxPending() const { return maxPending_; }
  uint64_t connectionOverflows() const { return connectionOverflows_; }  // counted at kQueue
  uint64_t overflows() const { return overflows_; }                      // refused: kOverflow

 private:
  uint32_t maxConnections_ = kUnlimited;
  uint32_t maxPending_ = kUnlimited;
  uint32_t maxRequestsPerConnection_ = 0;
  uint32_t connections_ = 0;
  uint32_t pending_ = 0;
  uint64_t connectionOverflows_ = 0;
  uint64_t overflows_ = 0;
};

}  // namespace gh::upstream
