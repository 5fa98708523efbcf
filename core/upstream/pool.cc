#include "core/upstream/pool.h"

#include <cstdint>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string_view>

namespace gh::upstream {

Connection::Connection(event::Loop& loop, int fd, const net::Address& peer,
                       std::unique_ptr<net::Transport> transport, std::string identity,
                       const void* credentials)
    : transport_(std::move(transport)),
      stream_(loop, fd, this, transport_ ? transport_.get() : net::Transport::plain()),
      key_{peer, std::move(identity)},
      credentials_(credentials),
      idleTimer_(loop, &Connection::onIdleTimeout, this) {}

void Connection::onReadable() {
  // An idle connection has no business receiving bytes: EOF, reset or stray data all mean
  // it must not carry another request. Over TLS the bytes may be a record that carries no
  // data (a TLS 1.3 session ticket): the transport consumes it and the connection stays.
  if (!pool_) return;
  if (transport_) {
    char probe;
    ssize_t n = transport_->read(stream_.fd(), &probe, 1);
    if (n < 0 && errno == EAGAIN && !transport_->wantsWrite()) return;
  }
  pool_->destroy(this);
}

void Connection::onIdleTimeout(void* arg) {
  auto* c = static_cast<Connection*>(arg);
  if (c->pool_) c->pool_->destroy(c);
}

size_t Pool::KeyHash::operator()(const KeyView& k) const {
  const net::Address& a = k.address;
  // A few multiply-xor rounds over the address words: endpoints are few and not chosen by
  // clients, so this needs speed (it runs on every take and put), not collision resistance.
  const auto* p = reinterpret_cast<const unsigned char*>(a.sockaddr());
  uint64_t h = a.length();
  for (socklen_t i = 0; i + 8 <= a.length(); i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 32;
  }
  if (!k.identity.empty()) h ^= std::hash<std::string_view>()(k.identity);
  return static_cast<size_t>(h);
}

Pool::~Pool() { closeAll(); }

void Pool::closeAll() {
  for (auto& [addr, list] : idle_) {
    while (list.head) {
      Connection* c = list.head;
      list.head = c->next_;
      delete c;
    }
    list.size = 0;
  }
  idle_.clear();
  idleTotal_ = 0;
}

std::unique_ptr<Connection> Pool::take(const net::Address& peer, std::string_view identity,
                                       const void* credentials) {
  auto it = idle_.find(KeyView{peer, identity});
  if (it == idle_.end()) return nullptr;
  // Connections made with older credentials are retired here, one by one as they come up.
  while (it->second.head && it->second.head->credentials_ != credentials)
    destroy(it->second.head);
  if (!it->second.head) return nullptr;
  Connection* c = it->second.head;
  unlink(c);
  c->idleTimer_.clear();
  // Read interest stays on across take/put: only the handler changes hands. Toggling it would
  // cost an epoll_ctl per request.
  return std::unique_ptr<Connection>(c);
}

void Pool::put(std::unique_ptr<Connection> c, uint64_t idleTimeoutMs) {
  IdleList& list = idle_[c->key_];
  if (list.size >= maxIdle_ || c->stream_.pending() != 0 || !c->stream_.in().empty()) return;
  Connection* raw = c.release();
  raw->pool_ = this;
  raw->list_ = &list;
  raw->prev_ = nullptr;
  raw->next_ = list.head;
  if (list.head) list.head->prev_ = raw;
  list.head = raw;
  ++list.size;
  ++idleTotal_;
  raw->stream_.setHandler(raw);
  raw->stream_.releaseBuffers();
  raw->stream_.enableRead();
  raw->idleTimer_.set(idleTimeoutMs);
}

void Pool::unlink(Connection* c) {
  IdleList& list = *c->list_;
  if (c->prev_) c->prev_->next_ = c->next_;
  else list.head = c->next_;
  if (c->next_) c->next_->prev_ = c->prev_;
  c->next_ = c->prev_ = nullptr;
  c->pool_ = nullptr;
  c->list_ = nullptr;
  --list.size;
  --idleTotal_;
}

void Pool::destroy(Connection* c) {
  unlink(c);
  delete c;
}

}  // namespace gh::upstream
