// CircuitBreaker: per-worker shares of a global limit and the admit decision.

#include "core/upstream/circuit.h"

#include <catch2/catch.hpp>

using namespace gh::upstream;

TEST_CASE("workerShare splits a limit exactly, at least 1 each", "[upstream][circuit]") {
  uint32_t sum = 0;
  for (uint32_t i = 0; i < 4; ++i) sum += workerShare(1000, 4, i);
  CHECK(sum == 1000);
  CHECK(workerShare(10, 4, 0) == 3);
  CHECK(workerShare(10, 4, 1) == 3);
  CHECK(workerShare(10, 4, 2) == 2);
  CHECK(workerShare(10, 4, 3) == 2);
  CHECK(workerShare(2, 4, 3) == 1);  // below the worker count: 1 each
  CHECK(workerShare(kUnlimited, 4, 0) == kUnlimited);
  CHECK(workerShare(7, 1, 0) == 7);
}

TEST_CASE("admit: reuse, connect, queue, overflow", "[upstream][circuit]") {
  ConnectionPoolLimits l;
  l.maxConnections = 4;
  l.http1MaxPendingRequests = 2;
  CircuitBreaker cb(l, 2, 0);  // this worker: 2 connections, 1 pending
  CHECK(cb.maxConnections() == 2);
  CHECK(cb.maxPending() == 1);
  CHECK(cb.admit(true) == CircuitBreaker::Admit::kReuse);
  CHECK(cb.admit(false) == CircuitBreaker::Admit::kConnect);
  cb.onConnectionOpened();
  CHECK(cb.admit(false) == CircuitBreaker::Admit::kConnect);
  cb.onConnectionOpened();
  CHECK(cb.admit(false) == CircuitBreaker::Admit::kQueue);
  cb.onQueued();
  CHECK(cb.admit(false) == CircuitBreaker::Admit::kOverflow);
  CHECK(cb.overflows() == 1);
  CHECK(cb.admit(true) == CircuitBreaker::Admit::kReuse);  // idle connections always serve
  cb.onDequeued();
  cb.onConnectionClosed();
  CHECK(cb.admit(false) == CircuitBreaker::Admit::kConnect);
  cb.onConnectionClosed();
  cb.onConnectionClosed();  // extra close: stays at 0
  CHECK(cb.connections() == 0);
}

TEST_CASE("no pending queue; maxRequestsPerConnection", "[upstream][circuit]") {
  ConnectionPoolLimits l;
  l.maxConnections = 1;
  l.http1MaxPendingRequests = 0;
  l.maxRequestsPerConnection = 3;
  CircuitBreaker cb(l, 1, 0);
  cb.onConnectionOpened();
  CHECK(cb.admit(false) == CircuitBreaker::Admit::kOverflow);
  CHECK(cb.mayReuse(2));
  CHECK_FALSE(cb.mayReuse(3));
  CircuitBreaker unlimited(ConnectionPoolLimits{}, 8, 3);
  CHECK(unlimited.mayReuse(1'000'000));
  CHECK(unlimited.admit(false) == CircuitBreaker::Admit::kConnect);
}
