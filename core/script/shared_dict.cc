#include "core/script/shared_dict.h"

#include <chrono>
#include <cmath>

namespace gh::script {

namespace {
int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
int64_t expiryFor(int64_t now, double ttlSeconds) {
  if (!(ttlSeconds > 0)) return 0;
  return now + std::max<int64_t>(1, static_cast<int64_t>(std::llround(ttlSeconds * 1000)));
}
}  // namespace

SharedDict::SharedDict(size_t maxEntries, Clock clock)
    : maxPerShard_(std::max<size_t>(1, (maxEntries + kShards - 1) / kShards)),
      clock_(std::move(clock)) {}

int64_t SharedDict::now() const { return clock_ ? clock_() : steadyMs(); }

SharedDict::Shard& SharedDict::shardFor(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

bool SharedDict::roomFor(Shard& s, int64_t t) {
  if (s.map.size() < maxPerShard_) return true;
  for (auto it = s.map.begin(); it != s.map.end();) {
    if (it->second.expiresAtMs != 0 && it->second.expiresAtMs <= t)
      it = s.map.erase(it);
    else
      ++it;
  }
  return s.map.size() < maxPerShard_;
}

std::optional<SharedValue> SharedDict::get(std::string_view key) {
  Shard& s = shardFor(key);
  const int64_t t = now();
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(std::string(key));
  if (it == s.map.end()) return std::nullopt;
  if (it->second.expiresAtMs != 0 && it->second.expiresAtMs <= t) {
    s.map.erase(it);
    return std::nullopt;
  }
  return it->second.value;
}

bool SharedDict::set(std::string_view key, SharedValue value, double ttlSeconds) {
  Shard& s = shardFor(key);
  const int64_t t = now();
  std::string k(key);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(k);
  if (it == s.map.end()) {
    if (!roomFor(s, t)) return false;
    s.map.emplace(std::move(k), Entry{std::move(value), expiryFor(t, ttlSeconds)});
  } else {
    it->second = Entry{std::move(value), expiryFor(t, ttlSeconds)};
  }
  return true;
}

SharedDict::IncrResult SharedDict::incr(std::string_view key, double delta,
                                        std::optional<double> init, double initTtlSeconds) {
  Shard& s = shardFor(key);
  const int64_t t = now();
  std::string k(key);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(k);
  if (it != s.map.end() && it->second.expiresAtMs != 0 && it->second.expiresAtMs <= t) {
    s.map.erase(it);
    it = s.map.end();
  }
  if (it == s.map.end()) {
    if (!init) return {false, 0, "not found"};
    if (!roomFor(s, t)) return {false, 0, "no memory"};
    SharedValue v;
    v.kind = SharedValue::Kind::kNumber;
    v.number = *init + delta;
    s.map.emplace(std::move(k), Entry{v, expiryFor(t, initTtlSeconds)});
    return {true, v.number, nullptr};
  }
  if (it->second.value.kind != SharedValue::Kind::kNumber) return {false, 0, "not a number"};
  it->second.value.number += delta;  // the entry keeps its expiry
  return {true, it->second.value.number, nullptr};
}

bool SharedDict::remove(std::string_view key) {
  Shard& s = shardFor(key);
  std::lock_guard<std::mutex> lock(s.mu);
  return s.map.erase(std::string(key)) > 0;
}

size_t SharedDict::size() {
  size_t n = 0;
  for (Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    n += s.map.size();
  }
  return n;
}

}  // namespace gh::script
