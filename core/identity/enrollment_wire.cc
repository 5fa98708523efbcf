#include "core/identity/enrollment_wire.h"

#include "core/base/strings.h"

namespace gh::identity::wire {
namespace {

// --- JSON reader ------------------------------------------------------------------------------

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : s_(text) {}

  void skipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool atEnd() const { return pos_ >= s_.size(); }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool eat(char c) {
    skipSpace();
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  size_t pos() const { return pos_; }

  Status fail(const char* what) const {
    return Status::error(std::string("JSON: ") + what + " at byte " + std::to_string(pos_));
  }

  // At a '"': the decoded string.
  Status readString(std::string* out) {
    out->clear();
    if (peek() != '"') return fail("expected a string");
    ++pos_;
    while (true) {
      if (atEnd()) return fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(s_[pos_++]);
      if (c == '"') return okStatus();
      if (c < 0x20) return fail("control character in a string");
      if (c != '\\') {
        out->push_back(static_cast<char>(c));
        continue;
      }
      if (atEnd()) return fail("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!hex4(&cp)) return fail("bad \\u escape");
          if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (pos_ + 2 > s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u')
              return fail("lone high surrogate");
            pos_ += 2;
            if (!hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return fail("lone high surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          appendUtf8(cp, out);
          break;
        }
        default:
          return fail("unknown escape");
      }
    }
  }

  // Any value, discarded.
  Status skipValue(int depth) {
    if (depth > kMaxJsonDepth) return fail("nested too deeply");
    skipSpace();
    char c = peek();
    if (c == '"') {
      std::string ignored;
      return readString(&ignored);
    }
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++pos_;
      if (eat(close)) return okStatus();
      while (true) {
        skipSpace();
        if (close == '}') {
          std::string ignored;
          Status s = readString(&ignored);
          if (!s.ok()) return s;
          if (!eat(':')) return fail("expected ':'");
        }
        Status s = skipValue(depth + 1);
        if (!s.ok()) return s;
        if (eat(close)) return okStatus();
        if (!eat(',')) return fail("expected ',' or the end of a container");
      }
    }
    if (literal("true") || literal("false") || literal("null")) return okStatus();
    if (c == '-' || (c >= '0' && c <= '9')) return skipNumber();
    return fail("expected a value");
  }

 private:
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  static bool isDigit(char c) { return c >= '0' && c <= '9'; }
  // RFC 8259's number grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
  Status skipNumber() {
    if (peek() == '-') ++pos_;
    if (peek() == '0') {
      ++pos_;
    } else if (isDigit(peek())) {
      while (isDigit(peek())) ++pos_;
    } else {
      return fail("bad number");
    }
    if (peek() == '.') {
      ++pos_;
      if (!isDigit(peek())) return fail("bad number");
      while (isDigit(peek())) ++pos_;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!isDigit(peek())) return fail("bad number");
      while (isDigit(peek())) ++pos_;
    }
    return okStatus();
  }
  bool hex4(uint32_t* out) {
    if (pos_ + 4 > s_.size()) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_ + i];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return false;
    }
    pos_ += 4;
    *out = v;
    return true;
  }
  static void appendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// --- HTTP helpers -----------------------------------------------------------------------------

bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!isTokenChar(c)) return false;
  return true;
}

struct Fields {
  bool hasContentLength = false;
  uint64_t contentLength = 0;
};

// The field lines after the start line: "name: value\r\n"..., then "\r\n" (already checked by
// the caller to end `lines`).
Status parseFields(std::string_view lines, Fields* out) {
  size_t count = 0;
  while (!lines.empty()) {
    size_t eol = lines.find("\r\n");
    if (eol == std::string_view::npos) return Status::error("HTTP: a field line without CRLF");
    std::string_view line = lines.substr(0, eol);
    lines.remove_prefix(eol + 2);
    if (line.empty()) {
      if (!lines.empty()) return Status::error("HTTP: bytes after the end of the head");
      return okStatus();
    }
    if (++count > 64) return Status::error("HTTP: too many header fields");
    if (line.front() == ' ' || line.front() == '\t')
      return Status::error("HTTP: obsolete line folding");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Status::error("HTTP: a field line without ':'");
    std::string_view name = line.substr(0, colon);
    if (!isToken(name)) return Status::error("HTTP: a field name is not a token");
    std::string_view value = str::trimOws(line.substr(colon + 1));
    for (char c : value)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
        return Status::error("HTTP: a control character in a field value");
    if (str::iequals(name, "transfer-encoding"))
      return Status::error("HTTP: Transfer-Encoding is not accepted; send Content-Length");
    if (str::iequals(name, "content-length")) {
      uint64_t n = 0;
      if (!str::parseU64(value, &n)) return Status::error("HTTP: Content-Length is not a number");
      if (out->hasContentLength && out->contentLength != n)
        return Status::error("HTTP: Content-Length values disagree");
      out->hasContentLength = true;
      out->contentLength = n;
    }
  }
  return Status::error("HTTP: the head does not end with an empty line");
}

// Splits off the start line of a head that must end with "\r\n\r\n".
Status startLine(std::string_view head, std::string_view* line, std::string_view* rest) {
  if (head.size() > kMaxHeadBytes) return Status::error("HTTP: head too large");
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n")
    return Status::error("HTTP: incomplete head");
  size_t eol = head.find("\r\n");
  *line = head.substr(0, eol);
  *rest = head.substr(eol + 2);
  return okStatus();
}

}  // namespace

Result<JsonStrings> JsonStrings::parse(std::string_view text) {
  JsonReader r(text);
  JsonStrings out;
  std::vector<std::string> names;  // every member's, strings or not
  if (!r.eat('{')) return r.fail("expected an object");
  if (!r.eat('}')) {
    while (true) {
      r.skipSpace();
      std::string name;
      Status s = r.readString(&name);
      if (!s.ok()) return s;
      if (!r.eat(':')) return r.fail("expected ':'");
      r.skipSpace();
      for (const std::string& n : names)
        if (n == name) return r.fail("duplicate member");
      if (names.size() >= 256) return r.fail("too many members");
      names.push_back(name);
      if (r.peek() == '"') {
        std::string value;
        s = r.readString(&value);
        if (!s.ok()) return s;
        out.members_.emplace_back(std::move(name), std::move(value));
      } else {
        s = r.skipValue(1);
        if (!s.ok()) return s;
      }
      if (r.eat('}')) break;
      if (!r.eat(',')) return r.fail("expected ',' or '}'");
    }
  }
  r.skipSpace();
  if (!r.atEnd()) return r.fail("bytes after the object");
  return out;
}

const std::string* JsonStrings::get(std::string_view name) const {
  for (const auto& m : members_)
    if (m.first == name) return &m.second;
  return nullptr;
}

std::string jsonString(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  out.reserve(s.size() + 2);
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string jsonObject(const std::vector<std::pair<std::string_view, std::string_view>>& members) {
  std::string out = "{";
  for (size_t i = 0; i < members.size(); ++i) {
    if (i) out += ", ";
    out += jsonString(members[i].first) + ": " + jsonString(members[i].second);
  }
  out += "}";
  return out;
}

size_t headLength(std::string_view bytes) {
  size_t end = bytes.find("\r\n\r\n");
  return end == std::string_view::npos ? 0 : end + 4;
}

Result<RequestHead> parseRequestHead(std::string_view head) {
  std::string_view line, rest;
  Status s = startLine(head, &line, &rest);
  if (!s.ok()) return s;
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return Status::error("HTTP: expected METHOD TARGET VERSION");
  RequestHead out;
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!isToken(method)) return Status::error("HTTP: the method is not a token");
  if (target.empty() || target.front() != '/') return Status::error("HTTP: bad request target");
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return Status::error("HTTP: bad request target");
  if (version != "HTTP/1.1" && version != "HTTP/1.0")
    return Status::error("HTTP: unsupported version");
  Fields f;
  s = parseFields(rest, &f);
  if (!s.ok()) return s;
  out.method = std::string(method);
  out.target = std::string(target);
  out.hasContentLength = f.hasContentLength;
  out.contentLength = f.contentLength;
  return out;
}

Result<ResponseHead> parseResponseHead(std::string_view head) {
  std::string_view line, rest;
  Status s = startLine(head, &line, &rest);
  if (!s.ok()) return s;
  // "HTTP/1.1 200 OK" (the reason may be empty or hold spaces).
  if (line.size() < 12 || (line.substr(0, 9) != "HTTP/1.1 " && line.substr(0, 9) != "HTTP/1.0 ") ||
      (line.size() > 12 && line[12] != ' '))
    return Status::error("HTTP: not an HTTP/1.1 status line");
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return Status::error("HTTP: bad status code");
    status = status * 10 + (line[i] - '0');
  }
  if (status < 100) return Status::error("HTTP: bad status code");
  Fields f;
  s = parseFields(rest, &f);
  if (!s.ok()) return s;
  ResponseHead out;
  out.status = status;
  out.hasContentLength = f.hasContentLength;
  out.contentLength = f.contentLength;
  return out;
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

std::string formatResponse(int status, std::string_view jsonBody) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) + "\r\n";
  out += "content-type: application/json\r\ncontent-length: " + std::to_string(jsonBody.size()) +
         "\r\nconnection: close\r\n\r\n";
  out.append(jsonBody);
  return out;
}

std::string formatRequest(std::string_view target, std::string_view host, std::string_view body) {
  std::string out = "POST ";
  out.append(target);
  out += " HTTP/1.1\r\nhost: ";
  out.append(host);
  out += "\r\ncontent-type: application/json\r\ncontent-length: " + std::to_string(body.size()) +
         "\r\nconnection: close\r\n\r\n";
  out.append(body);
  return out;
}

Result<HostPort> parseHostPort(std::string_view text) {
  auto bad = [&](const char* why) {
    return Status::error("CA address " + std::string(text.substr(0, 300)) + ": " + why);
  };
  HostPort out;
  std::string_view portText;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return bad("expected [IPv6]:PORT");
    out.host = std::string(text.substr(1, close - 1));
    if (out.host.empty() || out.host.find_first_not_of("0123456789abcdefABCDEF:.") !=
                                std::string::npos)
      return bad("not an IPv6 address between [ ]");
    if (close + 1 >= text.size() || text[close + 1] != ':') return bad("expected [IPv6]:PORT");
    portText = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("expected HOST:PORT");
    out.host = std::string(text.substr(0, colon));
    portText = text.substr(colon + 1);
    if (out.host.empty()) return bad("no host");
    if (out.host.find(':') != std::string::npos) return bad("write an IPv6 address as [ADDR]:PORT");
    if (out.host.size() > 253) return bad("host name too long");
    for (char c : out.host)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '-' || c == '_'))
        return bad("not a host name or IP address");
  }
  uint64_t port = 0;
  if (!str::parseU64(portText, &port) || port == 0 || port > 65535)
    return bad("the port must be a number from 1 to 65535");
  out.port = static_cast<uint16_t>(port);
  return out;
}

}  // namespace gh::identity::wire
