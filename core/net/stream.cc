#include "core/net/stream.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace gh::net {

ssize_t Transport::read(int fd, char* buf, size_t len) { return ::read(fd, buf, len); }
ssize_t Transport::writev(int fd, const iovec* iov, int n) { return ::writev(fd, iov, n); }
void Transport::shutdownWrite(int fd) {
  ::shutdown(fd, SHUT_WR);
}
Transport* Transport::plain() {
  static Transport t;
  return &t;
}

Stream::Stream(event::Loop& loop, int fd, Handler* handler, Transport* transport)
    : loop_(loop),
      fd_(fd),
      watcher_(loop, fd, &Stream::onIo, this),
      handler_(handler),
      transport_(transport) {}

Stream::~Stream() {
  watcher_.disableRead();
  watcher_.disableWrite();
  ::close(fd_);
}

Stream::ReadResult Stream::fill(size_t maxBuffer, size_t want) {
  size_t room = in_.prepareWrite(want, maxBuffer);
  if (room == 0) return ReadResult::kFull;
  ssize_t n;
  do {
    n = transport_->read(fd_, in_.writePtr(), room);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    in_.commit(static_cast<size_t>(n));
    if (transport_->hasBufferedInput()) kickRead();
    return ReadResult::kData;
  }
  if (n == 0) return ReadResult::kEof;
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    if (transport_->wantsWrite()) watcher_.enableWrite();
    return ReadResult::kAgain;
  }
  lastError_ = errno;
  return ReadResult::kError;
}

bool Stream::send(const iovec* pieces, int n) {
  if (lastError_) return false;
  size_t total = 0;
  for (int i = 0; i < n; ++i) total += pieces[i].iov_len;
  if (total == 0) return true;
  size_t written = 0;
  if (out_.empty()) {
    ssize_t w;
    do {
      w = transport_->writev(fd_, pieces, n);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        lastError_ = errno;
        return false;
      }
      w = 0;
    }
    written = static_cast<size_t>(w);
    if (written == total) return true;
  }
  // Keep the unwritten remainder, in order.
  size_t skip = written;
  for (int i = 0; i < n; ++i) {
    const char* p = static_cast<const char*>(pieces[i].iov_base);
    size_t len = pieces[i].iov_len;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    out_.append(p + skip, len - skip);
    skip = 0;
  }
  watcher_.enableWrite();
  return true;
}

bool Stream::flush() {
  while (!out_.empty()) {
    iovec v{out_.begin(), out_.size()};
    ssize_t w = transport_->writev(fd_, &v, 1);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      lastError_ = errno;
      return false;
    }
    out_.consume(static_cast<size_t>(w));
  }
  out_.release();
  return true;
}

void Stream::kickRead() {
  if (!kick_) kick_ = std::make_unique<event::Timer>(loop_, &Stream::onKick, this);
  if (!kick_->armed()) kick_->arm(0, false);
}

void Stream::onKick(void* arg) {
  auto* s = static_cast<Stream*>(arg);
  if (s->reading()) s->handler_->onReadable();
}

void Stream::onIo(void* arg, short what) {
  auto* s = static_cast<Stream*>(arg);
  if ((what & event::IoWatcher::kWrite) && s->out_.empty() && s->transport_->wantsWrite()) {
    // A read stopped to send a handshake flight: the socket takes it now, read on.
    s->watcher_.disableWrite();
    s->handler_->onReadable();
    return;
  }
  if (what & event::IoWatcher::kWrite) {
    if (!s->flush() || s->out_.empty()) {
      s->watcher_.disableWrite();
      // The handler may destroy the stream; a pending read fires again (level-triggered).
      s->handler_->onDrained();
      return;
    }
  }
  if (what & event::IoWatcher::kRead) s->handler_->onReadable();
}

}  // namespace gh::net
