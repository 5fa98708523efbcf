// Typed, position-aware reading of YamlNode mappings (yaml_fields.h).

#include "core/config/yaml_fields.h"

#include <algorithm>
#include <cassert>

#include "core/base/strings.h"

namespace gh::config {

namespace {

const char* typeName(const YamlNode& n) {
  if (n.isMapping()) return "an object";
  if (n.isSequence()) return "a list";
  switch (n.scalarType()) {
    case YamlNode::ScalarType::kNull:
      return "null";
    case YamlNode::ScalarType::kBool:
      return "a boolean";
    case YamlNode::ScalarType::kInt:
      return "an integer";
    case YamlNode::ScalarType::kFloat:
      return "a number";
    case YamlNode::ScalarType::kString:
      return "a string";
  }
  return "a value";
}

std::string mustBe(const char* expected, const YamlNode& got) {
  return std::string("must be ") + expected + ", not " + typeName(got);
}

}  // namespace

// --- FieldErrors ------------------------------------------------------------------------

void FieldErrors::add(int line, int column, std::string path, std::string what) {
  errors_.push_back(Error{line, column, std::move(path), std::move(what)});
}

void FieldErrors::flush(std::string_view subject, std::vector<Diagnostic>* out) {
  std::stable_sort(errors_.begin(), errors_.end(), [](const Error& a, const Error& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  for (Error& e : errors_) {
    Diagnostic d;
    d.loc = SourceLoc{file_, e.line, e.column};
    d.message.append(subject);
    if (!e.path.empty()) d.message.append(": ").append(e.path);
    d.message.append(": ").append(e.what);
    out->push_back(std::move(d));
  }
  errors_.clear();
}

// --- helpers ----------------------------------------------------------------------------

std::string joinPath(const std::string& path, std::string_view key) {
  std::string out = path;
  appendPathKey(&out, key);
  return out;
}

std::string indexPath(const std::string& path, size_t index) {
  std::string out = path;
  appendPathIndex(&out, index);
  return out;
}

std::string listOfNames(std::span<const std::string_view> names) {
  std::string out;
  size_t i = 0;
  for (std::string_view n : names) {
    if (i > 0) out += (i + 1 == names.size()) ? " or " : ", ";
    out.append(n);
    ++i;
  }
  return out;
}

std::string formatDuration(uint64_t ms) {
  static constexpr std::pair<uint64_t, const char*> kUnits[] = {
      {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}};
  for (const auto& [size, unit] : kUnits)
    if (ms != 0 && ms % size == 0) return std::to_string(ms / size) + unit;
  return std::to_string(ms) + "ms";
}

bool readString(FieldErrors& errors, const YamlNode& node, const std::string& path,
                std::string* out) {
  if (node.scalarType() != YamlNode::ScalarType::kString || !node.isScalar()) {
    // A plain 8080 or true where text is expected: say how to write it as text.
    std::string what = mustBe("a string", node);
    if (node.isScalar() && !node.isNull()) what += " (quote it: \"" + node.value + "\")";
    errors.add(node, path, std::move(what));
    return false;
  }
  *out = node.value;
  return true;
}

bool readInt(FieldErrors& errors, const YamlNode& node, const std::string& path, int64_t min,
             int64_t max, int64_t* out) {
  if (!node.isScalar() || node.scalarType() != YamlNode::ScalarType::kInt) {
    std::string what = mustBe("an integer", node);
    if (node.quoted && resolvePlainScalar(node.value) == YamlNode::ScalarType::kInt)
      what += " (write it without quotes)";
    errors.add(node, path, std::move(what));
    return false;
  }
  int64_t v = 0;
  if (!node.toInt(&v) || v < min || v > max) {
    errors.add(node, path,
               "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return false;
  }
  *out = v;
  return true;
}

// --- FieldReader ------------------------------------------------------------------------

FieldReader::FieldReader(FieldErrors& errors, const YamlNode& node, std::string path)
    : errors_(errors), node_(node), path_(std::move(path)), valid_(node.isMapping()) {
  if (!valid_) {
    errors_.add(node_, path_, mustBe("an object", node_));
    finished_ = true;
    return;
  }
  used_.assign(node_.entries.size(), false);
}

FieldReader::~FieldReader() {
  assert(finished_ && "FieldReader::finish() not called");
}

const YamlNode* FieldReader::get(std::string_view key) {
  if (!valid_) return nullptr;
  for (size_t i = 0; i < node_.entries.size(); ++i) {
    if (node_.entries[i].key.value != key) continue;
    used_[i] = true;
    const YamlNode& v = node_.entries[i].value;
    return v.isNull() ? nullptr : &v;
  }
  return nullptr;
}

const YamlNode* FieldReader::get(std::string_view key, Need need) {
  const YamlNode* v = get(key);
  if (v == nullptr && need == Need::kRequired && valid_)
    errors_.add(node_, pathOf(key), "is required");
  return v;
}

void FieldReader::notSupported(std::string_view key) {
  if (const YamlNode* v = get(key)) errors_.add(*v, pathOf(key), "is not supported yet");
}

void FieldReader::finish() {
  if (finished_) return;
  finished_ = true;
  for (size_t i = 0; i < node_.entries.size(); ++i) {
    if (used_[i]) continue;
    const YamlNode& key = node_.entries[i].key;
    errors_.add(key, pathOf(key.value), "unknown field");
  }
}

void FieldReader::fail(std::string_view key, std::string what) {
  const YamlNode* v = valid_ ? node_.find(key) : nullptr;
  errors_.add(v != nullptr ? *v : node_, pathOf(key), std::move(what));
}

SourceLoc FieldReader::locOf(std::string_view key) const {
  const YamlNode* v = valid_ ? node_.find(key) : nullptr;
  const YamlNode& at = v != nullptr ? *v : node_;
  return SourceLoc{errors_.file(), at.line, at.column};
}

bool FieldReader::string(std::string_view key, std::string* out, Need need) {
  const YamlNode* v = get(key, need);
  return v != nullptr && readString(errors_, *v, pathOf(key), out);
}

bool FieldReader::integer(std::string_view key, int64_t min, int64_t max, int64_t* out, Need need) {
  const YamlNode* v = get(key, need);
  return v != nullptr && readInt(errors_, *v, pathOf(key), min, max, out);
}

bool FieldReader::boolean(std::string_view key, bool* out) {
  const YamlNode* v = get(key);
  if (v == nullptr) return false;
  if (!v->toBool(out)) {
    errors_.add(*v, pathOf(key), mustBe("true or false", *v));
    return false;
  }
  return true;
}

bool FieldReader::duration(std::string_view key, uint64_t minMs, uint64_t maxMs, uint64_t* out) {
  const YamlNode* v = get(key);
  if (v == nullptr) return false;
  uint64_t ms = 0;
  if (!v->isScalar() || v->scalarType() != YamlNode::ScalarType::kString ||
      !str::parseDuration(v->value, &ms)) {
    errors_.add(*v, pathOf(key), "must be a duration such as \"10s\", \"250ms\" or \"1m30s\"");
    return false;
  }
  if (ms < minMs) {
    errors_.add(*v, pathOf(key), "must be at least " + formatDuration(minMs));
    return false;
  }
  // Durations are kept in milliseconds: "500us" must not quietly become 0 (often "off").
  if (ms == 0 && v->value.find_first_of("123456789") != std::string::npos) {
    errors_.add(*v, pathOf(key), "must be 0s or at least 1ms");
    return false;
  }
  if (ms > maxMs) {
    errors_.add(*v, pathOf(key), "must be at most " + formatDuration(maxMs));
    return false;
  }
  *out = ms;
  return true;
}

int FieldReader::choice(std::string_view key, std::span<const std::string_view> names, Need need) {
  const YamlNode* v = get(key, need);
  if (v == nullptr) return -1;
  if (v->isScalar() && v->scalarType() == YamlNode::ScalarType::kString) {
    int i = 0;
    for (std::string_view n : names) {
      if (v->value == n) return i;
      ++i;
    }
  }
  errors_.add(*v, pathOf(key), "must be one of " + listOfNames(names));
  return -1;
}

const YamlNode* FieldReader::list(std::string_view key, size_t maxItems, Need need) {
  const YamlNode* v = get(key, need);
  if (v == nullptr) return nullptr;
  if (!v->isSequence()) {
    errors_.add(*v, pathOf(key), mustBe("a list", *v));
    return nullptr;
  }
  if (v->items.size() > maxItems) {
    errors_.add(*v, pathOf(key), "must have at most " + std::to_string(maxItems) + " items");
    return nullptr;
  }
  return v;
}

const YamlNode* FieldReader::mapping(std::string_view key) {
  const YamlNode* v = get(key);
  if (v == nullptr) return nullptr;
  if (!v->isMapping()) {
    errors_.add(*v, pathOf(key), mustBe("an object", *v));
    return nullptr;
  }
  return v;
}

}  // namespace gh::config
