#pragma once
// Session: one downstream HTTP/1.1 connection and the exchanges that run on it, one at a time.
//
// An *exchange* is one request/response. It pins the worker's current Snapshot when its head
// has been parsed and keeps it until it ends, whatever reloads happen meanwhile. Its request
// runs through the phases of the design, in this fixed order (each has a do-nothing default
// where a later capability will plug in):
//
//   request_headers  normalise the path, derive host, check Expect and body limits
//   route            RouteTable lookup (404 no_route); RequestRedirect answers here
//   authorize        the listener's AuthorizationPolicies (403 rbac_denied); the principal is
//                    the verified mTLS peer of the connection (transport().peerIdentity())
//   rate_limit       RateLimits of the listener and route (429 rate_limited), then the
//                    route's fault injection (a delay on a timer, an abort)
//   script_request   Lua hooks attached to the listener or route (script_exchange.h)
//   select_upstream  weighted backendRef -> Service; directResponse answers here; endpoint
//   upstream_request take a pooled connection or connect; send the head; stream the body
//   response_headers hop-by-hop stripping, ResponseHeaderModifier, client framing
//   script_response  Lua response hooks, before the head goes to the client
//   body             stream the response body with back-pressure
//   log              counters (access log and traces come with observability)
//
// A phase returns kContinue (next phase), kRespond (a local reply was sent; skip to log), or
// kPause (waiting for I/O; an event resumes the exchange).
//
// Bodies stream in both directions through the connections' buffers with back-pressure: a
// side stops reading while the other side's unsent output is above kHighWater, and resumes
// when it drains. Nothing is buffered whole.
//
// The session speaks HTTP/1.1 over whatever Transport its stream has: plain, or TLS (the
// handshake happens inside the first reads and must end within the head timeout, so a client
// cannot hold a connection open by never finishing it; X-Forwarded-Proto and redirects say
// https).
//
// Lifetime: a Session owns its downstream stream and, during an exchange, its upstream
// connection; it deletes itself when the connection ends. All calls happen on the worker's
// thread. Entry points (I/O and timer callbacks) run the work, then destroy the session if it
// closed; internal steps return right after anything that may close it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/config/ip_block.h"
#include "core/event/loop.h"
#include "core/http/context.h"
#include "core/http/ext_authz.h"
#include "core/http/parser.h"
#include "core/http/script_exchange.h"
#include "core/net/address.h"
#include "core/net/stream.h"
#include "core/route/route_table.h"
#include "core/telemetry/counters.h"
#include "core/telemetry/exchange_metrics.h"
#include "core/upstream/pool.h"

namespace gh::http {

class Session final : public net::Stream::Handler {
 public:
  // Takes ownership of the accepted fd and of `transport` (null: plain). The session registers
  // itself in ctx.sessions.
  Session(WorkerContext& ctx, WorkerListener* listener, int fd, const net::Address& peer,
          const net::Address& local, std::unique_ptr<net::Transport> transport = nullptr);
  ~Session();

  void start();
  // The worker is draining: close now if idle, else close after the current exchange.
  void drain();
  // The listener this session came from was removed by a reload: close now if idle.
  void closeIfListenerRemoved();

  struct Exchange;  // per-request state; defined in session.cc, recycled per worker thread

  Session* nextInWorker = nullptr;
  Session* prevInWorker = nullptr;
  // Links in a Service's wait queue (PinnedSnapshot::waiting) while the exchange waits for a
  // connection under the circuit breaker's limits.
  Session* nextWaiting = nullptr;
  Session* prevWaiting = nullptr;

 private:
  enum class State : uint8_t {
    kIdle,       // between exchanges (or before the first): waiting for a head
    kExchange,   // an exchange is running
    kTunnel,     // after 101 Switching Protocols: raw bytes both ways
    kLingering,  // reply sent, write side shut: discarding input until EOF or a timeout
    kClosed,     // destroy at the end of the current callback
  };
  enum class PhaseResult : uint8_t { kContinue, kRespond, kPause };
  using Phase = PhaseResult (Session::*)();

  struct UpstreamHandler final : net::Stream::Handler {
    Session* s = nullptr;
    void onReadable() override;
    void onDrained() override;
  };

  // net::Stream::Handler (downstream)
  void onReadable() override;
  void onDrained() override;

  // Entry points end with this: destroys the session if it closed.
  void settle();

  // Downstream reading and the request phases.
  void readDownstream();
  void processBuffered();
  bool parseHead();
  void startExchange();
  void runPhases(size_t from);
  PhaseResult phaseRequestHeaders();
  PhaseResult phaseRoute();
  PhaseResult phaseAuthorize();
  PhaseResult phaseRateLimit();
  PhaseResult phaseScriptRequest();
  PhaseResult phaseSelectUpstream();
  PhaseResult phaseUpstreamRequest();
  void startUpstream();

  // Circuit breaking (trafficPolicy.connectionPool): a slot is one connection in use for the
  // exchange's Service on this worker; see circuit.h and docs/traffic.md.
  void enqueueForSlot();
  void leaveQueue();
  void releaseSlot();  // hands the slot to the oldest waiter, if any
  // Request policies (request_policy.h).
  PhaseResult rateLimitedReply(const config::CompiledRateLimit& limit,
                               const policy::RateDecision& d);
  PhaseResult faultAbortReply();
  PhaseResult checkEgress();

  // Upstream side.
  void connectUpstream();
  void onUpstreamReadable();
  void onUpstreamDrained();
  void advanceUpstreamHandshake();  // client side of mTLS to a mesh Service
  PhaseResult finishAuthorize(policy::Decision& d);
  uint64_t balancerKey(const upstream::Service& service);
  void reportOutcome(upstream::Outcome outcome);
  void noteAuthz(const policy::Decision& d);
  void writeAccessLog();
  void recordMetrics();  // the log phase's metrics (telemetry/exchange_metrics.h)
  void setFlag(telemetry::ResponseFlag f);
  void exportSpans();  // the log phase of a sampled exchange (telemetry/tracing.h)
  PhaseResult nextCustomCheck();
  // Lua hooks (script_exchange.h).
  PhaseResult scriptOutcome(script::Direction dir, ScriptHost::Outcome o);
  static void onScriptDone(void* arg, script::Direction dir, ScriptHost::Outcome o);
  void bufferRequestBody();
  bool runResponseScripts();
  void bufferResponseBody();
  void finishResponseBuffer();
  void continueResponse();
  ScriptHost& scriptHost();
  PhaseResult luaCheckDone();
  PhaseResult customCheckDone(ExtAuthzOutcome outcome);
  static void onExtAuthz(void* arg, ExtAuthzOutcome outcome);
  void sendRequestHead();
  // `host` (may be empty: the request's, or the URLRewrite's) replaces the Host sent.
  void serializeRequestHead(std::string& out, std::string_view host = {});
  void sendMirrors();
  void teeMirrorBody(const iovec* pieces, int n, bool done);
  std::string_view scriptedRequestBody();
  void forwardRequestBody();
  void readUpstream();
  bool parseResponseHead();
  void sendResponseHead();
  void forwardResponseBody();
  bool sendDown(const iovec* pieces, int n);
  bool sendBodyDown(const char* data, size_t n);
  void upstreamFailed(telemetry::LocalReason reason);
  bool maybeRetry(upstream::AttemptFailure failure, int status);
  bool retryOnFreshConnection();
  void releaseUpstream(bool reusable);

  // Ending things.
  void finishExchange();
  // A reply of our own: `reason` (may be null) becomes x-gatehouse-reason. errorReply is the
  // form for failures: it counts the reason too.
  // `scripted`: a Lua hook's reply (ScriptHost::reply) instead of the arguments before it.
  void localReply(int status, const char* reason, std::string_view body,
                  std::string_view contentType = "text/plain", std::string_view location = {},
                  const ScriptHost* scripted = nullptr, std::string_view retryAfter = {});
  void errorReply(int status, telemetry::LocalReason reason, std::string_view body);
  void noteLocalReply(telemetry::LocalReason reason);
  void parseErrorReply(ParseError e);
  void closeAfterFlush();
  void beginLinger();
  void close();
  void abortExchange();
  void acquireExchange();
  void releaseExchange();
  void replyAndClose(int status, const char* reason, std::string_view body);

  // Tunnel (WebSocket after 101).
  void pumpTunnel(net::Stream& from, net::Stream& to);
  void processTunnelBuffered();

  static void onDownTimer(void* arg);
  static void onExchangeTimer(void* arg);
  static void onUpstreamTimer(void* arg);

  WorkerContext& ctx_;
  WorkerListener* listener_;
  std::unique_ptr<net::Transport> transport_;  // declared before down_: outlives it
  net::Stream down_;
  net::Address peer_;
  net::Address local_;
  event::Deadline downTimer_;   // head timeout, idle timeout, linger
  UpstreamHandler upHandler_;
  State state_ = State::kIdle;
  bool headTimerArmed_ = false;
  bool handshaking_ = false;  // TLS: until the handshake is done, the head timeout applies
  bool closeAfterFlush_ = false;
  uint64_t lingerBytes_ = 0;

  std::string peerIp_;  // cached: X-Forwarded-For needs it on every request
  std::string peerLabel_;  // "ip:port", when the access log is on
  std::optional<config::IpAddress> peerIpBytes_;  // for authorization; parsed on first use
  bool peerIpParsed_ = false;
  // The peer's metric labels, resolved once per connection and snapshot (not per request).
  const telemetry::SnapshotLabels* peerLabelsFor_ = nullptr;
  telemetry::PeerIds peerIds_;

  std::unique_ptr<Exchange> ex_;  // the current exchange (valid while state_ == kExchange)
};

}  // namespace gh::http
