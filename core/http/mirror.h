#pragma once
// MirrorSender: the RequestMirror copies of one worker, sent fire-and-forget to shadow
// Services (docs/traffic.md "Mirroring").
//
// A copy is a complete HTTP/1.1 request built by the session (head, and the body when it was
// already buffered whole), with `Connection: close`. Each copy gets its own connection:
// connect (and the mTLS handshake for a mesh shadow), write, wait for the response head,
// close. The answer is never looked at beyond "a response head came": nothing about a copy can
// delay, change or fail the real request, which does not wait for it and shares nothing with
// it but the worker's loop.
//
// Bounded: at most kMaxInFlight copies and kMaxQueuedBytes of copy requests per worker;
// beyond either, copies are dropped and counted (gatehouse_mirror_dropped_total), so a slow or
// dead shadow costs a bounded number of sockets and bytes. A copy that cannot connect, fails
// its handshake, is reset, or gets no response head within kTimeoutMs is counted as failed
// (gatehouse_mirror_failed_total). A copy holds no snapshot: its address, TLS client context
// and expected identity are its own, so a reload while it is in flight changes nothing for it.
//
// Owned by the worker's context; one worker thread. Destroying it cancels every copy in
// flight (their connections close).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/event/loop.h"
#include "core/net/address.h"
#include "core/telemetry/counters.h"

namespace gh::tls {
class ClientContext;
}

namespace gh::http {

// Where one copy goes.
struct MirrorTarget {
  net::Address address;
  // A mesh shadow Service: mutual TLS with this node's identity (null: plain TCP), and the
  // SPIFFE ID the shadow must present ("" accepts any valid workload certificate).
  std::shared_ptr<const tls::ClientContext> tls;
  std::string identity;
};

class MirrorSender {
 public:
  static constexpr size_t kMaxInFlight = 64;
  static constexpr size_t kMaxQueuedBytes = 4 << 20;  // copy requests not yet written
  static constexpr uint64_t kTimeoutMs = 5'000;
  static constexpr size_t kMaxBody = 64 * 1024;  // bodies up to this size are mirrored

  MirrorSender(event::Loop& loop, telemetry::WorkerCounters& counters);
  ~MirrorSender();
  MirrorSender(const MirrorSender&) = delete;
  MirrorSender& operator=(const MirrorSender&) = delete;

  // Sends `request` to `target`, or drops it (counted) when the worker's bounds are reached.
  // Counts it as sent when its connection is opened.
  void send(MirrorTarget target, std::string request);
  size_t inFlight() const { return inFlight_; }
  size_t queuedBytes() const { return queuedBytes_; }

 private:
  struct Copy;
  void finished(Copy* c, bool ok);
  void written(Copy* c);

  event::Loop& loop_;
  telemetry::WorkerCounters& counters_;
  Copy* head_ = nullptr;  // intrusive list of copies in flight
  size_t inFlight_ = 0;
  size_t queuedBytes_ = 0;
};

// The Host a copy carries: Envoy's convention, "-shadow" appended to the host name, before
// the port if there is one ("a.example:8080" -> "a.example-shadow:8080").
std::string shadowHost(std::string_view host);

// Whether this request is mirrored, for a share of `perMillion` (1 000 000: always), from 64
// random bits.
inline bool mirrorSampled(uint32_t perMillion, uint64_t random) {
  return perMillion >= 1'000'000 || ((random >> 32) * 1'000'000 >> 32) < perMillion;
}

}  // namespace gh::http
