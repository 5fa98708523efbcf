#include "core/http/serialize.h"

#include <cassert>
#include <cstring>

#include "core/base/strings.h"

namespace gh::http {
namespace {

using str::iequals;

// Writes a head into a string sized once for the whole message: the caller computes an upper
// bound, the writer copies without capacity checks, and finish() trims to what was written.
// Four checked appends per field were the largest cost of serialization.
class Writer {
 public:
  Writer(std::string& out, size_t bound) : out_(out) {
    out.resize(bound);
    begin_ = p_ = out.data();
    end_ = begin_ + bound;
  }
  void put(std::string_view s) {
    assert(p_ + s.size() <= end_);
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void put(char c) {
    assert(p_ < end_);
    *p_++ = c;
  }
  void header(std::string_view name, std::string_view value) {
    put(name);
    put(": ");
    put(value);
    put("\r\n");
  }
  void number(uint64_t v) {
    assert(p_ + 20 <= end_);
    p_ += str::formatU64(v, p_);
  }
  void hex(uint64_t v, int digits) {
    static const char kHex[] = "0123456789abcdef";
    assert(p_ + digits <= end_);
    for (int i = digits - 1; i >= 0; --i) *p_++ = kHex[(v >> (i * 4)) & 0xf];
  }
  void finish() { out_.resize(static_cast<size_t>(p_ - begin_)); }

 private:
  std::string& out_;
  char* begin_;
  char* p_;
  char* end_;
};

// The field names listed in Connection fields (RFC 9110 7.6.1: those fields are hop-by-hop
// too), collected once per message without allocating. More than kMax names is not a real
// message; the overflow is treated as naming every field: we may forward less, never more.
struct ConnectionNames {
  static constexpr int kMax = 16;
  std::string_view names[kMax];
  int count = 0;
  bool overflow = false;

  explicit ConnectionNames(const std::vector<Header>& headers) {
    for (const Header& h : headers) {
      if (!iequals(h.name, "connection")) continue;
      std::string_view v = h.value;
      while (!v.empty()) {
        size_t comma = v.find(',');
        std::string_view tok = str::trimOws(v.substr(0, comma));
        v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
        if (tok.empty() || iequals(tok, "close") || iequals(tok, "keep-alive")) continue;
        if (count == kMax) {
          overflow = true;
          continue;
        }
        names[count++] = tok;
      }
    }
  }
  bool contains(std::string_view name) const {
    if (overflow) return true;
    for (int i = 0; i < count; ++i)
      if (iequals(names[i], name)) return true;
    return false;
  }
};

// The header-modifier filters of a rule that apply in this direction.
struct Modifiers {
  const std::vector<config::RouteFilter>* filters;
  config::FilterType type;
  bool skipHost = false;  // a mirror copy: its Host is forced, the modifiers' does not go

  bool overrides(std::string_view name) const {
    if (!filters) return false;
    for (const config::RouteFilter& f : *filters) {
      if (f.type != type) continue;
      for (const auto& s : f.headerModifier.set)
        if (iequals(s.name, name)) return true;
      for (const auto& r : f.headerModifier.remove)
        if (iequals(r, name)) return true;
    }
    return false;
  }
  void append(Writer& w) const {
    if (!filters) return;
    for (const config::RouteFilter& f : *filters) {
      if (f.type != type) continue;
      // Configuration refuses framing and hop-by-hop names here; skipping them again keeps
      // a second framing field out of the head whatever produced the filter.
      for (const auto& s : f.headerModifier.set)
        if (!isFraming(s.name) && !(skipHost && iequals(s.name, "host")))
          w.header(s.name, s.value);
      for (const auto& a : f.headerModifier.add)
        if (!isFraming(a.name) && !(skipHost && iequals(a.name, "host")))
          w.header(a.name, a.value);
    }
  }
  static bool isFraming(std::string_view n) {
    return isHopByHop(n) || iequals(n, "content-length");
  }
  size_t bytes() const {  // upper bound of what append() writes
    size_t n = 0;
    if (!filters) return n;
    for (const config::RouteFilter& f : *filters) {
      if (f.type != type) continue;
      for (const auto& s : f.headerModifier.set) n += s.name.size() + s.value.size() + 4;
      for (const auto& a : f.headerModifier.add) n += a.name.size() + a.value.size() + 4;
    }
    return n;
  }
};


}  // namespace

bool isHopByHop(std::string_view n) {
  switch (n.size()) {
    case 2:
      return iequals(n, "te");
    case 7:
      return iequals(n, "trailer") || iequals(n, "upgrade");
    case 10:
      return iequals(n, "connection") || iequals(n, "keep-alive");
    case 17:
      return iequals(n, "transfer-encoding");
    default:
      return n.size() > 6 && iequals(n.substr(0, 6), "proxy-");
  }
}

namespace {

// What a request field means to the proxy, decided once per field by its length first (most
// fields match no candidate length and cost one switch).
enum class RequestField { kForward, kDrop, kForwardedFor, kForwardedProto, kForwardedHost,
                          kRequestId, kTrace };

RequestField classifyRequestField(std::string_view n) {
  switch (n.size()) {
    case 4:
      if (iequals(n, "host")) return RequestField::kDrop;  // written from the parsed value
      break;
    case 6:
      if (iequals(n, "expect")) return RequestField::kDrop;  // 100-continue is ours
      break;
    case 10:
      if (iequals(n, "tracestate")) return RequestField::kTrace;
      break;
    case 11:
      if (iequals(n, "traceparent")) return RequestField::kTrace;
      break;
    case 12:
      if (iequals(n, "x-request-id")) return RequestField::kRequestId;
      break;
    case 14:
      if (iequals(n, "content-length")) return RequestField::kDrop;  // framing is ours
      break;
    case 15:
      if (iequals(n, "x-forwarded-for")) return RequestField::kForwardedFor;
      break;
    case 16:
      if (iequals(n, "x-forwarded-host")) return RequestField::kForwardedHost;
      break;
    case 17:
      if (iequals(n, "x-forwarded-proto")) return RequestField::kForwardedProto;
      break;
    case 23:
      if (iequals(n, "x-forwarded-client-cert")) return RequestField::kDrop;  // ours only
      break;
  }
  return isHopByHop(n) ? RequestField::kDrop : RequestField::kForward;
}

bool replacedByExtra(std::span<const std::pair<std::string, std::string>> extra,
                     std::string_view name) {
  for (const auto& e : extra)
    if (iequals(e.first, name)) return true;
  return false;
}

}  // namespace

// Two hex digits per byte value: the request id is formatted for every request (for the
// upstream and again for the access log), a byte at a time.
struct HexPairs {
  char pair[256][2];
  constexpr HexPairs() : pair() {
    const char* digits = "0123456789abcdef";
    for (int i = 0; i < 256; ++i) {
      pair[i][0] = digits[i >> 4];
      pair[i][1] = digits[i & 15];
    }
  }
};
constexpr HexPairs kHexPairs;

void formatRequestId(uint64_t a, uint64_t b, char out[36]) {
  a = (a & ~0xf000ull) | 0x4000ull;                 // version 4
  b = (b & ~(0xcull << 60)) | (0x8ull << 60);       // variant 10
  char* p = out;
  auto hex = [&](uint64_t v, int digits) {  // `digits` is even
    for (int i = digits / 2 - 1; i >= 0; --i) {
      memcpy(p, kHexPairs.pair[(v >> (8 * i)) & 0xff], 2);
      p += 2;
    }
  };
  hex(a >> 32, 8);
  *p++ = '-';
  hex((a >> 16) & 0xffff, 4);
  *p++ = '-';
  hex(a & 0xffff, 4);
  *p++ = '-';
  hex(b >> 48, 4);
  *p++ = '-';
  hex(b & 0xffffffffffffull, 12);
}

std::string_view requestHostAfterModifiers(const std::vector<config::RouteFilter>* filters,
                                           std::string_view host) {
  if (!filters) return host;
  for (const config::RouteFilter& f : *filters) {
    if (f.type != config::FilterType::kRequestHeaderModifier) continue;
    for (const auto& s : f.headerModifier.set)
      if (iequals(s.name, "host")) host = s.value;
  }
  return host;
}

void serializeRequest(const RequestHeadInput& in, std::string& out) {
  const RequestHead& h = *in.head;
  Modifiers mods{in.filters, config::FilterType::kRequestHeaderModifier, in.forceHost};
  // Nothing below writes more than the received head (fields are only dropped), the new
  // request line and Host, the modifiers, and the fixed fields we add.
  size_t extraBytes = 0;
  for (const auto& [name, value] : in.extraHeaders) extraBytes += name.size() + value.size() + 4;
  Writer w(out, h.headLength + in.path.size() + in.query.size() + 2 * in.host.size() +
                    in.clientIp.size() + mods.bytes() + in.peerIdentity.size() +
                    in.peerHash.size() + in.localIdentity.size() + extraBytes +
                    in.traceparent.size() + in.tracestate.size() + 256);
  w.put(h.method);
  w.put(' ');
  w.put(in.path);
  if (!in.query.empty()) {
    w.put('?');
    w.put(in.query);
  }
  w.put(" HTTP/1.1\r\n");
  if (in.forceHost || !mods.overrides("host")) w.header("Host", in.host);

  bool trusted = in.xffTrustedHops > 0;
  ConnectionNames named(h.headers);
  bool checkNamed = named.count || named.overflow;
  std::string_view requestId, xff, xfp, xfh;
  for (const Header& f : h.headers) {
    switch (classifyRequestField(f.name)) {
      case RequestField::kDrop:
        continue;
      case RequestField::kForwardedFor:
        if (trusted) xff = f.value;  // the last one wins; several are unusual
        continue;
      case RequestField::kForwardedProto:
        if (trusted) xfp = f.value;
        continue;
      case RequestField::kForwardedHost:
        if (trusted) xfh = f.value;
        continue;
      case RequestField::kRequestId:
        if (requestId.empty()) requestId = f.value;
        continue;
      case RequestField::kTrace:
        if (!in.traceparent.empty()) continue;  // replaced by this hop's below
        break;
      case RequestField::kForward:
        break;
    }
    if (checkNamed && named.contains(f.name)) continue;
    if (mods.overrides(f.name)) continue;
    if (!in.extraHeaders.empty() && replacedByExtra(in.extraHeaders, f.name)) continue;
    w.header(f.name, f.value);
  }
  for (const auto& [name, value] : in.extraHeaders)
    if (!(in.forceHost && iequals(name, "host"))) w.header(name, value);
  if (!in.traceparent.empty()) {
    w.header("traceparent", in.traceparent);
    if (!in.tracestate.empty()) w.header("tracestate", in.tracestate);
  }
  mods.append(w);

  // The fields we write ourselves give way to a RequestHeaderModifier that sets or removes them.
  if (!mods.overrides("x-forwarded-for")) {
    w.put("X-Forwarded-For: ");
    if (!xff.empty()) {
      w.put(xff);
      w.put(", ");
    }
    w.put(in.clientIp);
    w.put("\r\n");
  }
  if (!mods.overrides("x-forwarded-proto"))
    w.header("X-Forwarded-Proto", !xfp.empty() ? xfp
                                  : in.secure  ? std::string_view("https")
                                               : std::string_view("http"));
  if (!mods.overrides("x-forwarded-host"))
    w.header("X-Forwarded-Host", xfh.empty() ? h.host : xfh);
  if (!in.peerIdentity.empty() && !mods.overrides("x-forwarded-client-cert")) {
    w.put("x-forwarded-client-cert: By=");
    w.put(in.localIdentity);
    w.put(";Hash=");
    w.put(in.peerHash);
    w.put(";URI=");
    w.put(in.peerIdentity);
    w.put("\r\n");
  }
  if (mods.overrides("x-request-id")) {
    // set or removed by the route
  } else if (!requestId.empty()) {
    w.header("x-request-id", requestId);
  } else {
    char id[36];
    formatRequestId(in.random[0], in.random[1], id);
    w.put("x-request-id: ");
    w.put(std::string_view(id, sizeof id));
    w.put("\r\n");
  }
  if (h.body == BodyKind::kContentLength) {
    w.put("Content-Length: ");
    w.number(h.contentLength);
    w.put("\r\n");
  } else if (h.body == BodyKind::kChunked) {
    w.put("Transfer-Encoding: chunked\r\n");
  }
  if (h.upgradeWebsocket) w.put("Connection: Upgrade\r\nUpgrade: websocket\r\n");
  w.put("\r\n");
  w.finish();
}

ResponseFraming serializeResponse(const ResponseHeadInput& in, bool keepAlive, std::string& out) {
  const ResponseHead& h = *in.head;
  ResponseFraming fr;
  // Whether the upstream keeps its connection is its own business (it decides pooling); the
  // client connection only ends when the body framing we send requires it.
  fr.keepAlive = keepAlive;
  bool tunnel = h.status == 101;
  bool http10 = in.clientVersionMinor == 0;
  if (h.body == BodyKind::kChunked || h.body == BodyKind::kUntilClose) {
    if (http10) {
      fr.keepAlive = false;  // an HTTP/1.0 client learns the end of the body by the close
    } else {
      fr.chunked = true;
      // An until-close body re-chunked keeps the client connection reusable; only the
      // upstream connection ends.
      if (h.body == BodyKind::kUntilClose) fr.keepAlive = keepAlive;
    }
  }
  if (h.body == BodyKind::kUntilClose && !fr.chunked) fr.keepAlive = false;

  Modifiers mods{in.filters, config::FilterType::kResponseHeaderModifier};
  std::string_view reason = h.reason.empty() ? std::string_view(statusText(h.status)) : h.reason;
  Writer w(out, h.headLength + reason.size() + mods.bytes() + 128);
  w.put("HTTP/1.1 ");
  w.number(static_cast<uint64_t>(h.status));
  w.put(' ');
  w.put(reason);
  w.put("\r\n");
  ConnectionNames named(h.headers);
  bool checkNamed = named.count || named.overflow;
  bool passLength = h.body == BodyKind::kNone;  // HEAD and 304 keep the upstream's length
  for (const Header& f : h.headers) {
    std::string_view n = f.name;
    if (isHopByHop(n)) continue;
    if (!passLength && n.size() == 14 && iequals(n, "content-length")) continue;
    if (checkNamed && named.contains(n)) continue;
    if (mods.overrides(n)) continue;
    w.header(f.name, f.value);
  }
  mods.append(w);
  if (h.body == BodyKind::kContentLength) {
    w.put("Content-Length: ");
    w.number(h.contentLength);
    w.put("\r\n");
  } else if (fr.chunked) {
    w.put("Transfer-Encoding: chunked\r\n");
  }
  if (tunnel) {
    w.put("Connection: Upgrade\r\nUpgrade: websocket\r\n");
  } else if (!fr.keepAlive) {
    w.put("Connection: close\r\n");
  } else if (http10) {
    w.put("Connection: keep-alive\r\n");
  }
  w.put("\r\n");
  w.finish();
  return fr;
}

void serializeLocalReply(int status, const char* reason, std::string_view body,
                         std::string_view contentType, std::string_view location, bool keepAlive,
                         bool headRequest, int clientVersionMinor, std::string& out,
                         std::string_view retryAfter) {
  std::string_view why = reason ? std::string_view(reason) : std::string_view();
  Writer w(out, 192 + contentType.size() + why.size() + location.size() + retryAfter.size() +
                    body.size());
  w.put("HTTP/1.1 ");
  w.number(static_cast<uint64_t>(status));
  w.put(' ');
  w.put(statusText(status));
  w.put("\r\n");
  // 1xx, 204 and 304 have no body, and 1xx/204 must not carry Content-Length (RFC 9110 8.6);
  // for 304 we do not know the representation's length, so say nothing either.
  bool bodyless = status < 200 || status == 204 || status == 304;
  if (bodyless) body = {};
  if (!body.empty() && !contentType.empty()) w.header("content-type", contentType);
  if (!bodyless) {
    w.put("content-length: ");
    w.number(body.size());
    w.put("\r\n");
  }
  if (!why.empty()) w.header("x-gatehouse-reason", why);
  if (!location.empty()) w.header("location", location);
  if (!retryAfter.empty()) w.header("retry-after", retryAfter);
  if (!keepAlive) w.put("connection: close\r\n");
  else if (clientVersionMinor == 0) w.put("connection: keep-alive\r\n");
  w.put("\r\n");
  if (!headRequest) w.put(body);
  w.finish();
}

void rewritePath(const config::PathModifier& m, const config::PathMatch* matched,
                 std::string_view path, std::string* out) {
  if (m.type == config::PathModifierType::kReplaceFullPath || !matched) {
    out->assign(m.value);
    return;
  }
  // ReplacePrefixMatch: the matched prefix is replaced, segment-wise, trailing slashes
  // ignored on both sides: "/foo" -> "/bar" maps "/foo/x" to "/bar/x"; -> "/" maps it to "/x".
  std::string_view prefix = matched->value;
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  std::string_view rest = path.substr(std::min(prefix.size(), path.size()));
  std::string_view repl = m.value;
  while (!repl.empty() && repl.back() == '/') repl.remove_suffix(1);
  out->assign(repl);
  out->append(rest);
  if (out->empty()) out->assign("/");
}

void buildRedirectLocation(const config::RequestRedirect& r, const config::PathMatch* matched,
                           uint16_t listenerPort, std::string_view host, std::string_view path,
                           std::string_view query, std::string* out,
                           std::string_view requestScheme) {
  std::string scheme = r.scheme ? *r.scheme : std::string(requestScheme);
  uint16_t port;
  if (r.port)
    port = *r.port;
  else if (r.scheme)
    port = scheme == "https" ? 443 : 80;
  else
    port = listenerPort;
  out->assign(scheme);
  out->append("://");
  out->append(r.hostname ? std::string_view(*r.hostname) : host);
  bool wellKnown = (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
  if (!wellKnown) {
    out->push_back(':');
    str::appendU64(*out, port);
  }
  if (r.path) {
    std::string p;
    rewritePath(*r.path, matched, path, &p);
    out->append(p);
  } else {
    out->append(path);
  }
  if (!query.empty()) {
    out->push_back('?');
    out->append(query);
  }
}

const char* statusText(int s) {
  switch (s) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

}  // namespace gh::http
