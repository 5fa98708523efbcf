#pragma once
// StringIndex<V>: an immutable hash map from string keys to small values, built once and then
// only read, for the lookups the route table makes on every request (hostnames, exact paths,
// path prefixes).
//
// Why not std::unordered_map: a node-based map costs a chain of dependent cache misses per
// lookup (bucket array, node, key bytes). Here every slot holds the full hash, a view of the
// key and the value inline, in one open-addressed array kept at most half full; a hit is
// normally one slot load plus one compare of the key bytes, and a miss usually ends at the
// first empty slot without touching any key. With 100 000 keys the index is still a handful
// of cache misses per lookup, as with 10.
//
// Keys are views: their bytes must outlive the index (the route table points them into strings
// it owns) and must be distinct. Built once, then safe for any number of concurrent readers.

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

namespace gh::route {

template <typename V>
class StringIndex {
 public:
  StringIndex() = default;

  explicit StringIndex(const std::vector<std::pair<std::string_view, V>>& entries) {
    if (entries.empty()) return;
    size_t capacity = 2;
    while (capacity < entries.size() * 2) capacity *= 2;  // load <= 1/2: probes stay short
    slots_.resize(capacity);
    mask_ = capacity - 1;
    for (const auto& [key, value] : entries) {
      const uint64_t h = hashOf(key);
      size_t i = h & mask_;
      while (slots_[i].hash != 0) {
        assert(!(slots_[i].hash == h && slots_[i].key == key) && "duplicate StringIndex key");
        i = (i + 1) & mask_;
      }
      slots_[i] = Slot{h, key, value};
    }
    size_ = entries.size();
  }

  // nullptr when absent. Terminates because at least half the slots are empty.
  const V* find(std::string_view key) const {
    if (size_ == 0) return nullptr;
    const uint64_t h = hashOf(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.hash == 0) return nullptr;
      if (s.hash == h && s.key == key) return &s.value;
    }
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  struct Slot {
    uint64_t hash = 0;  // 0 marks an empty slot; hashOf never returns 0
    std::string_view key;
    V value{};
  };

  // The top bit is forced on so that 0 can mean "empty"; slots are chosen by the low bits,
  // which stay untouched.
  static uint64_t hashOf(std::string_view key) {
    return static_cast<uint64_t>(std::hash<std::string_view>{}(key)) | (uint64_t{1} << 63);
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace gh::route
