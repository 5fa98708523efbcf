#include "core/base/io_buffer.h"

#include <cstdlib>
#include <new>

namespace gh {

size_t IoBuffer::prepareWrite(size_t want, size_t maxCapacity) {
  if (writable() >= want) return writable();
  compact();
  if (writable() >= want || pin_ != 0) return writable();
  size_t need = end_ + want;
  if (need > maxCapacity) need = maxCapacity;
  if (need <= cap_) return writable();
  size_t cap = cap_ ? cap_ : 4096;
  while (cap < need) cap *= 2;
  if (cap > maxCapacity && maxCapacity > cap_) cap = maxCapacity;
  char* p = static_cast<char*>(std::realloc(data_, cap));
  if (!p) throw std::bad_alloc();
  data_ = p;
  cap_ = cap;
  return writable();
}

}  // namespace gh
