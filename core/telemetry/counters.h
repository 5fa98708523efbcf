#pragma once
// Per-worker counters: written only by the owning worker, read by the control thread when
// /metrics is scraped, summed over workers.
//
// A Counter is a relaxed atomic updated with load+store, not fetch_add: with a single writer
// that is exact, compiles to plain moves (no lock prefix, no cache-line ping-pong), and the
// reader on another thread still sees a value without a data race.

#include <atomic>
#include <cstdint>

#include "core/http/parser.h"
#include "core/tls/handshake_error.h"

namespace gh::telemetry {

class Counter {
 public:
  void inc(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void dec(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Local-reply reasons (the x-gatehouse-reason values that are not HTTP parse errors).
enum class LocalReason : uint8_t {
  kNoRoute,                // 404
  kNoBackend,              // 500: the rule has no backend with weight > 0
  kBadPath,                // 400: path escapes the root or bad percent-encoding
  kBodyTooLarge,           // 413
  kExpectationFailed,      // 417
  kHeadTimeout,            // 408
  kUpstreamConnectFailed,  // 502
  kUpstreamReset,          // 502
  kUpstreamBadResponse,    // 502: the upstream broke HTTP framing
  kUpstreamConnectTimeout, // 504
  kUpstreamTimeout,        // 504: backendRequest timeout
  kRequestTimeout,         // 504: route request timeout
  kNoHealthyUpstream,      // 503: no endpoint
  kUpstreamTlsFailed,      // 502: the mTLS handshake with a mesh upstream failed (its
                           // identity, its certificate, or TLS itself)
  kRbacDenied,             // 403: an AuthorizationPolicy denied the request
  kExtAuthzDenied,         // the CUSTOM provider's status: it did not allow the request
  kExtAuthzError,          // 403: the CUSTOM provider did not answer (and failOpen is off)
  kOverflow,               // 503: over the Service's connectionPool limits (circuit breaking)
  kLuaError,               // 500: a Lua hook failed (and its script is not failOpen)
  kRateLimited,            // 429: a RateLimit (or an EgressPolicy destination's rateLimit)
  kEgressDenied,           // 403: no EgressPolicy of the Workload allows the destination
  kFaultAbort,             // the route's fault.abort.httpStatus: an injected fault
  kCount
};
const char* localReasonName(LocalReason r);

// Room for tls::PeerError values (static_assert'ed where the enum is visible).
constexpr int kMeshPeerReasons = 16;
// Authorization: decisions by outcome and deciding step (policy::Decision::By, 5 values), and
// denials per policy in stable slots handed out by PolicySlots (slot 0: policies beyond the
// last slot, reported as policy="other").
constexpr int kAuthzSteps = 5;
constexpr int kAuthzPolicySlots = 1024;
// Rate-limit refusals per RateLimit and egress denials per (workload, destination), in stable
// slots handed out by LabelSlots (slot 0: beyond the last slot).
constexpr int kTrafficSlots = 256;

struct WorkerCounters {
  Counter downstreamCxTotal;
  Counter downstreamCxActive;
  Counter downstreamRqTotal;
  Counter downstreamRqActive;
  Counter responsesByClass[6];  // index status/100 (1..5); 0 unused
  Counter parseRejections[static_cast<int>(http::ParseError::kCount)];
  Counter localReplies[static_cast<int>(LocalReason::kCount)];
  Counter upstreamRqTotal;
  Counter upstreamCxTotal;
  Counter upstreamCxReused;
  Counter upstreamCxConnectFail;
  Counter upstreamRetryPooled;  // transparent retries after a stale pooled connection
  Counter upstreamCxActive;
  Counter upstreamOutlierEjections;  // endpoints a worker ejected (outlier detection)
  Counter upstreamRetries;           // retries by a route's retry policy (another attempt sent)
  Counter upstreamRetryBudgetExhausted;  // retries the retry budget refused
  Counter tlsHandshakes;  // completed downstream TLS handshakes
  Counter tlsHandshakeErrors[static_cast<int>(tls::HandshakeError::kCount)];
  // Mesh hops (spec/mesh.md): peers refused by reason ([0] inbound: a client refused by a
  // MESH_INBOUND listener; [1] outbound: an upstream hop refused by us), index tls::PeerError.
  Counter meshPeerRejected[2][kMeshPeerReasons];
  Counter meshMtlsConnections;       // inbound connections with a verified peer identity
  Counter meshPlaintextConnections;  // inbound plaintext accepted under PERMISSIVE
  Counter upstreamTlsHandshakes;     // mTLS connections we originated
  Counter upstreamTlsHandshakeErrors;
  Counter authzDecisions[2][kAuthzSteps];  // [allowed][policy::Decision::By]
  Counter authzDeniedByPolicy[kAuthzPolicySlots];
  Counter authzDryRunDenied;  // requests a dry-run policy would have denied
  Counter authzAudited;       // requests an AUDIT policy matched
  // Request policies (docs/traffic.md).
  Counter rateLimited[kTrafficSlots];   // 429s, by RateLimit / egress destination slot
  Counter egressDenied[kTrafficSlots];  // 403 egress_denied, by workload/destination slot
  Counter faultDelayed;                 // requests delayed by a route's fault
  Counter faultAborted;                 // requests answered by a route's fault.abort
  Counter mirrorSent;                   // mirror copies sent to a shadow Service
  Counter mirrorDropped;                // copies not sent: too many in flight, body not buffered
  Counter mirrorFailed;                 // copies that failed (connect, reset, timeout)
};

}  // namespace gh::telemetry
