#include "core/http/serialize.h"

#include "core/base/strings.h"

namespace gh::http {
namespace {

using str::iequals;

void appendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ", 2);
  out.append(value);
  out.append("\r\n", 2);
}

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
  void append(std::string& out) const {
    if (!filters) return;
    for (const config::RouteFilter& f : *filters) {
      if (f.type != type) continue;
      for (const auto& s : f.headerModifier.set) appendHeader(out, s.name, s.value);
      for (const auto& a : f.headerModifier.add) appendHeader(out, a.name, a.value);
    }
  }
};

void appendHex(std::string& out, uint64_t v, int digits) {
  static const char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out.push_back(kHex[(v >> (i * 4)) & 0xf]);
}

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

void serializeRequest(const RequestHeadInput& in, std::string& out) {
  const RequestHead& h = *in.head;
  out.clear();
  out.append(h.method);
  out.push_back(' ');
  out.append(in.path);
  if (!in.query.empty()) {
    out.push_back('?');
    out.append(in.query);
  }
  out.append(" HTTP/1.1\r\n", 11);
  Modifiers mods{in.filters, config::FilterType::kRequestHeaderModifier};
  if (!mods.overrides("host")) appendHeader(out, "Host", in.host);

  bool trusted = in.xffTrustedHops > 0;
  ConnectionNames named(h.headers);
  const Header* requestId = nullptr;
  std::string_view xff, xfp, xfh;
  for (const Header& f : h.headers) {
    std::string_view n = f.name;
    if (isHopByHop(n) || iequals(n, "host") || iequals(n, "content-length") || iequals(n, "expect"))
      continue;
    if (iequals(n, "x-forwarded-for")) {
      if (trusted) xff = f.value;  // the last one wins; several are unusual
      continue;
    }
    if (iequals(n, "x-forwarded-proto")) {
      if (trusted) xfp = f.value;
      continue;
    }
    if (iequals(n, "x-forwarded-host")) {
      if (trusted) xfh = f.value;
      continue;
    }
    if (iequals(n, "x-request-id")) {
      if (!requestId) requestId = &f;
      continue;
    }
    if ((named.count || named.overflow) && named.contains(n)) continue;
    if (mods.overrides(n)) continue;
    appendHeader(out, f.name, f.value);
  }
  mods.append(out);

  out.append("X-Forwarded-For: ");
  if (!xff.empty()) {
    out.append(xff);
    out.append(", ");
  }
  out.append(in.clientIp);
  out.append("\r\n");
  appendHeader(out, "X-Forwarded-Proto", xfp.empty() ? std::string_view("http") : xfp);
  appendHeader(out, "X-Forwarded-Host", xfh.empty() ? h.host : xfh);
  if (requestId && !requestId->value.empty()) {
    appendHeader(out, "x-request-id", requestId->value);
  } else {
    // A random (version 4) UUID.
    uint64_t a = in.random[0], b = in.random[1];
    a = (a & ~0xf000ull) | 0x4000ull;
    b = (b & ~(0xcull << 60)) | (0x8ull << 60);
    out.append("x-request-id: ");
    appendHex(out, a >> 32, 8);
    out.push_back('-');
    appendHex(out, (a >> 16) & 0xffff, 4);
    out.push_back('-');
    appendHex(out, a & 0xffff, 4);
    out.push_back('-');
    appendHex(out, b >> 48, 4);
    out.push_back('-');
    appendHex(out, b & 0xffffffffffffull, 12);
    out.append("\r\n");
  }
  if (h.body == BodyKind::kContentLength) {
    out.append("Content-Length: ");
    str::appendU64(out, h.contentLength);
    out.append("\r\n");
  } else if (h.body == BodyKind::kChunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  if (h.upgradeWebsocket) out.append("Connection: Upgrade\r\nUpgrade: websocket\r\n");
  out.append("\r\n");
}

ResponseFraming serializeResponse(const ResponseHeadInput& in, bool keepAlive, std::string& out) {
  const ResponseHead& h = *in.head;
  ResponseFraming fr;
  fr.keepAlive = keepAlive && h.keepAlive;
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

  out.clear();
  out.append("HTTP/1.1 ");
  str::appendU64(out, static_cast<uint64_t>(h.status));
  out.push_back(' ');
  out.append(h.reason.empty() ? std::string_view(statusText(h.status)) : h.reason);
  out.append("\r\n");
  Modifiers mods{in.filters, config::FilterType::kResponseHeaderModifier};
  ConnectionNames named(h.headers);
  bool passLength = h.body == BodyKind::kNone;  // HEAD and 304 keep the upstream's length
  for (const Header& f : h.headers) {
    std::string_view n = f.name;
    if (isHopByHop(n)) continue;
    if (iequals(n, "content-length") && !passLength) continue;
    if ((named.count || named.overflow) && named.contains(n)) continue;
    if (mods.overrides(n)) continue;
    appendHeader(out, f.name, f.value);
  }
  mods.append(out);
  if (h.body == BodyKind::kContentLength) {
    out.append("Content-Length: ");
    str::appendU64(out, h.contentLength);
    out.append("\r\n");
  } else if (fr.chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  if (tunnel) {
    out.append("Connection: Upgrade\r\nUpgrade: websocket\r\n");
  } else if (!fr.keepAlive) {
    out.append("Connection: close\r\n");
  } else if (http10) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  return fr;
}

void serializeLocalReply(int status, const char* reason, std::string_view body,
                         std::string_view contentType, std::string_view location, bool keepAlive,
                         bool headRequest, int clientVersionMinor, std::string& out) {
  out.clear();
  out.append("HTTP/1.1 ");
  str::appendU64(out, static_cast<uint64_t>(status));
  out.push_back(' ');
  out.append(statusText(status));
  out.append("\r\n");
  if (!body.empty() && !contentType.empty()) appendHeader(out, "content-type", contentType);
  out.append("content-length: ");
  str::appendU64(out, body.size());
  out.append("\r\n");
  if (reason && *reason) appendHeader(out, "x-gatehouse-reason", reason);
  if (!location.empty()) appendHeader(out, "location", location);
  if (!keepAlive)
    out.append("connection: close\r\n");
  else if (clientVersionMinor == 0)
    out.append("connection: keep-alive\r\n");
  out.append("\r\n");
  if (!headRequest) out.append(body);
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
                           std::string_view query, std::string* out) {
  std::string scheme = r.scheme ? *r.scheme : "http";
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
