// hash64 is xxHash64: checked against the reference implementation's outputs, because
// consistent hashing must put a key on the same endpoint on every node and after upgrades.

#include "core/upstream/hash.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

using gh::upstream::hash64;
using gh::upstream::Rng;

TEST_CASE("hash64 matches the XXH64 reference vectors", "[upstream][hash]") {
  CHECK(hash64("", 0) == 0xef46db3751d8e999ull);
  CHECK(hash64("abc", 0) == 0x44bc2cf5ad770999ull);
  CHECK(hash64("abc", 42) == 0x13c1d910702770e6ull);
  // >= 32 bytes: the four-lane stripe loop, then 8-, 4- and 1-byte tails.
  CHECK(hash64("Nobody inspects the spammish repetition", 0) == 0xfbcea83c8a378bf1ull);
  CHECK(hash64("0123456789abcdef0123456789abcdefXYZ1234567", 0) == 0xbbe886ee223cb526ull);
  std::string bytes;
  for (int i = 0; i < 100; ++i) bytes.push_back(static_cast<char>(i));
  CHECK(hash64(bytes, 7) == 0x80653e7e9b887cddull);
}

TEST_CASE("hashIp hashes the address, not the port", "[upstream][hash]") {
  gh::net::Address a, b, c;
  REQUIRE(gh::net::Address::parse("192.0.2.7", 1000, &a));
  REQUIRE(gh::net::Address::parse("192.0.2.7", 2000, &b));
  REQUIRE(gh::net::Address::parse("2001:db8::7", 1000, &c));
  CHECK(gh::upstream::hashIp(a) == gh::upstream::hashIp(b));
  CHECK(gh::upstream::hashIp(a) != gh::upstream::hashIp(c));
}

TEST_CASE("Rng is deterministic per seed and below() stays in range", "[upstream][hash]") {
  Rng a(1), b(1), c(2);
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.next();
    CHECK(x == b.next());
    (void)c;
  }
  CHECK(Rng(1).next() != Rng(2).next());
  Rng r(3);
  uint64_t hist[7] = {};
  for (int i = 0; i < 70000; ++i) {
    uint64_t v = r.below(7);
    REQUIRE(v < 7);
    ++hist[v];
  }
  for (uint64_t h : hist) CHECK((h > 9000 && h < 11000));
  double u = r.unit();
  CHECK((u >= 0.0 && u < 1.0));
}
