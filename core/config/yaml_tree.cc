// YamlReader turns libyaml's event stream into YamlNode trees, one document at a time.
//
// The reader keeps a stack of open collections (Frame). Each event either opens a collection
// (pushed), closes one (popped), or is a leaf (scalar, alias) attached to the top frame. A
// mapping frame alternates between expecting a key and expecting that key's value; keys are
// checked for duplicates as they arrive. Pointers in the stack stay valid because only the
// top frame's node ever grows: an outer node is never appended to while a child is open.
//
// Everything that bounds memory (depth, node count) is checked before the node is built.

#include "core/config/yaml_tree.h"

#include <yaml.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <unordered_map>

namespace gh::config {

namespace {

using ScalarType = YamlNode::ScalarType;

constexpr std::string_view kTagPrefix = "tag:yaml.org,2002:";

bool isDigits(std::string_view s, bool (*accept)(char)) {
  if (s.empty()) return false;
  for (char c : s)
    if (!accept(c)) return false;
  return true;
}

bool isDec(char c) {
  return c >= '0' && c <= '9';
}
bool isOct(char c) {
  return c >= '0' && c <= '7';
}
bool isHex(char c) {
  return isDec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string_view dropSign(std::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  return s;
}

bool isCoreInt(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o') return isDigits(s.substr(2), isOct);
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x') return isDigits(s.substr(2), isHex);
  return isDigits(dropSign(s), isDec);
}

bool isCoreFloat(std::string_view s) {
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return true;
  s = dropSign(s);
  if (s == ".inf" || s == ".Inf" || s == ".INF") return true;
  // [0-9]+(\.[0-9]*)? | \.[0-9]+ , then an optional exponent.
  size_t i = 0;
  size_t intDigits = 0, fracDigits = 0;
  while (i < s.size() && isDec(s[i])) ++i, ++intDigits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && isDec(s[i])) ++i, ++fracDigits;
  }
  if (intDigits == 0 && fracDigits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!isDigits(s.substr(i), isDec)) return false;
    i = s.size();
  }
  return i == s.size();
}

// Accumulates digits of `base` into a magnitude no larger than `limit`.
bool parseMagnitude(std::string_view digits, int base, uint64_t limit, uint64_t* out) {
  uint64_t v = 0;
  for (char c : digits) {
    uint64_t d = isDec(c) ? c - '0' : (c | 0x20) - 'a' + 10;
    if (v > (limit - d) / base) return false;
    v = v * base + d;
  }
  *out = v;
  return true;
}

std::string tagForDisplay(std::string_view tag) {
  if (tag.substr(0, kTagPrefix.size()) == kTagPrefix)
    return "!!" + std::string(tag.substr(kTagPrefix.size()));
  return std::string(tag);
}

const char* str(const yaml_char_t* s) {
  return reinterpret_cast<const char*>(s);
}

}  // namespace

ScalarType resolvePlainScalar(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return ScalarType::kNull;
  if (s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE")
    return ScalarType::kBool;
  if (isCoreInt(s)) return ScalarType::kInt;
  if (isCoreFloat(s)) return ScalarType::kFloat;
  return ScalarType::kString;
}

void appendPathKey(std::string* path, std::string_view key) {
  bool plain = !key.empty();
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDec(c) || c == '_' || c == '-'))
      plain = false;
  if (plain) {
    if (!path->empty()) path->push_back('.');
    path->append(key);
    return;
  }
  path->append("[\"");
  for (char c : key) {
    if (c == '"' || c == '\\') path->push_back('\\');
    path->push_back(c);
  }
  path->append("\"]");
}

void appendPathIndex(std::string* path, size_t index) {
  path->push_back('[');
  path->append(std::to_string(index));
  path->push_back(']');
}

// --- YamlNode ---------------------------------------------------------------------------

ScalarType YamlNode::scalarType() const {
  if (type != Type::kScalar || quoted) return ScalarType::kString;
  return resolvePlainScalar(value);
}

bool YamlNode::toBool(bool* out) const {
  if (scalarType() != ScalarType::kBool) return false;
  *out = value[0] == 't' || value[0] == 'T';
  return true;
}

bool YamlNode::toInt(int64_t* out) const {
  if (scalarType() != ScalarType::kInt) return false;
  std::string_view s = value;
  uint64_t magnitude = 0;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
    if (!parseMagnitude(s.substr(2), s[1] == 'o' ? 8 : 16, INT64_MAX, &magnitude)) return false;
    *out = static_cast<int64_t>(magnitude);
    return true;
  }
  bool negative = s[0] == '-';
  uint64_t limit = negative ? uint64_t{INT64_MAX} + 1 : uint64_t{INT64_MAX};
  if (!parseMagnitude(dropSign(s), 10, limit, &magnitude)) return false;
  *out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  return true;
}

const YamlNode* YamlNode::find(std::string_view key) const {
  for (const Entry& e : entries)
    if (e.key.value == key) return &e.value;
  return nullptr;
}

YamlNode YamlNode::scalar(std::string value, bool quoted) {
  YamlNode n;
  n.value = std::move(value);
  n.quoted = quoted;
  return n;
}

YamlNode YamlNode::mapping() {
  YamlNode n;
  n.type = Type::kMapping;
  return n;
}

YamlNode YamlNode::sequence() {
  YamlNode n;
  n.type = Type::kSequence;
  return n;
}

YamlNode& YamlNode::add(std::string key, YamlNode value) {
  entries.push_back(Entry{scalar(std::move(key), true), std::move(value)});
  return entries.back().value;
}

YamlNode& YamlNode::push(YamlNode item) {
  items.push_back(std::move(item));
  return items.back();
}

// --- YamlReader -------------------------------------------------------------------------

struct YamlReader::Impl {
  // An open collection. For mappings, `keyPending` says a key was read and its value is next.
  struct Frame {
    YamlNode* node = nullptr;
    bool keyPending = false;
    bool dropValue = false;  // the pending key is a duplicate: its value is read, then dropped
    // Key -> entry index, built once a mapping is large enough for linear search to hurt.
    std::unordered_map<std::string, size_t> index;
  };
  static constexpr size_t kLinearKeySearch = 16;

  std::string_view text;
  YamlLimits limits;
  yaml_parser_t parser;
  bool finished = false;

  YamlNode doc;
  std::vector<Frame> stack;
  size_t nodes = 0;
  std::vector<YamlProblem>* problems = nullptr;
  size_t problemsAtStart = 0;  // problems->size() when the current document began

  // The path of the node the next event will create.
  std::string pathOfNext() const {
    std::string path;
    for (size_t i = 0; i < stack.size(); ++i) {
      const YamlNode& n = *stack[i].node;
      bool last = i + 1 == stack.size();
      if (n.isMapping()) {
        if (n.entries.empty() || (last && !stack[i].keyPending)) break;
        appendPathKey(&path, n.entries.back().key.value);
      } else {
        appendPathIndex(&path, last ? n.items.size() : n.items.size() - 1);
      }
    }
    return path;
  }

  void problem(const yaml_mark_t& mark, std::string message, std::string path) {
    problems->push_back(YamlProblem{static_cast<int>(mark.line) + 1,
                                    static_cast<int>(mark.column) + 1, std::move(path),
                                    std::move(message)});
  }

  void syntaxProblem() {
    YamlProblem p;
    switch (parser.error) {
      case YAML_MEMORY_ERROR:
        p.message = "out of memory while reading YAML";
        break;
      case YAML_READER_ERROR: {
        // Reader errors carry a byte offset, not a mark.
        size_t end = std::min(parser.problem_offset, text.size());
        p.line = 1;
        p.column = 1;
        for (size_t i = 0; i < end; ++i) {
          if (text[i] == '\n') {
            ++p.line;
            p.column = 1;
          } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
            ++p.column;
          }
        }
        p.message = std::string("invalid YAML: ") + parser.problem;
        if (parser.problem_value >= 0) {
          char buf[32];
          snprintf(buf, sizeof buf, " (#x%X)", parser.problem_value);
          p.message += buf;
        }
        break;
      }
      default:
        p.line = static_cast<int>(parser.problem_mark.line) + 1;
        p.column = static_cast<int>(parser.problem_mark.column) + 1;
        p.message = std::string("invalid YAML: ") + (parser.problem ? parser.problem : "error");
        if (parser.context) {
          p.message += std::string(" (") + parser.context + " at line " +
                       std::to_string(parser.context_mark.line + 1) + ", column " +
                       std::to_string(parser.context_mark.column + 1) + ")";
        }
    }
    problems->push_back(std::move(p));
  }

  // Checks an explicit tag. Scalars may carry core-schema tags; collections only theirs.
  void checkTag(const yaml_mark_t& mark, const yaml_char_t* rawTag, YamlNode* node) {
    if (rawTag == nullptr) return;
    std::string_view tag = str(rawTag);
    if (tag == "!") {  // the non-specific tag: "not a plain scalar", so a string
      if (node->isScalar()) node->quoted = true;
      return;
    }
    std::string_view name = tag.substr(0, kTagPrefix.size()) == kTagPrefix
                                ? tag.substr(kTagPrefix.size())
                                : std::string_view();
    if (node->isMapping() && name == "map") return;
    if (node->isSequence() && name == "seq") return;
    if (node->isScalar()) {
      if (name == "str") {
        node->quoted = true;
        return;
      }
      static constexpr std::pair<std::string_view, ScalarType> kTyped[] = {
          {"null", ScalarType::kNull},
          {"bool", ScalarType::kBool},
          {"int", ScalarType::kInt},
          {"float", ScalarType::kFloat}};
      for (const auto& [tagName, type] : kTyped) {
        if (name != tagName) continue;
        if (resolvePlainScalar(node->value) == type) {
          node->quoted = false;  // `!!int "8080"` is an integer
        } else {
          problem(mark, "\"" + node->value + "\" is not a valid " + tagForDisplay(tag),
                  pathOfNext());
        }
        return;
      }
    }
    problem(mark, "tag " + tagForDisplay(tag) + " is not supported", pathOfNext());
  }

  void checkAnchor(const yaml_mark_t& mark, const yaml_char_t* anchor) {
    if (anchor != nullptr)
      problem(mark, std::string("anchors (&") + str(anchor) + ") are not supported", pathOfNext());
  }

  // Attaches a finished or newly opened node under the top frame. Returns the node's address
  // in the tree, or nullptr when the input is unusable (the problem is reported).
  YamlNode* attach(YamlNode node, const yaml_mark_t& mark) {
    if (++nodes > limits.maxNodes) {
      problem(mark, "document has more than " + std::to_string(limits.maxNodes) + " nodes", "");
      return nullptr;
    }
    if (stack.empty()) {
      doc = std::move(node);
      return &doc;
    }
    Frame& top = stack.back();
    YamlNode& parent = *top.node;
    if (parent.isSequence()) return &parent.push(std::move(node));
    if (top.keyPending) {
      top.keyPending = false;
      YamlNode* value = &parent.entries.back().value;
      *value = std::move(node);
      return value;
    }
    if (!node.isScalar()) {
      problem(mark, "mapping keys must be scalars", pathOfNext());
      return nullptr;
    }
    top.dropValue = false;
    if (std::optional<size_t> first = findKey(top, node.value)) {
      std::string path = pathOfNext();
      appendPathKey(&path, node.value);
      problem(mark,
              "duplicate key \"" + node.value + "\" (first at line " +
                  std::to_string(parent.entries[*first].key.line) + ")",
              std::move(path));
      top.dropValue = true;
    } else if (!top.index.empty() || parent.entries.size() >= kLinearKeySearch) {
      if (top.index.empty())
        for (size_t i = 0; i < parent.entries.size(); ++i)
          top.index.emplace(parent.entries[i].key.value, i);
      top.index.emplace(node.value, parent.entries.size());
    }
    top.keyPending = true;
    parent.entries.push_back(YamlNode::Entry{std::move(node), YamlNode()});
    return &parent.entries.back().key;
  }

  std::optional<size_t> findKey(const Frame& frame, const std::string& key) const {
    if (!frame.index.empty()) {
      auto it = frame.index.find(key);
      if (it == frame.index.end()) return std::nullopt;
      return it->second;
    }
    const auto& entries = frame.node->entries;
    for (size_t i = 0; i < entries.size(); ++i)
      if (entries[i].key.value == key) return i;
    return std::nullopt;
  }

  // A value (scalar or closed collection) just completed under the top frame.
  void valueDone() {
    if (stack.empty()) return;
    Frame& top = stack.back();
    if (top.node->isMapping() && !top.keyPending && top.dropValue) {
      top.node->entries.pop_back();
      top.dropValue = false;
    }
  }

  bool open(YamlNode node, const yaml_mark_t& mark, const yaml_char_t* tag,
            const yaml_char_t* anchor) {
    if (static_cast<int>(stack.size()) >= limits.maxDepth) {
      problem(mark, "nesting deeper than " + std::to_string(limits.maxDepth) + " levels", "");
      return false;
    }
    node.line = static_cast<int>(mark.line) + 1;
    node.column = static_cast<int>(mark.column) + 1;
    checkAnchor(mark, anchor);
    checkTag(mark, tag, &node);
    YamlNode* placed = attach(std::move(node), mark);
    if (placed == nullptr) return false;
    stack.emplace_back();
    stack.back().node = placed;
    return true;
  }

  bool leaf(YamlNode node, const yaml_mark_t& mark) {
    node.line = static_cast<int>(mark.line) + 1;
    node.column = static_cast<int>(mark.column) + 1;
    if (attach(std::move(node), mark) == nullptr) return false;
    valueDone();
    return true;
  }

  // Handles one event. Returns false when the stream must stop (problem reported).
  bool handle(const yaml_event_t& ev) {
    const yaml_mark_t& mark = ev.start_mark;
    switch (ev.type) {
      case YAML_DOCUMENT_START_EVENT:
        doc = YamlNode();
        stack.clear();
        nodes = 0;
        problemsAtStart = problems->size();
        return true;
      case YAML_MAPPING_START_EVENT:
        return open(YamlNode::mapping(), mark, ev.data.mapping_start.tag,
                    ev.data.mapping_start.anchor);
      case YAML_SEQUENCE_START_EVENT:
        return open(YamlNode::sequence(), mark, ev.data.sequence_start.tag,
                    ev.data.sequence_start.anchor);
      case YAML_MAPPING_END_EVENT:
      case YAML_SEQUENCE_END_EVENT:
        stack.pop_back();
        valueDone();
        return true;
      case YAML_SCALAR_EVENT: {
        const auto& s = ev.data.scalar;
        YamlNode node = YamlNode::scalar(std::string(str(s.value), s.length),
                                         s.style != YAML_PLAIN_SCALAR_STYLE);
        checkAnchor(mark, s.anchor);
        checkTag(mark, s.tag, &node);
        return leaf(std::move(node), mark);
      }
      case YAML_ALIAS_EVENT:
        problem(mark, std::string("aliases (*") + str(ev.data.alias.anchor) + ") are not supported",
                pathOfNext());
        return leaf(YamlNode(), mark);
      default:  // stream start/end, document end: handled by the caller
        return true;
    }
  }
};

YamlReader::YamlReader(std::string_view text, YamlLimits limits) : impl_(new Impl) {
  impl_->text = text;
  impl_->limits = limits;
  yaml_parser_initialize(&impl_->parser);
  // libyaml asserts on a null input pointer, which an empty string_view may carry.
  static const unsigned char kEmpty[1] = {0};
  const unsigned char* input =
      text.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(text.data());
  yaml_parser_set_input_string(&impl_->parser, input, text.size());
}

YamlReader::~YamlReader() {
  yaml_parser_delete(&impl_->parser);
}

YamlReader::Status YamlReader::next(YamlNode* root, std::vector<YamlProblem>* problems) {
  Impl& r = *impl_;
  if (r.finished) return Status::kEnd;
  r.problems = problems;
  for (;;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&r.parser, &ev)) {
      r.syntaxProblem();
      r.finished = true;
      return Status::kFailed;
    }
    bool carryOn = r.handle(ev);
    yaml_event_type_t type = ev.type;
    yaml_event_delete(&ev);
    if (!carryOn) {
      r.finished = true;
      return Status::kFailed;
    }
    if (type == YAML_STREAM_END_EVENT) {
      r.finished = true;
      return Status::kEnd;
    }
    // An empty document (`---` and nothing else) reads as one empty plain scalar: skip it.
    bool empty = r.doc.isScalar() && !r.doc.quoted && r.doc.value.empty() &&
                 problems->size() == r.problemsAtStart;
    if (type == YAML_DOCUMENT_END_EVENT && !empty) {
      *root = std::move(r.doc);
      r.doc = YamlNode();
      return Status::kDocument;
    }
  }
}

}  // namespace gh::config
