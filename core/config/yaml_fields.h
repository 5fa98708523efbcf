#pragma once
// FieldErrors and FieldReader: reading a YamlNode tree as a typed object, with every problem
// reported at its position and field path, and unknown fields caught.
//
// A decoder wraps each mapping of the schema in a FieldReader, asks it for the fields it
// knows, and calls finish(): every key it did not ask for is then an "unknown field" error.
// Readers never stop at the first problem; they record it and return "no value", so a single
// pass reports everything wrong with a document.
//
// A null value (`key:`, `key: ~`) reads as absent, as in Kubernetes.
//
// Errors are buffered in FieldErrors and formatted when the document is done, because the
// prefix of every message ("HTTPRoute production/shop") is known only once metadata has been
// read, and because they are reported in source order, not in the order the checks ran.

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/model.h"
#include "core/config/yaml_tree.h"

namespace gh::config {

class FieldErrors {
 public:
  explicit FieldErrors(std::string file) : file_(std::move(file)) {}

  void add(int line, int column, std::string path, std::string what);
  void add(const YamlNode& at, std::string path, std::string what) {
    add(at.line, at.column, std::move(path), std::move(what));
  }
  bool empty() const { return errors_.empty(); }
  const std::string& file() const { return file_; }

  // Appends the errors in source order as "<subject>: <path>: <what>" and clears them.
  void flush(std::string_view subject, std::vector<Diagnostic>* out);

 private:
  struct Error {
    int line;
    int column;
    std::string path;
    std::string what;
  };
  std::string file_;
  std::vector<Error> errors_;
};

// Whether a field must be present.
enum class Need { kOptional, kRequired };

// Node-level readers: true when `node` has the type (the value is stored), else the error is
// reported at `node` under `path`.
bool readString(FieldErrors& errors, const YamlNode& node, const std::string& path,
                std::string* out);
bool readInt(FieldErrors& errors, const YamlNode& node, const std::string& path, int64_t min,
             int64_t max, int64_t* out);

std::string joinPath(const std::string& path, std::string_view key);
std::string indexPath(const std::string& path, size_t index);

class FieldReader {
 public:
  // Reports "must be an object" when `node` is not a mapping; the reader is then invalid and
  // every getter returns "absent".
  FieldReader(FieldErrors& errors, const YamlNode& node, std::string path);
  ~FieldReader();
  FieldReader(const FieldReader&) = delete;
  FieldReader& operator=(const FieldReader&) = delete;

  bool valid() const { return valid_; }
  const YamlNode& node() const { return node_; }
  const std::string& path() const { return path_; }
  std::string pathOf(std::string_view key) const { return joinPath(path_, key); }
  FieldErrors& errors() { return errors_; }

  // The value of `key` when present and not null; marks the key as known.
  const YamlNode* get(std::string_view key);
  // As get(), and reports "is required" (at this mapping) when the field is absent.
  const YamlNode* get(std::string_view key, Need need);
  // Marks `key` as a field of the schema this build refuses; reports it when set.
  void notSupported(std::string_view key);
  // Reports every key nobody asked for as an unknown field. Must be called once.
  void finish();
  // Reports a problem with the value of `key` (which must be present), at that value.
  void fail(std::string_view key, std::string what);
  // Where the value of `key` is written; the mapping's own position when absent.
  SourceLoc locOf(std::string_view key) const;

  // Typed fields. Each returns true when the field is present and valid (and stores it).
  bool string(std::string_view key, std::string* out, Need need = Need::kOptional);
  bool integer(std::string_view key, int64_t min, int64_t max, int64_t* out,
               Need need = Need::kOptional);
  template <typename T>
  bool number(std::string_view key, int64_t min, int64_t max, T* out, Need need = Need::kOptional) {
    int64_t v = 0;
    if (!integer(key, min, max, &v, need)) return false;
    *out = static_cast<T>(v);
    return true;
  }
  bool boolean(std::string_view key, bool* out);
  // A Go-style duration ("250ms", "1m30s") between minMs and maxMs, in whole milliseconds
  // (a non-zero duration under 1ms is refused rather than rounded to 0).
  bool duration(std::string_view key, uint64_t minMs, uint64_t maxMs, uint64_t* out);
  // The index in `names` of the field's value (exact, case-sensitive), or -1.
  int choice(std::string_view key, std::span<const std::string_view> names,
             Need need = Need::kOptional);
  int choice(std::string_view key, std::initializer_list<std::string_view> names,
             Need need = Need::kOptional) {
    return choice(key, std::span(names.begin(), names.size()), need);
  }
  // A sequence of at most maxItems items, or nullptr.
  const YamlNode* list(std::string_view key, size_t maxItems, Need need = Need::kOptional);
  // A mapping (of any content), or nullptr.
  const YamlNode* mapping(std::string_view key);

 private:
  FieldErrors& errors_;
  const YamlNode& node_;
  std::string path_;
  bool valid_;
  bool finished_ = false;
  std::vector<bool> used_;  // per entry of node_
};

// "A, B or C", for messages.
std::string listOfNames(std::span<const std::string_view> names);

// The shortest Go-style spelling of a duration: "1h", "90s", "250ms".
std::string formatDuration(uint64_t ms);

}  // namespace gh::config
