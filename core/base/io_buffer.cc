#include "core/base/io_buffer.h"

#include <cstdlib>
#include <new>
#include <vector>

namespace gh {
namespace {

// Buffers of the standard size are recycled per thread: connections take one when bytes
// arrive and give it back when they go idle, so a keep-alive request costs no malloc/free of
// a 16 KiB block (too large for glibc's per-thread cache). The cache is bounded; what does not
// fit goes back to malloc.
constexpr size_t kMaxCachedBlocks = 256;

struct BlockCache {
  std::vector<char*> blocks;
  ~BlockCache() {
    for (char* b : blocks) std::free(b);
  }
};
thread_local BlockCache tCache;

char* takeBlock() {
  if (!tCache.blocks.empty()) {
    char* b = tCache.blocks.back();
    tCache.blocks.pop_back();
    return b;
  }
  return static_cast<char*>(std::malloc(IoBuffer::kBlockSize));
}

}  // namespace

void IoBuffer::freeStorage(char* p, size_t cap) {
  if (cap == kBlockSize && tCache.blocks.size() < kMaxCachedBlocks) {
    tCache.blocks.push_back(p);
    return;
  }
  std::free(p);
}

size_t IoBuffer::prepareWrite(size_t want, size_t maxCapacity) {
  if (writable() >= want) return writable();
  compact();
  if (writable() >= want || pin_ != 0) return writable();
  size_t need = end_ + want;
  if (need > maxCapacity) need = maxCapacity;
  if (need <= cap_) return writable();
  if (!data_ && need <= kBlockSize && maxCapacity >= kBlockSize) {
    data_ = takeBlock();
    if (!data_) throw std::bad_alloc();
    cap_ = kBlockSize;
    return writable();
  }
  size_t cap = cap_ ? cap_ : kBlockSize;
  while (cap < need) cap *= 2;
  if (cap > maxCapacity && maxCapacity > cap_) cap = maxCapacity;
  char* p;
  if (cap_ == kBlockSize) {
    // Leaving the standard size: copy out of the cached block rather than realloc it.
    p = static_cast<char*>(std::malloc(cap));
    if (p && end_) std::memcpy(p, data_, end_);
    if (p) freeStorage(data_, cap_);
  } else {
    p = static_cast<char*>(std::realloc(data_, cap));
  }
  if (!p) throw std::bad_alloc();
  data_ = p;
  cap_ = cap;
  return writable();
}

}  // namespace gh
