// IoBuffer: append/consume/compact/grow, and the pinning invariants the HTTP codec relies on —
// pinned bytes never move and never change, growth is refused while anything is pinned, and
// release() frees the storage only when the buffer is empty and unpinned.

#include "core/base/io_buffer.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

using gh::IoBuffer;

namespace {

constexpr size_t kHuge = 1 << 30;
constexpr size_t kBlock = 16 * 1024;  // the usual first allocation

// Appends through the read path: prepareWrite, then write into writePtr() and commit().
size_t fillFrom(IoBuffer& b, std::string_view s, size_t maxCapacity = kHuge) {
  size_t room = b.prepareWrite(s.size(), maxCapacity);
  size_t n = std::min(room, s.size());
  std::memcpy(b.writePtr(), s.data(), n);
  b.commit(n);
  return n;
}

std::string pattern(size_t n, char seed = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
  return s;
}

}  // namespace

TEST_CASE("IoBuffer: a new buffer holds no storage", "[base]") {
  IoBuffer b;
  CHECK(b.empty());
  CHECK(b.size() == 0);
  CHECK(b.capacity() == 0);
  CHECK(b.pinned() == 0);
  CHECK(b.writable() == 0);
  b.release();  // nothing to free
  CHECK(b.capacity() == 0);
}

TEST_CASE("IoBuffer: prepareWrite/commit append; consume drops from the front", "[base]") {
  IoBuffer b;
  size_t room = b.prepareWrite(100, kHuge);
  CHECK(room >= 100);
  CHECK(b.capacity() >= 100);
  CHECK(room == b.writable());
  std::memcpy(b.writePtr(), "hello world", 11);
  b.commit(11);
  CHECK(b.size() == 11);
  CHECK(b.view() == "hello world");
  CHECK(b.writable() == b.capacity() - 11);

  b.consume(6);
  CHECK(b.view() == "world");
  CHECK(b.size() == 5);
  CHECK_FALSE(b.empty());

  // Consuming everything while nothing is pinned rewinds to the start of the storage, so the
  // whole capacity is writable again without a memmove.
  b.consume(5);
  CHECK(b.empty());
  CHECK(b.writable() == b.capacity());
}

TEST_CASE("IoBuffer: append keeps order and grows as needed", "[base]") {
  IoBuffer b;
  std::string expect;
  for (int i = 0; i < 200; ++i) {
    std::string piece = pattern(static_cast<size_t>(37 + i * 13), static_cast<char>(i));
    b.append(piece);
    expect += piece;
    if (i % 3 == 0) {
      b.consume(10);
      expect.erase(0, 10);
    }
    REQUIRE(b.view() == expect);
  }
  CHECK(b.capacity() >= b.size());
}

TEST_CASE("IoBuffer: compact moves the data to the front when nothing is pinned", "[base]") {
  IoBuffer b;
  b.append(std::string_view("0123456789"));
  size_t cap = b.capacity();
  b.consume(4);
  size_t writableBefore = b.writable();
  b.compact();
  CHECK(b.view() == "456789");
  CHECK(b.writable() == writableBefore + 4);
  CHECK(b.writable() == cap - 6);
  CHECK(b.capacity() == cap);
}

TEST_CASE("IoBuffer: growth preserves the data and honours maxCapacity", "[base]") {
  IoBuffer b;
  SECTION("a small maxCapacity caps the allocation, then the buffer is full") {
    CHECK(b.prepareWrite(16 * 1024, 100) == 100);
    CHECK(b.capacity() == 100);
    CHECK(fillFrom(b, pattern(100), 100) == 100);
    CHECK(b.prepareWrite(1, 100) == 0);  // full
    CHECK(b.capacity() == 100);
    // Consumed bytes make room again (by compaction, not growth).
    b.consume(30);
    CHECK(b.prepareWrite(1, 100) == 30);
    CHECK(b.view() == pattern(100).substr(30));
  }
  SECTION("growing past the first block keeps every byte") {
    std::string data = pattern(kBlock - 10, 3);
    fillFrom(b, data);
    size_t cap = b.capacity();
    CHECK(cap >= data.size());
    std::string more = pattern(5 * kBlock, 9);
    CHECK(fillFrom(b, more) == more.size());
    CHECK(b.capacity() > cap);
    CHECK(b.view() == data + more);
  }
  SECTION("growth stops at maxCapacity") {
    fillFrom(b, pattern(1000));
    size_t room = b.prepareWrite(1 << 20, 50'000);
    CHECK(b.capacity() <= 50'000);
    CHECK(room == b.capacity() - 1000);
    CHECK(b.view() == pattern(1000));
  }
}

TEST_CASE("IoBuffer: pinned bytes never move", "[base]") {
  IoBuffer b;
  const std::string head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string body = pattern(3000, 5);
  b.append(head + body);
  const char* headPtr = b.begin();

  b.consumeAndPin(head.size());
  CHECK(b.pinned() == head.size());
  CHECK(b.view() == body);
  const std::string_view pinnedView(headPtr, head.size());

  // Consume part of the body, compact, read more, repeatedly: the unconsumed bytes move down
  // to the end of the pin, never over it.
  std::string expect = body;
  for (int round = 0; round < 20; ++round) {
    b.consume(100);
    expect.erase(0, 100);
    b.compact();
    REQUIRE(b.begin() == headPtr + head.size());  // the data now starts right at the pin
    REQUIRE(pinnedView == head);                  // same address, same bytes
    std::string chunk = pattern(50, static_cast<char>(round));
    size_t n = fillFrom(b, chunk);
    expect += chunk.substr(0, n);
    REQUIRE(pinnedView == head);
    REQUIRE(b.view() == expect);
    REQUIRE(b.pinned() == head.size());
  }

  // Consuming every data byte keeps the pinned prefix: nothing rewinds over it.
  b.consume(b.size());
  CHECK(b.empty());
  CHECK(b.pinned() == head.size());
  CHECK(pinnedView == head);
  size_t n = fillFrom(b, "next");
  CHECK(n == 4);
  CHECK(b.begin() >= headPtr + head.size());
  CHECK(pinnedView == head);
}

TEST_CASE("IoBuffer: growth is refused while anything is pinned", "[base]") {
  IoBuffer b;
  size_t cap = b.prepareWrite(100, kHuge);
  std::string first = pattern(cap, 1);
  REQUIRE(fillFrom(b, first) == cap);
  const char* storage = b.begin();
  b.consumeAndPin(10);
  REQUIRE(b.writable() == 0);

  // Nothing consumed after the pin: compaction cannot help, and growth would move the pin.
  CHECK(b.prepareWrite(1, kHuge) == 0);
  CHECK(b.capacity() == cap);
  CHECK(std::string_view(storage, 10) == first.substr(0, 10));

  // Consumed bytes behind the pin are reclaimed by compaction, still without growing.
  b.consume(20);
  CHECK(b.prepareWrite(1000 * 1000, kHuge) == 20);
  CHECK(b.capacity() == cap);
  CHECK(b.begin() == storage + 10);
  CHECK(b.view() == first.substr(30));
  CHECK(std::string_view(storage, 10) == first.substr(0, 10));

  // Once unpinned, the buffer grows again and keeps its data.
  b.unpin();
  CHECK(b.pinned() == 0);
  CHECK(b.prepareWrite(1000 * 1000, kHuge) >= 1000 * 1000);
  CHECK(b.capacity() > cap);
  CHECK(b.view() == first.substr(30));
}

TEST_CASE("IoBuffer: unpin", "[base]") {
  IoBuffer b;
  SECTION("with data left: the data stays, the next compact may reuse the old pin") {
    b.append(std::string_view("HEADbody"));
    b.consumeAndPin(4);
    b.unpin();
    CHECK(b.pinned() == 0);
    CHECK(b.view() == "body");
    b.compact();
    CHECK(b.view() == "body");
    CHECK(b.writable() == b.capacity() - 4);
  }
  SECTION("with nothing left: rewinds, the whole storage is writable") {
    b.append(std::string_view("HEAD"));
    b.consumeAndPin(4);
    CHECK(b.empty());
    CHECK(b.writable() == b.capacity() - 4);
    b.unpin();
    CHECK(b.empty());
    CHECK(b.writable() == b.capacity());
  }
}

TEST_CASE("IoBuffer: release frees only when empty and unpinned", "[base]") {
  IoBuffer b;
  b.append(std::string_view("abc"));
  REQUIRE(b.capacity() > 0);

  b.release();  // holds data
  CHECK(b.capacity() > 0);
  CHECK(b.view() == "abc");

  b.consumeAndPin(3);  // empty, but pinned
  CHECK(b.empty());
  b.release();
  CHECK(b.capacity() > 0);
  CHECK(b.pinned() == 3);

  b.unpin();
  b.release();
  CHECK(b.capacity() == 0);
  CHECK(b.writable() == 0);
  CHECK(b.empty());

  // A released buffer is usable again.
  b.append(std::string_view("again"));
  CHECK(b.view() == "again");
  b.consume(5);
  b.release();
  CHECK(b.capacity() == 0);
}

TEST_CASE("IoBuffer: storage recycled through release is clean to reuse", "[base]") {
  // Buffers of the standard size may be recycled: a buffer allocated after another was
  // released must behave as a fresh one (empty, nothing pinned, full capacity writable).
  for (int i = 0; i < 3; ++i) {
    IoBuffer a;
    a.append(pattern(100, static_cast<char>(i)));
    a.consume(100);
    a.release();
    IoBuffer b;
    CHECK(b.empty());
    size_t room = b.prepareWrite(100, kHuge);
    CHECK(room == b.capacity());
    CHECK(b.pinned() == 0);
    b.append(std::string_view("x"));
    CHECK(b.view() == "x");
  }
}
