#pragma once
// Stream: one connected socket on one worker — the fd, its readiness watcher, an input buffer
// and an output buffer, behind a Transport (the plain syscalls, or TLS from core/tls).
//
// Writing: send() tries writev(2) at once and keeps only the unwritten remainder in the output
// buffer (so the common case copies nothing and costs one syscall); while anything is pending
// the write watcher is on and later sends append to the buffer, preserving order. The owner
// applies back-pressure by not reading its source while pending() is above its high-water mark;
// the handler's onDrained() tells it when the buffer is empty again.
//
// Reading: fill() does one read(2) into the input buffer per call; level-triggered readiness
// calls onReadable() again if more is there, which keeps reads fair between connections.
//
// Over TLS a read may need to write first (a handshake flight the socket could not take): the
// Stream then waits for writability and calls onReadable() again. Records already taken from
// the socket but not yet handed out cannot make the socket readable again, so after a read, and
// when reading is re-enabled, the Stream schedules one more onReadable() while the transport
// holds such bytes.
//
// Owned by exactly one owner (a downstream session or an upstream pool entry) on one worker
// thread. Destroying the Stream closes the fd.

#include <sys/uio.h>

#include <cstddef>
#include <memory>
#include <string_view>

#include "core/base/io_buffer.h"
#include "core/event/loop.h"

namespace gh::net {

// How bytes move on a connected socket. The plain transport is the syscalls themselves; the TLS
// transport (core/tls) implements the same calls over a BoringSSL connection.
class Transport {
 public:
  virtual ~Transport() = default;
  // As read(2)/writev(2): >0 bytes, 0 end of stream (read), -1 with errno (EAGAIN = try later).
  // A writev that returned less than asked is offered the rest again, in order.
  virtual ssize_t read(int fd, char* buf, size_t len);
  virtual ssize_t writev(int fd, const iovec* iov, int n);
  // The last read returned EAGAIN because the transport must write before it can read on.
  virtual bool wantsWrite() const { return false; }
  // Bytes already taken from the socket wait inside the transport for the next read.
  virtual bool hasBufferedInput() const { return false; }
  // Ends our direction (TLS sends close_notify first), as shutdown(fd, SHUT_WR).
  virtual void shutdownWrite(int fd);
  // Whether bytes are protected on the wire (X-Forwarded-Proto https).
  virtual bool secure() const { return false; }
  // The connection is still being set up (a TLS handshake): no application byte can come yet.
  virtual bool handshaking() const { return false; }
  // Client side: advances the handshake. 1 done; -1 with errno EAGAIN to wait (for
  // writability when wantsWrite(), else readability), or another errno when it failed.
  virtual int handshake(int fd) { return 1; }
  // The peer's verified identity (a SPIFFE ID) on a mutual-TLS connection, else empty.
  virtual std::string_view peerIdentity() const { return {}; }
  // Hex SHA-256 of the peer's certificate when peerIdentity() is set.
  virtual std::string_view peerCertificateHash() const { return {}; }
  // The server name (SNI) a TLS client asked for; empty for plain connections or none sent.
  virtual std::string_view serverName() const { return {}; }
  static Transport* plain();  // a shared stateless instance
};

class Stream {
 public:
  class Handler {
   public:
    virtual void onReadable() = 0;
    // The output buffer drained (or, while connecting, the connect completed: check
    // net::connectResult). Only called after a send() could not finish at once, or while
    // waitWritable() is on.
    virtual void onDrained() = 0;

   protected:
    ~Handler() = default;
  };

  enum class ReadResult { kData, kAgain, kEof, kError, kFull };

  Stream(event::Loop& loop, int fd, Handler* handler, Transport* transport = Transport::plain());
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // One read into in(), of up to `want` bytes when the buffer can grow that far (it never
  // exceeds maxBuffer; kFull when it cannot take more). Streaming a large body asks for a big
  // `want`, so one syscall moves 64 KiB instead of four moving 16 KiB each.
  ReadResult fill(size_t maxBuffer, size_t want = 16 * 1024);
  IoBuffer& in() { return in_; }

  // Sends the concatenation of up to `n` pieces. Returns false when the connection is broken
  // (errno kept in lastError()); the owner should then close.
  bool send(const iovec* pieces, int n);
  bool send(std::string_view a) {
    iovec v{const_cast<char*>(a.data()), a.size()};
    return send(&v, 1);
  }
  size_t pending() const { return out_.size(); }

  // Waits for writability even with nothing pending (used for connect completion).
  void waitWritable() { watcher_.enableWrite(); }
  void setHandler(Handler* h) { handler_ = h; }

  void enableRead() {
    watcher_.enableRead();
    if (transport_->hasBufferedInput()) kickRead();
  }
  // Ends our direction of the connection (the peer reads end of stream).
  void shutdownWrite() { transport_->shutdownWrite(fd_); }
  const Transport& transport() const { return *transport_; }
  void disableRead() { watcher_.disableRead(); }
  bool reading() const { return watcher_.reading(); }
  int fd() const { return fd_; }
  int lastError() const { return lastError_; }

  // Frees buffer memory when both buffers are empty (idle keep-alive connections hold none).
  void releaseBuffers() {
    in_.release();
    out_.release();
  }

 private:
  static void onIo(void* arg, short what);
  static void onKick(void* arg);
  void kickRead();
  bool flush();

  event::Loop& loop_;
  int fd_;
  event::IoWatcher watcher_;
  Handler* handler_;
  Transport* transport_;
  IoBuffer in_;
  IoBuffer out_;
  int lastError_ = 0;
  std::unique_ptr<event::Timer> kick_;  // created on first need (TLS only)
};

}  // namespace gh::net
