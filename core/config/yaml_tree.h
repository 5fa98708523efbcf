#pragma once
// YamlNode and YamlReader: YAML (and JSON) documents as trees with source positions.
//
// Why not libyaml's own document API: diagnostics need the position of every node, the
// decoder needs to know whether a scalar was quoted ("8080" is a string, 8080 an integer), and
// limits must hold while reading, before memory is spent. So the reader consumes libyaml's
// event stream and builds its own small tree, one document at a time.
//
// Scalars are typed by the YAML 1.2 core schema, strictly: `yes`, `no`, `on`, `off` are
// strings, not booleans (the YAML 1.1 reading that turns the country code NO into false).
// Anchors and aliases are refused: configuration does not need them, and alias expansion is
// how a kilobyte of YAML becomes gigabytes of tree. Tags other than the core schema's are
// refused. JSON needs no separate path: it is YAML's flow style, so positions are right for
// both. (One difference: libyaml, like YAML itself, wants a JSON key and its ':' on one line.)
//
// A YamlReader is single-threaded; different readers are independent.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gh::config {

struct YamlNode {
  enum class Type : uint8_t { kScalar, kMapping, kSequence };
  // What a scalar is under the core schema. Quoted and block scalars are always strings.
  enum class ScalarType : uint8_t { kNull, kBool, kInt, kFloat, kString };
  struct Entry;

  Type type = Type::kScalar;
  bool quoted = false;  // scalar written quoted, as a block scalar, or tagged !!str
  int line = 0;         // 1-based position of the node's first character
  int column = 0;
  std::string value;            // scalar text after escapes; empty for collections
  std::vector<YamlNode> items;  // sequence items
  std::vector<Entry> entries;   // mapping entries in document order; keys are unique scalars

  bool isScalar() const { return type == Type::kScalar; }
  bool isMapping() const { return type == Type::kMapping; }
  bool isSequence() const { return type == Type::kSequence; }
  bool isNull() const { return isScalar() && scalarType() == ScalarType::kNull; }
  ScalarType scalarType() const;  // kString for collections is meaningless; check isScalar()

  // Typed reads of a scalar; false when the scalar is not of that type (or the integer does
  // not fit). Integers may be decimal, 0o-octal or 0x-hex, with an optional sign.
  bool toBool(bool* out) const;
  bool toInt(int64_t* out) const;

  // The value of mapping key `key`, or nullptr (also for non-mappings).
  const YamlNode* find(std::string_view key) const;

  static YamlNode scalar(std::string value, bool quoted);
  static YamlNode mapping();
  static YamlNode sequence();
  // Appends to a mapping / sequence; returns the new value node.
  YamlNode& add(std::string key, YamlNode value);
  YamlNode& push(YamlNode item);
};

struct YamlNode::Entry {
  YamlNode key;  // always a scalar
  YamlNode value;
};

// Core-schema type of plain (unquoted) scalar text.
YamlNode::ScalarType resolvePlainScalar(std::string_view text);

// Field paths as diagnostics print them: "spec.rules[0].name". A key that is not a plain
// identifier is bracketed and quoted, so label keys stay readable: labels["app.kubernetes.io/x"].
void appendPathKey(std::string* path, std::string_view key);
void appendPathIndex(std::string* path, size_t index);

// Something wrong in the input. `path` ("spec.rules[0].name") locates it inside its document
// when known; it is empty for syntax errors and for problems with the document root.
struct YamlProblem {
  int line = 0;  // 1-based; 0 when unknown
  int column = 0;
  std::string path;
  std::string message;
};

struct YamlLimits {
  int maxDepth = 64;            // nested collections in one document
  size_t maxNodes = 2'000'000;  // nodes (keys included) in one document
};

// Reads the documents of one YAML stream, in order. The text must outlive the reader.
class YamlReader {
 public:
  explicit YamlReader(std::string_view text, YamlLimits limits = {});
  ~YamlReader();
  YamlReader(const YamlReader&) = delete;
  YamlReader& operator=(const YamlReader&) = delete;

  enum class Status {
    kDocument,  // *root holds the next non-empty document
    kEnd,       // no more documents
    kFailed,    // a syntax error or a limit: the problem is reported, the stream is over
  };

  // Reads the next document, skipping empty ones (`---` with nothing after it). Problems that
  // leave the document's shape intact (duplicate keys, anchors, tags) are appended to
  // *problems and the document is still returned, so the caller can report its other errors;
  // duplicate keys keep their first value, aliases read as null.
  Status next(YamlNode* root, std::vector<YamlProblem>* problems);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gh::config
