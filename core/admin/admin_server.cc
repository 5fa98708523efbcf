#include "core/admin/admin_server.h"

#include <unistd.h>

#include "core/http/parser.h"
#include "core/http/serialize.h"
#include "core/net/socket.h"
#include "core/net/stream.h"

namespace gh::admin {

class AdminServer::Connection final : public net::Stream::Handler {
 public:
  Connection(AdminServer& server, int fd)
      : server_(server), stream_(server.loop_, fd, this), timer_(server.loop_, &onTimeout, this) {
    stream_.enableRead();
    timer_.arm(10'000);
  }

  void onReadable() override {
    auto r = stream_.fill(64 * 1024);
    if (r == net::Stream::ReadResult::kAgain) return;
    if (r != net::Stream::ReadResult::kData) return finish();
    http::ParseStatus st = parser_.parse(stream_.in().begin(), stream_.in().size(), head_);
    if (st == http::ParseStatus::kIncomplete) return;
    std::string out;
    if (st == http::ParseStatus::kError) {
      http::serializeLocalReply(http::statusFor(parser_.error()),
                                http::reasonName(parser_.error()), "bad request\n", "text/plain",
                                {}, false, false, 1, out);
    } else {
      http::TargetParts t;
      std::string_view path = http::splitTarget(head_.target, &t) ? t.path : head_.target;
      AdminResponse resp;
      if (head_.method != "GET" && head_.method != "HEAD") {
        resp = {405, "text/plain; charset=utf-8", "method not allowed\n"};
      } else {
        resp = server_.handler_(head_.method, path);
      }
      http::serializeLocalReply(resp.status, nullptr, resp.body, resp.contentType, {}, false,
                                head_.method == "HEAD", head_.versionMinor, out);
    }
    stream_.disableRead();
    done_ = true;
    if (!stream_.send(out) || stream_.pending() == 0) finish();
  }

  void onDrained() override {
    if (done_ || stream_.lastError()) finish();
  }

 private:
  static void onTimeout(void* arg) { static_cast<Connection*>(arg)->finish(); }
  void finish() {
    server_.connections_.erase(this);
    delete this;
  }

  AdminServer& server_;
  net::Stream stream_;
  event::Timer timer_;
  http::RequestParser parser_;
  http::RequestHead head_;
  bool done_ = false;
};

AdminServer::AdminServer(event::Loop& loop, Handler handler)
    : loop_(loop), handler_(std::move(handler)) {}

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
    int fd = net::acceptOne(self->fd_, nullptr);
    if (fd < 0) return;
    self->connections_.insert(new Connection(*self, fd));
  }
}

}  // namespace gh::admin
