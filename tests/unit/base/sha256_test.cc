#include "core/base/sha256.h"

#include <catch2/catch.hpp>
#include <string>

using gh::Sha256;

namespace {

// Bytes 0, 1, ..., 250, 0, 1, ...: every byte value below 251, and no accidental repetition
// with the block size.
std::string patterned(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i % 251);
  return s;
}

}  // namespace

TEST_CASE("Sha256 matches the FIPS 180-2 examples", "[base][sha256]") {
  CHECK(Sha256::hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256::hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Sha256::hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(Sha256::hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmno"
                    "pqklmnopqrlmnopqrsmnopqrstnopqrstu") ==
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  CHECK(Sha256::hex(std::string(1'000'000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("Sha256 pads correctly around block boundaries", "[base][sha256]") {
  // 55 bytes is the longest message whose padding fits in one block, 56 the shortest that
  // needs a second; 64 and 128 end exactly on a block; the others straddle.
  struct Vector {
    size_t len;
    const char* hex;
  };
  const Vector vectors[] = {
      {55, "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59"},
      {56, "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562"},
      {63, "29af2686fd53374a36b0846694cc342177e428d1647515f078784d69cdb9e488"},
      {64, "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108"},
      {65, "4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781"},
      {119, "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6"},
      {120, "f52b23db1fbb6ded89ef42a23ce0c8922c45f25c50b568a93bf1c075420bbb7c"},
      {127, "92ca0fa6651ee2f97b884b7246a562fa71250fedefe5ebf270d31c546bfea976"},
      {128, "471fb943aa23c511f6f72f8d1652d9c880cfa392ad80503120547703e56a2be5"},
  };
  for (const Vector& v : vectors) {
    INFO("length " << v.len);
    CHECK(Sha256::hex(patterned(v.len)) == v.hex);
  }
}

TEST_CASE("Sha256 does not depend on how the input is split", "[base][sha256]") {
  const std::string input = patterned(300);
  const std::string whole = Sha256::hex(input);
  // Every split point, including an empty first or last piece, and the carry of a partial
  // block from one update() into the next.
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    Sha256 h;
    h.update(std::string_view(input).substr(0, cut));
    h.update(std::string_view(input).substr(cut));
    INFO("cut at " << cut);
    REQUIRE(Sha256::toHex(h.digest()) == whole);
  }
  // One byte at a time never takes the whole-block fast path.
  Sha256 bytewise;
  for (char c : input) bytewise.update(&c, 1);
  CHECK(Sha256::toHex(bytewise.digest()) == whole);
}

TEST_CASE("Sha256 digest and hex agree", "[base][sha256]") {
  Sha256 h;
  h.update("abc");
  Sha256::Digest d = h.digest();
  CHECK(d[0] == 0xba);
  CHECK(d[31] == 0xad);
  CHECK(Sha256::toHex(d) == Sha256::hex("abc"));
}
