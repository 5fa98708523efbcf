#include "core/http/script_exchange.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/base/log.h"
#include "core/base/strings.h"
#include "core/http/context.h"
#include "core/http/serialize.h"
#include "core/http/whole_response.h"
#include "core/net/socket.h"
#include "core/tls/tls_transport.h"

namespace gh::http {

using script::Direction;
using script::HookResult;
using script::Wait;

// --- OwnedHeaders -------------------------------------------------------------------------

void OwnedHeaders::add(std::string_view name, std::string_view value) {
  entries.emplace_back(std::string(name), std::string(value));
  modified = true;
}

void OwnedHeaders::replace(std::string_view name, std::string_view value) {
  bool done = false;
  for (auto it = entries.begin(); it != entries.end();) {
    if (str::iequals(it->first, name)) {
      if (!done) {
        it->second.assign(value);
        done = true;
        ++it;
      } else {
        it = entries.erase(it);
      }
    } else {
      ++it;
    }
  }
  if (!done) entries.emplace_back(std::string(name), std::string(value));
  modified = true;
}

void OwnedHeaders::remove(std::string_view name) {
  for (auto it = entries.begin(); it != entries.end();) {
    if (str::iequals(it->first, name)) {
      it = entries.erase(it);
      modified = true;
    } else {
      ++it;
    }
  }
}

void OwnedHeaders::setReasonPhrase(std::string_view text) {
  reason.assign(text);
  modified = true;
}

const std::string* OwnedHeaders::find(std::string_view name) const {
  for (const auto& e : entries)
    if (str::iequals(e.first, name)) return &e.second;
  return nullptr;
}

// --- HttpCallClient -----------------------------------------------------------------------

// One handle:httpCall: a connection of its own to the Service's endpoint (one request, then
// close), a timeout, and the answer parsed as the ext_authz client does. Owned by the
// ScriptHost; destroying it cancels the call. A failure of any kind answers Envoy's way
// (HttpCallResponse::failure()).
class HttpCallClient final : public net::Stream::Handler {
 public:
  static constexpr size_t kMaxResponse = 1 << 20;

  HttpCallClient(event::Loop& loop, ScriptHost* host, bool detached)
      : loop_(loop), host_(host), detached_(detached),
        timer_(loop, &HttpCallClient::onTimeout, this) {}

  bool start(const net::Address& address, std::string request, uint64_t timeoutMs) {
    request_ = std::move(request);
    auto fd = net::connectNonBlocking(address);
    if (!fd.ok()) return false;
    stream_ = std::make_unique<net::Stream>(loop_, fd.value(), this);
    connecting_ = true;
    stream_->waitWritable();
    timer_.arm(timeoutMs, false);
    return true;
  }
  bool finished() const { return finished_; }

 private:
  void onDrained() override {
    if (finished_ || !stream_) return;
    if (connecting_) {
      connecting_ = false;
      if (net::connectResult(stream_->fd()) != 0 || !stream_->send(request_)) {
        fail();
        return;
      }
      stream_->enableRead();
      return;
    }
    if (stream_->lastError()) fail();
  }
  void onReadable() override {
    if (finished_ || !stream_) return;
    auto r = stream_->fill(kMaxResponse + 1);
    IoBuffer& in = stream_->in();
    if (r == net::Stream::ReadResult::kData) {
      response_.append(in.begin(), in.size());
      in.consume(in.size());
      if (response_.size() > kMaxResponse) {
        fail();
        return;
      }
      parse(false);
      return;
    }
    if (r == net::Stream::ReadResult::kAgain) return;
    if (r == net::Stream::ReadResult::kEof) {
      if (!parse(true)) fail();
      return;
    }
    fail();
  }
  static void onTimeout(void* arg) { static_cast<HttpCallClient*>(arg)->fail(); }

  // True when finished.
  bool parse(bool eof) {
    ResponseHead head;
    std::string body;
    switch (readWholeResponse(response_, eof, &head, &body)) {
      case WholeResponse::kIncomplete: return false;
      case WholeResponse::kBadHead:
      case WholeResponse::kBadChunked: fail(); return true;
      case WholeResponse::kDone: break;
    }
    script::HttpCallResponse out;
    out.headers.emplace_back(":status", std::to_string(head.status));
    for (const Header& h : head.headers) out.headers.emplace_back(str::toLower(h.name), h.value);
    out.body = std::move(body);
    finish(std::move(out));
    return true;
  }
  void fail() { finish(script::HttpCallResponse::failure()); }
  void finish(script::HttpCallResponse response) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    if (stream_) stream_->disableRead();
    if (!detached_) host_->onHttpCallDone(this, std::move(response));
  }

  event::Loop& loop_;
  ScriptHost* host_;
  bool detached_;
  event::Timer timer_;
  std::string request_;
  std::string response_;
  std::unique_ptr<net::Stream> stream_;
  bool connecting_ = false;
  bool finished_ = false;
};

// --- ScriptHost ---------------------------------------------------------------------------

ScriptHost::ScriptHost(Env env, std::span<const int> chain, Done done, void* arg)
    : env_(std::move(env)),
      chain_(chain),
      done_(done),
      arg_(arg),
      resumeTimer_(env_.ctx->loop, &ScriptHost::onResumeTimer, this) {}

ScriptHost::~ScriptHost() {
  // Paused hooks are cancelled by their HookCall's destructor; calls close their connections.
  for (Side& s : sides_) s.call.reset();
  calls_.clear();
}

ScriptHost::Outcome ScriptHost::run(Direction dir) {
  Side& s = side(dir);
  s.next = 0;
  if (dir == Direction::kRequest) {
    const RequestHead& h = *env_.req;
    s.ended = s.buffered || h.body == BodyKind::kNone ||
              (h.body == BodyKind::kContentLength && h.contentLength == 0);
  } else {
    const ResponseHead& h = *env_.resp;
    s.ended = h.body == BodyKind::kNone ||
              (h.body == BodyKind::kContentLength && h.contentLength == 0);
  }
  return advance(dir);
}

// Starts hooks from side.next until one needs the session, or all are done.
ScriptHost::Outcome ScriptHost::advance(Direction dir) {
  Side& s = side(dir);
  script::Hook hook = dir == Direction::kRequest ? script::Hook::kRequest : script::Hook::kResponse;
  while (s.next < chain_.size()) {
    int id = chain_[s.next++];
    if (!env_.ctx->scripts->defines(*env_.scripts, id, hook)) continue;
    s.call = env_.ctx->scripts->call(*env_.scripts, id, hook, *this);
    if (dir == Direction::kResponse && !respAdopted_) buildResponseMap();
    Outcome o = drive(dir, s.call->start());
    if (o != Outcome::kContinue) return o;
  }
  s.call.reset();
  commit(dir);
  return Outcome::kContinue;
}

// Acts on what the current hook of `dir` returned.
ScriptHost::Outcome ScriptHost::drive(Direction dir, HookResult r) {
  Side& s = side(dir);
  script::HookCall& call = *s.call;
  if (call.failed()) noteFailure(call);
  switch (r) {
    case HookResult::kRespond:
      s.call.reset();
      return Outcome::kRespond;
    case HookResult::kContinue:
      if (authorizing_ && call.done()) {
        verdict_ = call.verdict();
        authorizing_ = false;
        s.call.reset();
        return Outcome::kVerdict;
      }
      if (call.waitingFor() == Wait::kBodyChunk) {
        if (!s.ended) return Outcome::kNeedBody;
        return drive(dir, feedChunks(dir));  // the body is already here (or there is none)
      }
      s.call.reset();
      return Outcome::kContinue;
    case HookResult::kPause:
      if (call.waitingFor() == Wait::kHttpCall) return Outcome::kPause;
      // kBody, kTrailers: the whole body first (trailers are not kept: the hook gets nil).
      if (s.ended) {
        HookResult again = call.waitingFor() == Wait::kTrailers ? call.resumeTrailers()
                                                                : call.resumeBody();
        return drive(dir, again);
      }
      return Outcome::kNeedBody;
  }
  return Outcome::kContinue;
}

// A hook iterating bodyChunks() once the body is complete: the buffered body as one chunk,
// then the end of the iteration.
HookResult ScriptHost::feedChunks(Direction dir) {
  Side& s = side(dir);
  HookResult r = HookResult::kContinue;
  if (s.buffered && !s.body.data.empty()) r = s.call->resumeBodyChunk(&s.body);
  while (r == HookResult::kContinue && s.call->waitingFor() == Wait::kBodyChunk)
    r = s.call->resumeBodyChunk(nullptr);
  return r;
}

ScriptHost::Outcome ScriptHost::authorize(int script) {
  Side& s = side(Direction::kRequest);
  const RequestHead& h = *env_.req;
  s.ended = s.buffered || h.body == BodyKind::kNone ||
            (h.body == BodyKind::kContentLength && h.contentLength == 0);
  s.call = env_.ctx->scripts->call(*env_.scripts, script, script::Hook::kAuthorize, *this);
  authorizing_ = true;
  return drive(Direction::kRequest, s.call->start());
}

ScriptHost::Outcome ScriptHost::bodyComplete(Direction dir, bool hadBody) {
  Side& s = side(dir);
  s.ended = true;
  s.buffered = true;
  if (!s.call) return advance(dir);
  HookResult r;
  switch (s.call->waitingFor()) {
    case Wait::kBodyChunk:
      r = feedChunks(dir);
      break;
    case Wait::kTrailers:
      r = s.call->resumeTrailers();
      break;
    default:
      r = s.call->resumeBody();
      break;
  }
  Outcome o = drive(dir, r);
  if (o != Outcome::kContinue) return o;
  return advance(dir);
}


void ScriptHost::noteFailure(const script::HookCall& call) {
  if (errors_++ == 0) firstError_ = call.error();
}

void ScriptHost::onHttpCallDone(HttpCallClient* client, script::HttpCallResponse response) {
  answer_ = std::move(response);
  haveAnswer_ = true;
  answerDir_ = sides_[1].call ? Direction::kResponse : Direction::kRequest;
  resumeTimer_.arm(0, false);  // resume from the loop, outside the client's callback
}

void ScriptHost::onResumeTimer(void* arg) {
  auto* h = static_cast<ScriptHost*>(arg);
  if (!h->haveAnswer_) return;
  h->haveAnswer_ = false;
  Direction dir = h->answerDir_;
  Side& s = h->side(dir);
  if (!s.call) return;
  Outcome o = h->drive(dir, s.call->resumeHttpCall(std::move(h->answer_)));
  if (o == Outcome::kContinue && !h->authorizing_) o = h->advance(dir);
  if (o == Outcome::kPause) return;
  h->done_(h->arg_, dir, o);  // may destroy the host
}

// --- headers ------------------------------------------------------------------------------

void ScriptHost::buildRequestMap() {
  Side& s = side(Direction::kRequest);
  s.headersBuilt = true;
  const RequestHead& h = *env_.req;
  auto& e = s.headers.entries;
  e.reserve(h.headers.size() + 4);
  e.emplace_back(":method", std::string(h.method));
  std::string path(env_.path);
  if (!env_.query.empty()) {
    path += '?';
    path.append(env_.query);
  }
  e.emplace_back(":path", std::move(path));
  e.emplace_back(":authority", std::string(h.host));
  e.emplace_back(":scheme", env_.secure ? "https" : "http");
  for (const Header& f : h.headers) {
    if (f.name.size() == 4 && str::iequals(f.name, "host")) continue;  // it is :authority
    e.emplace_back(str::toLower(f.name), std::string(f.value));
  }
  s.headers.modified = false;
}

void ScriptHost::buildResponseMap() {
  Side& s = side(Direction::kResponse);
  s.headersBuilt = true;
  respAdopted_ = true;
  ResponseHead& h = *env_.resp;
  auto& e = s.headers.entries;
  e.reserve(h.headers.size() + 1);
  e.emplace_back(":status", std::to_string(h.status));
  for (const Header& f : h.headers) e.emplace_back(str::toLower(f.name), std::string(f.value));
  s.headers.reason.assign(h.reason);
  s.headers.modified = false;
  adoptedHeadLength_ = h.headLength;
  // From now on the head points into the copies, so the session may consume the upstream's.
  h.headers.clear();
  for (size_t i = 1; i < e.size(); ++i) h.headers.push_back({e[i].first, e[i].second});
  h.reason = s.headers.reason;
}

// Writes a side's map back into the exchange's head, when a hook changed it (or, on the
// response side, always: the head points into the copies since buildResponseMap).
void ScriptHost::commit(Direction dir) {
  Side& s = side(dir);
  if (!s.headersBuilt) return;
  if (!s.headers.modified && dir == Direction::kRequest) return;
  if (dir == Direction::kRequest) {
    RequestHead& h = *env_.req;
    h.headers.clear();
    size_t bytes = h.method.size() + 64;
    for (const auto& [name, value] : s.headers.entries) {
      bytes += name.size() + value.size() + 4;
      if (name.empty()) continue;
      if (name[0] != ':') {
        h.headers.push_back({name, value});
        continue;
      }
      if (name == ":method") {
        h.method = value;
      } else if (name == ":authority") {
        if (value != h.host) *env_.upstreamHost = value;
      } else if (name == ":path") {
        std::string_view p = value;
        std::string original(env_.path);
        if (!env_.query.empty()) original += "?" + std::string(env_.query);
        if (p != original) {
          size_t q = p.find('?');
          env_.upstreamPath->assign(p.substr(0, q));
          *env_.upstreamQuery = q == std::string_view::npos ? std::string_view() : p.substr(q + 1);
        }
      }
    }
    // The serializer sizes its output from the head's length: make room for what was added.
    h.headLength = std::max(h.headLength, bytes);
    s.headers.modified = false;
    return;
  }
  ResponseHead& h = *env_.resp;
  h.headers.clear();
  size_t bytes = s.headers.reason.size() + 64;
  for (const auto& [name, value] : s.headers.entries) {
    bytes += name.size() + value.size() + 4;
    if (name == ":status") {
      uint64_t st = 0;
      if (str::parseU64(value, &st) && st >= 100 && st <= 999) h.status = static_cast<int>(st);
      continue;
    }
    if (!name.empty() && name[0] == ':') continue;
    h.headers.push_back({name, value});
  }
  h.reason = s.headers.reason;
  // The bytes are no longer in the upstream's buffer (adoptedHeadLength() says how many were);
  // headLength now sizes the serializer's output.
  h.headLength = bytes;
  s.headers.modified = false;
}

script::ScriptHeaders& ScriptHost::headers(Direction dir) {
  Side& s = side(dir);
  if (!s.headersBuilt) {
    if (dir == Direction::kRequest)
      buildRequestMap();
    else
      buildResponseMap();
  }
  return s.headers;
}

bool ScriptHost::endOfStream(Direction dir) const { return sideOf(dir).ended; }

script::ScriptBuffer* ScriptHost::bufferedBody(Direction dir) {
  Side& s = side(dir);
  if (!s.buffered || s.body.data.empty()) return nullptr;
  return &s.body;
}

script::ScriptBuffer* ScriptHost::createEmptyBody(Direction dir) {
  Side& s = side(dir);
  s.buffered = true;
  return &s.body;
}

// --- replies ------------------------------------------------------------------------------

void ScriptHost::respond(script::LocalReply reply) { reply_ = std::move(reply); }

void ScriptHost::serializeReply(bool keepAlive, bool headRequest, int clientVersionMinor,
                                std::string& out) const {
  const script::LocalReply& r = reply_;
  out.clear();
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += statusText(r.status);
  out += "\r\n";
  bool bodyless = r.status < 200 || r.status == 204 || r.status == 304;
  std::string_view body = bodyless || !r.body ? std::string_view() : std::string_view(*r.body);
  for (const auto& [name, value] : r.headers) {
    if (name.empty() || name[0] == ':' || str::iequals(name, "content-length") ||
        str::iequals(name, "connection") || str::iequals(name, "transfer-encoding") ||
        isHopByHop(name))
      continue;
    // Values come from scripts: never let one split the head.
    if (name.find_first_of("\r\n:") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos)
      continue;
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (!bodyless) {
    out += "content-length: ";
    out += std::to_string(body.size());
    out += "\r\n";
  }
  if (!keepAlive)
    out += "connection: close\r\n";
  else if (clientVersionMinor == 0)
    out += "connection: keep-alive\r\n";
  out += "\r\n";
  if (!headRequest) out.append(body);
}

// --- httpCall -----------------------------------------------------------------------------

namespace {

// The Service a script names: "name", "name.namespace" or "namespace/name".
const upstream::Service* findService(const config::Snapshot& snap, std::string_view name) {
  for (const upstream::Service& s : snap.services) {
    if (s.name.find(':') != std::string::npos) continue;  // synthetic
    if (s.name == name || s.label == name) return &s;
    if (name.size() == s.name.size() + 1 + s.ns.size() && str::startsWith(name, s.name) &&
        name[s.name.size()] == '.' && name.substr(s.name.size() + 1) == s.ns)
      return &s;
  }
  return nullptr;
}

}  // namespace

bool ScriptHost::knowsService(std::string_view service) const {
  return findService(*env_.snapshot, service) != nullptr;
}

void ScriptHost::startHttpCall(script::HttpCallRequest request) {
  const upstream::Service* svc = findService(*env_.snapshot, request.service);
  auto client = std::make_unique<HttpCallClient>(env_.ctx->loop, this, request.detached);
  HttpCallClient* c = client.get();
  if (request.detached) {
    // Fire and forget: the call outlives the exchange (it never reports back), held by the
    // worker until it ends; finished ones are dropped whenever another starts.
    thread_local std::vector<std::unique_ptr<HttpCallClient>> detached;
    std::erase_if(detached, [](const auto& d) { return d->finished(); });
    detached.push_back(std::move(client));
  } else {
    calls_.push_back(std::move(client));
  }
  auto failLater = [&](script::HttpCallResponse r) {
    if (request.detached) return;
    answer_ = std::move(r);
    haveAnswer_ = true;
    answerDir_ = sides_[1].call ? Direction::kResponse : Direction::kRequest;
    resumeTimer_.arm(0, false);
  };
  if (svc && svc->directResponse) {
    // A Service that answers by itself answers the call the same way.
    script::HttpCallResponse r;
    r.headers.emplace_back(":status", std::to_string(svc->directResponse->status));
    if (!svc->directResponse->contentType.empty())
      r.headers.emplace_back("content-type", svc->directResponse->contentType);
    r.body = svc->directResponse->body;
    failLater(std::move(r));
    return;
  }
  if (!svc || svc->endpoints.empty() || svc->mesh) {
    // Mesh Services need an mTLS client hop, which httpCall does not originate (docs/lua.md).
    failLater(script::HttpCallResponse::failure());
    return;
  }
  const upstream::Endpoint& ep = svc->endpoints[env_.ctx->random() % svc->endpoints.size()];
  std::string_view method = "GET", path = "/", authority;
  for (const auto& [n, v] : request.headers) {
    if (n == ":method") method = v;
    if (n == ":path") path = v;
    if (n == ":authority") authority = v;
  }
  std::string out;
  out.reserve(256);
  out.append(method);
  out += ' ';
  out.append(path);
  out += " HTTP/1.1\r\nhost: ";
  out.append(authority);
  out += "\r\n";
  for (const auto& [n, v] : request.headers) {
    if (n.empty() || n[0] == ':' || str::iequals(n, "host") || str::iequals(n, "content-length") ||
        str::iequals(n, "connection") || str::iequals(n, "transfer-encoding"))
      continue;
    if (n.find_first_of("\r\n:") != std::string::npos || v.find_first_of("\r\n") != std::string::npos)
      continue;
    out += n;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  if (request.sendXff) {
    out += "x-forwarded-for: ";
    out += env_.peer->ip();
    out += "\r\n";
  }
  if (request.body || method == "POST" || method == "PUT" || method == "PATCH") {
    out += "content-length: ";
    out += std::to_string(request.body ? request.body->size() : 0);
    out += "\r\n";
  }
  out += "connection: close\r\n\r\n";
  if (request.body) out += *request.body;
  uint64_t timeout = request.timeoutMs ? request.timeoutMs : 30'000;
  if (!c->start(ep.address, std::move(out), timeout)) failLater(script::HttpCallResponse::failure());
}

// --- stream info --------------------------------------------------------------------------

std::string_view ScriptHost::protocol() const {
  return env_.req->versionMinor == 0 ? "HTTP/1.0" : "HTTP/1.1";
}

std::string ScriptHost::downstreamLocalAddress() const { return env_.local->toString(); }
std::string ScriptHost::downstreamDirectRemoteAddress() const { return env_.peer->toString(); }

// The client: with trusted hops in front, the X-Forwarded-For entry they vouch for (as
// authorization reads it); otherwise the socket peer.
std::string ScriptHost::downstreamRemoteAddress() const {
  uint32_t hops = env_.xffTrustedHops;
  if (hops > 0) {
    uint32_t skip = hops - 1;
    const auto& hs = env_.req->headers;
    for (auto h = hs.rbegin(); h != hs.rend(); ++h) {
      if (!str::iequals(h->name, "x-forwarded-for")) continue;
      std::string_view v = h->value;
      while (!v.empty()) {
        size_t comma = v.rfind(',');
        std::string_view entry =
            str::trimOws(comma == std::string_view::npos ? v : v.substr(comma + 1));
        if (skip == 0) {
          net::Address a;
          if (net::Address::parse(std::string(entry), 0, &a)) return a.toString();
          return env_.peer->toString();
        }
        --skip;
        if (comma == std::string_view::npos) break;
        v = v.substr(0, comma);
      }
    }
  }
  return env_.peer->toString();
}

std::string_view ScriptHost::requestedServerName() const { return env_.transport->serverName(); }

std::string_view ScriptHost::peerPrincipal() const { return env_.transport->peerIdentity(); }

const script::SslInfo* ScriptHost::downstreamSsl() const {
  if (!env_.transport->secure()) return nullptr;
  auto* self = const_cast<ScriptHost*>(this);
  if (!sslBuilt_) {
    self->sslBuilt_ = true;
    auto info = std::make_unique<script::SslInfo>();
    const auto& t = static_cast<const tls::TlsTransport&>(*env_.transport);
    tls::ConnectionDetails d = t.details();
    info->peerCertificatePresented = d.peerPresented;
    info->peerCertificateValidated = !t.peerIdentity().empty();
    info->uriSanPeerCertificate = std::move(d.peerUriSans);
    info->dnsSansPeerCertificate = std::move(d.peerDnsSans);
    info->sha256PeerCertificateDigest = std::move(d.peerSha256);
    info->serialNumberPeerCertificate = std::move(d.peerSerial);
    info->subjectPeerCertificate = std::move(d.peerSubject);
    info->issuerPeerCertificate = std::move(d.peerIssuer);
    info->subjectLocalCertificate = std::move(d.localSubject);
    info->urlEncodedPemEncodedPeerCertificate = std::move(d.peerPemUrlEncoded);
    info->tlsVersion = std::move(d.version);
    info->ciphersuiteString = std::move(d.cipherName);
    info->ciphersuiteId = d.cipherId;
    info->validFromPeerCertificate = d.peerNotBefore;
    info->expirationPeerCertificate = d.peerNotAfter;
    info->sessionId = std::move(d.sessionId);
    self->ssl_ = std::move(info);
  }
  return ssl_.get();
}

void ScriptHost::log(script::ScriptLogLevel level, std::string_view script,
                     std::string_view message) {
  int n = static_cast<int>(message.size());
  int sn = static_cast<int>(script.size());
  switch (level) {
    case script::ScriptLogLevel::kTrace:
    case script::ScriptLogLevel::kDebug:
      LOG_DEBUG("lua: %.*s: %.*s", sn, script.data(), n, message.data());
      break;
    case script::ScriptLogLevel::kInfo:
      LOG_INFO("lua: %.*s: %.*s", sn, script.data(), n, message.data());
      break;
    case script::ScriptLogLevel::kWarn:
      LOG_WARN("lua: %.*s: %.*s", sn, script.data(), n, message.data());
      break;
    case script::ScriptLogLevel::kError:
    case script::ScriptLogLevel::kCritical:
      LOG_ERROR("lua: %.*s: %.*s", sn, script.data(), n, message.data());
      break;
  }
}

}  // namespace gh::http
