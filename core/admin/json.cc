#include "core/admin/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace gh::admin::json {

const Value* Value::find(std::string_view name) const {
  if (type_ != Type::kObject) return nullptr;
  for (const Member& m : members_)
    if (m.first == name) return &m.second;
  return nullptr;
}

std::string Value::getString(std::string_view name, std::string def) const {
  const Value* v = find(name);
  return v && v->isString() ? v->asString() : def;
}

int64_t Value::getInt(std::string_view name, int64_t def) const {
  const Value* v = find(name);
  if (!v || !v->isNumber() || !std::isfinite(v->number_)) return def;
  if (v->number_ < -9.0e15 || v->number_ > 9.0e15) return def;
  return static_cast<int64_t>(v->number_);
}

bool Value::getBool(std::string_view name, bool def) const {
  const Value* v = find(name);
  return v && v->isBool() ? v->asBool() : def;
}

Value& Value::set(std::string name, Value v) {
  if (type_ != Type::kObject) *this = object();
  for (Member& m : members_) {
    if (m.first == name) {
      m.second = std::move(v);
      return *this;
    }
  }
  members_.emplace_back(std::move(name), std::move(v));
  return *this;
}

Value& Value::push(Value v) {
  if (type_ != Type::kArray) *this = array();
  items_.push_back(std::move(v));
  return *this;
}

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t utf8Length(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Parser {
 public:
  explicit Parser(std::string_view t) : t_(t) {}

  bool run(Value* out, std::string* error) {
    skip();
    if (!value(out, 0)) {
      *error = "offset " + std::to_string(pos_) + ": " + error_;
      return false;
    }
    skip();
    if (pos_ != t_.size()) {
      *error = "offset " + std::to_string(pos_) + ": unexpected text after the value";
      return false;
    }
    return true;
  }

 private:
  bool fail(const char* why) {
    error_ = why;
    return false;
  }
  void skip() {
    while (pos_ < t_.size() &&
           (t_[pos_] == ' ' || t_[pos_] == '\t' || t_[pos_] == '\n' || t_[pos_] == '\r'))
      ++pos_;
  }
  bool literal(std::string_view word) {
    if (t_.substr(pos_, word.size()) != word) return fail("invalid literal");
    pos_ += word.size();
    return true;
  }

  bool value(Value* out, int depth) {
    if (depth > kMaxDepth) return fail("nested too deeply");
    if (pos_ >= t_.size()) return fail("unexpected end of input");
    char c = t_[pos_];
    if (c == '{') return object(out, depth);
    if (c == '[') return array(out, depth);
    if (c == '"') {
      std::string s;
      if (!string(&s)) return false;
      *out = Value(std::move(s));
      return true;
    }
    if (c == 't') {
      *out = Value(true);
      return literal("true");
    }
    if (c == 'f') {
      *out = Value(false);
      return literal("false");
    }
    if (c == 'n') {
      *out = Value();
      return literal("null");
    }
    return number(out);
  }

  bool number(Value* out) {
    size_t start = pos_;
    if (pos_ < t_.size() && t_[pos_] == '-') ++pos_;
    if (pos_ >= t_.size() || !isdigit(static_cast<unsigned char>(t_[pos_])))
      return fail("expected a value");
    if (t_[pos_] == '0') {
      ++pos_;
    } else {
      while (pos_ < t_.size() && isdigit(static_cast<unsigned char>(t_[pos_]))) ++pos_;
    }
    if (pos_ < t_.size() && t_[pos_] == '.') {
      ++pos_;
      if (pos_ >= t_.size() || !isdigit(static_cast<unsigned char>(t_[pos_])))
        return fail("expected a digit");
      while (pos_ < t_.size() && isdigit(static_cast<unsigned char>(t_[pos_]))) ++pos_;
    }
    if (pos_ < t_.size() && (t_[pos_] == 'e' || t_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < t_.size() && (t_[pos_] == '+' || t_[pos_] == '-')) ++pos_;
      if (pos_ >= t_.size() || !isdigit(static_cast<unsigned char>(t_[pos_])))
        return fail("expected a digit");
      while (pos_ < t_.size() && isdigit(static_cast<unsigned char>(t_[pos_]))) ++pos_;
    }
    std::string text(t_.substr(start, pos_ - start));
    *out = Value(strtod(text.c_str(), nullptr));
    return true;
  }

  bool hex4(uint32_t* cp) {
    if (pos_ + 4 > t_.size()) return fail("short \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = t_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else return fail("bad \\u escape");
    }
    *cp = v;
    return true;
  }

  bool string(std::string* out) {
    ++pos_;  // "
    while (true) {
      if (pos_ >= t_.size()) return fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(t_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return fail("control character in string");
      if (c == '\\') {
        ++pos_;
        if (pos_ >= t_.size()) return fail("unterminated string");
        char e = t_[pos_++];
        switch (e) {
          case '"': *out += '"'; break;
          case '\\': *out += '\\'; break;
          case '/': *out += '/'; break;
          case 'b': *out += '\b'; break;
          case 'f': *out += '\f'; break;
          case 'n': *out += '\n'; break;
          case 'r': *out += '\r'; break;
          case 't': *out += '\t'; break;
          case 'u': {
            uint32_t cp;
            if (!hex4(&cp)) return false;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              uint32_t lo;
              if (t_.substr(pos_, 2) != "\\u") return fail("lone surrogate");
              pos_ += 2;
              if (!hex4(&lo)) return false;
              if (lo < 0xDC00 || lo > 0xDFFF) return fail("lone surrogate");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
              return fail("lone surrogate");
            }
            appendUtf8(*out, cp);
            break;
          }
          default: return fail("bad escape");
        }
        continue;
      }
      size_t n = utf8Length(t_, pos_);
      if (n == 0) return fail("invalid UTF-8");
      out->append(t_.substr(pos_, n));
      pos_ += n;
    }
  }

  bool array(Value* out, int depth) {
    ++pos_;
    *out = Value::array();
    skip();
    if (pos_ < t_.size() && t_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      Value v;
      skip();
      if (!value(&v, depth + 1)) return false;
      out->push(std::move(v));
      skip();
      if (pos_ >= t_.size()) return fail("unterminated array");
      if (t_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (t_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  bool object(Value* out, int depth) {
    ++pos_;
    *out = Value::object();
    skip();
    if (pos_ < t_.size() && t_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      skip();
      if (pos_ >= t_.size() || t_[pos_] != '"') return fail("expected a member name");
      std::string name;
      if (!string(&name)) return false;
      skip();
      if (pos_ >= t_.size() || t_[pos_] != ':') return fail("expected ':'");
      ++pos_;
      skip();
      Value v;
      if (!value(&v, depth + 1)) return false;
      out->set(std::move(name), std::move(v));
      skip();
      if (pos_ >= t_.size()) return fail("unterminated object");
      if (t_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (t_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  std::string_view t_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

bool parse(std::string_view text, Value* out, std::string* error) {
  return Parser(text).run(out, error);
}

void appendQuoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      ++i;
    } else if (c == '<' || c == '>' || c == '&') {
      // Never a markup character in JSON text, even if something renders it as HTML.
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      ++i;
    } else {
      size_t n = utf8Length(s, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
    }
  }
  out += '"';
}

void Value::dumpTo(std::string& out) const {
  switch (type_) {
    case Type::kNull: out += "null"; break;
    case Type::kBool: out += bool_ ? "true" : "false"; break;
    case Type::kNumber: {
      if (!std::isfinite(number_)) {
        out += "null";
      } else if (number_ == std::floor(number_) && std::fabs(number_) < 9.0e15) {
        out += std::to_string(static_cast<int64_t>(number_));
      } else {
        char buf[32];
        snprintf(buf, sizeof buf, "%.17g", number_);
        out += buf;
      }
      break;
    }
    case Type::kString: appendQuoted(out, string_); break;
    case Type::kArray: {
      out += '[';
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i) out += ',';
        items_[i].dumpTo(out);
      }
      out += ']';
      break;
    }
    case Type::kObject: {
      out += '{';
      for (size_t i = 0; i < members_.size(); ++i) {
        if (i) out += ',';
        appendQuoted(out, members_[i].first);
        out += ':';
        members_[i].second.dumpTo(out);
      }
      out += '}';
      break;
    }
  }
}

std::string Value::dump() const {
  std::string out;
  dumpTo(out);
  return out;
}

}  // namespace gh::admin::json
