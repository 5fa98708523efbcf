#include "core/base/strings.h"

#include <catch2/catch.hpp>

#include "core/base/io_buffer.h"

using namespace gh;

TEST_CASE("parseU64 accepts plain decimals only", "[base]") {
  uint64_t v = 0;
  CHECK(str::parseU64("0", &v));
  CHECK(v == 0);
  CHECK(str::parseU64("18446744073709551615", &v));
  CHECK(v == UINT64_MAX);
  CHECK_FALSE(str::parseU64("18446744073709551616", &v));
  CHECK_FALSE(str::parseU64("", &v));
  CHECK_FALSE(str::parseU64("+1", &v));
  CHECK_FALSE(str::parseU64("-1", &v));
  CHECK_FALSE(str::parseU64(" 1", &v));
  CHECK_FALSE(str::parseU64("0x10", &v));
}

TEST_CASE("parseDuration reads Go durations", "[base]") {
  uint64_t ms = 0;
  CHECK(str::parseDuration("250ms", &ms));
  CHECK(ms == 250);
  CHECK(str::parseDuration("1m30s", &ms));
  CHECK(ms == 90'000);
  CHECK(str::parseDuration("1.5s", &ms));
  CHECK(ms == 1500);
  CHECK(str::parseDuration("1h", &ms));
  CHECK(ms == 3'600'000);
  CHECK_FALSE(str::parseDuration("10", &ms));
  CHECK_FALSE(str::parseDuration("s", &ms));
  CHECK_FALSE(str::parseDuration("10 s", &ms));
  CHECK_FALSE(str::parseDuration("10d", &ms));
}

TEST_CASE("IoBuffer keeps pinned bytes in place while compacting", "[base]") {
  IoBuffer b;
  REQUIRE(b.prepareWrite(16, 64) >= 16);
  std::memcpy(b.writePtr(), "HEADbodybody", 12);
  b.commit(12);
  const char* head = b.begin();
  b.consumeAndPin(4);
  b.consume(4);  // first "body" forwarded
  b.compact();
  CHECK(b.begin() == head + 4);      // data moved down to the pin
  CHECK(b.view() == "body");
  CHECK(std::string_view(head, 4) == "HEAD");
  CHECK(b.prepareWrite(1 << 20, 1 << 21) < (1u << 20));  // pinned: refuses to grow
  b.unpin();
  b.consume(4);
  CHECK(b.empty());
  b.release();
  CHECK(b.capacity() == 0);
}

TEST_CASE("IoBuffer grows up to its maximum only", "[base]") {
  IoBuffer b;
  CHECK(b.prepareWrite(100, 64) == 64);
  b.commit(64);
  CHECK(b.prepareWrite(1, 64) == 0);
}
