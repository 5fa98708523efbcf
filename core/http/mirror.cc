#include "core/http/mirror.h"

#include <cerrno>
#include <memory>

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

// One copy in flight: its connection, its deadline, and the request until it is written.
// Deleted by MirrorSender::finished, which may run inside the copy's own stream callback (the
// Stream allows its handler to destroy it there; nothing touches the copy afterwards).
struct MirrorSender::Copy final : net::Stream::Handler {
  enum class State { kConnecting, kHandshaking, kWaiting };

  Copy(MirrorSender& owner, event::Loop& loop)
      : owner(owner), timer(loop, &Copy::onTimeout, this) {}

  void onDrained() override {
    switch (state) {
      case State::kConnecting:
        if (net::connectResult(stream->fd()) != 0) {
          owner.finished(this, false);
          return;
        }
        if (stream->transport().handshaking()) {
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
        if (stream->lastError()) owner.finished(this, false);
        return;
    }
  }

  void onReadable() override {
    if (state == State::kHandshaking) {
      handshake();
      return;
    }
    if (state != State::kWaiting) return;
    auto r = stream->fill(kMaxResponseHead);
    if (r == net::Stream::ReadResult::kAgain) return;
    if (r != net::Stream::ReadResult::kData) {
      owner.finished(this, false);
      return;
    }
    // A response head ends the copy's business; the body, if any, is not read.
    IoBuffer& in = stream->in();
    ResponseParser parser;
    ResponseHead head;
    ParseStatus st = parser.parse(in.begin(), in.size(), false, head);
    if (st == ParseStatus::kIncomplete) return;  // fill() refuses to grow past the limit
    owner.finished(this, st == ParseStatus::kDone);
  }

  // Drives the mTLS handshake (a mesh shadow), as the session does for its upstreams.
  void handshake() {
    net::Transport& t = *transport;
    int r = t.handshake(stream->fd());
    if (r == 1) {
      sendRequest();
      return;
    }
    if (errno == EAGAIN) {
      if (t.wantsWrite())
        stream->waitWritable();
      else
        stream->enableRead();
      return;
    }
    owner.finished(this, false);
  }

  void sendRequest() {
    state = State::kWaiting;
    if (!stream->send(request)) {
      owner.finished(this, false);
      return;
    }
    // What the socket did not take now sits in the stream's buffer: the copy's own string
    // can go (and leaves the worker's byte budget).
    owner.written(this);
    stream->enableRead();
  }

  static void onTimeout(void* arg) {
    auto* c = static_cast<Copy*>(arg);
    c->owner.finished(c, false);
  }

  MirrorSender& owner;
  event::Deadline timer;
  std::unique_ptr<tls::TlsTransport> transport;  // declared before the stream: outlives it
  std::unique_ptr<net::Stream> stream;
  std::string request;
  size_t charged = 0;  // bytes of request counted in the worker's queuedBytes_
  State state = State::kConnecting;
  Copy* prev = nullptr;
  Copy* next = nullptr;
};

MirrorSender::MirrorSender(event::Loop& loop, telemetry::WorkerCounters& counters)
    : loop_(loop), counters_(counters) {}

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
  auto fd = net::connectNonBlocking(target.address);
  if (!fd.ok()) {
    counters_.mirrorFailed.inc();
    return;
  }
  auto* c = new Copy(*this, loop_);
  c->request = std::move(request);
  c->charged = c->request.size();
  queuedBytes_ += c->charged;
  net::Transport* transport = net::Transport::plain();
  if (target.tls) {
    c->transport = std::make_unique<tls::TlsTransport>(std::move(target.tls), fd.value(),
                                                       &counters_, std::move(target.identity));
    transport = c->transport.get();
  }
  c->stream = std::make_unique<net::Stream>(loop_, fd.value(), c, transport);
  c->stream->waitWritable();
  c->timer.set(kTimeoutMs);
  c->next = head_;
  if (head_) head_->prev = c;
  head_ = c;
  ++inFlight_;
  counters_.mirrorSent.inc();
}

bool MirrorSender::reserve(size_t n) {
  if (queuedBytes_ + n > kMaxQueuedBytes) return false;
  queuedBytes_ += n;
  return true;
}

void MirrorSender::written(Copy* c) {
  queuedBytes_ -= c->charged;
  c->charged = 0;
  std::string().swap(c->request);
}

void MirrorSender::finished(Copy* c, bool ok) {
  if (!ok) counters_.mirrorFailed.inc();
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
