#pragma once
// A small JSON value for the admin API: parse request bodies, build responses.
//
// RFC 8259 strictly: one value, no trailing commas, no comments, strings valid UTF-8 with
// escapes decoded (\u surrogate pairs joined), numbers as double (an integer up to 2^53 is
// exact, which covers versions, timestamps and counters). Objects keep their members in
// insertion order (responses read in the order they were built); lookups are linear, which
// is right for the handful of fields a request carries. Nesting is limited (kMaxDepth) so a
// hostile body cannot exhaust the stack. Plain data; any thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gh::admin::json {

class Value {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  using Member = std::pair<std::string, Value>;

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : type_(Type::kBool), bool_(b) {}
  Value(int v) : type_(Type::kNumber), number_(v) {}
  Value(int64_t v) : type_(Type::kNumber), number_(static_cast<double>(v)) {}
  Value(uint64_t v) : type_(Type::kNumber), number_(static_cast<double>(v)) {}
  Value(double v) : type_(Type::kNumber), number_(v) {}
  Value(const char* s) : type_(Type::kString), string_(s) {}
  Value(std::string s) : type_(Type::kString), string_(std::move(s)) {}
  Value(std::string_view s) : type_(Type::kString), string_(s) {}

  static Value array() {
    Value v;
    v.type_ = Type::kArray;
    return v;
  }
  static Value object() {
    Value v;
    v.type_ = Type::kObject;
    return v;
  }

  Type type() const { return type_; }
  bool isNull() const { return type_ == Type::kNull; }
  bool isString() const { return type_ == Type::kString; }
  bool isNumber() const { return type_ == Type::kNumber; }
  bool isBool() const { return type_ == Type::kBool; }
  bool isArray() const { return type_ == Type::kArray; }
  bool isObject() const { return type_ == Type::kObject; }

  bool asBool() const { return bool_; }
  double asNumber() const { return number_; }
  const std::string& asString() const { return string_; }
  const std::vector<Value>& items() const { return items_; }
  const std::vector<Member>& members() const { return members_; }

  // Object member by name, or null when absent (or when this is not an object).
  const Value* find(std::string_view name) const;
  // Convenience readers with defaults, for request fields.
  std::string getString(std::string_view name, std::string def = "") const;
  int64_t getInt(std::string_view name, int64_t def) const;
  bool getBool(std::string_view name, bool def) const;

  // Builders. set() replaces a member of the same name.
  Value& set(std::string name, Value v);
  Value& push(Value v);

  // Compact JSON text.
  std::string dump() const;
  void dumpTo(std::string& out) const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Value> items_;
  std::vector<Member> members_;
};

constexpr int kMaxDepth = 64;

// Parses `text` as one JSON value. On failure returns false and sets *error ("offset 12:
// expected ':'").
bool parse(std::string_view text, Value* out, std::string* error);

// A JSON string literal of `s` (quotes included). Bytes that are not valid UTF-8 become
// U+FFFD, so the output is always valid JSON.
void appendQuoted(std::string& out, std::string_view s);

}  // namespace gh::admin::json
