#include "core/admin/admin_server.h"

#include <unistd.h>

#include "core/base/strings.h"
#include "core/http/parser.h"
#include "core/http/serialize.h"
#include "core/net/socket.h"
#include "core/net/stream.h"
#include "core/tls/tls_transport.h"

namespace gh::admin {

std::string_view AdminRequest::header(std::string_view lowerName) const {
  for (const auto& [n, v] : headers)
    if (n == lowerName) return v;
  return {};
}

void serializeResponse(const AdminResponse& resp, bool headRequest, int versionMinor,
                       std::string& out) {
  out += versionMinor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(resp.status);
  out += ' ';
  out += http::statusText(resp.status);
  out += "\r\n";
  if (resp.status != 304 && resp.status != 204) {
    out += "content-type: ";
    out += resp.contentType;
    out += "\r\ncontent-length: ";
    out += std::to_string(resp.body.size());
    out += "\r\n";
  }
  out += "connection: close\r\n";
  for (const auto& [n, v] : resp.headers) {
    out += n;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  out += "\r\n";
  if (!headRequest && resp.status != 304 && resp.status != 204) out += resp.body;
}

class AdminServer::Connection final : public net::Stream::Handler {
 public:
  Connection(AdminServer& server, int fd, std::string peer,
             std::shared_ptr<const tls::ServerContext> tls)
      : server_(server),
        transport_(tls ? std::make_unique<tls::TlsTransport>(tls, fd, nullptr) : nullptr),
        stream_(server.loop_, fd, this,
                transport_ ? static_cast<net::Transport*>(transport_.get())
                           : net::Transport::plain()),
        timer_(server.loop_, &onTimeout, this) {
    request_.peer = std::move(peer);
    request_.secure = transport_ != nullptr;
    stream_.enableRead();
    timer_.arm(kTimeoutMs);
  }

  void onReadable() override {
    auto r = stream_.fill(kMaxBody + 64 * 1024, 64 * 1024);
    if (r == net::Stream::ReadResult::kAgain) return;
    if (r != net::Stream::ReadResult::kData) return finish();
    if (!headDone_) {
      http::ParseStatus st = parser_.parse(stream_.in().begin(), stream_.in().size(), head_);
      if (st == http::ParseStatus::kIncomplete) return;
      if (st == http::ParseStatus::kError) {
        std::string out;
        http::serializeLocalReply(http::statusFor(parser_.error()),
                                  http::reasonName(parser_.error()), "bad request\n",
                                  "text/plain", {}, false, false, 1, out);
        return reply(out);
      }
      headDone_ = true;
      takeHead();
      if (head_.body == http::BodyKind::kChunked)
        return answer({411, "text/plain; charset=utf-8", "a body needs Content-Length\n", {}});
      if (head_.contentLength > kMaxBody)
        return answer({413, "text/plain; charset=utf-8", "request body too large\n", {}});
    }
    if (stream_.in().size() < headLength_ + bodyLength_) return;
    request_.body.assign(stream_.in().begin() + headLength_, bodyLength_);
    answer(server_.handler_(request_));
  }

  void onDrained() override {
    if (done_ || stream_.lastError()) finish();
  }

 private:
  // Copies what the handler needs out of the parsed head: its views point into the input
  // buffer, which may move while the body arrives.
  void takeHead() {
    request_.method = std::string(head_.method);
    http::TargetParts t;
    if (http::splitTarget(head_.target, &t)) {
      request_.path = std::string(t.path);
      request_.query = std::string(t.query);
    } else {
      request_.path = std::string(head_.target);
    }
    for (const http::Header& h : head_.headers)
      request_.headers.emplace_back(str::toLower(h.name), std::string(h.value));
    versionMinor_ = head_.versionMinor;
    headLength_ = head_.headLength;
    bodyLength_ = head_.body == http::BodyKind::kContentLength ? head_.contentLength : 0;
  }

  void answer(const AdminResponse& resp) {
    std::string out;
    serializeResponse(resp, request_.method == "HEAD", versionMinor_, out);
    reply(out);
  }

  void reply(const std::string& out) {
    stream_.disableRead();
    done_ = true;
    if (!stream_.send(out) || stream_.pending() == 0) finish();
  }

  static void onTimeout(void* arg) { static_cast<Connection*>(arg)->finish(); }
  void finish() {
    server_.connections_.erase(this);
    delete this;
  }

  AdminServer& server_;
  std::unique_ptr<tls::TlsTransport> transport_;  // before stream_: outlives it
  net::Stream stream_;
  event::Timer timer_;
  http::RequestParser parser_;
  http::RequestHead head_;
  AdminRequest request_;
  bool headDone_ = false;
  bool done_ = false;
  int versionMinor_ = 1;
  size_t headLength_ = 0;
  size_t bodyLength_ = 0;
};

AdminServer::AdminServer(event::Loop& loop, Handler handler, TlsSource tls)
    : loop_(loop), handler_(std::move(handler)), tls_(std::move(tls)) {}

AdminServer::~AdminServer() { stop(); }

Status AdminServer::listen(const net::Address& addr) {
  auto fd = net::listenTcp(addr, false, 128);
  if (!fd.ok()) return Status::error("admin listener: " + fd.status().message());
  fd_ = fd.value();
  watcher_ = std::make_unique<event::IoWatcher>(loop_, fd_, &AdminServer::onAccept, this);
  watcher_->enableRead();
  return okStatus();
}

void AdminServer::stop() {
  watcher_.reset();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  auto conns = connections_;
  for (Connection* c : conns) delete c;
  connections_.clear();
}

void AdminServer::onAccept(void* arg, short) {
  auto* self = static_cast<AdminServer*>(arg);
  for (int i = 0; i < 16; ++i) {
    net::Address peer;
    int fd = net::acceptOne(self->fd_, &peer);
    if (fd < 0) return;
    std::shared_ptr<const tls::ServerContext> tls = self->tls_ ? self->tls_() : nullptr;
    if (self->tls_ && !tls) {
      // HTTPS is required here and there is no certificate yet: never fall back to plaintext.
      ::close(fd);
      continue;
    }
    self->connections_.insert(new Connection(*self, fd, peer.ip(), std::move(tls)));
  }
}

}  // namespace gh::admin
