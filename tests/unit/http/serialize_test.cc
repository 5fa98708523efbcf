// serializeRequest / serializeResponse / serializeLocalReply / rewritePath /
// buildRedirectLocation / isHopByHop: the proxy rules of spec/http.md that concern header fields.
//
// Input heads come from the real parsers run on literal bytes, so every case reads like the
// HTTP it is about. Output heads are split into fields here, and re-parsed by the strict parsers
// where that makes sense: whatever we send must be something we would accept ourselves.

#include "core/http/serialize.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/strings.h"
#include "core/http/parser.h"

using namespace gh;
using namespace gh::http;

namespace {

// A request head parsed from literal bytes; the head's views point into raw_, so the object
// is neither copied nor moved.
class ParsedRequest {
 public:
  explicit ParsedRequest(std::string raw) : raw_(std::move(raw)) {
    RequestParser parser;
    INFO("request: " << raw_);
    ParseStatus st = parser.parse(raw_.data(), raw_.size(), head_);
    INFO("error: " << reasonName(parser.error()));
    REQUIRE(st == ParseStatus::kDone);
  }
  ParsedRequest(const ParsedRequest&) = delete;
  const RequestHead& head() const { return head_; }

 private:
  std::string raw_;
  RequestHead head_;
};

class ParsedResponse {
 public:
  explicit ParsedResponse(std::string raw, bool headRequest = false) : raw_(std::move(raw)) {
    ResponseParser parser;
    INFO("response: " << raw_);
    ParseStatus st = parser.parse(raw_.data(), raw_.size(), headRequest, head_);
    INFO("error: " << reasonName(parser.error()));
    REQUIRE(st == ParseStatus::kDone);
  }
  ParsedResponse(const ParsedResponse&) = delete;
  const ResponseHead& head() const { return head_; }

 private:
  std::string raw_;
  ResponseHead head_;
};

// A serialized head split into its first line and its fields (names and values as written).
struct Out {
  std::string firstLine;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;  // bytes after the blank line

  std::vector<std::string> values(std::string_view name) const {
    std::vector<std::string> v;
    for (const auto& [n, val] : fields)
      if (str::iequals(n, name)) v.push_back(val);
    return v;
  }
  size_t count(std::string_view name) const { return values(name).size(); }
  bool has(std::string_view name) const { return count(name) != 0; }
  // The only value of `name`; fails the test when there is not exactly one.
  std::string one(std::string_view name) const {
    auto v = values(name);
    INFO("field: " << name);
    REQUIRE(v.size() == 1);
    return v[0];
  }
  std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (const auto& f : fields) n.push_back(f.first);
    return n;
  }
};

Out split(const std::string& wire) {
  Out o;
  INFO("wire: " << wire);
  size_t end = wire.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  o.body = wire.substr(end + 4);
  std::string_view head(wire.data(), end + 2);
  size_t pos = head.find("\r\n");
  o.firstLine = std::string(head.substr(0, pos));
  pos += 2;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    REQUIRE(eol != std::string_view::npos);
    std::string_view line = head.substr(pos, eol - pos);
    size_t colon = line.find(':');
    REQUIRE(colon != std::string_view::npos);
    REQUIRE(colon > 0);
    o.fields.emplace_back(std::string(line.substr(0, colon)),
                          std::string(str::trimOws(line.substr(colon + 1))));
    pos = eol + 2;
  }
  return o;
}

// Runs serializeRequest with sensible defaults; the output must also be a request our own strict
// parser accepts.
struct RequestCase {
  std::string_view path = "/";
  std::string_view query;
  std::string_view host = "upstream.internal";
  std::string_view clientIp = "192.0.2.7";
  uint32_t xffTrustedHops = 0;
  const std::vector<config::RouteFilter>* filters = nullptr;
  uint64_t random[2] = {0x0123456789abcdefull, 0xfedcba9876543210ull};
  bool forceHost = false;
};

std::string serializeReq(const RequestHead& head, const RequestCase& c = RequestCase()) {
  RequestHeadInput in;
  in.head = &head;
  in.path = c.path;
  in.query = c.query;
  in.host = c.host;
  in.clientIp = c.clientIp;
  in.xffTrustedHops = c.xffTrustedHops;
  in.filters = c.filters;
  in.random[0] = c.random[0];
  in.random[1] = c.random[1];
  in.forceHost = c.forceHost;
  std::string out = "stale bytes that must be replaced";
  serializeRequest(in, out);
  RequestHead reparsed;
  RequestParser parser;
  ParseStatus st = parser.parse(out.data(), out.size(), reparsed);
  INFO("serialized: " << out);
  INFO("error: " << reasonName(parser.error()));
  CHECK(st == ParseStatus::kDone);
  return out;
}

config::RouteFilter headerFilter(config::FilterType type, std::vector<config::HeaderValue> set,
                                 std::vector<config::HeaderValue> add,
                                 std::vector<std::string> remove) {
  config::RouteFilter f;
  f.type = type;
  f.headerModifier.set = std::move(set);
  f.headerModifier.add = std::move(add);
  f.headerModifier.remove = std::move(remove);
  return f;
}

bool isLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// 8-4-4-4-12 lowercase hex, version nibble 4, variant bits 10.
void checkV4Uuid(const std::string& id) {
  INFO("id: " << id);
  REQUIRE(id.size() == 36);
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23)
      CHECK(id[i] == '-');
    else
      CHECK(isLowerHex(id[i]));
  }
  CHECK(id[14] == '4');
  CHECK((id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b'));
}

}  // namespace

// --- serializeRequest --------------------------------------------------------------------------

TEST_CASE("serializeRequest: request line uses the given path and query; always HTTP/1.1",
          "[http]") {
  ParsedRequest r("POST /orig/path?x=1 HTTP/1.0\r\nHost: a.example\r\nContent-Length: 0\r\n\r\n");
  RequestCase c;
  c.path = "/rewritten";
  c.query = "a=1&b=2";
  Out o = split(serializeReq(r.head(), c));
  CHECK(o.firstLine == "POST /rewritten?a=1&b=2 HTTP/1.1");

  c.query = "";
  o = split(serializeReq(r.head(), c));
  CHECK(o.firstLine == "POST /rewritten HTTP/1.1");  // no dangling '?'
}

TEST_CASE("serializeRequest: Host is the one given; the client's is not copied", "[http]") {
  ParsedRequest r("GET / HTTP/1.1\r\nHost: Public.Example:8080\r\nAccept: */*\r\n\r\n");
  RequestCase c;
  c.host = "backend.internal:9000";
  Out o = split(serializeReq(r.head(), c));
  CHECK(o.one("host") == "backend.internal:9000");
  CHECK(o.one("accept") == "*/*");
}

TEST_CASE("serializeRequest: hop-by-hop fields are stripped; end-to-end fields kept in order",
          "[http]") {
  ParsedRequest r(
      "GET / HTTP/1.1\r\n"
      "Host: a.example\r\n"
      "X-First: 1\r\n"
      "Connection: keep-alive, X-Secret\r\n"
      "Connection: x-other-secret\r\n"
      "Keep-Alive: timeout=5\r\n"
      "TE: trailers\r\n"
      "Trailer: X-Checksum\r\n"
      "Upgrade: h2c\r\n"
      "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
      "Proxy-Connection: keep-alive\r\n"
      "x-secret: must-not-pass\r\n"
      "X-Other-Secret: nor-this\r\n"
      "X-Second: 2\r\n"
      "X-Custom-Case: Value With Spaces\r\n"
      "\r\n");
  Out o = split(serializeReq(r.head()));
  for (const char* name :
       {"connection", "keep-alive", "te", "trailer", "upgrade", "proxy-authorization",
        "proxy-connection", "x-secret", "x-other-secret", "transfer-encoding", "content-length"}) {
    INFO("field: " << name);
    CHECK_FALSE(o.has(name));
  }
  // End-to-end fields are copied as received (case preserved) and in their order.
  std::vector<std::string> names = o.names();
  auto first = std::find(names.begin(), names.end(), "X-First");
  auto second = std::find(names.begin(), names.end(), "X-Second");
  auto custom = std::find(names.begin(), names.end(), "X-Custom-Case");
  REQUIRE(first != names.end());
  REQUIRE(second != names.end());
  REQUIRE(custom != names.end());
  CHECK(first < second);
  CHECK(second < custom);
  CHECK(o.one("X-Custom-Case") == "Value With Spaces");
}

TEST_CASE("serializeRequest: framing fields come from the parsed framing; never copied", "[http]") {
  SECTION("Content-Length: a folded list becomes one field") {
    ParsedRequest r(
        "POST /up HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5, 5\r\n"
        "Content-Length: 5\r\n\r\n");
    REQUIRE(r.head().body == BodyKind::kContentLength);
    Out o = split(serializeReq(r.head()));
    CHECK(o.one("content-length") == "5");
    CHECK_FALSE(o.has("transfer-encoding"));
  }
  SECTION("Content-Length: 0 is still sent") {
    ParsedRequest r("POST /up HTTP/1.1\r\nHost: a.example\r\nContent-Length: 0\r\n\r\n");
    Out o = split(serializeReq(r.head()));
    CHECK(o.one("content-length") == "0");
  }
  SECTION("chunked: exactly one Transfer-Encoding: chunked") {
    ParsedRequest r("POST /up HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: Chunked\r\n\r\n");
    REQUIRE(r.head().body == BodyKind::kChunked);
    Out o = split(serializeReq(r.head()));
    CHECK(o.one("transfer-encoding") == "chunked");
    CHECK_FALSE(o.has("content-length"));
  }
  SECTION("no body: neither field") {
    ParsedRequest r("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
    Out o = split(serializeReq(r.head()));
    CHECK_FALSE(o.has("content-length"));
    CHECK_FALSE(o.has("transfer-encoding"));
  }
}

TEST_CASE("serializeRequest: Expect is stripped", "[http]") {
  ParsedRequest r(
      "PUT /x HTTP/1.1\r\nHost: a.example\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  REQUIRE(r.head().expectContinue);
  Out o = split(serializeReq(r.head()));
  CHECK_FALSE(o.has("expect"));
  CHECK(o.one("content-length") == "3");
}

TEST_CASE("serializeRequest: X-Forwarded-For replaced from an untrusted hop", "[http]") {
  ParsedRequest r(
      "GET / HTTP/1.1\r\nHost: a.example\r\nX-Forwarded-For: 203.0.113.1, 10.9.9.9\r\n"
      "X-Forwarded-Proto: https\r\nX-Forwarded-Host: spoofed.example\r\n\r\n");
  RequestCase c;
  c.xffTrustedHops = 0;
  Out o = split(serializeReq(r.head(), c));
  CHECK(o.one("x-forwarded-for") == "192.0.2.7");
  CHECK(o.one("x-forwarded-proto") == "http");
  CHECK(o.one("x-forwarded-host") == "a.example");
}

TEST_CASE("serializeRequest: X-Forwarded-* appended to / kept from a trusted hop", "[http]") {
  ParsedRequest r(
      "GET / HTTP/1.1\r\nHost: a.example\r\nX-Forwarded-For: 203.0.113.1, 10.9.9.9\r\n"
      "X-Forwarded-Proto: https\r\nX-Forwarded-Host: public.example\r\n\r\n");
  RequestCase c;
  c.xffTrustedHops = 1;
  Out o = split(serializeReq(r.head(), c));
  CHECK(o.one("x-forwarded-for") == "203.0.113.1, 10.9.9.9, 192.0.2.7");
  CHECK(o.one("x-forwarded-proto") == "https");
  CHECK(o.one("x-forwarded-host") == "public.example");
}

TEST_CASE("serializeRequest: trusted hop without X-Forwarded-* gets our values", "[http]") {
  ParsedRequest r("GET / HTTP/1.1\r\nHost: Orig.Example:8443\r\n\r\n");
  RequestCase c;
  c.xffTrustedHops = 2;
  c.host = "rewritten.internal";
  Out o = split(serializeReq(r.head(), c));
  CHECK(o.one("x-forwarded-for") == "192.0.2.7");
  CHECK(o.one("x-forwarded-proto") == "http");
  // X-Forwarded-Host is what the client asked for, not the rewritten upstream host.
  CHECK(o.one("x-forwarded-host") == "Orig.Example:8443");
  CHECK(o.one("host") == "rewritten.internal");
}

TEST_CASE("serializeRequest: x-request-id kept when present", "[http]") {
  ParsedRequest r("GET / HTTP/1.1\r\nHost: a.example\r\nX-Request-Id: abc-123\r\n\r\n");
  Out o = split(serializeReq(r.head()));
  CHECK(o.one("x-request-id") == "abc-123");
}

TEST_CASE("serializeRequest: x-request-id generated as a v4 UUID when absent or empty", "[http]") {
  ParsedRequest absent("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
  ParsedRequest empty("GET / HTTP/1.1\r\nHost: a.example\r\nx-request-id: \r\n\r\n");

  SECTION("exact mapping of the entropy, version and variant forced") {
    RequestCase c;  // random = 0123456789abcdef, fedcba9876543210
    Out o = split(serializeReq(absent.head(), c));
    CHECK(o.one("x-request-id") == "01234567-89ab-4def-bedc-ba9876543210");
    o = split(serializeReq(empty.head(), c));
    CHECK(o.one("x-request-id") == "01234567-89ab-4def-bedc-ba9876543210");
  }
  SECTION("all bits set and all bits clear still give version 4, variant 10") {
    RequestCase c;
    c.random[0] = ~0ull;
    c.random[1] = ~0ull;
    std::string ones = split(serializeReq(absent.head(), c)).one("x-request-id");
    checkV4Uuid(ones);
    CHECK(ones == "ffffffff-ffff-4fff-bfff-ffffffffffff");
    c.random[0] = 0;
    c.random[1] = 0;
    std::string zeros = split(serializeReq(absent.head(), c)).one("x-request-id");
    checkV4Uuid(zeros);
    CHECK(zeros == "00000000-0000-4000-8000-000000000000");
  }
  SECTION("different entropy, different ids") {
    RequestCase c;
    std::string a = split(serializeReq(absent.head(), c)).one("x-request-id");
    c.random[1] ^= 1;
    std::string b = split(serializeReq(absent.head(), c)).one("x-request-id");
    checkV4Uuid(a);
    checkV4Uuid(b);
    CHECK(a != b);
  }
}

TEST_CASE("serializeRequest: RequestHeaderModifier set/add/remove; names case-insensitive",
          "[http]") {
  ParsedRequest r(
      "GET / HTTP/1.1\r\nHost: a.example\r\nX-Env: client\r\nx-tag: one\r\n"
      "X-Drop: secret\r\nx-drop: again\r\nX-Keep: yes\r\n\r\n");
  std::vector<config::RouteFilter> filters = {
      headerFilter(config::FilterType::kRequestHeaderModifier, {{"x-env", "prod"}},
                   {{"X-Tag", "two"}}, {"X-DROP"}),
      // Response-side filters never touch the request.
      headerFilter(config::FilterType::kResponseHeaderModifier, {{"X-Keep", "no"}},
                   {{"X-Resp", "1"}}, {"x-keep"}),
  };
  RequestCase c;
  c.filters = &filters;
  Out o = split(serializeReq(r.head(), c));
  CHECK(o.one("x-env") == "prod");
  CHECK(o.values("x-tag") == std::vector<std::string>{"one", "two"});
  CHECK_FALSE(o.has("x-drop"));
  CHECK(o.one("x-keep") == "yes");
  CHECK_FALSE(o.has("x-resp"));
}

TEST_CASE("serializeRequest: RequestHeaderModifier may set Host", "[http]") {
  ParsedRequest r("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
  std::vector<config::RouteFilter> filters = {
      headerFilter(config::FilterType::kRequestHeaderModifier, {{"HOST", "set.example"}}, {}, {})};
  RequestCase c;
  c.filters = &filters;
  Out o = split(serializeReq(r.head(), c));
  CHECK(o.one("host") == "set.example");
}

// A mirror copy's Host is the final Host (after the modifiers) with -shadow, whatever the
// modifiers do to Host: they neither replace it nor remove it.
TEST_CASE("serializeRequest: a forced Host (mirror copy) survives modifiers of Host", "[http]") {
  ParsedRequest r("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
  std::vector<config::RouteFilter> sets = {headerFilter(
      config::FilterType::kRequestHeaderModifier, {{"HOST", "set.example"}}, {{"host", "x"}}, {})};
  CHECK(requestHostAfterModifiers(&sets, "a.example") == "set.example");
  RequestCase c;
  c.filters = &sets;
  c.host = "set.example-shadow";
  c.forceHost = true;
  CHECK(split(serializeReq(r.head(), c)).values("host") ==
        std::vector<std::string>{"set.example-shadow"});

  std::vector<config::RouteFilter> removes = {
      headerFilter(config::FilterType::kRequestHeaderModifier, {}, {}, {"host"})};
  CHECK(requestHostAfterModifiers(&removes, "a.example") == "a.example");
  CHECK(requestHostAfterModifiers(nullptr, "a.example") == "a.example");
  c.filters = &removes;
  c.host = "a.example-shadow";
  CHECK(split(serializeReq(r.head(), c)).values("host") ==
        std::vector<std::string>{"a.example-shadow"});
}

// "set" overwrites: whatever the proxy would have written for a field, a filter that sets it
// leaves exactly one value, the filter's (Gateway API: Set overwrites the header).
TEST_CASE("serializeRequest: RequestHeaderModifier set of a proxy-written field leaves one value",
          "[http]") {
  ParsedRequest r("GET / HTTP/1.1\r\nHost: a.example\r\nx-request-id: from-client\r\n\r\n");
  std::vector<config::RouteFilter> filters = {
      headerFilter(config::FilterType::kRequestHeaderModifier,
                   {{"X-Forwarded-Proto", "https"}, {"X-Request-Id", "from-filter"}}, {}, {})};
  RequestCase c;
  c.filters = &filters;
  Out o = split(serializeReq(r.head(), c));
  CHECK(o.values("x-forwarded-proto") == std::vector<std::string>{"https"});
  CHECK(o.values("x-request-id") == std::vector<std::string>{"from-filter"});
}

// Framing fields are written by us from the parsed framing, never copied — from a filter
// either: a header modifier that sets or adds Content-Length / Transfer-Encoding must not put
// a second, conflicting framing field in front of the upstream (a request-smuggling shape).
TEST_CASE("serializeRequest: header modifiers cannot add framing fields", "[http]") {
  ParsedRequest r("POST /up HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\n\r\n");
  std::vector<config::RouteFilter> filters = {
      headerFilter(config::FilterType::kRequestHeaderModifier, {{"Content-Length", "0"}},
                   {{"Transfer-Encoding", "chunked"}}, {})};
  RequestCase c;
  c.filters = &filters;
  Out o = split(serializeReq(r.head(), c));
  CHECK(o.values("content-length") == std::vector<std::string>{"5"});
  CHECK_FALSE(o.has("transfer-encoding"));
}

TEST_CASE("serializeRequest: websocket upgrade sends the Connection/Upgrade pair once", "[http]") {
  ParsedRequest r(
      "GET /chat HTTP/1.1\r\nHost: a.example\r\nConnection: keep-alive, Upgrade\r\n"
      "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n");
  REQUIRE(r.head().upgradeWebsocket);
  RequestCase c;
  c.path = "/chat";
  Out o = split(serializeReq(r.head(), c));
  CHECK(o.one("connection") == "Upgrade");
  CHECK(o.one("upgrade") == "websocket");
  CHECK(o.one("sec-websocket-key") == "dGhlIHNhbXBsZSBub25jZQ==");
  CHECK(o.one("sec-websocket-version") == "13");
}

TEST_CASE("serializeRequest: a non-websocket upgrade is not forwarded", "[http]") {
  ParsedRequest r(
      "GET / HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade, HTTP2-Settings\r\n"
      "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n");
  REQUIRE_FALSE(r.head().upgradeWebsocket);
  Out o = split(serializeReq(r.head()));
  CHECK_FALSE(o.has("connection"));
  CHECK_FALSE(o.has("upgrade"));
  CHECK_FALSE(o.has("http2-settings"));
}

// --- serializeResponse -------------------------------------------------------------------------

namespace {

struct ResponseOut {
  ResponseFraming framing;
  Out out;
  std::string wire;
};

ResponseOut serializeResp(const ResponseHead& head, bool keepAlive, int clientMinor = 1,
                          const std::vector<config::RouteFilter>* filters = nullptr,
                          bool headRequest = false) {
  ResponseHeadInput in;
  in.head = &head;
  in.filters = filters;
  in.clientVersionMinor = clientMinor;
  in.headRequest = headRequest;
  ResponseOut r;
  r.wire = "stale";
  r.framing = serializeResponse(in, keepAlive, r.wire);
  r.out = split(r.wire);
  CHECK(r.out.body.empty());
  // What we send is a response our own strict parser accepts.
  ResponseHead reparsed;
  ResponseParser parser;
  ParseStatus st = parser.parse(r.wire.data(), r.wire.size(), headRequest, reparsed);
  INFO("serialized: " << r.wire);
  INFO("error: " << reasonName(parser.error()));
  CHECK(st == ParseStatus::kDone);
  return r;
}

}  // namespace

TEST_CASE("serializeResponse: status line", "[http]") {
  SECTION("upstream reason phrase kept, version is ours") {
    ParsedResponse p("HTTP/1.0 200 Fine Thanks\r\nContent-Length: 0\r\n\r\n");
    CHECK(serializeResp(p.head(), true).out.firstLine == "HTTP/1.1 200 Fine Thanks");
  }
  SECTION("empty reason: the standard text") {
    ParsedResponse p("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n");
    CHECK(serializeResp(p.head(), true).out.firstLine == "HTTP/1.1 404 Not Found");
  }
}

TEST_CASE("serializeResponse: Content-Length body", "[http]") {
  ParsedResponse p("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12, 12\r\n\r\n");
  REQUIRE(p.head().body == BodyKind::kContentLength);

  SECTION("HTTP/1.1 client, keep-alive") {
    ResponseOut r = serializeResp(p.head(), true, 1);
    CHECK_FALSE(r.framing.chunked);
    CHECK(r.framing.keepAlive);
    CHECK(r.out.one("content-length") == "12");
    CHECK_FALSE(r.out.has("transfer-encoding"));
    CHECK_FALSE(r.out.has("connection"));
    CHECK(r.out.one("content-type") == "text/plain");
  }
  SECTION("HTTP/1.1 client, closing") {
    ResponseOut r = serializeResp(p.head(), false, 1);
    CHECK_FALSE(r.framing.chunked);
    CHECK_FALSE(r.framing.keepAlive);
    CHECK(r.out.one("content-length") == "12");
    CHECK(r.out.one("connection") == "close");
  }
  SECTION("HTTP/1.0 client, keep-alive: says so") {
    ResponseOut r = serializeResp(p.head(), true, 0);
    CHECK_FALSE(r.framing.chunked);
    CHECK(r.framing.keepAlive);
    CHECK(r.out.one("content-length") == "12");
    CHECK(r.out.one("connection") == "keep-alive");
  }
  SECTION("HTTP/1.0 client, closing") {
    ResponseOut r = serializeResp(p.head(), false, 0);
    CHECK_FALSE(r.framing.keepAlive);
    CHECK(r.out.one("connection") == "close");
  }
}

TEST_CASE("serializeResponse: chunked body", "[http]") {
  ParsedResponse p("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n");
  REQUIRE(p.head().body == BodyKind::kChunked);

  SECTION("HTTP/1.1 client: re-chunked, keep-alive") {
    ResponseOut r = serializeResp(p.head(), true, 1);
    CHECK(r.framing.chunked);
    CHECK(r.framing.keepAlive);
    CHECK(r.out.one("transfer-encoding") == "chunked");
    CHECK_FALSE(r.out.has("content-length"));
    CHECK_FALSE(r.out.has("connection"));
  }
  SECTION("HTTP/1.1 client, closing") {
    ResponseOut r = serializeResp(p.head(), false, 1);
    CHECK(r.framing.chunked);
    CHECK_FALSE(r.framing.keepAlive);
    CHECK(r.out.one("transfer-encoding") == "chunked");
    CHECK(r.out.one("connection") == "close");
  }
  SECTION("HTTP/1.0 client: raw body delimited by the close") {
    for (bool keepAlive : {true, false}) {
      INFO("keepAlive " << keepAlive);
      ResponseOut r = serializeResp(p.head(), keepAlive, 0);
      CHECK_FALSE(r.framing.chunked);
      CHECK_FALSE(r.framing.keepAlive);
      CHECK_FALSE(r.out.has("transfer-encoding"));
      CHECK_FALSE(r.out.has("content-length"));
      CHECK(r.out.one("connection") == "close");
    }
  }
}

TEST_CASE("serializeResponse: body until close", "[http]") {
  ParsedResponse p("HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n");
  REQUIRE(p.head().body == BodyKind::kUntilClose);
  REQUIRE_FALSE(p.head().keepAlive);

  SECTION("HTTP/1.1 client: re-chunked, the client connection stays reusable") {
    ResponseOut r = serializeResp(p.head(), true, 1);
    CHECK(r.framing.chunked);
    CHECK(r.framing.keepAlive);
    CHECK(r.out.one("transfer-encoding") == "chunked");
    CHECK_FALSE(r.out.has("content-length"));
    CHECK_FALSE(r.out.has("connection"));
  }
  SECTION("HTTP/1.1 client, closing") {
    ResponseOut r = serializeResp(p.head(), false, 1);
    CHECK(r.framing.chunked);
    CHECK_FALSE(r.framing.keepAlive);
    CHECK(r.out.one("connection") == "close");
  }
  SECTION("HTTP/1.0 client: close-delimited") {
    for (bool keepAlive : {true, false}) {
      INFO("keepAlive " << keepAlive);
      ResponseOut r = serializeResp(p.head(), keepAlive, 0);
      CHECK_FALSE(r.framing.chunked);
      CHECK_FALSE(r.framing.keepAlive);
      CHECK_FALSE(r.out.has("transfer-encoding"));
      CHECK_FALSE(r.out.has("content-length"));
      CHECK(r.out.one("connection") == "close");
    }
  }
}

TEST_CASE("serializeResponse: HEAD and 304 pass the upstream Content-Length through", "[http]") {
  SECTION("HEAD") {
    ParsedResponse p("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", /*headRequest=*/true);
    REQUIRE(p.head().body == BodyKind::kNone);
    ResponseOut r = serializeResp(p.head(), true, 1, nullptr, true);
    CHECK_FALSE(r.framing.chunked);
    CHECK(r.framing.keepAlive);
    CHECK(r.out.one("content-length") == "1234");
    CHECK_FALSE(r.out.has("transfer-encoding"));
  }
  SECTION("304") {
    ParsedResponse p("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 99\r\n\r\n");
    REQUIRE(p.head().body == BodyKind::kNone);
    ResponseOut r = serializeResp(p.head(), true, 1);
    CHECK_FALSE(r.framing.chunked);
    CHECK(r.framing.keepAlive);
    CHECK(r.out.one("content-length") == "99");
    CHECK(r.out.one("etag") == "\"x\"");
    CHECK_FALSE(r.out.has("transfer-encoding"));
  }
  SECTION("204 without a length gets none") {
    ParsedResponse p("HTTP/1.1 204 No Content\r\n\r\n");
    ResponseOut r = serializeResp(p.head(), true, 1);
    CHECK_FALSE(r.framing.chunked);
    CHECK(r.framing.keepAlive);
    CHECK_FALSE(r.out.has("content-length"));
    CHECK_FALSE(r.out.has("transfer-encoding"));
  }
}

TEST_CASE("serializeResponse: hop-by-hop fields of the upstream are stripped", "[http]") {
  ParsedResponse p(
      "HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
      "Proxy-Authenticate: Basic\r\nTrailer: X-Sum\r\nUpgrade: foo\r\nX-End: 2\r\n"
      "Content-Length: 0\r\n\r\n");
  ResponseOut r = serializeResp(p.head(), true, 1);
  for (const char* name :
       {"connection", "x-hop", "keep-alive", "proxy-authenticate", "trailer", "upgrade"}) {
    INFO("field: " << name);
    CHECK_FALSE(r.out.has(name));
  }
  CHECK(r.out.one("x-end") == "2");
  CHECK(r.out.one("content-length") == "0");
}

TEST_CASE("serializeResponse: ResponseHeaderModifier set/add/remove", "[http]") {
  ParsedResponse p(
      "HTTP/1.1 200 OK\r\nServer: upstream\r\nx-tag: a\r\nX-Internal: leak\r\n"
      "X-Req: 1\r\nContent-Length: 0\r\n\r\n");
  std::vector<config::RouteFilter> filters = {
      headerFilter(config::FilterType::kResponseHeaderModifier, {{"SERVER", "gatehouse"}},
                   {{"X-TAG", "b"}}, {"x-internal"}),
      headerFilter(config::FilterType::kRequestHeaderModifier, {{"X-Req", "changed"}}, {}, {}),
  };
  ResponseOut r = serializeResp(p.head(), true, 1, &filters);
  CHECK(r.out.one("server") == "gatehouse");
  CHECK(r.out.values("x-tag") == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(r.out.has("x-internal"));
  CHECK(r.out.one("x-req") == "1");
}

TEST_CASE("serializeResponse: header modifiers cannot add framing fields", "[http]") {
  ParsedResponse p("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
  std::vector<config::RouteFilter> filters = {
      headerFilter(config::FilterType::kResponseHeaderModifier, {{"content-length", "0"}},
                   {{"transfer-encoding", "chunked"}}, {})};
  ResponseOut r = serializeResp(p.head(), true, 1, &filters);
  CHECK(r.out.values("content-length") == std::vector<std::string>{"5"});
  CHECK_FALSE(r.out.has("transfer-encoding"));
  CHECK_FALSE(r.framing.chunked);
}

TEST_CASE("serializeResponse: 101 switches to the websocket tunnel", "[http]") {
  ParsedResponse p(
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
  ResponseOut r = serializeResp(p.head(), false, 1);
  CHECK(r.out.firstLine == "HTTP/1.1 101 Switching Protocols");
  CHECK(r.out.one("connection") == "Upgrade");
  CHECK(r.out.one("upgrade") == "websocket");
  CHECK(r.out.one("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK_FALSE(r.out.has("content-length"));
  CHECK_FALSE(r.out.has("transfer-encoding"));
}

// --- serializeLocalReply -----------------------------------------------------------------------

namespace {

std::string localReply(int status, const char* reason, std::string_view body,
                       std::string_view contentType, std::string_view location, bool keepAlive,
                       bool headRequest, int minor) {
  std::string out = "stale";
  serializeLocalReply(status, reason, body, contentType, location, keepAlive, headRequest, minor,
                      out);
  return out;
}

}  // namespace

TEST_CASE("serializeLocalReply: a complete reply", "[http]") {
  std::string wire = localReply(404, "no_route", "no route\n", "text/plain", {}, true, false, 1);
  Out o = split(wire);
  CHECK(o.firstLine == "HTTP/1.1 404 Not Found");
  CHECK(o.one("content-type") == "text/plain");
  CHECK(o.one("content-length") == "9");
  CHECK(o.one("x-gatehouse-reason") == "no_route");
  CHECK_FALSE(o.has("location"));
  CHECK_FALSE(o.has("connection"));
  CHECK(o.body == "no route\n");

  // Our own response parser reads it, with exactly the body that follows.
  ResponseHead head;
  ResponseParser parser;
  REQUIRE(parser.parse(wire.data(), wire.size(), false, head) == ParseStatus::kDone);
  CHECK(head.status == 404);
  CHECK(head.body == BodyKind::kContentLength);
  CHECK(head.contentLength == 9);
  CHECK(wire.size() - head.headLength == 9);
  CHECK(head.keepAlive);
}

TEST_CASE("serializeLocalReply: connection management", "[http]") {
  CHECK(split(localReply(503, "x", "b", "text/plain", {}, false, false, 1)).one("connection") ==
        "close");
  CHECK(split(localReply(503, "x", "b", "text/plain", {}, false, false, 0)).one("connection") ==
        "close");
  CHECK(split(localReply(503, "x", "b", "text/plain", {}, true, false, 0)).one("connection") ==
        "keep-alive");
  CHECK_FALSE(split(localReply(503, "x", "b", "text/plain", {}, true, false, 1)).has("connection"));
}

TEST_CASE("serializeLocalReply: HEAD keeps the length; drops the body", "[http]") {
  Out o = split(localReply(200, nullptr, "hello", "text/plain", {}, true, true, 1));
  CHECK(o.one("content-length") == "5");
  CHECK(o.one("content-type") == "text/plain");
  CHECK(o.body.empty());
}

TEST_CASE("serializeLocalReply: empty body; no reason; redirect", "[http]") {
  SECTION("empty body: no content-type, length 0, no reason field for a null reason") {
    Out o = split(localReply(200, nullptr, {}, "text/plain", {}, true, false, 1));
    CHECK_FALSE(o.has("content-type"));
    CHECK(o.one("content-length") == "0");
    CHECK_FALSE(o.has("x-gatehouse-reason"));
    CHECK(o.body.empty());
  }
  SECTION("empty reason string: no reason field") {
    Out o = split(localReply(500, "", "x", "text/plain", {}, true, false, 1));
    CHECK_FALSE(o.has("x-gatehouse-reason"));
  }
  SECTION("redirect: Location, and no reason field without a reason") {
    Out o = split(localReply(301, nullptr, {}, {}, "https://a.example/x?y=1", true, false, 1));
    CHECK(o.firstLine == "HTTP/1.1 301 Moved Permanently");
    CHECK(o.one("location") == "https://a.example/x?y=1");
    CHECK_FALSE(o.has("x-gatehouse-reason"));
    CHECK(o.one("content-length") == "0");
  }
  SECTION("any reason given is written as is") {
    Out o = split(localReply(302, "redirect", {}, {}, "/elsewhere", true, false, 1));
    CHECK(o.one("x-gatehouse-reason") == "redirect");
    CHECK(o.one("location") == "/elsewhere");
  }
}

// RFC 9110 8.6: a server MUST NOT send Content-Length in a 204 response. A Service's
// directResponse may be a 204 (config accepts it with an empty body) and goes out through here.
TEST_CASE("serializeLocalReply: 204 carries no Content-Length", "[http]") {
  std::string wire = localReply(204, nullptr, {}, "text/plain", {}, true, false, 1);
  Out o = split(wire);
  CHECK(o.firstLine == "HTTP/1.1 204 No Content");
  CHECK_FALSE(o.has("content-length"));
  CHECK_FALSE(o.has("transfer-encoding"));
  CHECK(o.body.empty());
}

// --- rewritePath -------------------------------------------------------------------------------

namespace {

std::string rewrite(config::PathModifierType type, std::string_view value,
                    std::string_view matchedPrefix, std::string_view path) {
  config::PathModifier m;
  m.type = type;
  m.value = std::string(value);
  config::PathMatch match;
  match.type = config::PathMatchType::kPathPrefix;
  match.value = std::string(matchedPrefix);
  std::string out = "stale";
  rewritePath(m, &match, path, &out);
  return out;
}

std::string prefixRewrite(std::string_view prefix, std::string_view repl, std::string_view path) {
  return rewrite(config::PathModifierType::kReplacePrefixMatch, repl, prefix, path);
}

}  // namespace

TEST_CASE("rewritePath: ReplaceFullPath ignores the request path", "[http]") {
  CHECK(rewrite(config::PathModifierType::kReplaceFullPath, "/new", "/foo", "/foo/bar/baz") ==
        "/new");
  CHECK(rewrite(config::PathModifierType::kReplaceFullPath, "/", "/", "/anything") == "/");
}

TEST_CASE("rewritePath: ReplacePrefixMatch (Gateway API table)", "[http]") {
  struct Row {
    const char* path;
    const char* prefix;
    const char* repl;
    const char* want;
  };
  const Row rows[] = {
      // the brief's examples
      {"/foo", "/foo", "/bar", "/bar"},
      {"/foo/x", "/foo", "/bar", "/bar/x"},
      {"/foo/x", "/foo", "/", "/x"},
      {"/foo", "/foo", "/", "/"},
      {"/x", "/", "/p", "/p/x"},
      {"/x/y", "/", "/p", "/p/x/y"},
      // Gateway API HTTPPathModifier table: trailing slashes ignored on both sides
      {"/foo/bar", "/foo", "/xyz", "/xyz/bar"},
      {"/foo/bar", "/foo", "/xyz/", "/xyz/bar"},
      {"/foo/bar", "/foo/", "/xyz", "/xyz/bar"},
      {"/foo/bar", "/foo/", "/xyz/", "/xyz/bar"},
      {"/foo", "/foo", "/xyz", "/xyz"},
      {"/foo/", "/foo", "/xyz", "/xyz/"},
      {"/foo/bar", "/foo", "", "/bar"},
      {"/foo/", "/foo", "", "/"},
      {"/foo", "/foo", "", "/"},
      {"/foo/", "/foo", "/", "/"},
      {"/foo", "/foo", "/", "/"},
      // deeper prefixes and replacements
      {"/api/v1/users", "/api/v1", "/v2", "/v2/users"},
      {"/api/v1/users", "/api/v1/", "/internal/api/", "/internal/api/users"},
  };
  for (const Row& r : rows) {
    INFO("path " << r.path << " prefix " << r.prefix << " replacement '" << r.repl << "'");
    CHECK(prefixRewrite(r.prefix, r.repl, r.path) == r.want);
  }
}

// --- buildRedirectLocation ---------------------------------------------------------------------

namespace {

struct RedirectCase {
  std::optional<std::string> scheme;
  std::optional<std::string> hostname;
  std::optional<uint16_t> port;
  std::optional<config::PathModifier> path;
  uint16_t listenerPort = 80;
  std::string_view host = "a.example";
  std::string_view reqPath = "/p";
  std::string_view query;
  const config::PathMatch* matched = nullptr;
};

std::string location(const RedirectCase& c) {
  config::RequestRedirect r;
  r.scheme = c.scheme;
  r.hostname = c.hostname;
  r.port = c.port;
  r.path = c.path;
  std::string out = "stale";
  buildRedirectLocation(r, c.matched, c.listenerPort, c.host, c.reqPath, c.query, &out);
  return out;
}

}  // namespace

TEST_CASE("buildRedirectLocation: scheme given without port uses its well-known port", "[http]") {
  RedirectCase c;
  c.listenerPort = 8080;
  c.scheme = "https";
  CHECK(location(c) == "https://a.example/p");
  c.scheme = "http";
  CHECK(location(c) == "http://a.example/p");
}

TEST_CASE("buildRedirectLocation: no scheme uses the listener port", "[http]") {
  RedirectCase c;
  c.listenerPort = 8080;
  CHECK(location(c) == "http://a.example:8080/p");
  c.listenerPort = 80;
  CHECK(location(c) == "http://a.example/p");
  c.listenerPort = 443;  // without a scheme the Location is http: 443 is not its default
  CHECK(location(c) == "http://a.example:443/p");
}

TEST_CASE("buildRedirectLocation: explicit port", "[http]") {
  RedirectCase c;
  c.listenerPort = 8080;
  c.scheme = "https";
  c.port = 8443;
  CHECK(location(c) == "https://a.example:8443/p");
  c.port = 443;
  CHECK(location(c) == "https://a.example/p");
  c.port = 80;  // 80 is not well-known for https
  CHECK(location(c) == "https://a.example:80/p");
  c.scheme.reset();
  c.port = 80;
  CHECK(location(c) == "http://a.example/p");
  c.port = 9000;
  CHECK(location(c) == "http://a.example:9000/p");
}

TEST_CASE("buildRedirectLocation: hostname replaces the request host", "[http]") {
  RedirectCase c;
  c.hostname = "other.example";
  CHECK(location(c) == "http://other.example/p");
  c.hostname.reset();
  c.host = "[2001:db8::1]";
  CHECK(location(c) == "http://[2001:db8::1]/p");
}

TEST_CASE("buildRedirectLocation: path modifiers and query", "[http]") {
  config::PathMatch prefix;
  prefix.type = config::PathMatchType::kPathPrefix;
  prefix.value = "/old";
  RedirectCase c;
  c.matched = &prefix;
  c.reqPath = "/old/page";
  c.query = "a=1&b=2";
  CHECK(location(c) == "http://a.example/old/page?a=1&b=2");

  c.path = config::PathModifier{config::PathModifierType::kReplacePrefixMatch, "/new"};
  CHECK(location(c) == "http://a.example/new/page?a=1&b=2");

  c.path = config::PathModifier{config::PathModifierType::kReplaceFullPath, "/moved"};
  CHECK(location(c) == "http://a.example/moved?a=1&b=2");

  c.query = "";
  CHECK(location(c) == "http://a.example/moved");

  c.scheme = "https";
  c.hostname = "new.example";
  c.port = 8443;
  c.path = config::PathModifier{config::PathModifierType::kReplacePrefixMatch, "/"};
  c.query = "q";
  CHECK(location(c) == "https://new.example:8443/page?q");
}

// --- isHopByHop / statusText -------------------------------------------------------------------

TEST_CASE("isHopByHop", "[http]") {
  for (const char* n :
       {"connection", "Connection", "KEEP-ALIVE", "te", "TE", "Trailer", "transfer-encoding",
        "Transfer-Encoding", "upgrade", "Upgrade", "Proxy-Authorization", "proxy-authenticate",
        "Proxy-Connection", "PROXY-FOO"}) {
    INFO(n);
    CHECK(isHopByHop(n));
  }
  for (const char* n :
       {"", "t", "tee", "trailers", "content-length", "host", "keep-alive2", "x-connection",
        "x-proxy-id", "proxy", "upgrade-insecure-requests", "Transfer-Encodings", "expect"}) {
    INFO(n);
    CHECK_FALSE(isHopByHop(n));
  }
}

TEST_CASE("statusText", "[http]") {
  CHECK(std::string(statusText(200)) == "OK");
  CHECK(std::string(statusText(404)) == "Not Found");
  CHECK(std::string(statusText(502)) == "Bad Gateway");
  CHECK(std::string(statusText(599)) == "Unknown");
}

// --- trace context -----------------------------------------------------------------------------

TEST_CASE("serializeRequest: with tracing, this hop's traceparent replaces the client's", "[http]") {
  ParsedRequest r("GET / HTTP/1.1\r\nHost: a\r\ntraceparent: 00-aaaa-bbbb-01\r\n"
                  "TraceState: forged=1\r\nb3: 1\r\n\r\n");
  RequestHeadInput in;
  in.head = &r.head();
  in.path = "/";
  in.host = "a";
  in.clientIp = "192.0.2.7";
  in.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  in.tracestate = "vendor=1";
  std::string out;
  serializeRequest(in, out);
  Out o = split(out);
  CHECK(o.one("traceparent") == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  CHECK(o.one("tracestate") == "vendor=1");
  CHECK(o.one("b3") == "1");  // B3 passes through

  // Tracing off: the fields pass through as they came.
  in.traceparent = {};
  in.tracestate = {};
  serializeRequest(in, out);
  o = split(out);
  CHECK(o.one("traceparent") == "00-aaaa-bbbb-01");
  CHECK(o.one("tracestate") == "forged=1");
}

TEST_CASE("formatRequestId: the UUID serializeRequest generates", "[http]") {
  char id[36];
  formatRequestId(0x0123456789abcdefull, 0xfedcba9876543210ull, id);
  checkV4Uuid(std::string(id, sizeof id));
  // The bits, version 4 and variant 10 set, in the usual 8-4-4-4-12 groups.
  CHECK(std::string(id, sizeof id) == "01234567-89ab-4def-bedc-ba9876543210");
  ParsedRequest r("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  Out o = split(serializeReq(r.head()));
  CHECK(o.one("x-request-id") == std::string(id, sizeof id));
}
