#pragma once
// SharedDict: the dictionary behind `gatehouse.shared`, shared by every worker of the process.
//
// The one place in core/script with a lock, and it is only taken by scripts that call
// gatehouse.shared: a script that does not use it never touches it. Keys hash to one of 16
// shards, each with its own mutex, so workers rarely meet; every operation holds one shard's
// lock for a hash lookup and nothing else (no allocation under the lock beyond the entry).
//
// Semantics follow OpenResty's ngx.shared.DICT, which is what people asking for this know:
//   get(k)                 -> value, or nothing when absent or expired
//   set(k, v[, ttl])       -> true; false when the dictionary is full (maxEntries) even after
//                             dropping expired entries of that shard. v nil deletes. ttl in
//                             seconds (fractions allowed); 0 or absent: no expiry.
//   incr(k, d[, init[, ttl]]) atomic: k absent -> (init given: init + d stored with ttl;
//                             else error "not found"); k not a number -> error "not a number".
//   remove(k)              -> whether it was there
// Values are strings, numbers or booleans: tables and functions live in one VM and cannot be
// shared across workers.
//
// Thread-safe. Owned by the server (one per process); ScriptRuntimes keep a plain pointer.

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace gh::script {

struct SharedValue {
  enum class Kind : uint8_t { kString, kNumber, kBool };
  Kind kind = Kind::kString;
  std::string string;
  double number = 0;
  bool boolean = false;
};

class SharedDict {
 public:
  using Clock = std::function<int64_t()>;  // milliseconds, monotonic
  explicit SharedDict(size_t maxEntries = 100'000, Clock clock = nullptr);

  std::optional<SharedValue> get(std::string_view key);
  bool set(std::string_view key, SharedValue value, double ttlSeconds = 0);
  // The new value, or the error text ("not found", "not a number", "no memory").
  struct IncrResult {
    bool ok = false;
    double value = 0;
    const char* error = nullptr;
  };
  IncrResult incr(std::string_view key, double delta, std::optional<double> init = std::nullopt,
                  double initTtlSeconds = 0);
  bool remove(std::string_view key);
  size_t size();  // entries, expired ones not yet dropped included

 private:
  struct Entry {
    SharedValue value;
    int64_t expiresAtMs = 0;  // 0: never
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Entry> map;
  };
  static constexpr size_t kShards = 16;
  Shard& shardFor(std::string_view key);
  int64_t now() const;
  bool roomFor(Shard& s, int64_t now);  // with the lock held; may drop expired entries

  size_t maxPerShard_;
  Clock clock_;
  std::array<Shard, kShards> shards_;
};

}  // namespace gh::script
