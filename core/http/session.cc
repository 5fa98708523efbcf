#include "core/http/session.h"

#include <sys/random.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/base/log.h"
#include "core/base/strings.h"
#include "core/http/serialize.h"
#include "core/http/ext_authz.h"
#include "core/http/script_exchange.h"
#include "core/http/mirror.h"
#include "core/http/request_policy.h"
#include "core/net/socket.h"
#include "core/policy/fault.h"
#include "core/tls/tls_transport.h"

namespace gh::http {

using telemetry::LocalReason;

namespace {

constexpr size_t kHighWater = 64 * 1024;    // unsent output above which the source pauses
constexpr size_t kBodyWindow = 64 * 1024;   // read buffer for body bytes
constexpr size_t kMinBodyRoom = 16 * 1024;  // free room guaranteed after a pinned head
constexpr uint64_t kLingerMs = 2000;
constexpr uint64_t kLingerMaxBytes = 1 << 20;

// Microseconds on the monotonic clock: exchange and upstream durations for metrics and the
// access log (Loop::nowMs is too coarse for sub-millisecond histograms).
uint64_t monotonicUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

bool idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE" || m == "TRACE";
}

}  // namespace

// Everything one exchange needs, recycled per worker thread so a keep-alive request allocates
// nothing: the heads keep their header vectors, the strings their capacity.
// One chunk of a chunked body as three pieces for writev: size line, data, CRLF. The size is
// formatted by hand (no snprintf on the body path).
struct ChunkFrame {
  char size[20];
  iovec v[3];
  ChunkFrame(const char* data, size_t length) {
    static const char kHex[] = "0123456789abcdef";
    char digits[16];
    int d = 0;
    size_t n = length;
    do {
      digits[d++] = kHex[n & 0xf];
      n >>= 4;
    } while (n);
    size_t len = 0;
    while (d) size[len++] = digits[--d];
    size[len++] = '\r';
    size[len++] = '\n';
    v[0] = {size, len};
    v[1] = {const_cast<char*>(data), length};
    v[2] = {const_cast<char*>("\r\n"), 2};
  }
};

struct Session::Exchange {
  // The exchange's timers and head parser live here rather than in the Session: an idle
  // keep-alive connection holds no exchange, so it does not pay for them (spec/bench.md
  // "idle"). The timers call back the session that acquired the exchange (setArg).
  explicit Exchange(event::Loop& loop)
      : exchangeTimer(loop, &Session::onExchangeTimer, nullptr),
        upstreamTimer(loop, &Session::onUpstreamTimer, nullptr) {}
  RequestParser parser;
  event::Timer exchangeTimer;  // route request timeout, fault delay
  event::Timer upstreamTimer;  // connect timeout, then backendRequest timeout; retry backoff

  RequestHead req;
  ResponseHead resp;
  ResponseParser respParser;
  ChunkedDecoder reqChunks;
  ChunkedDecoder respChunks;

  PinnedSnapshot* snapshot = nullptr;
  const config::CompiledListener* listener = nullptr;
  TargetParts target;
  std::string path;          // normalised
  std::string host;          // lower-case, no port
  std::string upstreamPath;  // after URLRewrite (empty: use `path`)
  std::string upstreamHost;  // after URLRewrite (empty: use req.host)
  route::Match match;
  // Authorization with CUSTOM providers: the decision waiting for their answers, the next
  // check to make, the checks made (kept until the exchange ends: a check's callback must
  // not destroy it), and the headers allowing providers add to the upstream request.
  policy::Decision authz;
  size_t authzNextCustom = 0;
  std::vector<std::unique_ptr<ExtAuthzCheck>> authzChecks;
  std::vector<std::pair<std::string, std::string>> authzHeaders;
  const upstream::Service* service = nullptr;
  const upstream::Endpoint* endpoint = nullptr;
  uint32_t endpointIndex = upstream::kNoEndpoint;  // counted active in the balancer until the end
  bool outcomeReported = false;                    // to outlier detection
  // Circuit breaking: the exchange holds one of its worker's connection slots for the Service
  // (from admission to its end), or waits in the Service's queue for one; slotGranted: a
  // releasing exchange handed it a slot and its upstreamTimer fires (at 0 ms) to go on.
  bool holdsSlot = false;
  bool queued = false;
  bool slotGranted = false;
  // Retries (the rule's retry policy): tries made so far, whether this exchange counts in
  // its Service's retry budget as a request and holds one retry of it, whether the head went
  // upstream in the current try, and a retry waiting for its backoff (upstreamTimer).
  uint32_t tries = 1;
  bool budgetCounted = false;
  bool retryHeld = false;
  bool headSent = false;
  bool retryPending = false;
  bool faultDelaying = false;   // paused in rate_limit by a fault delay (exchangeTimer)
  uint16_t faultAbortStatus = 0;  // the fault's abort, once the delay is over
  // What authorization decided, for the access log.
  telemetry::AuthzResult authzResult = telemetry::AuthzResult::kNone;
  const policy::PolicyRef* authzPolicy = nullptr;
  int authzRule = -1;
  std::unique_ptr<upstream::Connection> up;
  std::unique_ptr<PendingMirrors> mirrors;  // RequestMirror copies waiting for the body
  size_t phase = 0;
  // Lua hooks (script_exchange.h): the exchange's ScriptHost when scripts attach here, and
  // whether a hook waits for the body the session is buffering for it (request, response), or
  // holds the response head (its hooks run).
  std::unique_ptr<ScriptHost> script;
  bool reqScriptBody = false;
  bool respScriptBody = false;
  bool respHeld = false;
  bool respHeadInHost = false;  // the response head was moved out of the upstream's buffer

  // Request body progress. Not done until startExchange knows better: a forgotten update
  // closes the connection instead of reading body bytes as the next request.
  bool reqBodyDone = false;
  uint64_t reqRemaining = 0;  // Content-Length bytes still to forward
  uint64_t reqBodyBytes = 0;
  bool sent100 = false;

  // Upstream progress.
  bool connecting = false;
  bool reused = false;
  bool retried = false;
  bool respHeadDone = false;
  bool respStarted = false;  // bytes of the response were sent downstream
  bool respDone = false;
  bool respSeenBytes = false;   // any upstream byte arrived
  bool respChunkedOut = false;  // re-chunking toward the client
  bool respHeadUnsent = false;  // the serialized head waits in ctx.scratch for body bytes
  bool upstreamClean = true;    // framing intact: the connection may be pooled
  uint64_t respRemaining = 0;
  int status = 0;
  uint64_t startMs = 0;
  // The log phase's view (metrics, access log): what went wrong (Envoy's response flag),
  // bytes sent downstream, when the exchange and its upstream request started and ended, and
  // the entropy of the x-request-id generated when the client sent none.
  telemetry::ResponseFlag flag = telemetry::ResponseFlag::kNone;
  uint64_t respBytes = 0;
  uint64_t startUs = 0;
  uint64_t upstreamStartUs = 0;
  uint64_t upstreamEndUs = 0;
  uint64_t requestIdRandom[2] = {0, 0};
  telemetry::ExchangeTrace trace;  // active only when tracing is on

  void reset() {
    req.clear();
    resp.clear();
    respParser.reset();
    reqChunks.reset();
    respChunks.reset();
    snapshot = nullptr;
    listener = nullptr;
    target = TargetParts();
    path.clear();
    host.clear();
    upstreamPath.clear();
    upstreamHost.clear();
    match = route::Match();
    authz = policy::Decision();
    authzNextCustom = 0;
    authzChecks.clear();
    authzHeaders.clear();
    service = nullptr;
    endpoint = nullptr;
    endpointIndex = upstream::kNoEndpoint;
    outcomeReported = false;
    holdsSlot = queued = slotGranted = false;
    tries = 1;
    budgetCounted = retryHeld = headSent = retryPending = false;
    faultDelaying = false;
    faultAbortStatus = 0;
    authzResult = telemetry::AuthzResult::kNone;
    authzPolicy = nullptr;
    authzRule = -1;
    up.reset();
    mirrors.reset();
    phase = 0;
    script.reset();
    reqScriptBody = respScriptBody = respHeld = respHeadInHost = false;
    reqBodyDone = false;
    reqRemaining = reqBodyBytes = 0;
    sent100 = connecting = reused = retried = false;
    respHeadDone = respStarted = respDone = respSeenBytes = respChunkedOut = false;
    respHeadUnsent = false;
    upstreamClean = true;
    respRemaining = 0;
    status = 0;
    startMs = 0;
    flag = telemetry::ResponseFlag::kNone;
    respBytes = startUs = upstreamStartUs = upstreamEndUs = 0;
    trace.active = false;
    trace.server.tracestate.clear();
  }
};

namespace {
thread_local std::vector<std::unique_ptr<Session::Exchange>>* tFreeExchanges = nullptr;
}  // namespace

// --- construction and lifetime ------------------------------------------------------------

Session::Session(WorkerContext& ctx, WorkerListener* listener, int fd, const net::Address& peer,
                 const net::Address& local, std::unique_ptr<net::Transport> transport)
    : ctx_(ctx),
      listener_(listener),
      transport_(std::move(transport)),
      down_(ctx.loop, fd, this, transport_ ? transport_.get() : net::Transport::plain()),
      peer_(peer),
      local_(local),
      downTimer_(ctx.loop, &Session::onDownTimer, this) {
  upHandler_.s = this;
  peerIp_ = peer_.ip();
  if (ctx_.accessLog) peerLabel_ = peer_.toString();
  listener_->ref();
  nextInWorker = ctx_.sessions;
  if (ctx_.sessions) ctx_.sessions->prevInWorker = this;
  ctx_.sessions = this;
  ++ctx_.sessionCount;
  ctx_.counters.downstreamCxTotal.inc();
  ctx_.counters.downstreamCxActive.inc();
}

Session::~Session() {
  if (ex_) abortExchange();
  if (prevInWorker)
    prevInWorker->nextInWorker = nextInWorker;
  else
    ctx_.sessions = nextInWorker;
  if (nextInWorker) nextInWorker->prevInWorker = prevInWorker;
  --ctx_.sessionCount;
  ctx_.counters.downstreamCxActive.dec();
  listener_->unref();
  if (ctx_.draining && ctx_.sessionCount == 0 && ctx_.onSessionsEmpty)
    ctx_.onSessionsEmpty(ctx_.onSessionsEmptyArg);
}

void Session::start() {
  down_.enableRead();
  handshaking_ = down_.transport().handshaking();
  const config::CompiledListener* l = listener_->current;
  if (handshaking_)
    downTimer_.set(l ? l->spec.http.headTimeoutMs : 10'000);
  else
    downTimer_.set(l ? l->spec.http.idleTimeoutMs : 60'000);
}

void Session::drain() {
  if (state_ == State::kIdle && down_.in().empty()) {
    close();
    settle();
  }
  // Otherwise finishExchange() sees ctx_.draining and closes after this exchange.
}

void Session::closeIfListenerRemoved() {
  if (listener_->removed) drain();
}

void Session::settle() {
  if (state_ == State::kClosed) delete this;
}

void Session::close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  if (ex_) abortExchange();
  down_.disableRead();
}

// Ends the current exchange abnormally: the upstream connection is closed, never pooled.
void Session::abortExchange() {
  if (!ex_) return;
  if (ex_->up) {
    ex_->up.reset();
    ctx_.counters.upstreamCxActive.dec();
  }
  releaseExchange();
}

// The exchange object for the head about to be parsed; recycled per worker thread.
void Session::acquireExchange() {
  if (tFreeExchanges && !tFreeExchanges->empty()) {
    ex_ = std::move(tFreeExchanges->back());
    tFreeExchanges->pop_back();
  } else {
    ex_ = std::make_unique<Exchange>(ctx_.loop);
  }
  ex_->exchangeTimer.setArg(this);
  ex_->upstreamTimer.setArg(this);
  ex_->parser.reset();
  ex_->parser.setLimits(listener_->current->limits);
}

// Gives the exchange object back, whatever stage it reached: an exchange whose head never
// completed was never counted and holds no snapshot, one that started releases both.
void Session::releaseExchange() {
  ex_->exchangeTimer.cancel();
  ex_->upstreamTimer.cancel();
  if (ex_->snapshot) {
    // The log phase: an exchange that ended without a response was cut by the client.
    if (ex_->status == 0 || !ex_->respDone)
      setFlag(telemetry::ResponseFlag::kDownstreamConnectionTermination);
    if (ex_->upstreamStartUs && !ex_->upstreamEndUs) ex_->upstreamEndUs = monotonicUs();
    if (ctx_.metrics) recordMetrics();
    if (ctx_.accessLog) writeAccessLog();
    if (ex_->trace.active && ex_->trace.server.sampled) exportSpans();
  }
  if (ex_->queued) leaveQueue();
  if (ex_->holdsSlot) releaseSlot();
  if (ex_->budgetCounted) {
    upstream::RetryBudget& budget = ex_->snapshot->retryBudget(ex_->service->index);
    if (ex_->retryHeld) budget.onRetryEnd();
    budget.onRequestEnd();
  }
  if (ex_->snapshot && ex_->endpointIndex != upstream::kNoEndpoint)
    ex_->snapshot->balancer(ex_->service->index).onRequestEnd(ex_->endpointIndex);
  if (ex_->snapshot) {
    ex_->snapshot->unref();
    ctx_.counters.downstreamRqActive.dec();
  }
  down_.in().unpin();
  ex_->reset();
  if (!tFreeExchanges) tFreeExchanges = new std::vector<std::unique_ptr<Exchange>>();
  if (tFreeExchanges->size() < 1024) tFreeExchanges->push_back(std::move(ex_));
  ex_.reset();
}

// --- downstream events --------------------------------------------------------------------

void Session::onReadable() {
  switch (state_) {
    case State::kIdle:
    case State::kExchange:
      readDownstream();
      break;
    case State::kTunnel:
      if (ex_ && ex_->up) pumpTunnel(down_, ex_->up->stream());
      break;
    case State::kLingering: {
      // Discard what the client still sends so our reply is not destroyed by a reset.
      for (;;) {
        auto r = down_.fill(64 * 1024);
        if (r == net::Stream::ReadResult::kData) {
          lingerBytes_ += down_.in().size();
          down_.in().consume(down_.in().size());
          if (lingerBytes_ > kLingerMaxBytes) {
            close();
            break;
          }
          continue;
        }
        if (r != net::Stream::ReadResult::kAgain) close();
        break;
      }
      break;
    }
    case State::kClosed:
      break;
  }
  settle();
}

void Session::onDrained() {
  if (down_.lastError()) {
    close();
  } else if (closeAfterFlush_) {
    beginLinger();
  } else if (state_ == State::kTunnel && ex_ && ex_->up) {
    ex_->up->stream().enableRead();
  } else if (state_ == State::kExchange && ex_ && ex_->up && !ex_->respDone) {
    // Back-pressure released: read the upstream again.
    ex_->up->stream().enableRead();
    forwardResponseBody();
  }
  settle();
}

void Session::readDownstream() {
  const config::CompiledListener* l = ex_ ? ex_->listener : listener_->current;
  size_t limit;
  if (state_ == State::kIdle) {
    const Limits& lim = l ? l->limits : Limits();
    limit = lim.maxRequestLine + lim.maxHeaderBytes + 1024;
  } else {
    // While an exchange runs, read only what it can use: request body the upstream is taking
    // (back-pressure pauses it), or, once the body is complete, a bounded look-ahead that
    // shows the client's EOF and pipelined heads.
    bool bodyWanted = !ex_->reqBodyDone && ((ex_->up && !ex_->connecting &&
                                             ex_->up->stream().pending() <= kHighWater) ||
                                            ex_->reqScriptBody);
    bool lookAhead = ex_->reqBodyDone && down_.in().size() < kBodyWindow;
    if (!bodyWanted && !lookAhead) {
      down_.disableRead();
      return;
    }
    limit = down_.in().pinned() + kBodyWindow;
  }
  auto r = down_.fill(limit);
  if (handshaking_ && !down_.transport().handshaking()) {
    // TLS is up: from now on an idle connection waits for its first request as any other.
    handshaking_ = false;
    if (state_ == State::kIdle && !headTimerArmed_)
      downTimer_.set(l ? l->spec.http.idleTimeoutMs : 60'000);
  }
  switch (r) {
    case net::Stream::ReadResult::kData:
      break;
    case net::Stream::ReadResult::kAgain:
      return;
    case net::Stream::ReadResult::kFull:
      if (state_ == State::kIdle) {
        // The parser enforces the limits before the buffer can fill; be safe anyway.
        parseErrorReply(ParseError::kHeadersTooLarge);
      } else {
        down_.disableRead();
      }
      return;
    case net::Stream::ReadResult::kEof:
    case net::Stream::ReadResult::kError:
      if (state_ == State::kExchange && ex_ && !ex_->reqBodyDone) {
        // The client went away mid-request.
        close();
        return;
      }
      if (state_ == State::kExchange && ex_) {
        // Half-close after a complete request: let the response finish, then close.
        ex_->req.keepAlive = false;
        down_.disableRead();
        return;
      }
      close();
      return;
  }
  processBuffered();
}

// Runs whatever the buffered downstream bytes allow: a new head, or more request body.
void Session::processBuffered() {
  if (state_ == State::kIdle) {
    if (down_.in().empty()) return;
    if (!headTimerArmed_) {
      headTimerArmed_ = true;
      downTimer_.set(listener_->current ? listener_->current->spec.http.headTimeoutMs : 10'000);
    }
    if (!parseHead()) return;
    startExchange();
    return;
  }
  if (state_ == State::kExchange && ex_ && ex_->reqScriptBody) {
    bufferRequestBody();
    return;
  }
  if (state_ == State::kExchange && ex_ && !ex_->reqBodyDone && ex_->up && !ex_->connecting)
    forwardRequestBody();
}

// Parses the head at the front of the downstream buffer. True when complete (the exchange
// object holds it, pinned); false when more bytes are needed or an error was answered.
bool Session::parseHead() {
  if (!listener_->current || listener_->removed) {
    close();
    return false;
  }
  if (!ex_) {
    acquireExchange();
    down_.in().compact();
  }
  IoBuffer& in = down_.in();
  ParseStatus st = ex_->parser.parse(in.begin(), in.size(), ex_->req);
  if (st == ParseStatus::kIncomplete) return false;
  if (st == ParseStatus::kError) {
    parseErrorReply(ex_->parser.error());
    return false;
  }
  // A request with a body needs room for body bytes behind the pinned head; growing moves the
  // buffer, so parse again afterwards (rare: only for heads close to the buffer size).
  bool hasBody = ex_->req.body == BodyKind::kChunked ||
                 (ex_->req.body == BodyKind::kContentLength && ex_->req.contentLength > 0);
  if (hasBody && in.capacity() - ex_->req.headLength < kMinBodyRoom) {
    in.prepareWrite(in.capacity() + kMinBodyRoom, in.capacity() + kMinBodyRoom * 2);
    ex_->parser.reset();
    ex_->req.clear();
    st = ex_->parser.parse(in.begin(), in.size(), ex_->req);
    if (st != ParseStatus::kDone) {
      parseErrorReply(st == ParseStatus::kError ? ex_->parser.error() : ParseError::kHeadersTooLarge);
      return false;
    }
  }
  ex_->parser.reset();
  in.consumeAndPin(ex_->req.headLength);
  return true;
}

void Session::startExchange() {
  downTimer_.clear();
  headTimerArmed_ = false;
  state_ = State::kExchange;
  Exchange& x = *ex_;
  x.snapshot = ctx_.snapshot;
  x.snapshot->ref();
  x.listener = listener_->current;
  x.startMs = event::Loop::nowMs();
  x.startUs = monotonicUs();
  x.requestIdRandom[0] = ctx_.random();
  x.requestIdRandom[1] = ctx_.random();
  if (ctx_.tracing) telemetry::beginTrace(*ctx_.tracing, x.req.headers, x.trace);
  // Record the body framing before any phase can answer: a local reply must know whether
  // unread body bytes stand between it and the next request (if so, the connection closes;
  // reading them as a head would let a body smuggle a request).
  x.reqRemaining = x.req.body == BodyKind::kContentLength ? x.req.contentLength : 0;
  x.reqBodyDone = x.req.body == BodyKind::kNone ||
                  (x.req.body == BodyKind::kContentLength && x.req.contentLength == 0);
  ctx_.counters.downstreamRqTotal.inc();
  ctx_.counters.downstreamRqActive.inc();
  runPhases(0);
}

void Session::runPhases(size_t from) {
  static constexpr Phase kPhases[] = {
      &Session::phaseRequestHeaders,  &Session::phaseRoute,         &Session::phaseAuthorize,
      &Session::phaseRateLimit,       &Session::phaseScriptRequest, &Session::phaseSelectUpstream,
      &Session::phaseUpstreamRequest,
  };
  for (size_t i = from; i < std::size(kPhases); ++i) {
    ex_->phase = i;
    PhaseResult r = (this->*kPhases[i])();
    if (r != PhaseResult::kContinue) return;
    if (state_ == State::kClosed) return;
  }
}

// --- request phases -----------------------------------------------------------------------

Session::PhaseResult Session::phaseRequestHeaders() {
  Exchange& x = *ex_;
  const RequestHead& h = x.req;
  if (!splitTarget(h.target, &x.target)) {
    errorReply(400, LocalReason::kBadPath, "bad path\n");
    return PhaseResult::kRespond;
  }
  if (x.target.path == "*") {
    // OPTIONS * (the parser allows the asterisk form only there) asks about the server as a
    // whole: route it as "/" of its host, and forward the asterisk unchanged.
    x.path.assign("*");
  } else if (!normalizePath(x.target.path, x.listener->spec.http.mergeSlashes, &x.path)) {
    errorReply(400, LocalReason::kBadPath, "bad path\n");
    return PhaseResult::kRespond;
  }
  // Host without port, lower-case: what routing and policy compare.
  std::string_view host = h.host;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    host = host.substr(0, close == std::string_view::npos ? host.size() : close + 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  x.host.assign(host);
  for (char& c : x.host) c = str::lower(c);

  if (h.expectOther) {
    errorReply(417, LocalReason::kExpectationFailed, "unsupported expectation\n");
    return PhaseResult::kRespond;
  }
  uint64_t maxBody = x.listener->spec.http.maxBodyBytes;
  if (h.body == BodyKind::kContentLength && maxBody && h.contentLength > maxBody) {
    errorReply(413, LocalReason::kBodyTooLarge, "request body too large\n");
    return PhaseResult::kRespond;
  }
  return PhaseResult::kContinue;
}

Session::PhaseResult Session::phaseRoute() {
  Exchange& x = *ex_;
  std::string_view path = x.path == "*" ? std::string_view("/") : std::string_view(x.path);
  route::Request rq{x.host, path, x.target.query, x.req.method, &x.req.headers};
  x.match = x.listener->routes->match(rq);
  if (!x.match.rule && x.listener->serviceRoutes) x.match = x.listener->serviceRoutes->match(rq);
  if (!x.match.rule) {
    errorReply(404, LocalReason::kNoRoute, "no route\n");
    return PhaseResult::kRespond;
  }
  for (const config::RouteFilter& f : x.match.rule->filters) {
    if (f.type == config::FilterType::kRequestRedirect) {
      std::string location;
      buildRedirectLocation(f.redirect, x.match.match ? &x.match.match->path : nullptr,
                            x.listener->spec.port, x.host, x.path, x.target.query, &location,
                            down_.transport().secure() ? "https" : "http");
      localReply(f.redirect.statusCode, nullptr, {}, {}, location);
      return PhaseResult::kRespond;
    }
    if (f.type == config::FilterType::kUrlRewrite) {
      if (f.rewrite.hostname) x.upstreamHost = *f.rewrite.hostname;
      if (f.rewrite.path)
        rewritePath(*f.rewrite.path, x.match.match ? &x.match.match->path : nullptr, x.path,
                    &x.upstreamPath);
    }
  }
  return PhaseResult::kContinue;
}

// Authorization policies (AuthorizationPolicy) plug in here.
namespace {

// The client's address for remoteIpBlocks / remote.ip: with `trustedHops` trusted proxies in
// front, the X-Forwarded-For entry they vouch for — the trustedHops-th from the right (the
// nearest proxy appended the one before it); otherwise, or when that entry is missing or not
// an address, none (authorization then uses the peer's address).
std::optional<config::IpAddress> trustedRemoteIp(const std::vector<Header>& headers,
                                                 uint32_t trustedHops) {
  std::string_view entry = trustedForwardedFor(headers, trustedHops);
  config::IpAddress ip;
  if (entry.empty() || !config::parseIpAddress(entry, &ip)) return std::nullopt;
  return ip;
}

}  // namespace

Session::PhaseResult Session::phaseAuthorize() {
  Exchange& x = *ex_;
  const policy::TargetPolicies* target = x.listener->authz;
  if (!target || target->policies().empty()) return PhaseResult::kContinue;  // nothing applies
  if (!peerIpParsed_) {
    peerIpParsed_ = true;
    config::IpAddress ip;
    if (config::parseIpAddress(peerIp_, &ip)) peerIpBytes_ = ip;
  }
  policy::Request rq;
  rq.principal = down_.transport().peerIdentity();
  rq.method = x.req.method;
  rq.path = x.path;
  rq.host = x.req.host;
  rq.port = x.listener->spec.port;
  rq.sourceIp = peerIpBytes_;
  rq.remoteIp = trustedRemoteIp(x.req.headers, x.listener->spec.http.xffTrustedHops);
  rq.sni = down_.transport().serverName();
  rq.headers = x.req.headers;
  policy::Decision d = target->evaluate(rq);
  if (d.audit) ctx_.counters.authzAudited.inc();
  if (d.dryRun.evaluated && !d.dryRun.allow) {
    ctx_.counters.authzDryRunDenied.inc();
    LOG_INFO("authz dry-run: %.*s %.*s from %s: %s", static_cast<int>(x.req.method.size()),
             x.req.method.data(), static_cast<int>(x.path.size()), x.path.data(),
             rq.principal.empty() ? peerIp_.c_str() : std::string(rq.principal).c_str(),
             policy::explain(d).c_str());
  }
  if (!d.custom.empty() && d.allow) {
    // CUSTOM: every provider whose policy matched is asked, one after the other; any denial
    // denies. (Istio's order puts them first; asking them only when the rest allows saves a
    // round trip for requests denied anyway, and the outcome is the same.)
    x.authz = std::move(d);
    x.authzNextCustom = 0;
    return nextCustomCheck();
  }
  return finishAuthorize(d);
}

Session::PhaseResult Session::finishAuthorize(policy::Decision& d) {
  Exchange& x = *ex_;
  ctx_.counters.authzDecisions[d.allow ? 1 : 0][static_cast<int>(d.by)].inc();
  noteAuthz(d);
  if (d.allow) return PhaseResult::kContinue;
  if (d.policy) {
    const auto& slots = x.snapshot->get().denySlots;
    auto it = slots.find(d.policy);
    ctx_.counters.authzDeniedByPolicy[it == slots.end() ? 0 : it->second].inc();
  }
  std::string_view principal = down_.transport().peerIdentity();
  LOG_DEBUG("authz: %.*s %.*s from %s: %s", static_cast<int>(x.req.method.size()),
            x.req.method.data(), static_cast<int>(x.path.size()), x.path.data(),
            principal.empty() ? peerIp_.c_str() : std::string(principal).c_str(),
            policy::explain(d).c_str());
  errorReply(403, LocalReason::kRbacDenied, "RBAC: access denied\n");
  return PhaseResult::kRespond;
}

Session::PhaseResult Session::nextCustomCheck() {
  Exchange& x = *ex_;
  if (x.authzNextCustom == x.authz.custom.size()) return finishAuthorize(x.authz);
  const policy::CustomCheck& c = x.authz.custom[x.authzNextCustom];
  if (!c.provider->luaScript.empty()) {
    const auto& lua = x.snapshot->get().luaProviders;
    auto it = lua.find(c.provider->name);
    if (it == lua.end()) {
      LOG_WARN("authz provider %s: its LuaScript %s is not loaded; denied",
               c.provider->name.c_str(), c.provider->luaScript.c_str());
      policy::denyByCustom(&x.authz, c);
      noteAuthz(x.authz);
      ctx_.counters.authzDecisions[0][static_cast<int>(x.authz.by)].inc();
      errorReply(403, LocalReason::kExtAuthzError, "RBAC: access denied\n");
      return PhaseResult::kRespond;
    }
    return scriptOutcome(script::Direction::kRequest, scriptHost().authorize(it->second));
  }
  const auto& providers = x.snapshot->get().authzProviders;
  auto it = providers.find(c.provider->name);
  std::string error = "its Service has no endpoint";
  if (it != providers.end()) {
    auto check = std::make_unique<ExtAuthzCheck>(ctx_.loop, c.provider->http, it->second,
                                                 &Session::onExtAuthz, this);
    if (check->start(x.req, x.path, x.target.query, &error)) {
      x.authzChecks.push_back(std::move(check));
      return PhaseResult::kPause;
    }
  }
  ExtAuthzOutcome failed;
  failed.error = std::move(error);
  return customCheckDone(std::move(failed));
}

void Session::onExtAuthz(void* arg, ExtAuthzOutcome outcome) {
  auto* s = static_cast<Session*>(arg);
  if (!s->ex_ || s->state_ != State::kExchange) return;
  PhaseResult r = s->customCheckDone(std::move(outcome));
  if (r == PhaseResult::kContinue && s->state_ == State::kExchange) s->runPhases(s->ex_->phase + 1);
  s->settle();
}

Session::PhaseResult Session::customCheckDone(ExtAuthzOutcome outcome) {
  Exchange& x = *ex_;
  const policy::CustomCheck& c = x.authz.custom[x.authzNextCustom];
  const config::ExtAuthzHttpProvider& provider = c.provider->http;
  using Kind = ExtAuthzOutcome::Kind;
  if (outcome.kind == Kind::kError) {
    LOG_WARN("authz provider %s: %s; %s", c.provider->name.c_str(), outcome.error.c_str(),
             provider.failOpen ? "failOpen: allowed" : "denied");
    if (!provider.failOpen) {
      policy::denyByCustom(&x.authz, c);
      noteAuthz(x.authz);
      ctx_.counters.authzDecisions[0][static_cast<int>(x.authz.by)].inc();
      errorReply(403, LocalReason::kExtAuthzError, "RBAC: access denied\n");
      return PhaseResult::kRespond;
    }
  } else if (outcome.kind == Kind::kDeny) {
    policy::denyByCustom(&x.authz, c);
    noteAuthz(x.authz);
    ctx_.counters.authzDecisions[0][static_cast<int>(x.authz.by)].inc();
    const auto& slots = x.snapshot->get().denySlots;
    auto it = slots.find(c.policy);
    ctx_.counters.authzDeniedByPolicy[it == slots.end() ? 0 : it->second].inc();
    noteLocalReply(LocalReason::kExtAuthzDenied);
    int status = outcome.status >= 200 && outcome.status <= 599 ? outcome.status : 403;
    localReply(status, telemetry::localReasonName(LocalReason::kExtAuthzDenied), outcome.body,
               outcome.contentType.empty() ? std::string_view("text/plain")
                                           : std::string_view(outcome.contentType));
    return PhaseResult::kRespond;
  } else {
    for (auto& h : outcome.upstreamHeaders) x.authzHeaders.push_back(std::move(h));
  }
  ++x.authzNextCustom;
  return nextCustomCheck();
}
// RateLimits of the listener and of the matched route, then the route's fault injection
// (request_policy.h; docs/traffic.md). Unconfigured: two size checks and a null check.
Session::PhaseResult Session::phaseRateLimit() {
  Exchange& x = *ex_;
  const config::CompiledListener& l = *x.listener;
  if (!l.rateLimits.empty() || !l.routeRateLimits.empty()) {
    RateLimitRequest rq;
    rq.principal = down_.transport().peerIdentity();
    rq.clientIp = trustedForwardedFor(x.req.headers, l.spec.http.xffTrustedHops);
    if (rq.clientIp.empty()) rq.clientIp = peerIp_;
    rq.headers = &x.req.headers;
    const uint64_t now = monotonicNs();
    policy::RateDecision d;
    const config::CompiledRateLimit* refused = takeTokens(l.rateLimits, rq, now, &d);
    for (size_t i = 0; !refused && i < l.routeRateLimits.size(); ++i) {
      const config::RouteRateLimits& r = l.routeRateLimits[i];
      if (r.name == x.match.rule->routeName && r.ns == x.match.rule->routeNamespace)
        refused = takeTokens(r.limits, rq, now, &d);
    }
    if (refused) return rateLimitedReply(*refused, d);
  }
  if (x.match.rule->fault) {
    const config::FaultInjection& f = *x.match.rule->fault;
    policy::FaultDecision d = policy::decideFault(
        policy::FaultSpec{f.delayPerMillion, f.delayMs, f.abortPerMillion, f.abortStatus},
        ctx_.random());
    x.faultAbortStatus = d.abortStatus;
    if (d.delayMs) {
      // On a timer, never blocking the worker; onExchangeTimer resumes (the route's request
      // timeout is armed later, in select_upstream, so the delay is not part of it).
      ctx_.counters.faultDelayed.inc();
      // Envoy's DI; a request also aborted shows FI (one flag per exchange here).
      if (!d.abortStatus) setFlag(telemetry::ResponseFlag::kDelayInjected);
      x.faultDelaying = true;
      ex_->exchangeTimer.arm(d.delayMs, false);
      return PhaseResult::kPause;
    }
    if (d.abortStatus) return faultAbortReply();
  }
  return PhaseResult::kContinue;
}

Session::PhaseResult Session::rateLimitedReply(const config::CompiledRateLimit& limit,
                                               const policy::RateDecision& d) {
  ctx_.counters.rateLimited[limit.slot].inc();
  noteLocalReply(LocalReason::kRateLimited);
  char retryAfter[24];
  snprintf(retryAfter, sizeof retryAfter, "%llu",
           static_cast<unsigned long long>(d.retryAfterSeconds()));
  localReply(429, telemetry::localReasonName(LocalReason::kRateLimited), "rate limited\n",
             "text/plain", {}, nullptr, retryAfter);
  return PhaseResult::kRespond;
}

Session::PhaseResult Session::faultAbortReply() {
  ctx_.counters.faultAborted.inc();
  errorReply(ex_->faultAbortStatus, LocalReason::kFaultAbort, "fault filter abort\n");
  return PhaseResult::kRespond;
}

// The EgressPolicies of the outbound listener's Workload: the chosen Service, or the Host the
// app named, must be allowed; an allowed destination may have a rate limit of its own.
Session::PhaseResult Session::checkEgress() {
  Exchange& x = *ex_;
  const config::CompiledEgress& e = *x.listener->egress;
  int32_t entry = e.allow(x.service->index, x.host);
  if (entry < 0) {
    ctx_.counters.egressDenied[e.deniedSlot[x.service->index]].inc();
    LOG_DEBUG("egress denied: workload %s to %s (Host %s)", e.workload.c_str(),
              x.service->label.c_str(), x.host.c_str());
    errorReply(403, LocalReason::kEgressDenied, "egress denied\n");
    return PhaseResult::kRespond;
  }
  if (const auto& limit = e.entries[static_cast<size_t>(entry)]) {
    policy::RateDecision d = limit->table->take(std::string_view(), monotonicNs());
    if (!d.allowed) return rateLimitedReply(*limit, d);
  }
  return PhaseResult::kContinue;
}
// Lua request hooks: the scripts attached to the listener and the route, in order
// (script_exchange.h does the work; the session buffers bodies for hooks that ask).
Session::PhaseResult Session::phaseScriptRequest() {
  Exchange& x = *ex_;
  if (!x.snapshot->get().scripts) return PhaseResult::kContinue;
  const std::vector<int>& chain = x.listener->scriptChainFor(x.match.rule);
  if (chain.empty()) return PhaseResult::kContinue;
  scriptHost().setChain(chain);  // owned by the snapshot, which the exchange holds
  return scriptOutcome(script::Direction::kRequest, x.script->run(script::Direction::kRequest));
}

// The exchange's ScriptHost, created on first need (request hooks, or a Lua authz provider).
ScriptHost& Session::scriptHost() {
  Exchange& x = *ex_;
  if (x.script) return *x.script;
  if (!ctx_.scripts) ctx_.scripts = std::make_unique<script::ScriptRuntime>();
  const route::Rule& rule = *x.match.rule;
  ScriptHost::Env env;
  env.ctx = &ctx_;
  env.scripts = &x.snapshot->get().scripts;
  env.snapshot = &x.snapshot->get();
  env.req = &x.req;
  env.resp = &x.resp;
  env.path = x.path;
  env.query = x.target.query;
  env.upstreamPath = &x.upstreamPath;
  env.upstreamHost = &x.upstreamHost;
  env.upstreamQuery = &x.target.query;
  env.transport = &down_.transport();
  env.peer = &peer_;
  env.local = &local_;
  env.routeName = rule.routeName;
  env.xffTrustedHops = x.listener->spec.http.xffTrustedHops;
  env.secure = down_.transport().secure();
  x.script = std::make_unique<ScriptHost>(std::move(env), std::span<const int>(),
                                          &Session::onScriptDone, this);
  return *x.script;
}

// A CUSTOM check by a Lua provider (docs/lua.md): its script's gatehouse_authorize decided.
Session::PhaseResult Session::luaCheckDone() {
  Exchange& x = *ex_;
  const policy::CustomCheck& c = x.authz.custom[x.authzNextCustom];
  const script::AuthzVerdict& v = x.script->verdict();
  if (!v.allow) {
    policy::denyByCustom(&x.authz, c);
    noteAuthz(x.authz);
    ctx_.counters.authzDecisions[0][static_cast<int>(x.authz.by)].inc();
    const auto& slots = x.snapshot->get().denySlots;
    auto it = slots.find(c.policy);
    ctx_.counters.authzDeniedByPolicy[it == slots.end() ? 0 : it->second].inc();
    LOG_DEBUG("authz: Lua provider %s denied %.*s %.*s: %s", c.provider->name.c_str(),
              static_cast<int>(x.req.method.size()), x.req.method.data(),
              static_cast<int>(x.path.size()), x.path.data(), v.reason.c_str());
    if (v.reason == "lua_error") {
      errorReply(403, LocalReason::kLuaError, "RBAC: access denied\n");
    } else {
      noteLocalReply(LocalReason::kExtAuthzDenied);
      localReply(403, telemetry::localReasonName(LocalReason::kExtAuthzDenied),
                 "RBAC: access denied\n");
    }
    return PhaseResult::kRespond;
  }
  ++x.authzNextCustom;
  return nextCustomCheck();
}

// What the script host asks for. Request side: the phase result; response side: the session
// carries on by itself (kPause is returned).
Session::PhaseResult Session::scriptOutcome(script::Direction dir, ScriptHost::Outcome o) {
  Exchange& x = *ex_;
  bool request = dir == script::Direction::kRequest;
  switch (o) {
    case ScriptHost::Outcome::kContinue:
      if (request) return PhaseResult::kContinue;
      continueResponse();
      return PhaseResult::kPause;
    case ScriptHost::Outcome::kPause:
      return PhaseResult::kPause;
    case ScriptHost::Outcome::kVerdict:
      return luaCheckDone();
    case ScriptHost::Outcome::kRespond:
      if (x.script->reply().details == "lua_error")
        ctx_.counters.localReplies[static_cast<int>(LocalReason::kLuaError)].inc();
      localReply(x.script->reply().status, nullptr, {}, {}, {}, x.script.get());
      return PhaseResult::kRespond;
    case ScriptHost::Outcome::kNeedBody:
      if (request) {
        x.reqScriptBody = true;
        if (x.req.expectContinue && !x.reqBodyDone && !x.sent100 && down_.in().empty()) {
          down_.send("HTTP/1.1 100 Continue\r\n\r\n");
          x.sent100 = true;
        }
        bufferRequestBody();
      } else {
        x.respScriptBody = true;
        bufferResponseBody();
      }
      return PhaseResult::kPause;
  }
  return PhaseResult::kPause;
}

// A hook's httpCall answered and the hooks of `dir` went on: act on where they got to.
void Session::onScriptDone(void* arg, script::Direction dir, ScriptHost::Outcome o) {
  auto* s = static_cast<Session*>(arg);
  if (!s->ex_ || s->state_ != State::kExchange) return;
  PhaseResult r = s->scriptOutcome(dir, o);
  if (r == PhaseResult::kContinue && s->state_ == State::kExchange && s->ex_)
    s->runPhases(s->ex_->phase + 1);
  s->settle();
}

// Reads the whole request body for a hook that asked (body(), bodyChunks(), trailers()), up to
// ScriptHost::kMaxBufferedBody (413 beyond, as Envoy's buffer limit answers).
void Session::bufferRequestBody() {
  Exchange& x = *ex_;
  IoBuffer& in = down_.in();
  std::string& body = x.script->body(script::Direction::kRequest);
  uint64_t maxBody = x.listener->spec.http.maxBodyBytes;
  uint64_t limit = ScriptHost::kMaxBufferedBody;
  if (maxBody && maxBody < limit) limit = maxBody;
  while (!x.reqBodyDone && !in.empty()) {
    if (x.req.body == BodyKind::kContentLength) {
      size_t n = std::min<uint64_t>(x.reqRemaining, in.size());
      body.append(in.begin(), n);
      in.consume(n);
      x.reqRemaining -= n;
      x.reqBodyBytes += n;
      if (x.reqRemaining == 0) x.reqBodyDone = true;
    } else {
      ChunkedDecoder::Step step = x.reqChunks.feed(in.begin(), in.size());
      if (step.error != ParseError::kNone) {
        parseErrorReply(step.error);
        return;
      }
      body.append(step.data);
      x.reqBodyBytes += step.data.size();
      in.consume(step.consumed);
      if (step.done) x.reqBodyDone = true;
    }
    if (body.size() > limit) {
      errorReply(413, LocalReason::kBodyTooLarge, "request body too large\n");
      return;
    }
  }
  if (!x.reqBodyDone) {
    down_.enableRead();
    return;
  }
  x.reqScriptBody = false;
  bool hadBody = x.req.body != BodyKind::kNone;
  PhaseResult r = scriptOutcome(script::Direction::kRequest,
                                x.script->bodyComplete(script::Direction::kRequest, hadBody));
  if (r == PhaseResult::kContinue && state_ == State::kExchange && ex_) runPhases(ex_->phase + 1);
}

// Response hooks, once the upstream's head is parsed. False: the session goes on from here
// (continueResponse), the caller must not forward anything.
bool Session::runResponseScripts() {
  Exchange& x = *ex_;
  x.respHeld = true;
  x.respRemaining = x.resp.contentLength;
  ScriptHost::Outcome o = x.script->run(script::Direction::kResponse);
  if (x.script->responseHeadAdopted()) {
    // The head now lives in the host: the upstream's copy can go.
    x.up->stream().in().consume(x.script->adoptedHeadLength());
    x.respHeadInHost = true;
  }
  scriptOutcome(script::Direction::kResponse, o);
  return false;
}

// Reads the whole response body for a hook that asked.
void Session::bufferResponseBody() {
  Exchange& x = *ex_;
  IoBuffer& in = x.up->stream().in();
  std::string& body = x.script->body(script::Direction::kResponse);
  bool complete = false;
  while (!in.empty() && !complete) {
    if (x.resp.body == BodyKind::kContentLength) {
      size_t n = std::min<uint64_t>(x.respRemaining, in.size());
      body.append(in.begin(), n);
      in.consume(n);
      x.respRemaining -= n;
      complete = x.respRemaining == 0;
    } else if (x.resp.body == BodyKind::kUntilClose) {
      body.append(in.begin(), in.size());
      in.consume(in.size());
    } else {
      ChunkedDecoder::Step step = x.respChunks.feed(in.begin(), in.size());
      if (step.error != ParseError::kNone) {
        ctx_.counters.parseRejections[static_cast<int>(step.error)].inc();
        upstreamFailed(LocalReason::kUpstreamBadResponse);
        return;
      }
      body.append(step.data);
      in.consume(step.consumed);
      complete = step.done;
    }
    if (body.size() > ScriptHost::kMaxBufferedBody) {
      x.upstreamClean = false;
      errorReply(500, LocalReason::kLuaError, "response body too large for a Lua hook\n");
      return;
    }
  }
  if (x.resp.body == BodyKind::kNone ||
      (x.resp.body == BodyKind::kContentLength && x.respRemaining == 0))
    complete = true;
  if (!complete) {
    x.up->stream().enableRead();
    return;
  }
  finishResponseBuffer();
}

void Session::finishResponseBuffer() {
  Exchange& x = *ex_;
  x.respScriptBody = false;
  bool hadBody = !x.script->body(script::Direction::kResponse).empty() ||
                 x.resp.body != BodyKind::kNone;
  scriptOutcome(script::Direction::kResponse,
                x.script->bodyComplete(script::Direction::kResponse, hadBody));
}

// The response hooks are done: send the (maybe changed) head, then the body — the buffered one
// with its new length, or the upstream's as it streams.
void Session::continueResponse() {
  Exchange& x = *ex_;
  x.respHeld = false;
  bool buffered = x.script->bodyBuffered(script::Direction::kResponse) && x.req.method != "HEAD";
  const std::string& body = x.script->body(script::Direction::kResponse);
  if (buffered) {
    x.resp.body = BodyKind::kContentLength;
    x.resp.contentLength = body.size();
  }
  sendResponseHead();
  if (state_ != State::kExchange || !ex_) return;
  if (!buffered) {
    x.up->stream().enableRead();
    forwardResponseBody();
    return;
  }
  if (!x.respDone) {
    if (!sendBodyDown(body.data(), body.size())) return;
    x.respDone = true;
  }
  finishExchange();
}

Session::PhaseResult Session::phaseSelectUpstream() {
  Exchange& x = *ex_;
  const route::Rule& rule = *x.match.rule;
  int b = rule.pickBackend(ctx_.random());
  if (b < 0) {
    errorReply(500, LocalReason::kNoBackend, "no backend\n");
    return PhaseResult::kRespond;
  }
  const config::Snapshot& snap = x.snapshot->get();
  x.service = &snap.services[rule.backends[static_cast<size_t>(b)].service];
  if (x.listener->egress) {
    if (PhaseResult r = checkEgress(); r != PhaseResult::kContinue) return r;
  }
  if (x.service->directResponse) {
    const config::DirectResponse& d = *x.service->directResponse;
    localReply(d.status, nullptr, d.body, d.contentType);
    return PhaseResult::kRespond;
  }
  upstream::BalancerState& lb = x.snapshot->balancer(x.service->index);
  // This worker's view: endpoints failing health checks, and those it ejected until their
  // time is up, are skipped.
  const upstream::EndpointMask& usable = x.snapshot->usable(*x.service);
  uint32_t pick = x.service->balancer.pick(lb, usable, balancerKey(*x.service));
  if (pick == upstream::kNoEndpoint) {
    errorReply(503, LocalReason::kNoHealthyUpstream, "no healthy upstream\n");
    return PhaseResult::kRespond;
  }
  x.endpoint = &x.service->endpoints[pick];
  x.endpointIndex = pick;
  lb.onRequestStart(pick);
  if (rule.retry.attempts != 0) {
    x.snapshot->retryBudget(x.service->index).onRequestStart();
    x.budgetCounted = true;
  }
  if (x.req.expectContinue && !x.reqBodyDone && down_.in().empty()) {
    // We answer 100-continue ourselves once the request is known to go upstream (so a request
    // that is refused never makes the client send its body) and strip Expect upstream.
    down_.send("HTTP/1.1 100 Continue\r\n\r\n");
    x.sent100 = true;
  }
  if (!rule.mirrors.empty()) sendMirrors();
  if (rule.timeouts.requestMs) ex_->exchangeTimer.arm(*rule.timeouts.requestMs);
  return PhaseResult::kContinue;
}

// RequestMirror: a copy of the request as it goes upstream, Host "<host>-shadow" (Envoy's
// convention), to an endpoint of the shadow Service, fire-and-forget (mirror.h). A body of at
// most MirrorSender::kMaxBody goes along: at once when it is all here (in the client buffer,
// or buffered by a Lua hook), else the copies wait for it in x.mirrors, collecting the body as
// it is forwarded (teeMirrorBody), so the real request never waits for them. A larger body, or
// no usable shadow endpoint, drops the copy (counted). WebSocket upgrades are never mirrored.
void Session::sendMirrors() {
  Exchange& x = *ex_;
  if (x.req.upgradeWebsocket || x.req.method == "CONNECT") return;
  for (const route::Mirror& m : x.match.rule->mirrors) {
    if (!mirrorSampled(m.perMillion, ctx_.random())) continue;
    std::string_view body;
    bool whole = true;
    if (x.script && x.script->bodyBuffered(script::Direction::kRequest)) {
      body = scriptedRequestBody();
    } else if (x.req.body == BodyKind::kChunked) {
      whole = false;
    } else if (x.req.body == BodyKind::kContentLength) {
      whole = x.reqRemaining == x.req.contentLength && down_.in().size() >= x.req.contentLength;
      if (whole) body = std::string_view(down_.in().begin(), x.req.contentLength);
    }
    const bool tooLarge = x.req.body == BodyKind::kContentLength && !whole
                              ? x.req.contentLength > MirrorSender::kMaxBody
                              : body.size() > MirrorSender::kMaxBody;
    const config::Snapshot& snap = x.snapshot->get();
    const upstream::Service& shadow = snap.services[m.service];
    // Never in plaintext to a mesh Service (the snapshot has a client context whenever it has
    // a mesh Service; checked all the same), and only to a shadow the outbound listener's
    // EgressPolicies list by Service: a `host` entry allows what the app asked for, not where
    // the route copies it (mirrorAllowed). The copy follows the real request's hash key.
    uint32_t pick = tooLarge || shadow.endpoints.empty() || (shadow.mesh && !snap.mesh.client) ||
                            !mirrorAllowed(x.listener->egress.get(), shadow.index)
                        ? upstream::kNoEndpoint
                        : shadow.balancer.pick(x.snapshot->balancer(shadow.index),
                                               x.snapshot->usable(shadow), balancerKey(shadow));
    if (pick == upstream::kNoEndpoint) {
      ctx_.counters.mirrorDropped.inc();
      continue;
    }
    if (!ctx_.mirror) ctx_.mirror = std::make_unique<MirrorSender>(ctx_.loop, ctx_.counters);
    std::string copy;
    // Envoy applies the route's header changes first, then appends -shadow to the final Host.
    std::string_view host = requestHostAfterModifiers(
        &x.match.rule->filters,
        x.upstreamHost.empty() ? x.req.host : std::string_view(x.upstreamHost));
    serializeRequestHead(copy, shadowHost(host));
    MirrorTarget target;
    target.address = shadow.endpoints[pick].address;
    target.idleTimeoutMs = shadow.idleTimeoutMs;
    target.headRequest = x.req.method == "HEAD";
    if (shadow.mesh) {  // mutual TLS like any call to a mesh Service
      target.tls = x.snapshot->get().mesh.client;
      target.identity = shadow.identity;
      target.poolIdentity = shadow.poolIdentity;
    }
    if (!whole) {
      if (!x.mirrors) x.mirrors = std::make_unique<PendingMirrors>(*ctx_.mirror);
      x.mirrors->add(std::move(target), std::move(copy));
      continue;
    }
    copy.append(body);
    ctx_.mirror->send(std::move(target), std::move(copy));
  }
}

// Request body bytes on their way upstream, as framed there, for copies waiting for the body;
// `done`: that was the end of the body, the copies go.
void Session::teeMirrorBody(const iovec* pieces, int n, bool done) {
  Exchange& x = *ex_;
  x.mirrors->append(pieces, n);
  if (done) {
    x.mirrors->complete();
    x.mirrors.reset();
  }
}

// The access log's view of a decision: allowed or denied, and what decided (a dry-run policy
// that would deny is reported as such when the request was allowed).
void Session::noteAuthz(const policy::Decision& d) {
  Exchange& x = *ex_;
  x.authzResult = d.allow ? telemetry::AuthzResult::kAllowed : telemetry::AuthzResult::kDenied;
  x.authzPolicy = d.policy;
  x.authzRule = d.rule;
  if (d.allow && d.dryRun.evaluated && !d.dryRun.allow) {
    x.authzResult = telemetry::AuthzResult::kDryRunDenied;
    x.authzPolicy = d.dryRun.policy;
    x.authzRule = d.dryRun.rule;
  }
}

// The log phase: one access-log line for the exchange ending now (finished, answered locally
// or cut short), pushed to this worker's ring; never blocks (a full ring drops the line).
void Session::writeAccessLog() {
  const Exchange& x = *ex_;
  telemetry::AccessLogEntry e;
  e.durationMs = static_cast<double>(monotonicUs() - x.startUs) / 1000.0;
  if (x.upstreamStartUs)
    e.upstreamDurationMs = static_cast<double>(x.upstreamEndUs - x.upstreamStartUs) / 1000.0;
  timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  e.startUnixMs = static_cast<int64_t>(wall.tv_sec) * 1000 + wall.tv_nsec / 1'000'000 -
                  static_cast<int64_t>(e.durationMs);
  for (const Header& h : x.req.headers) {
    if (h.name.size() == 12 && str::iequals(h.name, "x-request-id")) e.requestId = h.value;
    if (h.name.size() == 10 && str::iequals(h.name, "user-agent")) e.userAgent = h.value;
  }
  if (x.listener) e.listener = x.listener->label;
  if (x.match.rule) e.route = x.match.rule->label;
  e.method = x.req.method;
  e.authority = x.req.host;
  e.path = x.path;
  e.protocol = x.req.versionMinor == 0 ? "HTTP/1.0" : "HTTP/1.1";
  char requestId[36];
  if (e.requestId.empty()) {
    // The id the upstream request carried (or would have): generated as Envoy does.
    formatRequestId(x.requestIdRandom[0], x.requestIdRandom[1], requestId);
    e.requestId = std::string_view(requestId, sizeof requestId);
  }
  char traceId[32];
  if (x.trace.active) {
    // The trace id is the traceparent's second field (no hex formatting again).
    memcpy(traceId, x.trace.traceparent + 3, sizeof traceId);
    e.traceId = std::string_view(traceId, sizeof traceId);
  }
  e.status = x.status;
  e.responseFlags = telemetry::responseFlagName(x.flag);
  e.bytesIn = x.req.headLength + x.reqBodyBytes;
  e.bytesOut = x.respBytes;
  if (x.endpoint) e.upstreamEndpoint = x.endpoint->label;
  e.peerPrincipal = down_.transport().peerIdentity();
  e.clientAddress = peerLabel_;
  e.authz = x.authzResult;
  if (x.script) {
    e.luaErrors = x.script->errors();
    e.luaError = x.script->firstError();
  }
  std::string policy, rule;
  if (x.authzPolicy) {
    policy = x.authzPolicy->label();
    rule = std::to_string(x.authzRule);
    e.authzPolicy = policy;
    e.authzRule = rule;
  }
  ctx_.logLine.clear();
  telemetry::formatAccessLog(ctx_.accessLogFormat, e, ctx_.logLine);
  ctx_.accessLog->push(ctx_.logLine);
}

// The log phase of a sampled exchange: its server span and, if it went upstream, the client
// span, queued for the exporter thread (dropped and counted when its queue is full).
void Session::exportSpans() {
  const Exchange& x = *ex_;
  timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  uint64_t nowUs = monotonicUs();
  uint64_t wallNs = static_cast<uint64_t>(wall.tv_sec) * 1'000'000'000 +
                    static_cast<uint64_t>(wall.tv_nsec);
  auto toWall = [&](uint64_t us) { return wallNs - (nowUs - us) * 1000; };
  std::string route;
  if (x.match.rule) route = x.match.rule->routeNamespace + "/" + x.match.rule->routeName;
  telemetry::SpanFacts f;
  f.method = x.req.method;
  f.route = route;
  if (x.listener) f.listener = x.listener->label;
  f.authority = x.req.host;
  f.peerPrincipal = down_.transport().peerIdentity();
  if (x.endpoint) f.upstreamEndpoint = x.endpoint->label;
  f.responseFlags = telemetry::responseFlagName(x.flag);
  f.status = x.status;
  f.startUnixNano = toWall(x.startUs);
  f.endUnixNano = wallNs;
  if (x.upstreamStartUs) {
    f.upstreamStartUnixNano = toWall(x.upstreamStartUs);
    f.upstreamEndUnixNano = toWall(x.upstreamEndUs);
  }
  telemetry::endTrace(*ctx_.tracing, x.trace, f);
}

void Session::setFlag(telemetry::ResponseFlag f) {
  if (ex_ && ex_->flag == telemetry::ResponseFlag::kNone) ex_->flag = f;  // the first one
}

// The log phase's metrics: one record per exchange into this worker's cells. Every label is
// an index into the snapshot's precomputed labels; the peer's are resolved once per connection.
void Session::recordMetrics() {
  const Exchange& x = *ex_;
  const config::Snapshot& snap = x.snapshot->get();
  if (!snap.telemetry) return;
  const telemetry::SnapshotLabels& labels = *snap.telemetry;
  telemetry::ExchangeRecord r;
  std::string_view principal = down_.transport().peerIdentity();
  if (peerLabelsFor_ != &labels) {
    peerIds_ = ctx_.exchangeMetrics->peerIds(labels, principal);
    peerLabelsFor_ = &labels;
  }
  r.peer = peerIds_;
  r.peerMutualTls = !principal.empty();
  if (x.listener) r.listener = static_cast<uint32_t>(x.listener - snap.listeners.data());
  r.rule = x.match.rule;
  if (x.service)
    r.service = x.service->index;
  else if (x.match.rule && !x.match.rule->backends.empty())
    r.service = x.match.rule->backends.front().service;  // refused before a backend was picked
  r.status = x.status;
  r.flag = x.flag;
  r.durationMs = static_cast<double>(monotonicUs() - x.startUs) / 1000.0;
  if (x.upstreamStartUs)
    r.upstreamMs = static_cast<double>(x.upstreamEndUs - x.upstreamStartUs) / 1000.0;
  r.requestBytes = x.req.headLength + x.reqBodyBytes;
  r.responseBytes = x.respBytes;
  r.retries = x.tries - 1;
  ctx_.exchangeMetrics->record(*ctx_.metrics, labels, r);
}

// What the endpoint of this exchange did, for outlier detection: once per exchange, the
// first verdict (a response head, or the failure that ended the attempt).
void Session::reportOutcome(upstream::Outcome outcome) {
  Exchange& x = *ex_;
  if (x.outcomeReported || !x.service || x.endpointIndex == upstream::kNoEndpoint ||
      !x.service->outlier.enabled())
    return;
  x.outcomeReported = true;
  upstream::OutlierDetector& od = x.snapshot->outlier(x.service->index);
  if (od.report(x.endpointIndex, outcome, event::Loop::nowMs())) {
    ctx_.counters.upstreamOutlierEjections.inc();
    LOG_WARN("outlier detection: endpoint %s of Service %s ejected (worker view) after repeated "
             "failures", x.endpoint->label.c_str(), x.service->label.c_str());
  }
}

// The consistent-hash key of this request (trafficPolicy.loadBalancer.consistentHash): the
// header's first value, the cookie's value, or the client's address. A request without the
// header or cookie gets a random key (it goes anywhere, as Envoy's does without a hash).
uint64_t Session::balancerKey(const upstream::Service& service) {
  if (!service.balancer.hashBased()) return 0;
  const config::ConsistentHash& h = service.hash;
  if (h.key == config::ConsistentHash::Key::kSourceIp) return upstream::hashIp(peer_);
  for (const Header& f : ex_->req.headers) {
    if (h.key == config::ConsistentHash::Key::kHeader) {
      if (str::iequals(f.name, h.name)) return upstream::hash64(f.value);
      continue;
    }
    if (!str::iequals(f.name, "cookie")) continue;
    std::string_view v = f.value;  // "a=1; b=2"
    while (!v.empty()) {
      size_t semi = v.find(';');
      std::string_view pair = str::trimOws(v.substr(0, semi));
      size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == h.name)
        return upstream::hash64(pair.substr(eq + 1));
      if (semi == std::string_view::npos) break;
      v.remove_prefix(semi + 1);
    }
  }
  return ctx_.random();
}

// Circuit breaking first (when the Service has connectionPool limits): a connection slot of
// this worker's share, a place in the queue, or 503 overflow.
Session::PhaseResult Session::phaseUpstreamRequest() {
  Exchange& x = *ex_;
  if (x.service->circuitBreaking) {
    upstream::CircuitBreaker& cb = x.snapshot->breaker(x.service->index);
    switch (cb.admit(false)) {
      case upstream::CircuitBreaker::Admit::kReuse:
      case upstream::CircuitBreaker::Admit::kConnect:
        cb.onConnectionOpened();
        x.holdsSlot = true;
        break;
      case upstream::CircuitBreaker::Admit::kQueue:
        enqueueForSlot();
        return PhaseResult::kPause;
      case upstream::CircuitBreaker::Admit::kOverflow:
        errorReply(503, LocalReason::kOverflow, "upstream overflow\n");
        return PhaseResult::kRespond;
    }
  }
  startUpstream();
  return PhaseResult::kPause;
}

void Session::enqueueForSlot() {
  Exchange& x = *ex_;
  http::PinnedSnapshot::WaitQueue& q = x.snapshot->waiting(x.service->index);
  x.snapshot->breaker(x.service->index).onQueued();
  x.queued = true;
  prevWaiting = q.tail;
  nextWaiting = nullptr;
  if (q.tail)
    q.tail->nextWaiting = this;
  else
    q.head = this;
  q.tail = this;
}

void Session::leaveQueue() {
  Exchange& x = *ex_;
  http::PinnedSnapshot::WaitQueue& q = x.snapshot->waiting(x.service->index);
  if (prevWaiting)
    prevWaiting->nextWaiting = nextWaiting;
  else
    q.head = nextWaiting;
  if (nextWaiting)
    nextWaiting->prevWaiting = prevWaiting;
  else
    q.tail = prevWaiting;
  prevWaiting = nextWaiting = nullptr;
  x.queued = false;
  x.snapshot->breaker(x.service->index).onDequeued();
}

// The exchange is done with its connection slot: the oldest waiter of the same snapshot and
// Service gets it directly (so a newcomer cannot take it first), and goes on from its own
// timer callback, never from inside this exchange's teardown.
void Session::releaseSlot() {
  Exchange& x = *ex_;
  x.holdsSlot = false;
  http::PinnedSnapshot::WaitQueue& q = x.snapshot->waiting(x.service->index);
  if (Session* next = q.head) {
    next->leaveQueue();
    next->ex_->holdsSlot = true;
    next->ex_->slotGranted = true;
    next->ex_->upstreamTimer.arm(0, false);
    return;
  }
  x.snapshot->breaker(x.service->index).onConnectionClosed();
}

void Session::startUpstream() {
  Exchange& x = *ex_;
  ctx_.counters.upstreamRqTotal.inc();
  x.up = ctx_.pool.take(x.endpoint->address, x.service->poolIdentity,
                        x.service->mesh ? x.snapshot->get().mesh.client.get() : nullptr);
  if (x.up) {
    x.reused = true;
    ctx_.counters.upstreamCxReused.inc();
    ctx_.counters.upstreamCxActive.inc();
    x.up->stream().setHandler(&upHandler_);
    sendRequestHead();
    return;
  }
  connectUpstream();
}

// --- upstream side ------------------------------------------------------------------------

void Session::connectUpstream() {
  Exchange& x = *ex_;
  auto fd = net::connectNonBlocking(x.endpoint->address);
  if (!fd.ok()) {
    ctx_.counters.upstreamCxConnectFail.inc();
    upstreamFailed(LocalReason::kUpstreamConnectFailed);
    return;
  }
  ctx_.counters.upstreamCxTotal.inc();
  ctx_.counters.upstreamCxActive.inc();
  std::unique_ptr<net::Transport> tls;
  if (x.service->mesh) {
    // Mutual TLS with this node's identity, checked against the Service's (spec/mesh.md).
    tls = std::make_unique<tls::TlsTransport>(x.snapshot->get().mesh.client, fd.value(),
                                              &ctx_.counters, x.service->identity);
  }
  x.up = std::make_unique<upstream::Connection>(
      ctx_.loop, fd.value(), x.endpoint->address, std::move(tls), x.service->poolIdentity,
      x.service->mesh ? x.snapshot->get().mesh.client.get() : nullptr);
  x.up->stream().setHandler(&upHandler_);
  x.connecting = true;
  x.up->stream().waitWritable();
  ex_->upstreamTimer.arm(x.service->connectTimeoutMs);
}

void Session::UpstreamHandler::onReadable() {
  s->onUpstreamReadable();
  s->settle();
}
void Session::UpstreamHandler::onDrained() {
  s->onUpstreamDrained();
  s->settle();
}

void Session::onUpstreamDrained() {
  if (!ex_ || !ex_->up) return;
  Exchange& x = *ex_;
  net::Stream& up = x.up->stream();
  if (x.connecting) {
    x.connecting = false;
    ex_->upstreamTimer.cancel();
    int err = net::connectResult(up.fd());
    if (err != 0) {
      ctx_.counters.upstreamCxConnectFail.inc();
      LOG_DEBUG("connect %s: %s", x.endpoint->label.c_str(), strerror(err));
      upstreamFailed(LocalReason::kUpstreamConnectFailed);
      return;
    }
    if (up.transport().handshaking()) {
      // The mTLS handshake runs under the connect timeout: a connection is usable once the
      // peer has proved its identity.
      x.connecting = true;
      ex_->upstreamTimer.arm(x.service->connectTimeoutMs);
      advanceUpstreamHandshake();
      return;
    }
    sendRequestHead();
    return;
  }
  if (up.lastError()) {
    upstreamFailed(LocalReason::kUpstreamReset);
    return;
  }
  if (state_ == State::kTunnel) {
    down_.enableRead();
    return;
  }
  // Back-pressure released: take more request body from the client.
  if (!x.reqBodyDone) {
    forwardRequestBody();
    if (state_ == State::kExchange && ex_ && !ex_->reqBodyDone) down_.enableRead();
  }
}

void Session::advanceUpstreamHandshake() {
  Exchange& x = *ex_;
  net::Stream& up = x.up->stream();
  int r = const_cast<net::Transport&>(up.transport()).handshake(up.fd());
  if (r == 1) {
    x.connecting = false;
    ex_->upstreamTimer.cancel();
    sendRequestHead();
    return;
  }
  if (errno == EAGAIN) {
    if (up.transport().wantsWrite()) {
      up.waitWritable();
    } else {
      up.enableRead();
    }
    return;
  }
  x.connecting = false;
  ex_->upstreamTimer.cancel();
  const auto& peer = static_cast<const tls::TlsTransport&>(up.transport()).peer();
  LOG_WARN("mTLS to %s (Service %s) failed: %s", x.endpoint->label.c_str(),
           x.service->label.c_str(),
           peer.detail.empty() ? "TLS handshake error" : peer.detail.c_str());
  upstreamFailed(LocalReason::kUpstreamTlsFailed);
}

// A Lua hook buffered (and may have changed) the request body: it goes with its own length.
// Sets the framing the head is serialized with (idempotent: a mirror copy asks first).
std::string_view Session::scriptedRequestBody() {
  Exchange& x = *ex_;
  std::string_view scripted = x.script->body(script::Direction::kRequest);
  if (!scripted.empty() || x.req.body != BodyKind::kNone) {
    x.req.body = BodyKind::kContentLength;
    x.req.contentLength = scripted.size();
  }
  return scripted;
}

void Session::sendRequestHead() {
  Exchange& x = *ex_;
  std::string_view scripted;
  if (x.script && x.script->bodyBuffered(script::Direction::kRequest))
    scripted = scriptedRequestBody();
  std::string& head = ctx_.scratch;
  serializeRequestHead(head);
  x.upstreamStartUs = monotonicUs();
  x.upstreamEndUs = 0;
  x.up->countRequest();
  x.headSent = true;
  // Send the head together with the body bytes already buffered (one writev for a small
  // POST); the chunked path re-frames, so it goes through forwardRequestBody.
  IoBuffer& in = down_.in();
  size_t bodyNow = 0;
  if (x.req.body == BodyKind::kContentLength && !x.reqBodyDone)
    bodyNow = std::min<uint64_t>(x.reqRemaining, in.size());
  iovec v[2] = {{head.data(), head.size()}, {in.begin(), bodyNow}};
  if (!scripted.empty()) v[1] = {const_cast<char*>(scripted.data()), scripted.size()};
  if (!x.up->stream().send(v, v[1].iov_len ? 2 : 1)) {
    upstreamFailed(LocalReason::kUpstreamReset);
    return;
  }
  if (x.mirrors && bodyNow) teeMirrorBody(&v[1], 1, x.reqRemaining == bodyNow);
  if (bodyNow) {
    in.consume(bodyNow);
    x.reqRemaining -= bodyNow;
    x.reqBodyBytes += bodyNow;
    if (x.reqRemaining == 0) x.reqBodyDone = true;
  }
  if (x.match.rule->timeouts.backendRequestMs)
    ex_->upstreamTimer.arm(*x.match.rule->timeouts.backendRequestMs);
  x.up->stream().enableRead();
  if (!x.reqBodyDone) {
    forwardRequestBody();
    if (state_ == State::kExchange && ex_ && !ex_->reqBodyDone) down_.enableRead();
  }
}

void Session::serializeRequestHead(std::string& out, std::string_view host) {
  Exchange& x = *ex_;
  RequestHeadInput in;
  in.head = &x.req;
  in.path = x.upstreamPath.empty() ? std::string_view(x.path) : std::string_view(x.upstreamPath);
  in.query = x.target.query;
  in.forceHost = !host.empty();  // a mirror copy's
  in.host = !host.empty()              ? host
            : x.upstreamHost.empty() ? x.req.host
                                     : std::string_view(x.upstreamHost);
  in.clientIp = peerIp_;
  in.xffTrustedHops = x.listener->spec.http.xffTrustedHops;
  in.secure = down_.transport().secure();
  in.filters = &x.match.rule->filters;
  in.random[0] = x.requestIdRandom[0];
  in.random[1] = x.requestIdRandom[1];
  in.extraHeaders = x.authzHeaders;
  if (x.trace.active) {
    in.traceparent = x.trace.traceparentView();
    in.tracestate = x.trace.server.tracestate;
  }
  in.peerIdentity = down_.transport().peerIdentity();
  if (!in.peerIdentity.empty()) {
    in.peerHash = down_.transport().peerCertificateHash();
    in.localIdentity = x.snapshot->get().mesh.localIdentity;
  }
  serializeRequest(in, out);
}

// Moves buffered request-body bytes from the client's buffer to the upstream, re-framing
// chunked bodies, until the buffer is empty, the body ends, or the upstream pushes back.
void Session::forwardRequestBody() {
  Exchange& x = *ex_;
  IoBuffer& in = down_.in();
  net::Stream& up = x.up->stream();
  uint64_t maxBody = x.listener->spec.http.maxBodyBytes;
  while (!x.reqBodyDone && !in.empty()) {
    if (up.pending() > kHighWater) {
      down_.disableRead();
      return;
    }
    if (x.req.body == BodyKind::kContentLength) {
      size_t n = std::min<uint64_t>(x.reqRemaining, in.size());
      if (!up.send(std::string_view(in.begin(), n))) {
        upstreamFailed(LocalReason::kUpstreamReset);
        return;
      }
      if (x.mirrors) {
        iovec v{in.begin(), n};
        teeMirrorBody(&v, 1, x.reqRemaining == n);
      }
      in.consume(n);
      x.reqRemaining -= n;
      x.reqBodyBytes += n;
      if (x.reqRemaining == 0) x.reqBodyDone = true;
      continue;
    }
    ChunkedDecoder::Step step = x.reqChunks.feed(in.begin(), in.size());
    if (step.error != ParseError::kNone) {
      x.upstreamClean = false;
      if (!x.respStarted) {
        parseErrorReply(step.error);  // counts and logs the rejection
      } else {
        ctx_.counters.parseRejections[static_cast<int>(step.error)].inc();
        LOG_DEBUG("request body rejected: %s", reasonName(step.error));
        close();
      }
      return;
    }
    if (!step.data.empty()) {
      x.reqBodyBytes += step.data.size();
      if (maxBody && x.reqBodyBytes > maxBody) {
        x.upstreamClean = false;
        if (!x.respStarted) {
          errorReply(413, LocalReason::kBodyTooLarge, "request body too large\n");
        } else {
          close();
        }
        return;
      }
      ChunkFrame frame(step.data.data(), step.data.size());
      if (!up.send(frame.v, 3)) {
        upstreamFailed(LocalReason::kUpstreamReset);
        return;
      }
      if (x.mirrors) teeMirrorBody(frame.v, 3, false);
    }
    if (step.done) {
      if (!up.send("0\r\n\r\n")) {
        upstreamFailed(LocalReason::kUpstreamReset);
        return;
      }
      if (x.mirrors) {
        iovec v{const_cast<char*>("0\r\n\r\n"), 5};
        teeMirrorBody(&v, 1, true);
      }
      x.reqBodyDone = true;
    }
    in.consume(step.consumed);
  }
  if (x.reqBodyDone && x.respDone) finishExchange();
}

void Session::onUpstreamReadable() {
  if (!ex_ || !ex_->up) return;
  if (ex_->connecting) {
    advanceUpstreamHandshake();
    return;
  }
  if (state_ == State::kTunnel) {
    pumpTunnel(ex_->up->stream(), down_);
    return;
  }
  readUpstream();
}

void Session::readUpstream() {
  Exchange& x = *ex_;
  net::Stream& up = x.up->stream();
  if (x.respHeadDone && down_.pending() > kHighWater) {
    up.disableRead();  // the client is slower than the upstream: wait for onDrained
    return;
  }
  size_t limit = x.respHeadDone ? kBodyWindow : x.listener->limits.maxResponseHead + 1024;
  // A body larger than one block is read in body-window bites: fewer syscalls each way.
  bool bigBody = x.respHeadDone && (x.resp.body != BodyKind::kContentLength ||
                                    x.respRemaining > IoBuffer::kBlockSize);
  auto r = up.fill(limit, bigBody ? kBodyWindow : IoBuffer::kBlockSize);
  switch (r) {
    case net::Stream::ReadResult::kData:
      x.respSeenBytes = true;
      break;
    case net::Stream::ReadResult::kAgain:
      return;
    case net::Stream::ReadResult::kFull:
      if (!x.respHeadDone) {
        ctx_.counters.parseRejections[static_cast<int>(ParseError::kResponseHeadTooLarge)].inc();
        x.upstreamClean = false;
        upstreamFailed(LocalReason::kUpstreamBadResponse);
      } else {
        up.disableRead();
      }
      return;
    case net::Stream::ReadResult::kEof:
    case net::Stream::ReadResult::kError:
      x.upstreamClean = false;
      if (x.respScriptBody && x.resp.body == BodyKind::kUntilClose) {
        bufferResponseBody();
        if (state_ == State::kExchange && ex_ && ex_->respScriptBody) finishResponseBuffer();
        return;
      }
      if (x.respHeld && !x.respScriptBody) return;  // hooks paused; their end decides
      if (x.respHeadDone && x.resp.body == BodyKind::kUntilClose) {
        // The upstream's close is the end of this body.
        x.respDone = true;
        iovec last{const_cast<char*>("0\r\n\r\n"), 5};
        if (!sendDown(&last, x.respChunkedOut ? 1 : 0)) return;
        if (!x.respChunkedOut) x.req.keepAlive = false;
        finishExchange();
        return;
      }
      if (!x.respSeenBytes && retryOnFreshConnection()) return;
      upstreamFailed(LocalReason::kUpstreamReset);
      return;
  }
  if (!x.respHeadDone) {
    if (!parseResponseHead()) return;
  }
  forwardResponseBody();
}

// A pooled connection the upstream closed just before we used it: for a request that can be
// repeated safely (idempotent, no body sent), try once more on a new connection.
bool Session::retryOnFreshConnection() {
  Exchange& x = *ex_;
  if (!x.reused || x.retried || x.reqBodyBytes != 0 || x.req.body != BodyKind::kNone ||
      !idempotent(x.req.method))
    return false;
  x.retried = true;
  x.reused = false;
  ctx_.counters.upstreamRetryPooled.inc();
  x.up.reset();
  ctx_.counters.upstreamCxActive.dec();
  connectUpstream();
  return true;
}

bool Session::parseResponseHead() {
  Exchange& x = *ex_;
  IoBuffer& in = x.up->stream().in();
  for (;;) {
    ParseStatus st = x.respParser.parse(in.begin(), in.size(), x.req.method == "HEAD", x.resp);
    if (st == ParseStatus::kIncomplete) return false;
    if (st == ParseStatus::kError) {
      ctx_.counters.parseRejections[static_cast<int>(x.respParser.error())].inc();
      LOG_DEBUG("upstream %s: bad response: %s", x.endpoint->label.c_str(),
                reasonName(x.respParser.error()));
      x.upstreamClean = false;
      upstreamFailed(LocalReason::kUpstreamBadResponse);
      return false;
    }
    if (x.resp.status == 101 && x.req.upgradeWebsocket) break;
    if (x.resp.status >= 100 && x.resp.status < 200) {
      // Interim responses (100, 103) are not forwarded: we handled Expect ourselves.
      in.consume(x.resp.headLength);
      x.resp.clear();
      x.respParser.reset();
      continue;
    }
    break;
  }
  ex_->upstreamTimer.cancel();
  x.status = x.resp.status;
  reportOutcome(upstream::outcomeForStatus(x.status));
  if (x.match.rule->retry.attempts != 0 && maybeRetry(upstream::AttemptFailure::kStatus, x.status))
    return false;
  x.respHeadDone = true;
  if (x.script && x.resp.status != 101) return runResponseScripts();
  sendResponseHead();
  return state_ == State::kExchange;
}

void Session::sendResponseHead() {
  Exchange& x = *ex_;
  if (!x.reqBodyDone) {
    // The upstream answered before the whole request body was sent: we cannot reuse either
    // connection without reading the rest of the body, so close both after this response.
    x.req.keepAlive = false;
    x.upstreamClean = false;
  }
  bool tunnel = x.resp.status == 101;
  bool clientKeepAlive = x.req.keepAlive && !ctx_.draining && !listener_->removed && !tunnel;
  ResponseHeadInput in;
  in.head = &x.resp;
  in.filters = &x.match.rule->filters;
  in.clientVersionMinor = x.req.versionMinor;
  in.headRequest = x.req.method == "HEAD";
  ResponseFraming framing = serializeResponse(in, clientKeepAlive, ctx_.scratch);
  x.respChunkedOut = framing.chunked;
  if (!framing.keepAlive) x.req.keepAlive = false;
  x.respRemaining = x.resp.contentLength;
  if (!x.respHeadInHost) x.up->stream().in().consume(x.resp.headLength);
  x.respStarted = true;
  // The head waits in ctx_.scratch for the first body bytes so both leave in one writev
  // (forwardResponseBody sends it); a head with nothing behind it goes out now.
  x.respHeadUnsent = true;
  if (tunnel) {
    if (!sendDown(nullptr, 0)) return;
    state_ = State::kTunnel;
    ex_->exchangeTimer.cancel();
    down_.in().unpin();
    x.reqBodyDone = x.respDone = true;
    down_.enableRead();
    // Bytes that followed the 101 head belong to the tunnel.
    pumpTunnel(x.up->stream(), down_);
    if (state_ == State::kTunnel) processTunnelBuffered();
    return;
  }
  if (x.resp.body == BodyKind::kNone ||
      (x.resp.body == BodyKind::kContentLength && x.resp.contentLength == 0)) {
    x.respDone = true;
    sendDown(nullptr, 0);
  }
}

// Sends response body bytes to the client in the framing chosen for it: re-chunked, or as
// they are (HTTP/1.0 clients, Content-Length bodies).
bool Session::sendBodyDown(const char* data, size_t n) {
  if (ex_->respChunkedOut) {
    ChunkFrame frame(data, n);
    return sendDown(frame.v, 3);
  }
  iovec v{const_cast<char*>(data), n};
  return sendDown(&v, 1);
}

// Sends pieces to the client, preceded by the response head if it has not gone out yet.
// False (and the session closing) when the client connection broke.
bool Session::sendDown(const iovec* pieces, int n) {
  iovec v[4];
  int k = 0;
  if (ex_ && ex_->respHeadUnsent) {
    ex_->respHeadUnsent = false;
    v[k++] = {ctx_.scratch.data(), ctx_.scratch.size()};
  }
  for (int i = 0; i < n && k < 4; ++i) v[k++] = pieces[i];
  if (k == 0) return true;
  if (ex_)
    for (int i = 0; i < k; ++i) ex_->respBytes += v[i].iov_len;
  if (!down_.send(v, k)) {
    close();
    return false;
  }
  return true;
}

void Session::forwardResponseBody() {
  if (!ex_ || state_ != State::kExchange) return;
  Exchange& x = *ex_;
  if (!x.respHeadDone) return;
  if (x.respScriptBody) {
    bufferResponseBody();
    return;
  }
  if (x.respHeld) {
    x.up->stream().disableRead();  // response hooks run: the body waits for them
    return;
  }
  IoBuffer& in = x.up->stream().in();
  while (!x.respDone && !in.empty()) {
    if (down_.pending() > kHighWater) {
      x.up->stream().disableRead();
      return;
    }
    if (x.resp.body == BodyKind::kContentLength) {
      size_t n = std::min<uint64_t>(x.respRemaining, in.size());
      if (!sendBodyDown(in.begin(), n)) return;
      in.consume(n);
      x.respRemaining -= n;
      if (x.respRemaining == 0) x.respDone = true;
    } else if (x.resp.body == BodyKind::kUntilClose) {
      size_t n = in.size();
      if (!sendBodyDown(in.begin(), n)) return;
      in.consume(n);
    } else {  // chunked
      ChunkedDecoder::Step step = x.respChunks.feed(in.begin(), in.size());
      if (step.error != ParseError::kNone) {
        ctx_.counters.parseRejections[static_cast<int>(step.error)].inc();
        x.upstreamClean = false;
        setFlag(telemetry::ResponseFlag::kUpstreamProtocolError);
        close();  // the response already started: all we can do is cut it
        return;
      }
      if (!step.data.empty()) {
        if (!sendBodyDown(step.data.data(), step.data.size())) return;
      }
      in.consume(step.consumed);
      if (step.done) {
        x.respDone = true;
        iovec last{const_cast<char*>("0\r\n\r\n"), 5};
        if (!sendDown(&last, x.respChunkedOut ? 1 : 0)) return;
      }
    }
  }
  if (x.respDone) {
    if (!in.empty()) x.upstreamClean = false;  // bytes beyond the response: never reuse
    finishExchange();
  }
}

// A failed attempt (a connect failure, a reset, a per-try timeout, or a status the policy
// lists): tries again when the rule's retry policy covers it, it is safe, and the Service's
// retry budget on this worker has room; preferably on another endpoint, after the backoff.
// True when a retry is under way (this attempt is torn down); false leaves the failure as is.
//
// Safe: nothing went to the client, and the request can be sent again as it was. Request
// bodies are streamed, not kept, so a request whose body bytes already left for the failed
// attempt is never retried, idempotent or not; a connect failure sent nothing.
bool Session::maybeRetry(upstream::AttemptFailure failure, int status) {
  Exchange& x = *ex_;
  const upstream::RetryPolicy& policy = x.match.rule->retry;
  const bool bodyLeft = x.reqBodyBytes != 0 || (x.headSent && x.req.body == BodyKind::kChunked);
  upstream::Attempt a;
  a.failure = failure;
  a.status = status;
  a.triesSoFar = x.tries;
  a.idempotent = upstream::isIdempotent(x.req.method);
  a.requestBodySent = bodyLeft || (x.headSent && x.req.body != BodyKind::kNone && !a.idempotent);
  a.responseForwarded = x.respStarted;
  if (upstream::decideRetry(policy, a) != upstream::RetryDecision::kRetry || bodyLeft ||
      state_ != State::kExchange)
    return false;
  // Another endpoint if there is one: the balancer's next pick, else the next usable one.
  upstream::BalancerState& lb = x.snapshot->balancer(x.service->index);
  const upstream::EndpointMask& usable = x.snapshot->usable(*x.service);
  const uint32_t previous = x.endpointIndex;
  uint32_t pick = x.service->balancer.pick(lb, usable, balancerKey(*x.service));
  for (int i = 0; i < 3 && pick == previous && usable.count() > 1; ++i)
    pick = x.service->balancer.pick(lb, usable, ctx_.random());
  if (pick == previous && usable.count() > 1) pick = usable.nextSet(previous + 1);
  if (pick == upstream::kNoEndpoint) return false;
  upstream::RetryBudget& budget = x.snapshot->retryBudget(x.service->index);
  if (x.retryHeld) {
    budget.onRetryEnd();
    x.retryHeld = false;
  }
  if (!budget.tryAcquire()) {
    ctx_.counters.upstreamRetryBudgetExhausted.inc();
    return false;
  }
  x.retryHeld = true;
  ctx_.counters.upstreamRetries.inc();
  LOG_DEBUG("retry %u of %s to Service %s: endpoint %s failed", x.tries, x.path.c_str(),
            x.service->label.c_str(), x.endpoint->label.c_str());
  // Tear the failed attempt down; the connection is never pooled.
  if (x.up) {
    x.up.reset();
    ctx_.counters.upstreamCxActive.dec();
  }
  ex_->upstreamTimer.cancel();
  lb.onRequestEnd(previous);
  x.endpoint = &x.service->endpoints[pick];
  x.endpointIndex = pick;
  lb.onRequestStart(pick);
  x.resp.clear();
  x.respParser.reset();
  x.respChunks.reset();
  x.status = 0;
  x.connecting = x.reused = x.retried = x.headSent = false;
  x.respHeadDone = x.respSeenBytes = false;
  x.upstreamClean = true;
  x.outcomeReported = false;
  // Backoff: at least the policy's backoff, plus full jitter above it (docs/traffic.md).
  uint64_t wait = policy.backoffBaseMs + upstream::retryBackoffMs(policy, x.tries - 1,
                                                                 ctx_.random());
  ++x.tries;
  x.retryPending = true;
  ex_->upstreamTimer.arm(wait, false);
  return true;
}

// The upstream failed before or during the response. Before any response byte went to the
// client we answer with a local reply; after, we can only cut the client connection.
void Session::upstreamFailed(LocalReason reason) {
  Exchange& x = *ex_;
  x.upstreamClean = false;
  if (x.upstreamStartUs && !x.upstreamEndUs) x.upstreamEndUs = monotonicUs();
  switch (reason) {
    case LocalReason::kUpstreamConnectFailed:
    case LocalReason::kUpstreamConnectTimeout:
    case LocalReason::kUpstreamTlsFailed:
      reportOutcome(upstream::Outcome::kConnectFailure);
      break;
    case LocalReason::kUpstreamReset:
    case LocalReason::kUpstreamBadResponse:
      reportOutcome(upstream::Outcome::kReset);
      break;
    case LocalReason::kUpstreamTimeout:
      reportOutcome(upstream::Outcome::kTimeout);
      break;
    default:
      break;
  }
  if (!x.respStarted && x.match.rule && x.match.rule->retry.attempts != 0) {
    upstream::AttemptFailure f = upstream::AttemptFailure::kReset;
    bool retriable = true;
    switch (reason) {
      case LocalReason::kUpstreamConnectFailed:
      case LocalReason::kUpstreamConnectTimeout:
      case LocalReason::kUpstreamTlsFailed:
        f = upstream::AttemptFailure::kConnectFailure;
        break;
      case LocalReason::kUpstreamReset:
      case LocalReason::kUpstreamBadResponse:
        break;
      case LocalReason::kUpstreamTimeout:
        f = upstream::AttemptFailure::kTimeout;
        break;
      default:
        retriable = false;  // the route's own timeout, or not the upstream's doing
    }
    if (retriable && maybeRetry(f, 0)) return;
  }
  setFlag(telemetry::responseFlagFor(reason));
  if (x.respStarted) {
    close();
    return;
  }
  int status = 502;
  if (reason == LocalReason::kUpstreamConnectTimeout || reason == LocalReason::kUpstreamTimeout ||
      reason == LocalReason::kRequestTimeout)
    status = 504;
  if (reason == LocalReason::kNoHealthyUpstream) status = 503;
  errorReply(status, reason, "upstream failed\n");
}

void Session::releaseUpstream(bool reusable) {
  Exchange& x = *ex_;
  if (!x.up) return;
  if (x.upstreamStartUs && !x.upstreamEndUs) x.upstreamEndUs = monotonicUs();
  ctx_.counters.upstreamCxActive.dec();
  const uint32_t maxRequests = x.service->limits.maxRequestsPerConnection;
  if (reusable && x.resp.keepAlive && x.upstreamClean && x.reqBodyDone && x.respDone &&
      x.up->stream().pending() == 0 && x.up->stream().in().empty() &&
      (maxRequests == 0 || x.up->requests() < maxRequests)) {
    ctx_.pool.put(std::move(x.up), x.service->idleTimeoutMs);
  }
  x.up.reset();
}

// --- ending exchanges ---------------------------------------------------------------------

void Session::finishExchange() {
  Exchange& x = *ex_;
  releaseUpstream(true);
  // log phase: counters (access log and traces come with observability)
  int cls = x.status / 100;
  if (cls >= 1 && cls <= 5) ctx_.counters.responsesByClass[cls].inc();

  bool keepAlive = x.req.keepAlive && x.reqBodyDone && !ctx_.draining && !listener_->removed;
  releaseExchange();
  state_ = State::kIdle;
  if (!keepAlive) {
    closeAfterFlush();
    return;
  }
  down_.enableRead();
  if (!down_.in().empty()) {
    processBuffered();  // a pipelined request is already here
    return;
  }
  down_.releaseBuffers();
  downTimer_.set(listener_->current ? listener_->current->spec.http.idleTimeoutMs : 60'000);
}

// Counts a local reply by its reason and gives the exchange that reason's Envoy flag: every
// local reply with a reason goes through here, whoever writes its body.
void Session::noteLocalReply(LocalReason reason) {
  ctx_.counters.localReplies[static_cast<int>(reason)].inc();
  if (ex_) setFlag(telemetry::responseFlagFor(reason));
}

void Session::errorReply(int status, LocalReason reason, std::string_view body) {
  noteLocalReply(reason);
  localReply(status, telemetry::localReasonName(reason), body, "text/plain");
}

void Session::localReply(int status, const char* reason, std::string_view body,
                         std::string_view contentType, std::string_view location,
                         const ScriptHost* scripted, std::string_view retryAfter) {
  Exchange* x = ex_.get();
  if (x && x->respStarted) {
    close();
    return;
  }
  bool keepAlive = x && x->req.keepAlive && x->reqBodyDone && !ctx_.draining &&
                   !listener_->removed && status != 408;
  bool head = x && x->req.method == "HEAD";
  int minor = x ? x->req.versionMinor : 1;
  if (scripted)
    scripted->serializeReply(keepAlive, head, minor, ctx_.scratch);
  else
    serializeLocalReply(status, reason, body, contentType, location, keepAlive, head, minor,
                        ctx_.scratch, retryAfter);
  if (x) x->respBytes += ctx_.scratch.size();
  if (!down_.send(ctx_.scratch)) {
    close();
    return;
  }
  if (!x) {
    closeAfterFlush();
    return;
  }
  x->status = status;
  x->respStarted = true;
  x->respDone = true;
  if (!keepAlive) x->req.keepAlive = false;
  if (x->up) x->upstreamClean = false;
  if (!x->reqBodyDone) {
    // The body was not read: the connection cannot carry another request.
    x->req.keepAlive = false;
  }
  finishExchange();
}

void Session::parseErrorReply(ParseError e) {
  ctx_.counters.parseRejections[static_cast<int>(e)].inc();
  LOG_DEBUG("request from %s rejected: %s", peer_.toString().c_str(), reasonName(e));
  if (ex_ && ex_->snapshot != nullptr) {
    // A started exchange (a bad request body): end it through the normal path.
    serializeLocalReply(statusFor(e), reasonName(e), "bad request\n", "text/plain", {}, false,
                        false, 1, ctx_.scratch);
    ex_->status = statusFor(e);
    ex_->respBytes += ctx_.scratch.size();
    setFlag(telemetry::ResponseFlag::kDownstreamProtocolError);
    ex_->respStarted = ex_->respDone = true;
    ex_->req.keepAlive = false;
    ex_->upstreamClean = false;
    down_.send(ctx_.scratch);
    finishExchange();
    return;
  }
  replyAndClose(statusFor(e), reasonName(e), "bad request\n");
}

// A final reply to a head that never became an exchange (refused by the parser, or too
// slow), then the connection closes.
void Session::replyAndClose(int status, const char* reason, std::string_view body) {
  if (ex_) releaseExchange();
  serializeLocalReply(status, reason, body, "text/plain", {}, false, false, 1, ctx_.scratch);
  ctx_.counters.responsesByClass[status / 100].inc();
  down_.send(ctx_.scratch);
  state_ = State::kIdle;
  closeAfterFlush();
}

void Session::closeAfterFlush() {
  closeAfterFlush_ = true;
  downTimer_.clear();
  if (down_.pending() == 0) beginLinger();
}

// After a final reply on a connection we are closing: shut our write side so the client sees
// the end of the response, and keep reading (and discarding) for a moment, because closing a
// socket with unread input makes the kernel send a reset that can destroy the reply before the
// client reads it.
void Session::beginLinger() {
  if (state_ == State::kClosed) return;
  if (ex_) abortExchange();
  state_ = State::kLingering;
  closeAfterFlush_ = false;
  down_.shutdownWrite();
  down_.in().consume(down_.in().size());
  down_.enableRead();
  downTimer_.set(kLingerMs);
}

// --- timers -------------------------------------------------------------------------------

void Session::onDownTimer(void* arg) {
  auto* s = static_cast<Session*>(arg);
  if (s->state_ == State::kIdle && s->headTimerArmed_ && !s->down_.in().empty()) {
    s->headTimerArmed_ = false;
    s->ctx_.counters.localReplies[static_cast<int>(LocalReason::kHeadTimeout)].inc();
    s->replyAndClose(408, telemetry::localReasonName(LocalReason::kHeadTimeout),
                     "request head timeout\n");
  } else {
    s->close();  // idle keep-alive timeout, or linger over
  }
  s->settle();
}

void Session::onExchangeTimer(void* arg) {
  auto* s = static_cast<Session*>(arg);
  if (s->ex_ && s->ex_->faultDelaying) {
    // A fault delay is over: abort if the fault said so, else carry on with the next phase.
    s->ex_->faultDelaying = false;
    if (s->ex_->faultAbortStatus)
      s->faultAbortReply();
    else
      s->runPhases(s->ex_->phase + 1);
  } else if (s->ex_) {
    s->upstreamFailed(LocalReason::kRequestTimeout);
  }
  s->settle();
}

void Session::onUpstreamTimer(void* arg) {
  auto* s = static_cast<Session*>(arg);
  if (s->ex_ && s->ex_->slotGranted) {
    s->ex_->slotGranted = false;  // a connection slot was handed over: go upstream now
    s->startUpstream();
  } else if (s->ex_ && s->ex_->retryPending) {
    s->ex_->retryPending = false;  // the retry's backoff is over
    s->startUpstream();
  } else if (s->ex_) {
    s->upstreamFailed(s->ex_->connecting ? LocalReason::kUpstreamConnectTimeout
                                         : LocalReason::kUpstreamTimeout);
  }
  s->settle();
}

// --- tunnel -------------------------------------------------------------------------------

void Session::processTunnelBuffered() {
  if (ex_ && ex_->up && !down_.in().empty()) pumpTunnel(down_, ex_->up->stream());
}

// Moves bytes from one side of an upgraded connection to the other, with back-pressure.
void Session::pumpTunnel(net::Stream& from, net::Stream& to) {
  for (;;) {
    if (!from.in().empty()) {
      if (!to.send(from.in().view())) {
        close();
        return;
      }
      from.in().consume(from.in().size());
    }
    if (to.pending() > kHighWater) {
      from.disableRead();
      return;
    }
    auto r = from.fill(kBodyWindow);
    if (r == net::Stream::ReadResult::kData) continue;
    if (r == net::Stream::ReadResult::kAgain) return;
    close();  // either side ending ends the tunnel
    return;
  }
}

}  // namespace gh::http
