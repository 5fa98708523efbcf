// JSON and YAML writers for YamlNode trees. See yaml_write.h for the guarantees.

#include "core/config/yaml_write.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace gh::config {

namespace {

using ScalarType = YamlNode::ScalarType;

constexpr char32_t kReplacement = 0xFFFD;

// Decodes one UTF-8 sequence at s[*i], advancing *i. Invalid input yields U+FFFD and
// advances by one byte.
char32_t nextCodePoint(std::string_view s, size_t* i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b = byte(*i);
  if (b < 0x80) {
    ++*i;
    return b;
  }
  int len = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
  if (len == 0 || *i + len > s.size()) {
    ++*i;
    return kReplacement;
  }
  char32_t cp = b & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    unsigned char c = byte(*i + k);
    if ((c & 0xC0) != 0x80) {
      ++*i;
      return kReplacement;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++*i;
    return kReplacement;
  }
  *i += len;
  return cp;
}

// Code points a YAML reader refuses raw or reads as a line break, beyond ASCII controls.
bool yamlUnsafe(char32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF ||
         cp == 0xFFFE || cp == 0xFFFF;
}

void appendHex(std::string& out, const char* prefix, char32_t cp, int digits) {
  char buf[16];
  snprintf(buf, sizeof buf, "%s%0*X", prefix, digits, static_cast<unsigned>(cp));
  out += buf;
}

void appendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    // Printable ASCII other than '"' and '\\' is the common case: copy it in one go.
    size_t run = i;
    while (run < s.size() && s[run] >= 0x20 && s[run] < 0x7F && s[run] != '"' && s[run] != '\\')
      ++run;
    out.append(s.substr(i, run - i));
    i = run;
    if (i == s.size()) break;
    size_t start = i;
    char32_t cp = nextCodePoint(s, &i);
    switch (cp) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      default:
        break;
    }
    if (cp < 0x20 || cp == 0x7F || yamlUnsafe(cp) || cp == kReplacement) {
      appendHex(out, "\\u", cp, 4);
    } else {
      out.append(s.substr(start, i - start));
    }
  }
  out.push_back('"');
}

void appendYamlQuoted(std::string& out, std::string_view s) {
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    size_t start = i;
    char32_t cp = nextCodePoint(s, &i);
    switch (cp) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\0':
        out += "\\0";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case 0x85:
        out += "\\N";
        continue;
      case 0x2028:
        out += "\\L";
        continue;
      case 0x2029:
        out += "\\P";
        continue;
      default:
        break;
    }
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
      appendHex(out, "\\x", cp, 2);
    } else if (yamlUnsafe(cp) || cp == kReplacement) {
      appendHex(out, "\\u", cp, 4);
    } else {
      out.append(s.substr(start, i - start));
    }
  }
  out.push_back('"');
}

// True for strings a YAML 1.1 reader would take for a number: sexagesimal (1:30), digits with
// underscores (1_000), binary (0b1). Conservative: anything numeric-looking with one dot at
// most; dotted quads and versions like 1.2.3 are left plain.
bool looksNumericToYaml11(std::string_view s) {
  char c0 = s[0];
  bool numericStart =
      (c0 >= '0' && c0 <= '9') || ((c0 == '+' || c0 == '-' || c0 == '.') && s.size() > 1);
  if (!numericStart) return false;
  int dots = 0;
  for (char c : s) {
    if (c == '.') ++dots;
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
              c == '_' || c == ':' || c == '.' || c == '+' || c == '-' || c == 'x' || c == 'X' ||
              c == 'o' || c == 'O';
    if (!ok) return false;
  }
  return dots <= 1;
}

bool isYaml11Word(std::string_view s) {
  static constexpr std::string_view kWords[] = {"y",  "Y",   "yes", "Yes", "YES", "n",
                                                "N",  "no",  "No",  "NO",  "on",  "On",
                                                "ON", "off", "Off", "OFF"};
  for (std::string_view w : kWords)
    if (s == w) return true;
  return false;
}

// Whether a string can be written plain (unquoted) and still read back as that string.
bool plainSafe(std::string_view s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ' || s.back() == ':') return false;
  if (std::string_view("-?:,[]{}#&*!|>'\"%@`").find(s.front()) != std::string_view::npos)
    return false;
  if (s.substr(0, 3) == "...") return false;
  for (char c : s)
    if (c < 0x20 || c > 0x7E) return false;  // non-ASCII is quoted: safe with any reader
  if (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos)
    return false;
  return resolvePlainScalar(s) == ScalarType::kString && !isYaml11Word(s) &&
         !looksNumericToYaml11(s);
}

// The text of a typed scalar, identical in JSON and YAML; empty for strings.
std::string typedScalar(const YamlNode& n) {
  switch (n.scalarType()) {
    case ScalarType::kNull:
      return "null";
    case ScalarType::kBool: {
      bool b = false;
      n.toBool(&b);
      return b ? "true" : "false";
    }
    case ScalarType::kInt: {
      int64_t v = 0;
      if (n.toInt(&v)) return std::to_string(v);
      return {};  // too large for 64 bits: written as a string
    }
    case ScalarType::kFloat: {
      double d = std::strtod(n.value.c_str(), nullptr);
      if (!std::isfinite(d)) return {};  // .inf / .nan: JSON has no spelling for them
      char buf[64];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
      std::string text(buf, end);
      // Keep it a float: "1" would read back as an integer.
      if (text.find_first_of(".eE") == std::string::npos) text += ".0";
      return text;
    }
    case ScalarType::kString:
      return {};
  }
  return {};
}

void json(const YamlNode& n, std::string& out) {
  switch (n.type) {
    case YamlNode::Type::kMapping: {
      out.push_back('{');
      bool first = true;
      for (const YamlNode::Entry& e : n.entries) {
        if (!first) out.push_back(',');
        first = false;
        appendJsonString(out, e.key.value);
        out.push_back(':');
        json(e.value, out);
      }
      out.push_back('}');
      return;
    }
    case YamlNode::Type::kSequence: {
      out.push_back('[');
      for (size_t i = 0; i < n.items.size(); ++i) {
        if (i > 0) out.push_back(',');
        json(n.items[i], out);
      }
      out.push_back(']');
      return;
    }
    case YamlNode::Type::kScalar: {
      std::string typed = typedScalar(n);
      if (!typed.empty()) {
        out += typed;
      } else {
        appendJsonString(out, n.value);
      }
      return;
    }
  }
}

void yamlString(std::string& out, std::string_view s) {
  if (plainSafe(s)) {
    out.append(s);
  } else {
    appendYamlQuoted(out, s);
  }
}

// A node that fits after "key: " or "- " on the same line.
bool isInline(const YamlNode& n) {
  return n.isScalar() || (n.isMapping() && n.entries.empty()) ||
         (n.isSequence() && n.items.empty());
}

void yamlInline(const YamlNode& n, std::string& out) {
  if (n.isMapping()) {
    out += "{}";
  } else if (n.isSequence()) {
    out += "[]";
  } else {
    std::string typed = typedScalar(n);
    if (!typed.empty()) {
      out += typed;
    } else {
      yamlString(out, n.value);
    }
  }
}

void yamlBlock(const YamlNode& n, int indent, bool continuingLine, std::string& out);

void yamlMapping(const YamlNode& n, int indent, bool continuingLine, std::string& out) {
  for (size_t i = 0; i < n.entries.size(); ++i) {
    const YamlNode::Entry& e = n.entries[i];
    if (i > 0 || !continuingLine) out.append(indent, ' ');
    yamlString(out, e.key.value);
    out.push_back(':');
    if (isInline(e.value)) {
      out.push_back(' ');
      yamlInline(e.value, out);
      out.push_back('\n');
    } else {
      out.push_back('\n');
      yamlBlock(e.value, indent + 2, false, out);
    }
  }
}

void yamlSequence(const YamlNode& n, int indent, std::string& out) {
  for (const YamlNode& item : n.items) {
    out.append(indent, ' ');
    if (isInline(item)) {
      out += "- ";
      yamlInline(item, out);
      out.push_back('\n');
    } else if (item.isMapping()) {
      out += "- ";
      yamlMapping(item, indent + 2, true, out);
    } else {
      out += "-\n";
      yamlBlock(item, indent + 2, false, out);
    }
  }
}

void yamlBlock(const YamlNode& n, int indent, bool continuingLine, std::string& out) {
  if (n.isMapping()) {
    yamlMapping(n, indent, continuingLine, out);
  } else {
    yamlSequence(n, indent, out);
  }
}

}  // namespace

std::string writeJson(const YamlNode& node) {
  std::string out;
  json(node, out);
  return out;
}

std::string writeYaml(const YamlNode& node) {
  std::string out;
  if (isInline(node)) {
    yamlInline(node, out);
    out.push_back('\n');
  } else {
    yamlBlock(node, 0, false, out);
  }
  return out;
}

}  // namespace gh::config
