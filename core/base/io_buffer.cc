#include "core/base/io_buffer.h"

#include <cstdlib>
#include <new>
#include <vector>

namespace gh {
namespace {

// Buffers of the two standard sizes are recycled per thread: connections take one when bytes
// arrive and give it back when they go idle, so a keep-alive request costs no malloc/free of
// a block too large for glibc's per-thread cache. The caches are bounded; what does not fit
// goes back to malloc.
constexpr size_t kMaxCachedBlocks = 256;
constexpr size_t kMaxCachedLargeBlocks = 64;

struct BlockCache {
  std::vector<char*> blocks;
  std::vector<char*> large;
  ~BlockCache() {
    for (char* b : blocks) std::free(b);
    for (char* b : large) std::free(b);
  }
};
thread_local BlockCache tCache;

// A block of exactly `size` (one of the two standard sizes) or nullptr.
char* takeBlock(size_t size) {
  std::vector<char*>& v = size == IoBuffer::kBlockSize ? tCache.blocks : tCache.large;
  if (!v.empty()) {
    char* b = v.back();
    v.pop_back();
    return b;
  }
  return static_cast<char*>(std::malloc(size));
}

bool standardSize(size_t n) { return n == IoBuffer::kBlockSize || n == IoBuffer::kLargeBlockSize; }

}  // namespace

void IoBuffer::freeStorage(char* p, size_t cap) {
  if (cap == kBlockSize && tCache.blocks.size() < kMaxCachedBlocks) {
    tCache.blocks.push_back(p);
    return;
  }
  if (cap == kLargeBlockSize && tCache.large.size() < kMaxCachedLargeBlocks) {
    tCache.large.push_back(p);
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
  size_t cap = cap_ ? cap_ : kBlockSize;
  while (cap < need) cap *= 2;
  if (cap > maxCapacity && maxCapacity > cap_) cap = maxCapacity;
  char* p;
  if (standardSize(cap) || standardSize(cap_)) {
    // Into or out of the recycled sizes: move the data rather than realloc a cached block.
    p = standardSize(cap) ? takeBlock(cap) : static_cast<char*>(std::malloc(cap));
    if (p && end_) std::memcpy(p, data_, end_);
    if (p && data_) freeStorage(data_, cap_);
  } else {
    p = static_cast<char*>(std::realloc(data_, cap));
  }
  if (!p) throw std::bad_alloc();
  data_ = p;
  cap_ = cap;
  return writable();
}

}  // namespace gh
