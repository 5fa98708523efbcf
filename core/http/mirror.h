#pragma once
// MirrorSender: the RequestMirror copies of one worker, sent fire-and-forget to shadow
// Services (docs/traffic.md "Mirroring").
//
// A copy is a complete HTTP/1.1 request built by the session (head and body, the body framed as
// it went upstream); PendingMirrors holds the copies of a request whose body was still on its
// way when it was routed. A copy takes an idle keep-alive connection to the shadow endpoint
// from the sender's own pool, or opens one (with the mTLS handshake for a mesh shadow), writes,
// and reads the response: the head ends the copy's business; a small body (at most
// kMaxDrain) is read past so the connection goes back to the pool, anything else closes it.
// The answer is never looked at beyond "a response head came": nothing about a copy can
// delay, change or fail the real request, which does not wait for it and shares nothing with
// it but the worker's loop. (A pool of its own: shadow connections never mix with the real
// traffic's, and a copy never takes a connection a real request could use.)
//
// Bounded: at most kMaxInFlight copies and kMaxQueuedBytes of copy bytes per worker;
// beyond either, copies are dropped and counted (gatehouse_mirror_dropped_total), so a slow or
// dead shadow costs a bounded number of sockets and bytes. A copy that cannot connect, fails
// its handshake, is reset, or gets no response head within kTimeoutMs is counted as failed
// (gatehouse_mirror_failed_total). A copy holds no snapshot: its address, TLS client context
// and expected identity are its own, so a reload while it is in flight changes nothing for it.
//
// Owned by the worker's context; one worker thread. Destroying it cancels every copy in
// flight (their connections close).

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/event/loop.h"
#include "core/net/address.h"
#include "core/telemetry/counters.h"
#include "core/upstream/pool.h"

namespace gh::tls {
class ClientContext;
}
namespace gh::config {
struct CompiledEgress;
}

namespace gh::http {

// Where one copy goes.
struct MirrorTarget {
  net::Address address;
  // A mesh shadow Service: mutual TLS with this node's identity (null: plain TCP), and the
  // SPIFFE ID the shadow must present ("" accepts any valid workload certificate).
  std::shared_ptr<const tls::ClientContext> tls;
  std::string identity;
  std::string poolIdentity;        // the pool key part: identity, or "*" (upstream::Service)
  uint64_t idleTimeoutMs = 60'000;  // the shadow Service's: how long an idle connection stays
  bool headRequest = false;        // a HEAD copy: its response has no body
};

class MirrorSender {
 public:
  static constexpr size_t kMaxInFlight = 64;
  // Copy bytes not yet taken by the socket (unsent, or in a stream's buffer) and bodies being
  // collected.
  static constexpr size_t kMaxQueuedBytes = 4 << 20;
  static constexpr uint64_t kTimeoutMs = 5'000;
  static constexpr size_t kMaxBody = 64 * 1024;  // bodies up to this size are mirrored
  static constexpr size_t kMaxDrain = 64 * 1024;  // response bodies read past to keep alive

  MirrorSender(event::Loop& loop, telemetry::WorkerCounters& counters);
  ~MirrorSender();
  MirrorSender(const MirrorSender&) = delete;
  MirrorSender& operator=(const MirrorSender&) = delete;

  // Sends `request` to `target`, or drops it (counted) when the worker's bounds are reached.
  // Counts it as sent once past the bounds (a copy that cannot connect is sent and failed).
  void send(MirrorTarget target, std::string request);
  size_t inFlight() const { return inFlight_; }
  size_t queuedBytes() const { return queuedBytes_; }
  size_t idleConnections() const { return pool_.idleCount(); }

  // The byte budget, for bodies PendingMirrors collects: false when `n` more would exceed it.
  bool reserve(size_t n);
  void release(size_t n) { queuedBytes_ -= n; }
  void countDropped(size_t n) { counters_.mirrorDropped.inc(n); }

 private:
  struct Copy;
  // `reuse`: the response ended cleanly on a keep-alive connection, which goes to the pool.
  void finished(Copy* c, bool ok, bool reuse = false);
  // The copy is handed to its stream; `unwritten` of its bytes still wait in the stream's
  // buffer and stay in the budget (0: all written).
  void written(Copy* c, size_t unwritten);

  event::Loop& loop_;
  telemetry::WorkerCounters& counters_;
  upstream::Pool pool_;  // idle keep-alive connections to shadow endpoints
  Copy* head_ = nullptr;  // intrusive list of copies in flight
  size_t inFlight_ = 0;
  size_t queuedBytes_ = 0;
};

// The copies of one exchange whose request body had not all arrived when it was routed. The
// body is appended as it goes upstream (framed as sent there: the copies' heads say the same
// framing), and the copies leave when it is complete: the real request never waits for them.
// Beyond MirrorSender::kMaxBody, or beyond the worker's byte budget, the copies are abandoned;
// so are copies whose exchange ends before its body does. Both are counted as dropped.
//
// Owned by the exchange; one worker thread.
class PendingMirrors {
 public:
  explicit PendingMirrors(MirrorSender& sender) : sender_(sender) {}
  ~PendingMirrors();  // drops (and counts) copies still waiting
  PendingMirrors(const PendingMirrors&) = delete;
  PendingMirrors& operator=(const PendingMirrors&) = delete;

  void add(MirrorTarget target, std::string head);
  void append(const iovec* pieces, int n);
  void append(std::string_view bytes) {
    iovec v{const_cast<char*>(bytes.data()), bytes.size()};
    append(&v, 1);
  }
  // The body is complete: every copy waiting goes, with it.
  void complete();
  size_t waiting() const { return copies_.size(); }

 private:
  void abandon();

  MirrorSender& sender_;
  std::vector<std::pair<MirrorTarget, std::string>> copies_;
  std::string body_;
  size_t reserved_ = 0;  // bytes of body_ counted in the sender's budget
};

// The Host a copy carries: Envoy's convention, "-shadow" appended to the host name, before
// the port if there is one ("a.example:8080" -> "a.example-shadow:8080").
std::string shadowHost(std::string_view host);

// Whether a copy may go to Service `shadow` from a listener with these EgressPolicies (null:
// none, anything goes): only when they list the Service itself. A `host` entry allows what the
// app asked for, which is the real request's destination, not the shadow the route copies it
// to. A copy takes no token of the destination's rate limit: it is not the app's request.
bool mirrorAllowed(const config::CompiledEgress* egress, uint32_t shadow);

// Whether this request is mirrored, for a share of `perMillion` (1 000 000: always), from 64
// random bits.
inline bool mirrorSampled(uint32_t perMillion, uint64_t random) {
  return perMillion >= 1'000'000 || ((random >> 32) * 1'000'000 >> 32) < perMillion;
}

}  // namespace gh::http
