#pragma once
// IoBuffer: the contiguous byte buffer behind one direction of one connection.
//
// Bytes are appended at the end (read(2) writes straight into writable()) and consumed from the
// front. Contiguity is what lets the HTTP codec hand out header names and values as views into
// the buffer instead of copies. Those views must not move while an exchange uses them, so a
// prefix of the storage can be *pinned*: compaction then moves unconsumed bytes down to the end
// of the pinned prefix, never over it, and growth (which may move storage) is refused while
// anything is pinned. The owner unpins when the exchange that holds the views ends.
//
// Storage is allocated on first use and given back by release() once the buffer is empty and
// unpinned, so an idle keep-alive connection holds no buffer at all.
//
// Layout of the storage:   [0, pin_) pinned | [pin_, start_) dead | [start_, end_) data | free
//
// Not thread-safe; owned by one connection on one worker.

#include <cassert>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace gh {

class IoBuffer {
 public:
  static constexpr size_t kBlockSize = 16 * 1024;      // the common size, recycled per thread
  static constexpr size_t kLargeBlockSize = 64 * 1024; // body streaming, recycled too

  IoBuffer() = default;
  ~IoBuffer() {
    if (data_) freeStorage(data_, cap_);
  }
  IoBuffer(const IoBuffer&) = delete;
  IoBuffer& operator=(const IoBuffer&) = delete;

  const char* begin() const { return data_ + start_; }
  char* begin() { return data_ + start_; }
  size_t size() const { return end_ - start_; }
  bool empty() const { return start_ == end_; }
  std::string_view view() const { return {data_ + start_, end_ - start_}; }
  size_t capacity() const { return cap_; }
  size_t pinned() const { return pin_; }

  // Drops n bytes from the front of the data.
  void consume(size_t n) {
    start_ += n;
    if (start_ == end_ && pin_ == 0) start_ = end_ = 0;
  }

  // Consumes n bytes from the front and pins them (and everything before them): they stay
  // where they are until unpin(). Precondition: the data starts right at the pin (call
  // compact() first).
  void consumeAndPin(size_t n) {
    start_ += n;
    pin_ = start_;
  }
  void unpin() {
    pin_ = 0;
    if (start_ == end_) start_ = end_ = 0;
  }

  // Moves the data down to the end of the pinned prefix, making the free tail as large as it
  // can be without moving pinned bytes.
  void compact() {
    if (start_ == pin_) return;
    std::memmove(data_ + pin_, data_ + start_, end_ - start_);
    end_ -= start_ - pin_;
    start_ = pin_;
  }

  // Makes at least `want` bytes writable at the end if possible: compacts, then grows up to
  // `maxCapacity` when nothing is pinned. Returns the number of writable bytes (0 means full).
  size_t prepareWrite(size_t want, size_t maxCapacity);
  char* writePtr() { return data_ + end_; }
  size_t writable() const { return cap_ - end_; }
  void commit(size_t n) { end_ += n; }

  // For buffers that are never pinned (output buffers): grows as needed.
  void append(const char* p, size_t n) {
    if (writable() < n) prepareWrite(n, end_ - start_ + n + pin_);
    assert(writable() >= n && "append to a pinned buffer that cannot grow");
    std::memcpy(data_ + end_, p, n);
    end_ += n;
  }
  void append(std::string_view s) { append(s.data(), s.size()); }

  // Frees the storage if the buffer holds nothing worth keeping.
  void release() {
    if (start_ == end_ && pin_ == 0 && data_) {
      freeStorage(data_, cap_);
      data_ = nullptr;
      cap_ = start_ = end_ = 0;
    }
  }

 private:
  static void freeStorage(char* p, size_t cap);

  char* data_ = nullptr;
  size_t cap_ = 0;
  size_t pin_ = 0;
  size_t start_ = 0;
  size_t end_ = 0;
};

}  // namespace gh
