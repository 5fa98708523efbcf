#pragma once
// The parts of a RouteMatch checked against a request once its path has matched: method,
// headers and query parameters; and Pattern, the one place route/ touches RE2.
//
// Everything is compiled once, at RouteTable::compile time, and evaluated per request without
// allocating: header names and values are the parser's views, and the query string is scanned
// in place and percent-decoded on the fly while it is compared. Immutable after compile; safe
// to evaluate from any number of threads at once (RE2 matching is thread-safe).
//
// Choices the Gateway API leaves to the implementation:
// - Method: exact, case-sensitive ("get" is not "GET"), as RFC 9110 defines methods.
// - Headers: names compare case-insensitively, values exactly (or by RE2 full match). A field
//   that appears several times matches when any one of its values matches; each field value is
//   taken whole, so "a, b" in one field is the single value "a, b". An absent header never
//   matches, not even a regex that accepts the empty string.
// - Query: parameters are separated by '&'; a parameter without '=' has the empty value. Names
//   and values are percent-decoded before comparing (names then compare exactly); '+' stays
//   '+' (RFC 3986, not HTML forms); a malformed escape such as "%zz" or a final "%4" stands
//   for itself. Only the first parameter with the wanted name counts, as the Gateway API says.
// - A match that lists the same header name (case-insensitively) or query name twice keeps
//   only the first entry, as the Gateway API says; the later one is dropped at compile time
//   and does not count towards precedence.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/config/model.h"
#include "core/http/parser.h"

namespace re2 {
class RE2;
}

namespace gh::route {

// A compiled regular expression (RE2 syntax) that must match a whole text. Move-only.
class Pattern {
 public:
  // Fails with RE2's description of the error.
  static Result<Pattern> compile(std::string_view expression);

  Pattern(Pattern&&) noexcept;
  Pattern& operator=(Pattern&&) noexcept;
  ~Pattern();

  bool fullMatch(std::string_view text) const;

 private:
  Pattern();
  std::unique_ptr<const re2::RE2> re_;
};

// One header or query-parameter condition: a name and either a value or a pattern.
struct ValueCondition {
  std::string name;
  std::string value;             // Exact conditions
  std::optional<Pattern> regex;  // RegularExpression conditions

  bool valueMatches(std::string_view v) const;
};

// The non-path conditions of one RouteMatch.
class RequestConditions {
 public:
  // Error messages name the field within the match ("headers[1].value: invalid regular
  // expression: ..."); *errorLoc is then where the value was written (line 0 when unknown).
  static Result<RequestConditions> compile(const config::RouteMatch& match,
                                           config::SourceLoc* errorLoc);

  // True when the method, every header condition and every query condition hold. `headers`
  // may be null (no headers).
  bool holds(std::string_view method, const std::vector<http::Header>* headers,
             std::string_view query) const {
    if (unconditional_) return true;
    if (hasMethod_ && method != method_) return false;
    return headersHold(headers) && queryHolds(query);
  }

  // What precedence counts (after dropping duplicate names).
  bool hasMethod() const { return hasMethod_; }
  size_t headerCount() const { return headers_.size(); }
  size_t queryParamCount() const { return queryParams_.size(); }

 private:
  bool headersHold(const std::vector<http::Header>* headers) const;
  bool queryHolds(std::string_view query) const;

  std::string method_;
  bool hasMethod_ = false;
  bool unconditional_ = true;  // no method, headers or query: skips all work on lookup
  std::vector<ValueCondition> headers_;
  std::vector<ValueCondition> queryParams_;
};

// Query-string helpers, exposed for tests. None allocates.
namespace query {

// Finds the first parameter whose percent-decoded name equals `name`; its raw (still encoded)
// value goes to *rawValue.
bool findFirst(std::string_view query, std::string_view name, std::string_view* rawValue);

// Whether `raw`, percent-decoded, equals `decoded`.
bool decodedEquals(std::string_view raw, std::string_view decoded);

}  // namespace query

}  // namespace gh::route
