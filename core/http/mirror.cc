#include "core/http/mirror.h"

#include <algorithm>
#include <cerrno>
#include <memory>

#include "core/config/request_policy.h"
#include "core/http/parser.h"
#include "core/net/socket.h"
#include "core/net/stream.h"
#include "core/tls/tls_transport.h"

namespace gh::http {

namespace {
constexpr size_t kMaxResponseHead = 64 * 1024;  // a longer head is a failed copy
}  // namespace

std::string shadowHost(std::string_view host) {
  std::string out(host);
  // The port's colon is the last one, unless it sits inside an IPv6 literal's brackets.
  size_t colon = out.rfind(':');
  if (colon == std::string::npos || out.find(']', colon) != std::string::npos) colon = out.size();
  out.insert(colon, "-shadow");
  return out;
}

bool mirrorAllowed(const config::CompiledEgress* egress, uint32_t shadow) {
  return !egress || (shadow < egress->serviceEntry.size() && egress->serviceEntry[shadow] >= 0);
}

// One copy in flight: its connection, its deadline, and the request until it is written.
// Deleted by MirrorSender::finished, which may run inside the copy's own stream callback (the
// Stream allows its handler to destroy it there; nothing touches the copy afterwards).
struct MirrorSender::Copy final : net::Stream::Handler {
  enum class State { kConnecting, kHandshaking, kWaiting, kBody };

  Copy(MirrorSender& owner, event::Loop& loop)
      : owner(owner), timer(loop, &Copy::onTimeout, this) {}

  net::Stream& stream() { return conn->stream(); }

  void onDrained() override {
    switch (state) {
      case State::kConnecting:
        if (net::connectResult(stream().fd()) != 0) {
          owner.finished(this, false);
          return;
        }
        if (stream().transport().handshaking()) {
          state = State::kHandshaking;
          handshake();
          return;
        }
        sendRequest();
        return;
      case State::kHandshaking:
        handshake();
        return;
      case State::kWaiting:
      case State::kBody:
        if (stream().lastError()) {
          owner.finished(this, state == State::kBody);
          return;
        }
        // The socket took the rest of the copy: its bytes leave the worker's budget.
        if (charged) owner.written(this, 0);
        return;
    }
  }

  void onReadable() override {
    if (state == State::kHandshaking) {
      handshake();
      return;
    }
    if (state != State::kWaiting && state != State::kBody) return;
    auto r = stream().fill(kMaxResponseHead);
    if (r == net::Stream::ReadResult::kAgain) return;
    if (r != net::Stream::ReadResult::kData) {
      // Before the head: a failed copy. In the body: the copy is done, the connection not
      // reusable.
      owner.finished(this, state == State::kBody);
      return;
    }
    if (state == State::kWaiting) {
      IoBuffer& in = stream().in();
      ResponseParser parser;
      ResponseHead head;
      ParseStatus st = parser.parse(in.begin(), in.size(), headRequest, head);
      if (st == ParseStatus::kIncomplete) return;  // fill() refuses to grow past the limit
      if (st == ParseStatus::kError) {
        owner.finished(this, false);
        return;
      }
      // A response head ends the copy's business. The connection is kept only when the
      // response is complete with a small body and the shadow keeps it open.
      in.consume(head.headLength);
      keepAlive = head.keepAlive && head.status >= 200;
      state = State::kBody;
      switch (head.body) {
        case BodyKind::kNone:
          break;
        case BodyKind::kContentLength:
          bodyLeft = head.contentLength;
          if (bodyLeft > kMaxDrain) keepAlive = false;
          break;
        case BodyKind::kChunked:
          chunked = true;
          break;
        default:
          keepAlive = false;
          break;
      }
      if (!keepAlive) {
        owner.finished(this, true);
        return;
      }
    }
    drainBody();
  }

  // Reads past the response body so the connection can carry the next copy.
  void drainBody() {
    IoBuffer& in = stream().in();
    if (!chunked) {
      size_t n = std::min<uint64_t>(bodyLeft, in.size());
      in.consume(n);
      bodyLeft -= n;
      if (bodyLeft == 0) owner.finished(this, true, in.empty());
      return;
    }
    while (!in.empty()) {
      ChunkedDecoder::Step step = chunks.feed(in.begin(), in.size());
      drained += step.consumed;
      if (step.error != ParseError::kNone || drained > kMaxDrain) {
        owner.finished(this, true);
        return;
      }
      in.consume(step.consumed);
      if (step.done) {
        owner.finished(this, true, in.empty());
        return;
      }
      if (step.consumed == 0) return;
    }
  }

  // Drives the mTLS handshake (a mesh shadow), as the session does for its upstreams.
  void handshake() {
    auto& t = const_cast<net::Transport&>(stream().transport());
    int r = t.handshake(stream().fd());
    if (r == 1) {
      sendRequest();
      return;
    }
    if (errno == EAGAIN) {
      if (t.wantsWrite())
        stream().waitWritable();
      else
        stream().enableRead();
      return;
    }
    owner.finished(this, false);
  }

  void sendRequest() {
    state = State::kWaiting;
    if (!stream().send(request)) {
      owner.finished(this, false);
      return;
    }
    // What the socket did not take now sits in the stream's buffer: the copy's own string
    // can go, but those bytes stay in the worker's byte budget until the stream drains them
    // (onDrained), so a shadow that does not read holds its share of the 4 MiB.
    owner.written(this, stream().pending());
    stream().enableRead();
  }

  static void onTimeout(void* arg) {
    auto* c = static_cast<Copy*>(arg);
    c->owner.finished(c, c->state == State::kBody);
  }

  MirrorSender& owner;
  event::Deadline timer;
  std::unique_ptr<upstream::Connection> conn;
  std::string request;
  size_t charged = 0;  // bytes of request counted in the worker's queuedBytes_
  uint64_t idleTimeoutMs = 60'000;
  bool headRequest = false;
  State state = State::kConnecting;
  // The response body being read past.
  bool keepAlive = false;
  bool chunked = false;
  uint64_t bodyLeft = 0;
  size_t drained = 0;
  ChunkedDecoder chunks;
  Copy* prev = nullptr;
  Copy* next = nullptr;
};

MirrorSender::MirrorSender(event::Loop& loop, telemetry::WorkerCounters& counters)
    : loop_(loop), counters_(counters), pool_(loop) {}

MirrorSender::~MirrorSender() {
  while (head_) {
    Copy* c = head_;
    head_ = c->next;
    delete c;
  }
}

void MirrorSender::send(MirrorTarget target, std::string request) {
  if (inFlight_ >= kMaxInFlight || queuedBytes_ + request.size() > kMaxQueuedBytes) {
    counters_.mirrorDropped.inc();
    return;
  }
  // Past the bounds a copy is sent: every outcome below that is not a response head (a refused
  // connect included) is a failure of a sent copy, so failed never exceeds sent.
  counters_.mirrorSent.inc();

  const void* credentials = target.tls.get();
  std::unique_ptr<upstream::Connection> conn =
      pool_.take(target.address, target.poolIdentity, credentials);
  const bool reused = conn != nullptr;
  if (!conn) {
    auto fd = net::connectNonBlocking(target.address);
    if (!fd.ok()) {
      counters_.mirrorFailed.inc();
      return;
    }
    std::unique_ptr<net::Transport> tls;
    if (target.tls) {
      // No counters: a copy's handshake is not in the upstream TLS or mesh peer counters; its
      // failure is a failed copy (gatehouse_mirror_failed_total), like any other.
      tls = std::make_unique<tls::TlsTransport>(std::move(target.tls), fd.value(), nullptr,
                                                std::move(target.identity));
    }
    conn = std::make_unique<upstream::Connection>(loop_, fd.value(), target.address,
                                                  std::move(tls), target.poolIdentity,
                                                  credentials);
  }
  auto* c = new Copy(*this, loop_);
  c->request = std::move(request);
  c->charged = c->request.size();
  c->idleTimeoutMs = target.idleTimeoutMs;
  c->headRequest = target.headRequest;
  c->conn = std::move(conn);
  c->conn->stream().setHandler(c);
  queuedBytes_ += c->charged;
  c->timer.set(kTimeoutMs);
  c->next = head_;
  if (head_) head_->prev = c;
  head_ = c;
  ++inFlight_;
  if (reused) {
    c->sendRequest();  // may finish (and delete) the copy at once
    return;
  }
  c->stream().waitWritable();
}

bool MirrorSender::reserve(size_t n) {
  if (queuedBytes_ + n > kMaxQueuedBytes) return false;
  queuedBytes_ += n;
  return true;
}

void MirrorSender::written(Copy* c, size_t unwritten) {
  unwritten = std::min(unwritten, c->charged);
  queuedBytes_ -= c->charged - unwritten;
  c->charged = unwritten;
  std::string().swap(c->request);
}

void MirrorSender::finished(Copy* c, bool ok, bool reuse) {
  if (!ok) counters_.mirrorFailed.inc();
  if (reuse && c->keepAlive) pool_.put(std::move(c->conn), c->idleTimeoutMs);
  queuedBytes_ -= c->charged;
  if (c->prev)
    c->prev->next = c->next;
  else
    head_ = c->next;
  if (c->next) c->next->prev = c->prev;
  --inFlight_;
  delete c;
}

PendingMirrors::~PendingMirrors() { abandon(); }

void PendingMirrors::add(MirrorTarget target, std::string head) {
  copies_.emplace_back(std::move(target), std::move(head));
}

void PendingMirrors::append(const iovec* pieces, int n) {
  if (copies_.empty()) return;
  size_t total = 0;
  for (int i = 0; i < n; ++i) total += pieces[i].iov_len;
  if (body_.size() + total > MirrorSender::kMaxBody || !sender_.reserve(total)) {
    abandon();
    return;
  }
  reserved_ += total;
  for (int i = 0; i < n; ++i)
    body_.append(static_cast<const char*>(pieces[i].iov_base), pieces[i].iov_len);
}

void PendingMirrors::complete() {
  sender_.release(reserved_);
  reserved_ = 0;
  for (auto& [target, head] : copies_) {
    head.append(body_);
    sender_.send(std::move(target), std::move(head));
  }
  copies_.clear();
  std::string().swap(body_);
}

void PendingMirrors::abandon() {
  sender_.release(reserved_);
  reserved_ = 0;
  sender_.countDropped(copies_.size());
  copies_.clear();
  std::string().swap(body_);
}

}  // namespace gh::http
