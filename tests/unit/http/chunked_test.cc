// ChunkedDecoder: accepted framing, every rejection, limits, and the streaming contract: the
// same body and verdict whatever the input is split into, down to single bytes.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/http/parser.h"

using namespace gh::http;
using namespace std::string_literals;

namespace {

struct Decoded {
  std::string body;
  bool done = false;
  ParseError error = ParseError::kNone;
  size_t consumed = 0;  // total bytes the decoder took
};

// Delivers `input` in pieces ending at `cuts` (ascending offsets), as reads would. Bytes the
// decoder did not consume stay pending and are fed again together with the next piece.
Decoded decodePieces(std::string_view input, const std::vector<size_t>& cuts,
                     size_t maxLine = 4096) {
  ChunkedDecoder decoder(maxLine);
  Decoded out;
  std::string pending;
  size_t from = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    pending.append(input.substr(from, end - from));
    from = end;
    for (;;) {
      const ChunkedDecoder::Step step = decoder.feed(pending.data(), pending.size());
      REQUIRE(step.consumed <= pending.size());
      if (!step.data.empty()) {
        // The data lies inside the consumed prefix of this very input.
        REQUIRE(step.data.data() >= pending.data());
        REQUIRE(step.data.data() + step.data.size() <= pending.data() + step.consumed);
        out.body.append(step.data);
      }
      out.consumed += step.consumed;
      pending.erase(0, step.consumed);
      if (step.error != ParseError::kNone) {
        out.error = step.error;
        return out;
      }
      if (step.done) {
        CHECK(decoder.done());
        out.done = true;
        return out;
      }
      if (step.consumed == 0) break;
    }
  }
  return out;
}

Decoded decode(std::string_view input, size_t maxLine = 4096) {
  return decodePieces(input, {}, maxLine);
}

ParseError chunkError(std::string_view input, size_t maxLine = 4096) {
  const Decoded d = decode(input, maxLine);
  CHECK_FALSE(d.done);
  return d.error;
}

// Every way of cutting `input` into two or three pieces, and byte by byte, must give the
// one-shot result.
void checkAllSplits(std::string_view input) {
  const Decoded whole = decode(input);
  std::vector<size_t> bytewise;
  for (size_t i = 1; i < input.size(); ++i) bytewise.push_back(i);
  const Decoded single = decodePieces(input, bytewise);
  CHECK(single.body == whole.body);
  CHECK(single.done == whole.done);
  CHECK(single.error == whole.error);
  for (size_t a = 0; a <= input.size(); ++a) {
    for (size_t b = a; b <= input.size(); ++b) {
      const Decoded d = decodePieces(input, {a, b});
      INFO("cuts at " << a << " and " << b);
      CHECK(d.body == whole.body);
      CHECK(d.done == whole.done);
      CHECK(d.error == whole.error);
      if (whole.done) CHECK(d.consumed == whole.consumed);
    }
  }
}

}  // namespace

TEST_CASE("chunked: a body, its end, and nothing consumed past it", "[http]") {
  const std::string body = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  const Decoded d = decode(body + "GET / HTTP/1.1\r\n");
  CHECK(d.done);
  CHECK(d.error == ParseError::kNone);
  CHECK(d.body == "hello world");
  CHECK(d.consumed == body.size());
  CHECK(decode("0\r\n\r\n").done);
  CHECK(decode("0\r\n\r\n").body.empty());
}

TEST_CASE("chunked: each call reports at most one run of data", "[http]") {
  const std::string input = "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";
  ChunkedDecoder decoder;
  ChunkedDecoder::Step s = decoder.feed(input.data(), input.size());
  CHECK(s.data == "abc");
  CHECK(s.consumed == 6);
  CHECK_FALSE(s.done);
  size_t offset = s.consumed;
  s = decoder.feed(input.data() + offset, input.size() - offset);
  CHECK(s.data == "def");
  offset += s.consumed;
  s = decoder.feed(input.data() + offset, input.size() - offset);
  CHECK(s.data.empty());
  CHECK(s.done);
  CHECK(offset + s.consumed == input.size());
  // Once done, it stays done and takes nothing more.
  s = decoder.feed("x", 1);
  CHECK(s.done);
  CHECK(s.consumed == 0);
}

TEST_CASE("chunked: a partial chunk is delivered as it arrives", "[http]") {
  ChunkedDecoder decoder;
  ChunkedDecoder::Step s = decoder.feed("a\r\n0123", 7);
  CHECK(s.data == "0123");
  CHECK(s.consumed == 7);
  s = decoder.feed("456789\r\n0\r\n\r\n", 13);
  CHECK(s.data == "456789");
  CHECK(s.consumed == 6);
}

TEST_CASE("chunked: hex sizes of up to 16 digits, any case", "[http]") {
  CHECK(decode("A\r\n0123456789\r\n0\r\n\r\n").body == "0123456789");
  CHECK(decode("a\r\n0123456789\r\n0\r\n\r\n").body == "0123456789");
  CHECK(decode("000000000000000a\r\n0123456789\r\n0\r\n\r\n").body == "0123456789");
  CHECK(decode("0000000000000000\r\n\r\n").done);
  // The largest size is accepted; its data simply keeps coming.
  ChunkedDecoder decoder;
  const std::string big = "ffffffffffffffff\r\nxyz";
  const ChunkedDecoder::Step s = decoder.feed(big.data(), big.size());
  CHECK(s.error == ParseError::kNone);
  CHECK(s.data == "xyz");
}

TEST_CASE("chunked: bad chunk sizes", "[http]") {
  for (const std::string& in :
       {"\r\n"s, "x\r\n"s, "-5\r\n"s, "+5\r\n"s, "5x\r\n"s, "0x5\r\n"s, ";a\r\n"s, " 5\r\n"s,
        "00000000000000001\r\n"s, "10000000000000000\r\n"s, "5\0\r\n"s}) {
    INFO(in);
    CHECK(chunkError(in + "hello\r\n0\r\n\r\n") == ParseError::kBadChunkSize);
  }
}

TEST_CASE("chunked: extensions are parsed to the grammar and ignored", "[http]") {
  for (const char* size : {"5;a", "5;a=b", "5 ;a", "5\t;\ta", "5; a = b ;c", "5;a=\"x y\\\" z\"",
                           "5;a=\"\"", "5;a=\"caf\xc3\xa9\"", "5;a=b;c=d;e", "5;a=\"\\\\\""}) {
    INFO(size);
    const Decoded d = decode(std::string(size) + "\r\nhello\r\n0;last=1\r\n\r\n");
    CHECK(d.done);
    CHECK(d.body == "hello");
  }
}

TEST_CASE("chunked: bad extensions", "[http]") {
  for (const char* size :
       {"5 ", "5 \t", "5;", "5;a=", "5;a b", "5;=b", "5;a=b c", "5;a=\"x", "5;a=\"\x01\"",
        "5;a=\"\\\x01\"", "5;a=\"x\"y", "5;a==b", "5;a,b", "5;a=b\"", "5 x"}) {
    INFO(size);
    CHECK(chunkError(std::string(size) + "\r\nhello\r\n0\r\n\r\n") ==
          ParseError::kBadChunkExtension);
  }
}

TEST_CASE("chunked: framing errors around sizes and data", "[http]") {
  CHECK(chunkError("5\nhello\r\n0\r\n\r\n") == ParseError::kBadChunkFraming);
  CHECK(chunkError("5;a\nhello\r\n0\r\n\r\n") == ParseError::kBadChunkFraming);
  CHECK(chunkError("5\r\rhello\r\n0\r\n\r\n") == ParseError::kBadChunkFraming);
  CHECK(chunkError("5\r\nhelloX\r\n0\r\n\r\n") == ParseError::kBadChunkFraming);
  CHECK(chunkError("5\r\nhello\n0\r\n\r\n") == ParseError::kBadChunkFraming);
  CHECK(chunkError("5\r\nhello\r\r0\r\n\r\n") == ParseError::kBadChunkFraming);
  CHECK(chunkError("5\r\nhello0\r\n\r\n") == ParseError::kBadChunkFraming);  // data too long
  CHECK(chunkError("0\r\n\n") == ParseError::kBadChunkFraming);
  CHECK(chunkError("0\r\n\r\r") == ParseError::kBadChunkFraming);
}

TEST_CASE("chunked: trailers are validated like fields and discarded", "[http]") {
  const Decoded ok = decode("3\r\nabc\r\n0\r\nChecksum: abc\r\nX-Empty:\r\nX-T: a\tb\r\n\r\n");
  CHECK(ok.done);
  CHECK(ok.body == "abc");
  for (const char* trailer : {"A: b\n", " b: c\r\n", "\tb: c\r\n", "A : b\r\n", "A\r\n", ": b\r\n",
                              "A: \x01\r\n", "A: b\rc\r\n", "A(: b\r\n", "A: b\x7f\r\n"}) {
    INFO(trailer);
    CHECK(chunkError("0\r\n"s + trailer + "\r\n") == ParseError::kBadChunkFraming);
  }
}

TEST_CASE("chunked: line limits at the limit accepted, one over refused", "[http]") {
  const size_t maxLine = 16;
  // A size line of exactly maxLine bytes (CRLF excluded).
  const std::string size16 = "5;abcdefghijklmn";
  REQUIRE(size16.size() == maxLine);
  CHECK(decode(size16 + "\r\nhello\r\n0\r\n\r\n", maxLine).done);
  CHECK(chunkError(size16 + "o\r\nhello\r\n0\r\n\r\n", maxLine) == ParseError::kBadChunkExtension);
  // Refused while the line is still arriving.
  CHECK(chunkError("5;" + std::string(100, 'a'), maxLine) == ParseError::kBadChunkExtension);
  // A size of more digits than the line allows.
  CHECK(chunkError("00005\r\nhello\r\n0\r\n\r\n", 4) == ParseError::kBadChunkSize);

  const std::string trailer16 = "X-Trailer: 12345";
  REQUIRE(trailer16.size() == maxLine);
  CHECK(decode("0\r\n" + trailer16 + "\r\n\r\n", maxLine).done);
  CHECK(chunkError("0\r\n" + trailer16 + "6\r\n\r\n", maxLine) == ParseError::kBadChunkFraming);
  // The whole trailer section is bounded too: 16 lines of maxLine.
  std::string many = "0\r\n";
  for (int i = 0; i < 20; ++i) many += "X-T: 123456789\r\n";
  CHECK(chunkError(many + "\r\n", maxLine) == ParseError::kBadChunkFraming);
}

TEST_CASE("chunked: an error is sticky until reset()", "[http]") {
  ChunkedDecoder decoder;
  ChunkedDecoder::Step s = decoder.feed("z\r\n", 3);
  CHECK(s.error == ParseError::kBadChunkSize);
  s = decoder.feed("5\r\nhello\r\n", 10);
  CHECK(s.error == ParseError::kBadChunkSize);
  CHECK(s.consumed == 0);
  CHECK(s.data.empty());
  decoder.reset();
  s = decoder.feed("0\r\n\r\n", 5);
  CHECK(s.done);
}

TEST_CASE("chunked: every split point gives the one-shot result", "[http]") {
  checkAllSplits("5\r\nhello\r\n0\r\n\r\n");
  checkAllSplits(
      "3;ext=1\r\nabc\r\n10 ; a = \"q\\\"x\" ;b\r\n0123456789abcdef\r\n0\r\nT: x\r\n\r\n");
  checkAllSplits("1\r\na\r\n1\r\nb\r\n0;x\r\nA: 1\r\nB:\r\n\r\nextra");
  // Errors must not depend on the split either.
  checkAllSplits("5\r\nhelloX\r\n");
  checkAllSplits("3\r\nabc\r\n5 \r\nhello\r\n");
  checkAllSplits("0\r\nA: b\r\n c\r\n\r\n");
}
