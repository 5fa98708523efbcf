// RequestParser and ResponseParser: one case per rejection rule, the accepted forms, the
// derived fields, limits at and one past the limit, and the incremental contract (feeding
// byte by byte, from a buffer that moves on every call, gives the one-shot result).

#include "core/http/parser.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using namespace gh::http;
using namespace std::string_literals;

namespace {

struct Outcome {
  ParseStatus status = ParseStatus::kIncomplete;
  ParseError error = ParseError::kNone;
};

Outcome parseRequest(std::string_view raw, RequestHead& head, const Limits& limits = Limits()) {
  RequestParser parser(limits);
  Outcome o;
  o.status = parser.parse(raw.data(), raw.size(), head);
  o.error = parser.error();
  return o;
}

// Feeds raw[0..k) for k = 1..n, each time from a freshly allocated copy, so the buffer moves
// on every call (as it may when the connection's buffer is compacted or grown). Returns the
// first result that is not kIncomplete; `keep` receives the last buffer, which the head's
// views must point into.
Outcome parseRequestByteByByte(std::string_view raw, RequestHead& head, const Limits& limits,
                               std::unique_ptr<char[]>& keep) {
  RequestParser parser(limits);
  Outcome o;
  for (size_t k = 1; k <= raw.size(); ++k) {
    auto copy = std::make_unique<char[]>(k);
    std::memcpy(copy.get(), raw.data(), k);
    o.status = parser.parse(copy.get(), k, head);
    o.error = parser.error();
    keep = std::move(copy);  // the previous buffer is freed here: the head must not need it
    if (o.status != ParseStatus::kIncomplete) break;
  }
  return o;
}

bool inside(std::string_view v, const char* base, size_t len) {
  return v.empty() || (v.data() >= base && v.data() + v.size() <= base + len);
}

// The request must get the same verdict one-shot and byte by byte.
ParseError requestError(std::string_view raw, const Limits& limits = Limits()) {
  RequestHead head;
  const Outcome whole = parseRequest(raw, head, limits);
  std::unique_ptr<char[]> keep;
  RequestHead head2;
  const Outcome bytewise = parseRequestByteByByte(raw, head2, limits, keep);
  CHECK(whole.status == bytewise.status);
  CHECK(whole.error == bytewise.error);
  if (whole.status == ParseStatus::kIncomplete) return ParseError::kCount;  // "no verdict"
  return whole.error;
}

// Parses a complete, valid request and checks the incremental path agrees field by field.
RequestHead requestOk(std::string_view raw, const Limits& limits = Limits()) {
  RequestHead head;
  const Outcome whole = parseRequest(raw, head, limits);
  INFO("error: " << reasonName(whole.error));
  REQUIRE(whole.status == ParseStatus::kDone);

  RequestHead head2;
  std::unique_ptr<char[]> keep;
  const Outcome bytewise = parseRequestByteByByte(raw, head2, limits, keep);
  REQUIRE(bytewise.status == ParseStatus::kDone);
  const char* base = keep.get();
  CHECK(head2.headLength == head.headLength);
  CHECK(head2.method == head.method);
  CHECK(head2.target == head.target);
  CHECK(head2.host == head.host);
  CHECK(inside(head2.method, base, raw.size()));
  CHECK(inside(head2.target, base, raw.size()));
  CHECK(inside(head2.host, base, raw.size()));
  REQUIRE(head2.headers.size() == head.headers.size());
  for (size_t i = 0; i < head.headers.size(); ++i) {
    CHECK(head2.headers[i].name == head.headers[i].name);
    CHECK(head2.headers[i].value == head.headers[i].value);
    CHECK(inside(head2.headers[i].name, base, raw.size()));
    CHECK(inside(head2.headers[i].value, base, raw.size()));
  }
  CHECK(head2.body == head.body);
  CHECK(head2.contentLength == head.contentLength);
  CHECK(head2.keepAlive == head.keepAlive);
  CHECK(head2.expectContinue == head.expectContinue);
  CHECK(head2.expectOther == head.expectOther);
  CHECK(head2.upgradeWebsocket == head.upgradeWebsocket);
  return head;
}

std::string req(std::string_view headers) {
  return "GET / HTTP/1.1\r\n"s + std::string(headers);
}

}  // namespace

// ---- Accepted requests ------------------------------------------------------------------

TEST_CASE("a simple GET is parsed in place", "[http]") {
  const std::string raw =
      "GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
  RequestHead head;
  REQUIRE(parseRequest(raw, head).status == ParseStatus::kDone);
  CHECK(head.method == "GET");
  CHECK(head.target == "/index.html?x=1");
  CHECK(head.versionMinor == 1);
  REQUIRE(head.headers.size() == 2);
  CHECK(head.headers[0].name == "Host");
  CHECK(head.headers[0].value == "example.com");
  CHECK(head.headers[1].name == "Accept");
  CHECK(head.headers[1].value == "*/*");
  CHECK(head.host == "example.com");
  CHECK(head.body == BodyKind::kNone);
  CHECK(head.keepAlive);
  CHECK(head.headLength == raw.size());
  // Zero copy: the views point into the caller's bytes.
  CHECK(head.method.data() == raw.data());
  CHECK(head.headers[0].value.data() == raw.data() + raw.find("example.com"));
  requestOk(raw);
}

TEST_CASE("field values lose surrounding OWS, keep inner whitespace and obs-text", "[http]") {
  RequestHead head =
      requestOk(req("Host: h\r\nX-A: \t a  b \t\r\nX-B:\r\nX-C:   \r\nX-D: caf\xc3\xa9\r\n\r\n"));
  REQUIRE(head.headers.size() == 5);
  CHECK(head.headers[1].value == "a  b");
  CHECK(head.headers[2].value.empty());
  CHECK(head.headers[3].value.empty());
  CHECK(head.headers[4].value == "caf\xc3\xa9");
}

TEST_CASE("header names keep their case and duplicates are kept in order", "[http]") {
  RequestHead head = requestOk(req("hOsT: h\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n"));
  REQUIRE(head.headers.size() == 3);
  CHECK(head.headers[0].name == "hOsT");
  CHECK(head.host == "h");
  CHECK(head.headers[1].value == "1");
  CHECK(head.headers[2].name == "x-dup");
  CHECK(head.headers[2].value == "2");
}

TEST_CASE("any token is a method; the four target forms are accepted where they belong", "[http]") {
  CHECK(requestOk("PURGE /x HTTP/1.1\r\nHost: h\r\n\r\n").method == "PURGE");
  CHECK(requestOk("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").target == "*");
  RequestHead connect =
      requestOk("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  CHECK(connect.target == "example.com:443");
  CHECK(connect.host == "example.com:443");
  RequestHead abs =
      requestOk("GET http://Example.com:8080/p?q HTTP/1.1\r\nHost: example.COM:8080\r\n\r\n");
  CHECK(abs.host == "Example.com:8080");  // the target's authority
  CHECK(abs.host.data() > abs.target.data());
  // Unwise-but-harmless characters that real clients leave unencoded in queries.
  requestOk("GET /search?q={\"a\"|b^c`}<> HTTP/1.1\r\nHost: h\r\n\r\n");
}

TEST_CASE("HTTP/1.0 needs no Host and closes by default", "[http]") {
  RequestHead head = requestOk("GET / HTTP/1.0\r\n\r\n");
  CHECK(head.versionMinor == 0);
  CHECK(head.host.empty());
  CHECK_FALSE(head.keepAlive);
  CHECK(requestOk("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive);
  CHECK_FALSE(requestOk("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").keepAlive);
  RequestHead abs = requestOk("GET http://a.example/ HTTP/1.0\r\n\r\n");
  CHECK(abs.host == "a.example");
}

TEST_CASE("keepAlive follows Connection tokens in any case and list position", "[http]") {
  CHECK(requestOk(req("Host: h\r\n\r\n")).keepAlive);
  CHECK_FALSE(requestOk(req("Host: h\r\nConnection: close\r\n\r\n")).keepAlive);
  CHECK_FALSE(requestOk(req("Host: h\r\nConnection: foo, CLOSE\r\n\r\n")).keepAlive);
  CHECK_FALSE(
      requestOk(req("Host: h\r\nConnection: foo\r\nConnection: ,Close ,\r\n\r\n")).keepAlive);
  CHECK(requestOk(req("Host: h\r\nConnection: closed\r\n\r\n")).keepAlive);
}

TEST_CASE("Expect is classified into 100-continue and anything else", "[http]") {
  RequestHead a = requestOk(req("Host: h\r\nExpect: 100-Continue\r\n\r\n"));
  CHECK(a.expectContinue);
  CHECK_FALSE(a.expectOther);
  RequestHead b = requestOk(req("Host: h\r\nExpect: something\r\n\r\n"));
  CHECK_FALSE(b.expectContinue);
  CHECK(b.expectOther);
  RequestHead c = requestOk(req("Host: h\r\n\r\n"));
  CHECK_FALSE(c.expectContinue);
  CHECK_FALSE(c.expectOther);
  // RFC 9110 10.1.1: ignored in HTTP/1.0.
  CHECK_FALSE(requestOk("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expectContinue);
}

TEST_CASE("a websocket upgrade needs Connection: upgrade and Upgrade: websocket", "[http]") {
  CHECK(requestOk(req("Host: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: WebSocket\r\n\r\n"))
            .upgradeWebsocket);
  CHECK_FALSE(requestOk(req("Host: h\r\nUpgrade: websocket\r\n\r\n")).upgradeWebsocket);
  CHECK_FALSE(requestOk(req("Host: h\r\nConnection: upgrade\r\n\r\n")).upgradeWebsocket);
  CHECK_FALSE(
      requestOk(req("Host: h\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n")).upgradeWebsocket);
  CHECK_FALSE(requestOk(req("Host: h\r\nConnection: upgrade\r\nUpgrade: h2c, websocket\r\n\r\n"))
                  .upgradeWebsocket);
  CHECK_FALSE(requestOk("GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n")
                  .upgradeWebsocket);
}

TEST_CASE("Content-Length gives the body kind; identical repeats are folded", "[http]") {
  RequestHead a = requestOk("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n");
  CHECK(a.body == BodyKind::kContentLength);
  CHECK(a.contentLength == 5);
  CHECK(requestOk("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").body ==
        BodyKind::kContentLength);
  CHECK(requestOk("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 7 ,7\r\n\r\n").contentLength == 7);
  CHECK(requestOk("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n")
            .contentLength == 7);
  CHECK(requestOk("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n").contentLength == 7);
  CHECK(requestOk("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775807\r\n\r\n")
            .contentLength == 9223372036854775807ULL);
}

TEST_CASE("Transfer-Encoding: chunked gives a chunked body", "[http]") {
  CHECK(requestOk("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n").body ==
        BodyKind::kChunked);
  CHECK(requestOk("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ChUnKeD\r\n\r\n").body ==
        BodyKind::kChunked);
  // Empty list elements are not codings (RFC 9110 5.6.1).
  CHECK(requestOk("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: , chunked\r\n\r\n").body ==
        BodyKind::kChunked);
}

TEST_CASE("IPv6 and port forms of Host are accepted", "[http]") {
  CHECK(requestOk(req("Host: [::1]:8080\r\n\r\n")).host == "[::1]:8080");
  requestOk(req("Host: [2001:db8::7]\r\n\r\n"));
  requestOk(req("Host: [::ffff:192.0.2.1]\r\n\r\n"));
  requestOk(req("Host: [1:2:3:4:5:6:7:8]\r\n\r\n"));
  requestOk(req("Host: 192.0.2.1:65535\r\n\r\n"));
  requestOk(req("Host: my_host.example.\r\n\r\n"));
}

TEST_CASE("up to two empty lines before the request line are skipped", "[http]") {
  RequestHead head = requestOk("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
  CHECK(head.method == "GET");
  CHECK(head.headLength == 4 + 16 + 9 + 2);
  CHECK(requestError("\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n") ==
        ParseError::kBadRequestLine);
}

TEST_CASE("pipelined requests parse one after another from headLength", "[http]") {
  const std::string raw =
      "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
      "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
      "GET /c HTTP/1.1\r\nHost: h\r\n\r\n";
  RequestParser parser;
  RequestHead head;
  size_t offset = 0;
  REQUIRE(parser.parse(raw.data(), raw.size(), head) == ParseStatus::kDone);
  CHECK(head.target == "/a");
  offset += head.headLength;
  parser.reset();
  REQUIRE(parser.parse(raw.data() + offset, raw.size() - offset, head) == ParseStatus::kDone);
  CHECK(head.target == "/b");
  CHECK(head.headers.size() == 2);  // cleared between messages, not appended
  offset += head.headLength + head.contentLength;
  parser.reset();
  REQUIRE(parser.parse(raw.data() + offset, raw.size() - offset, head) == ParseStatus::kDone);
  CHECK(head.target == "/c");
  CHECK(head.body == BodyKind::kNone);
  CHECK(offset + head.headLength == raw.size());
}

TEST_CASE("an incomplete head asks for more and completes on a later call", "[http]") {
  const std::string raw = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  RequestParser parser;
  RequestHead head;
  CHECK(parser.parse(raw.data(), raw.size() - 1, head) == ParseStatus::kIncomplete);
  CHECK(parser.error() == ParseError::kNone);
  CHECK(parser.parse(raw.data(), raw.size(), head) == ParseStatus::kDone);
  CHECK(head.headLength == raw.size());
  // Bytes after the head are not looked at.
  RequestParser again;
  const std::string more = raw + "\x00\x01garbage"s;
  CHECK(again.parse(more.data(), more.size(), head) == ParseStatus::kDone);
  CHECK(head.headLength == raw.size());
}

TEST_CASE("parse() after kDone or kError repeats the verdict until reset()", "[http]") {
  RequestParser parser;
  RequestHead head;
  const std::string bad = "GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n";
  CHECK(parser.parse(bad.data(), bad.size(), head) == ParseStatus::kError);
  CHECK(parser.parse(bad.data(), bad.size(), head) == ParseStatus::kError);
  CHECK(parser.error() == ParseError::kBadHeaderName);
  parser.reset();
  CHECK(parser.error() == ParseError::kNone);
  const std::string good = req("Host: h\r\n\r\n");
  CHECK(parser.parse(good.data(), good.size(), head) == ParseStatus::kDone);
  CHECK(parser.parse(good.data(), good.size(), head) == ParseStatus::kDone);
  CHECK(head.headers.size() == 1);
}

TEST_CASE("one-shot and every two-piece split agree on a realistic request", "[http]") {
  const std::string raw =
      "POST http://api.example.com/v1/items?id=7 HTTP/1.1\r\n"
      "Host: API.example.com\r\n"
      "User-Agent: curl/8.0\r\n"
      "Content-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n"
      "Connection: keep-alive\r\n"
      "Expect: 100-continue\r\n\r\n";
  RequestHead whole;
  REQUIRE(parseRequest(raw, whole).status == ParseStatus::kDone);
  for (size_t split = 0; split <= raw.size(); ++split) {
    RequestParser parser;
    RequestHead head;
    std::vector<char> first(raw.begin(), raw.begin() + static_cast<long>(split));
    const ParseStatus s1 = parser.parse(first.data(), first.size(), head);
    if (split < raw.size()) REQUIRE(s1 == ParseStatus::kIncomplete);
    std::vector<char> second(raw.begin(), raw.end());
    REQUIRE(parser.parse(second.data(), second.size(), head) == ParseStatus::kDone);
    CHECK(head.headLength == whole.headLength);
    CHECK(head.host == "api.example.com");
    CHECK(head.body == BodyKind::kChunked);
    CHECK(head.expectContinue);
    CHECK(head.headers.size() == 6);
    CHECK(head.headers[5].value == "100-continue");
  }
}

// ---- Request line rejections ------------------------------------------------------------

TEST_CASE("request line: wrong spacing is bad_request_line", "[http]") {
  CHECK(requestError("GET  / HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadRequestLine);
  CHECK(requestError("GET /  HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadRequestLine);
  CHECK(requestError("GET / HTTP/1.1 \r\nHost: h\r\n\r\n") == ParseError::kBadRequestLine);
  CHECK(requestError("GET\r\nHost: h\r\n\r\n") == ParseError::kBadRequestLine);
  CHECK(requestError("GET /\r\n\r\n") == ParseError::kBadRequestLine);  // HTTP/0.9
}

TEST_CASE("request line: a bad method is bad_method", "[http]") {
  CHECK(requestError(" GET / HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadMethod);
  CHECK(requestError("GE(T / HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadMethod);
  CHECK(requestError("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadMethod);
  CHECK(requestError("G\x01T / HTTP/1.1\r\n\r\n") == ParseError::kBadMethod);
  CHECK(requestError("G\xc3\x89T / HTTP/1.1\r\n\r\n") == ParseError::kBadMethod);
}

TEST_CASE("request line: control, space-like, high and refused bytes in a target", "[http]") {
  CHECK(requestError("GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadTarget);
  CHECK(requestError("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadTarget);
  CHECK(requestError("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadTarget);
  CHECK(requestError("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadTarget);
  CHECK(requestError("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadTarget);
  CHECK(requestError("GET /a\\..\\b HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadTarget);
  // The SSE path: the bad byte deep inside a long target.
  CHECK(requestError("GET /" + std::string(40, 'a') + "\x80" + " HTTP/1.1\r\nHost: h\r\n\r\n") ==
        ParseError::kBadTarget);
}

TEST_CASE("request line: a target form where it does not belong is bad_target", "[http]") {
  CHECK(requestError("GET * HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadTarget);
  CHECK(requestError("GET example.com:80 HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadTarget);
  CHECK(requestError("CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadTarget);
  CHECK(requestError("CONNECT example.com HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadTarget);
  CHECK(requestError("GET ftp://h/x HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadTarget);
  CHECK(requestError("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadTarget);
  CHECK(requestError("GET http://u@h/x HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadTarget);
  CHECK(requestError("GET http://h:99999/ HTTP/1.1\r\nHost: h:99999\r\n\r\n") ==
        ParseError::kBadTarget);
  CHECK(requestError("GET x HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBadTarget);
}

TEST_CASE("request line: any version but HTTP/1.0 and HTTP/1.1 is bad_version", "[http]") {
  for (const char* v : {"HTTP/2.0", "HTTP/1.10", "http/1.1", "HTTP/1.2", "HTTP/1", "HTTP/0.9",
                        "HTTPS/1.1", "HTTP/1.1x", "HTTP/1.01"}) {
    INFO(v);
    CHECK(requestError("GET / "s + v + "\r\nHost: h\r\n\r\n") == ParseError::kBadVersion);
  }
}

TEST_CASE("line ends: bare LF, bare CR and NUL anywhere in the head", "[http]") {
  CHECK(requestError("GET / HTTP/1.1\nHost: h\r\n\r\n") == ParseError::kBareLf);
  CHECK(requestError("GET / HTTP/1.1\r\nHost: h\n\r\n") == ParseError::kBareLf);
  CHECK(requestError("GET / HTTP/1.1\r\nHost: h\r\n\n") == ParseError::kBareLf);
  CHECK(requestError("GET / HTTP/1.1\r\nHo\nst: h\r\n\r\n") == ParseError::kBareLf);
  CHECK(requestError("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n") == ParseError::kBareLf);
  CHECK(requestError("GET / HTTP/1.1\rHost: h\r\n\r\n") == ParseError::kBareCr);
  CHECK(requestError("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n") == ParseError::kBareCr);
  CHECK(requestError("GET / HTTP/1.1\r\nHo\rst: h\r\n\r\n") == ParseError::kBareCr);
  CHECK(requestError("GET / HTTP/1.1\r\nHost: h\r\n\rX") == ParseError::kBareCr);
  CHECK(requestError("\rGET / HTTP/1.1\r\n\r\n") == ParseError::kBareCr);
  CHECK(requestError("GET /\0 HTTP/1.1\r\n\r\n"s) == ParseError::kNulInHead);
  CHECK(requestError("G\0T / HTTP/1.1\r\n\r\n"s) == ParseError::kNulInHead);
  CHECK(requestError("GET / HTTP/1.\0\r\n\r\n"s) == ParseError::kNulInHead);
  CHECK(requestError("GET / HTTP/1.1\r\nHost: h\0\r\n\r\n"s) == ParseError::kNulInHead);
  CHECK(requestError("GET / HTTP/1.1\r\nHo\0st: h\r\n\r\n"s) == ParseError::kNulInHead);
  CHECK(requestError("GET / HTTP/1.1\r\n\0Host: h\r\n\r\n"s) == ParseError::kNulInHead);
}

TEST_CASE("a NUL or bare LF is refused before the head is complete", "[http]") {
  // The client never sends CRLFCRLF: we must not wait for it.
  CHECK(requestError("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b"s) == ParseError::kNulInHead);
  CHECK(requestError("GET /abc\nxyz"s) == ParseError::kBareLf);
  CHECK(requestError("GET / HTTP/1.1\r\nX: a\rb"s) == ParseError::kBareCr);
}

// ---- Field line rejections --------------------------------------------------------------

TEST_CASE("fields: obs-fold, bad names, missing colon, control bytes in values", "[http]") {
  CHECK(requestError(req("Host: h\r\nX-A: a\r\n b\r\n\r\n")) == ParseError::kObsFold);
  CHECK(requestError(req("Host: h\r\nX-A: a\r\n\tb\r\n\r\n")) == ParseError::kObsFold);
  CHECK(requestError(req(" Host: h\r\n\r\n")) == ParseError::kObsFold);
  CHECK(requestError(req("Host : h\r\n\r\n")) == ParseError::kBadHeaderName);
  CHECK(requestError(req("Host\t: h\r\n\r\n")) == ParseError::kBadHeaderName);
  CHECK(requestError(req("Ho(st: h\r\n\r\n")) == ParseError::kBadHeaderName);
  CHECK(requestError(req(": h\r\n\r\n")) == ParseError::kBadHeaderName);
  CHECK(requestError(req("X\xc3\xa9: h\r\n\r\n")) == ParseError::kBadHeaderName);
  CHECK(requestError(req("Host: h\r\nNoColon\r\n\r\n")) == ParseError::kMissingColon);
  CHECK(requestError(req("Host: h\r\nX-A: a\x01\r\n\r\n")) == ParseError::kBadHeaderValue);
  CHECK(requestError(req("Host: h\r\nX-A: a\x7f\r\n\r\n")) == ParseError::kBadHeaderValue);
  CHECK(requestError(req("Host: h\r\nX-A: a\x1b[31m\r\n\r\n")) == ParseError::kBadHeaderValue);
  // The SSE path: the bad byte deep inside a long value.
  CHECK(requestError(req("Host: h\r\nCookie: " + std::string(37, 'c') + "\x7f" + "\r\n\r\n")) ==
        ParseError::kBadHeaderValue);
}

TEST_CASE("Content-Length must be one decimal value", "[http]") {
  for (const char* v : {"", "+5", "-5", "0x5", "5 5", "5,6", "5,", ",5", "5,,5", "1.0", "5a",
                        "9223372036854775808", "99999999999999999999999"}) {
    INFO("Content-Length: [" << v << "]");
    CHECK(requestError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: "s + v + "\r\n\r\n") ==
          ParseError::kBadContentLength);
  }
  CHECK(requestError(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n") ==
        ParseError::kBadContentLength);
}

TEST_CASE("Transfer-Encoding must be exactly one final chunked", "[http]") {
  for (const char* v : {"gzip", "gzip, chunked", "chunked, gzip", "chunked, chunked", "chunked;x=1",
                        "identity", "", " , ", "chunkedx", "\"chunked\""}) {
    INFO("Transfer-Encoding: [" << v << "]");
    CHECK(requestError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "s + v + "\r\n\r\n") ==
          ParseError::kBadTransferEncoding);
  }
  CHECK(requestError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n") == ParseError::kBadTransferEncoding);
  CHECK(requestError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n") == ParseError::kBadTransferEncoding);
  CHECK(requestError("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        ParseError::kBadTransferEncoding);
}

TEST_CASE("Content-Length together with Transfer-Encoding is refused in either order", "[http]") {
  CHECK(requestError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n") ==
        ParseError::kContentLengthAndTransferEncoding);
  CHECK(requestError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                     "Content-Length: 5\r\n\r\n") == ParseError::kContentLengthAndTransferEncoding);
}

TEST_CASE("Host: exactly one, valid, and agreeing with an absolute-form target", "[http]") {
  CHECK(requestError(req("Host: a\r\nHost: a\r\n\r\n")) == ParseError::kMultipleHost);
  CHECK(requestError(req("Accept: */*\r\n\r\n")) == ParseError::kMissingHost);
  CHECK(requestError("GET http://a/ HTTP/1.1\r\n\r\n") == ParseError::kMissingHost);
  CHECK(requestError("GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n") == ParseError::kHostMismatch);
  CHECK(requestError("GET http://a:8080/ HTTP/1.1\r\nHost: a\r\n\r\n") ==
        ParseError::kHostMismatch);
  CHECK(requestError("GET http://a/ HTTP/1.0\r\nHost: b\r\n\r\n") == ParseError::kHostMismatch);
  for (const char* v : {"",
                        "a b",
                        "a:",
                        "a:99999",
                        "a:123456",
                        "a:-1",
                        "a:8o",
                        "[::1",
                        "::1",
                        "[::1]x",
                        "[:::1]",
                        "[1:2:3:4:5:6:7:8:9]",
                        "[v1.x]",
                        "[fe80::1%25eth0]",
                        "a,b",
                        "a;b",
                        "u@a",
                        "a/b",
                        "%41",
                        "[::1]:",
                        "[1.2.3.4]",
                        "[::ffff:256.0.0.1]",
                        "[::ffff:01.0.0.1]"}) {
    INFO("Host: [" << v << "]");
    CHECK(requestError(req("Host: "s + v + "\r\n\r\n")) == ParseError::kBadHost);
  }
}

// ---- Limits -----------------------------------------------------------------------------

TEST_CASE("request line limit: at the limit accepted, one over refused", "[http]") {
  const std::string line = "GET /abcdefgh HTTP/1.1";  // 22 bytes without CRLF
  const std::string raw = line + "\r\nHost: h\r\n\r\n";
  Limits limits;
  limits.maxRequestLine = line.size();
  requestOk(raw, limits);
  limits.maxRequestLine = line.size() - 1;
  CHECK(requestError(raw, limits) == ParseError::kRequestLineTooLong);
  // Leading empty lines are not part of the request line.
  limits.maxRequestLine = line.size();
  requestOk("\r\n" + raw, limits);
}

TEST_CASE("request line limit is enforced as soon as the line cannot fit", "[http]") {
  Limits limits;
  limits.maxRequestLine = 16;
  RequestParser parser(limits);
  RequestHead head;
  const std::string raw = "GET /" + std::string(100, 'a');
  CHECK(parser.parse(raw.data(), 15, head) == ParseStatus::kIncomplete);
  // 16 bytes of method and target: the rest of the line cannot fit, whatever comes next.
  CHECK(parser.parse(raw.data(), 16, head) == ParseStatus::kError);
  CHECK(parser.error() == ParseError::kRequestLineTooLong);
  CHECK(statusFor(parser.error()) == 414);
  // Default limit: 8 KiB of target with no end in sight.
  CHECK(requestError("GET /" + std::string(9000, 'a')) == ParseError::kRequestLineTooLong);
}

TEST_CASE("header section limit: at the limit accepted, one over refused", "[http]") {
  const std::string section = "Host: h\r\nX-Long: 0123456789\r\n\r\n";
  const std::string raw = "GET / HTTP/1.1\r\n" + section;
  Limits limits;
  limits.maxHeaderBytes = section.size();  // counts every field line and the final CRLF
  requestOk(raw, limits);
  limits.maxHeaderBytes = section.size() - 1;
  CHECK(requestError(raw, limits) == ParseError::kHeadersTooLarge);
  // Before the head ends: a field that never finishes.
  limits.maxHeaderBytes = 64;
  CHECK(requestError("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(100, 'v'), limits) ==
        ParseError::kHeadersTooLarge);
  CHECK(statusFor(ParseError::kHeadersTooLarge) == 431);
}

TEST_CASE("header count limit: at the limit accepted, one over refused", "[http]") {
  Limits limits;
  limits.maxHeaderCount = 3;
  requestOk(req("Host: h\r\nA: 1\r\nB: 2\r\n\r\n"), limits);
  CHECK(requestError(req("Host: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), limits) ==
        ParseError::kTooManyHeaders);
  std::string many = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 100; ++i) many += "X: 1\r\n";
  CHECK(requestError(many + "\r\n") == ParseError::kTooManyHeaders);  // default 100
  CHECK(statusFor(ParseError::kTooManyHeaders) == 431);
}

TEST_CASE("reason names and statuses", "[http]") {
  CHECK(std::string(reasonName(ParseError::kBadContentLength)) == "bad_content_length");
  CHECK(std::string(reasonName(ParseError::kContentLengthAndTransferEncoding)) ==
        "content_length_and_transfer_encoding");
  CHECK(std::string(reasonName(ParseError::kBadStatusLine)) == "bad_status_line");
  CHECK(std::string(reasonName(ParseError::kCount)) == "unknown");
  for (int e = 1; e < static_cast<int>(ParseError::kCount); ++e) {
    const std::string name = reasonName(static_cast<ParseError>(e));
    CHECK(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos);
  }
  CHECK(statusFor(ParseError::kRequestLineTooLong) == 414);
  CHECK(statusFor(ParseError::kBadHost) == 400);
  CHECK(statusFor(ParseError::kBareLf) == 400);
  CHECK(statusFor(ParseError::kResponseHeadTooLarge) == 502);
  CHECK(statusFor(ParseError::kBadStatusLine) == 502);
}

// ---- ResponseParser ---------------------------------------------------------------------

namespace {

struct ResponseOutcome {
  ParseStatus status;
  ParseError error;
};

ResponseOutcome parseResponse(std::string_view raw, ResponseHead& head, bool headRequest = false,
                              const Limits& limits = Limits()) {
  ResponseParser whole(limits);
  const ParseStatus s = whole.parse(raw.data(), raw.size(), headRequest, head);
  // The byte-by-byte path from a moving buffer must agree.
  ResponseParser parser(limits);
  ResponseHead head2;
  std::unique_ptr<char[]> keep;
  ParseStatus s2 = ParseStatus::kIncomplete;
  for (size_t k = 1; k <= raw.size() && s2 == ParseStatus::kIncomplete; ++k) {
    auto copy = std::make_unique<char[]>(k);
    std::memcpy(copy.get(), raw.data(), k);
    s2 = parser.parse(copy.get(), k, headRequest, head2);
    keep = std::move(copy);
  }
  CHECK(s2 == s);
  CHECK(parser.error() == whole.error());
  if (s == ParseStatus::kDone) {
    CHECK(head2.status == head.status);
    CHECK(head2.reason == head.reason);
    CHECK(inside(head2.reason, keep.get(), raw.size()));
    CHECK(head2.headLength == head.headLength);
    CHECK(head2.body == head.body);
    CHECK(head2.keepAlive == head.keepAlive);
    REQUIRE(head2.headers.size() == head.headers.size());
    for (size_t i = 0; i < head.headers.size(); ++i) {
      CHECK(head2.headers[i].value == head.headers[i].value);
      CHECK(inside(head2.headers[i].value, keep.get(), raw.size()));
    }
  }
  return {s, whole.error()};
}

ResponseHead responseOk(std::string_view raw, bool headRequest = false) {
  ResponseHead head;
  const ResponseOutcome o = parseResponse(raw, head, headRequest);
  INFO("error: " << reasonName(o.error));
  REQUIRE(o.status == ParseStatus::kDone);
  return head;
}

ParseError responseError(std::string_view raw, const Limits& limits = Limits()) {
  ResponseHead head;
  const ResponseOutcome o = parseResponse(raw, head, false, limits);
  return o.status == ParseStatus::kError ? o.error : ParseError::kCount;
}

}  // namespace

TEST_CASE("response: status line, headers and Content-Length", "[http]") {
  const std::string raw = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nServer: x\r\n\r\nhello world!";
  ResponseHead head = responseOk(raw);
  CHECK(head.versionMinor == 1);
  CHECK(head.status == 200);
  CHECK(head.reason == "OK");
  REQUIRE(head.headers.size() == 2);
  CHECK(head.headers[1].value == "x");
  CHECK(head.body == BodyKind::kContentLength);
  CHECK(head.contentLength == 12);
  CHECK(head.keepAlive);
  CHECK(head.headLength == raw.size() - 12);
}

TEST_CASE("response: reason phrases, including empty and missing", "[http]") {
  CHECK(responseOk("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").reason == "Not Found");
  CHECK(responseOk("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n").reason.empty());
  ResponseHead lenient = responseOk("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n");
  CHECK(lenient.status == 200);
  CHECK(lenient.reason.empty());
  CHECK(responseOk("HTTP/1.1 200 d\xc3\xa9j\xc3\xa0 vu\t!\r\nContent-Length: 0\r\n\r\n").reason ==
        "d\xc3\xa9j\xc3\xa0 vu\t!");
}

TEST_CASE("response: body kind by method, status and framing fields", "[http]") {
  ResponseHead chunked = responseOk("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  CHECK(chunked.body == BodyKind::kChunked);
  CHECK(chunked.keepAlive);

  ResponseHead both =
      responseOk("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
  CHECK(both.body == BodyKind::kChunked);
  CHECK_FALSE(both.keepAlive);

  ResponseHead untilClose = responseOk("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n");
  CHECK(untilClose.body == BodyKind::kUntilClose);
  CHECK_FALSE(untilClose.keepAlive);

  ResponseHead head = responseOk("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true);
  CHECK(head.body == BodyKind::kNone);
  CHECK(head.keepAlive);
  for (const char* status : {"100 Continue", "101 Switching Protocols", "103 Early Hints",
                             "204 No Content", "304 Not Modified"}) {
    INFO(status);
    ResponseHead h = responseOk("HTTP/1.1 "s + status + "\r\nContent-Length: 10\r\n\r\n");
    CHECK(h.body == BodyKind::kNone);
    CHECK(h.keepAlive);
  }
}

TEST_CASE("response: keepAlive from Connection and version", "[http]") {
  CHECK_FALSE(
      responseOk("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").keepAlive);
  CHECK_FALSE(responseOk("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keepAlive);
  ResponseHead h =
      responseOk("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
  CHECK(h.versionMinor == 0);
  CHECK(h.keepAlive);
}

TEST_CASE("response: bad status lines", "[http]") {
  for (const char* line :
       {"HTTP/2 200 OK", "HTTP/1.2 200 OK", "HTTP/1.1 20 OK", "HTTP/1.1 2000 OK",
        "HTTP/1.1  200 OK", "HTTP/1.1 099 X", "HTTP/1.1 600 X", "http/1.1 200 OK",
        "HTTP/1.1 2x0 OK", "ICY 200 OK", "HTTP/1.1 200 O\x01K", "HTTP/1.1 200 \x7f", "HTTP/1.1"}) {
    INFO(line);
    CHECK(responseError(line + "\r\nContent-Length: 0\r\n\r\n"s) == ParseError::kBadStatusLine);
  }
  // Refused on the first wrong byte, long before a line end.
  CHECK(responseError("<html>") == ParseError::kBadStatusLine);
}

TEST_CASE("response: line-end and field rules are those of requests", "[http]") {
  CHECK(responseError("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n") == ParseError::kBareLf);
  CHECK(responseError("HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n") == ParseError::kBareLf);
  CHECK(responseError("HTTP/1.1 200 OK\rX\r\n\r\n") == ParseError::kBareCr);
  CHECK(responseError("HTTP/1.1 200 O\0K\r\n\r\n"s) == ParseError::kNulInHead);
  CHECK(responseError("HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n") == ParseError::kObsFold);
  CHECK(responseError("HTTP/1.1 200 OK\r\nA : b\r\n\r\n") == ParseError::kBadHeaderName);
  CHECK(responseError("HTTP/1.1 200 OK\r\nA\r\n\r\n") == ParseError::kMissingColon);
  CHECK(responseError("HTTP/1.1 200 OK\r\nA: \x01\r\n\r\n") == ParseError::kBadHeaderValue);
}

TEST_CASE("response: framing errors", "[http]") {
  CHECK(responseError("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") ==
        ParseError::kBadContentLength);
  CHECK(responseError("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n") ==
        ParseError::kBadContentLength);
  CHECK(responseError("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n") ==
        ParseError::kBadTransferEncoding);
  CHECK(responseError("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n") ==
        ParseError::kBadTransferEncoding);
  CHECK(responseError("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        ParseError::kBadTransferEncoding);
}

TEST_CASE("response: head size limit at the limit accepted, one over refused", "[http]") {
  const std::string raw = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  Limits limits;
  limits.maxResponseHead = raw.size();
  ResponseHead head;
  CHECK(parseResponse(raw, head, false, limits).status == ParseStatus::kDone);
  limits.maxResponseHead = raw.size() - 1;
  CHECK(responseError(raw, limits) == ParseError::kResponseHeadTooLarge);
  limits.maxResponseHead = 10;
  CHECK(responseError("HTTP/1.1 200 OK", limits) == ParseError::kResponseHeadTooLarge);
  limits = Limits();
  limits.maxHeaderCount = 2;
  CHECK(responseError("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits) ==
        ParseError::kResponseHeadTooLarge);
}

TEST_CASE("response: a 1xx is returned, then the final response parses after it", "[http]") {
  const std::string raw =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
  ResponseParser parser;
  ResponseHead head;
  REQUIRE(parser.parse(raw.data(), raw.size(), false, head) == ParseStatus::kDone);
  CHECK(head.status == 100);
  const size_t offset = head.headLength;
  parser.reset();
  REQUIRE(parser.parse(raw.data() + offset, raw.size() - offset, false, head) ==
          ParseStatus::kDone);
  CHECK(head.status == 201);
  CHECK(head.body == BodyKind::kContentLength);
  CHECK(offset + head.headLength == raw.size());
}

TEST_CASE("Host: IPv6 literals follow RFC 3986 exactly", "[http]") {
  for (const char* v : {"[::]", "[1::]", "[::8]", "[1:2:3:4:5:6:7::]", "[::2:3:4:5:6:7:8]",
                        "[1:2:3:4:5:6:1.2.3.4]", "[::1.2.3.4]", "[ABCD:ef01::9]"}) {
    INFO("Host: " << v);
    CHECK(requestOk(req("Host: "s + v + "\r\n\r\n")).host == v);
  }
  for (const char* v : {"[1::2::3]", "[12345::]", "[1:2:3:4:5:6:7:1.2.3.4]", "[::1.2.3]",
                        "[1:2:3:4:5:6:7]", "[:1::]", "[1:]", "[::g]", "[]"}) {
    INFO("Host: " << v);
    CHECK(requestError(req("Host: "s + v + "\r\n\r\n")) == ParseError::kBadHost);
  }
}
