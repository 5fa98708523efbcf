#include "core/server/worker.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/base/log.h"
#include "core/http/session.h"
#include "core/net/socket.h"
#include "core/tls/tls_transport.h"

namespace gh::server {

Result<std::shared_ptr<ListenSocketSet>> ListenSocketSet::open(const net::Address& addr,
                                                               size_t workers) {
  auto claim = net::claimAddress(addr);  // first: no other Gatehouse can pass the probe now
  if (!claim.ok()) return claim.status();
  auto set = std::make_shared<ListenSocketSet>();
  set->claim_ = claim.value();
  Status probe = net::probeExclusive(addr);
  if (!probe.ok()) return probe;
  for (size_t i = 0; i < workers; ++i) {
    auto fd = net::listenTcp(addr, true);
    if (!fd.ok()) return fd.status();  // the set's destructor closes what was opened
    set->fds_.push_back(fd.value());
  }
  return set;
}

ListenSocketSet::~ListenSocketSet() {
  for (int fd : fds_) ::close(fd);
  if (claim_ >= 0) ::close(claim_);
}

struct Worker::Acceptor {
  Worker* worker = nullptr;
  http::WorkerListener* listener = nullptr;  // one reference held here
  std::shared_ptr<ListenSocketSet> sockets;
  std::unique_ptr<event::IoWatcher> watcher;
  net::Address local;

  ~Acceptor() {
    watcher.reset();
    listener->removed = true;
    listener->current = nullptr;
    listener->unref();
  }
};

Worker::Worker(size_t id, size_t workers) : id_(id), ctx_(loop_) {
  ctx_.workerIndex = static_cast<uint32_t>(id);
  ctx_.workerCount = static_cast<uint32_t>(workers == 0 ? 1 : workers);
}

Worker::~Worker() {
  join();
  // Sessions still alive after a forced drain end here, on the thread that owns the loop's
  // objects being gone; they hold no other thread's state.
  while (ctx_.sessions) delete ctx_.sessions;
  acceptors_.clear();
  ctx_.pool.closeAll();
  if (ctx_.snapshot) ctx_.snapshot->unref();
}

void Worker::start() {
  thread_ = std::thread([this] {
    loop_.run();
    stopped_.store(true, std::memory_order_release);
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::publish(std::shared_ptr<const config::Snapshot> snap, SocketMap sockets) {
  loop_.post([this, snap = std::move(snap), sockets = std::move(sockets)]() mutable {
    applyPublish(std::move(snap), sockets);
  });
}

void Worker::applyPublish(std::shared_ptr<const config::Snapshot> snap, const SocketMap& sockets) {
  if (ctx_.draining) return;
  auto* pinned = new http::PinnedSnapshot(snap, ctx_.random(), ctx_.workerIndex, ctx_.workerCount);
  if (ctx_.snapshot) {
    pinned->carryOutlierState(*ctx_.snapshot);
    ctx_.snapshot->unref();
  }
  ctx_.snapshot = pinned;

  std::map<std::string, std::unique_ptr<Acceptor>> next;
  for (const config::CompiledListener& l : snap->listeners) {
    auto sit = sockets.find(l.key);
    if (sit == sockets.end()) continue;
    auto it = acceptors_.find(l.key);
    if (it != acceptors_.end() && it->second->sockets == sit->second) {
      it->second->listener->current = &l;
      next[l.key] = std::move(it->second);
      acceptors_.erase(it);
      continue;
    }
    auto a = std::make_unique<Acceptor>();
    a->worker = this;
    a->listener = new http::WorkerListener();
    a->listener->current = &l;
    a->sockets = sit->second;
    a->local = l.address;
    a->watcher = std::make_unique<event::IoWatcher>(loop_, a->sockets->fd(id_), &Worker::onAccept,
                                                    a.get());
    a->watcher->enableRead();
    next[l.key] = std::move(a);
  }
  // What is left in acceptors_ was removed from the configuration: stop accepting, and close
  // its idle connections now (busy ones close after their exchange).
  bool removed = !acceptors_.empty();
  acceptors_.clear();
  acceptors_.swap(next);
  if (removed) {
    std::vector<http::Session*> all;
    for (http::Session* s = ctx_.sessions; s; s = s->nextInWorker) all.push_back(s);
    for (http::Session* s : all) s->closeIfListenerRemoved();
  }
}

void Worker::onAccept(void* arg, short) {
  auto* a = static_cast<Acceptor*>(arg);
  Worker* w = a->worker;
  for (int i = 0; i < 64; ++i) {
    net::Address peer;
    int fd = net::acceptOne(a->sockets->fd(w->id_), &peer);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE)
        LOG_WARN("accept on %s: %s", a->local.toString().c_str(), strerror(errno));
      return;
    }
    // The listener's TLS context as of now: a reload that changes certificates affects the
    // connections accepted after it, never one already open.
    std::unique_ptr<net::Transport> transport;
    const config::CompiledListener* l = a->listener->current;
    if (l && l->tls)
      transport = std::make_unique<tls::TlsTransport>(l->tls, fd, &w->ctx_.counters,
                                                      l->plaintextAllowed);
    auto* s = new http::Session(w->ctx_, a->listener, fd, peer, a->local, std::move(transport));
    s->start();
  }
}

void Worker::drain(uint64_t timeoutMs) {
  loop_.post([this, timeoutMs] { beginDrain(timeoutMs); });
}

void Worker::beginDrain(uint64_t timeoutMs) {
  ctx_.draining = true;
  acceptors_.clear();  // stop accepting: the listening sockets close with the last holder
  ctx_.onSessionsEmpty = &Worker::onSessionsEmpty;
  ctx_.onSessionsEmptyArg = this;
  std::vector<http::Session*> all;
  for (http::Session* s = ctx_.sessions; s; s = s->nextInWorker) all.push_back(s);
  for (http::Session* s : all) s->drain();
  if (ctx_.sessionCount == 0) {
    loop_.stop();
    return;
  }
  drainTimer_ = std::make_unique<event::Timer>(loop_, &Worker::onDrainTimeout, this);
  drainTimer_->arm(timeoutMs);
}

void Worker::onSessionsEmpty(void* arg) { static_cast<Worker*>(arg)->loop_.stop(); }

void Worker::onDrainTimeout(void* arg) {
  auto* w = static_cast<Worker*>(arg);
  LOG_WARN("worker %zu: drain timeout with %zu connections open", w->id_, w->ctx_.sessionCount);
  w->loop_.stop();
}

}  // namespace gh::server
