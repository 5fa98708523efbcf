#pragma once
// The baseline rule language: its model and the reading of a baseline file.
//
// A baseline is a YAML file of compliance rules (docs/policy-as-code.md is the user's guide):
//
//   apiVersion: gatehouse.dev/v1
//   kind: Baseline
//   rules:
//     - name: https-min-tls12
//       severity: error
//       select: {kinds: [Listener], where: [{path: spec.protocol, equals: HTTPS}]}
//       require: [{path: spec.tls.minVersion, in: [TLS1_2, TLS1_3]}]
//
// A rule selects resources (kinds, namespaces, names: `*` globs; `where`: conditions) and
// asserts about each one: `require` (every condition holds), `forbid` (no condition holds;
// one finding per offending value), `requireRelated` (some other resource matches, optionally
// through a label-selector relation); or about the whole set: `requireExists`. `onlyIf`
// limits a rule to configurations where some resource matches a selector.
//
// A condition is a field path and one operator. Paths are dotted, with `[N]` for one element,
// `[*]` for any element (or any value of an object) and `["key.with.dots"]` for odd keys, and
// `$.` in front to start at the resource's root from inside a `where`; a condition over a path
// that reaches several values holds when one of them satisfies it.
//
// Everything here is plain data, built once by parseBaseline and read-only afterwards: safe
// to share across threads. Evaluation is in baseline.h.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/model.h"
#include "core/config/yaml_tree.h"

namespace re2 {
class RE2;
}

namespace gh::config {

// How much a finding matters: only kError makes `validate` fail.
enum class Severity { kError, kWarning, kInfo };
const char* severityName(Severity s);  // "error", "warning", "info"

// "spec.rules[*].from[*].source.principals[*]", parsed.
struct FieldPath {
  struct Step {
    enum class Type { kKey, kIndex, kAny };
    Type type = Type::kKey;
    std::string key;   // kKey
    size_t index = 0;  // kIndex
  };
  std::vector<Step> steps;  // empty: the node itself
  bool fromRoot = false;    // written "$.spec...": from the resource's root, even inside where
  std::string text;         // as written, for messages

  bool empty() const { return steps.empty(); }
};

// Parses a field path; on failure returns false with what is wrong in *error. "" and "."
// are the node itself, "$" the resource's root.
bool parseFieldPath(std::string_view text, FieldPath* out, std::string* error);

// One condition: a path and one operator.
struct RuleCondition {
  enum class Op {
    kExists,   // the path reaches a value (null is no value)
    kAbsent,   // it reaches none
    kEquals,   // a scalar equals the operand (numbers by value, everything else by text)
    kIn,       // a scalar equals one of the operands
    kNotIn,    // a scalar equals none of them
    kMatches,  // a scalar is a full match of an RE2 pattern
    kLike,     // a scalar matches a glob where `*` stands for any characters
    kGte,      // a number (or a duration, when the operand is one) is >= the operand
    kLte,      // ... <= the operand
    kWhere,    // a value at the path satisfies every sub-condition (paths relative to it)
    kAnyOf,    // one of the sub-conditions holds (no path of its own)
    kAllOf,    // all of them hold (no path of its own; for a group inside anyOf)
  };
  Op op = Op::kExists;
  FieldPath path;
  std::vector<YamlNode> values;           // kEquals (one), kIn, kNotIn: scalar operands
  std::optional<FieldPath> selected;      // kEquals/kIn/kNotIn: compare with the values at this
                                          // path of the selected resource (requireRelated only)
  std::shared_ptr<const re2::RE2> regex;  // kMatches
  std::string operand;                    // kMatches, kLike, kGte, kLte: as written
  double bound = 0;                       // kGte, kLte: the number, or milliseconds
  bool durationBound = false;             // kGte, kLte: the operand is a duration ("30s")
  std::optional<YamlNode> defaultValue;   // value operators: what an absent path reads as
  std::vector<RuleCondition> conditions;  // kWhere, kAnyOf, kAllOf
  SourceLoc loc;                          // where the condition is written in the baseline
};

// Which resources a rule (or a part of it) is about. An empty list matches anything.
struct ResourceSelector {
  std::vector<std::string> kinds;       // globs over kind names
  std::vector<std::string> namespaces;  // globs over metadata.namespace
  std::vector<std::string> names;       // globs over metadata.name
  std::vector<RuleCondition> where;     // all must hold
  SourceLoc loc;
};

// How a related resource must relate to the selected one, beyond its own conditions.
enum class Relation {
  kNone,
  kSelects,     // the related resource's label selector (spec.selector) picks the selected one
  kSelectedBy,  // the selected resource's label selector picks the related one
};

struct RelatedAssertion {
  ResourceSelector related;  // its `where` may compare with the selected resource's fields
  Relation relation = Relation::kNone;
  SourceLoc loc;
};

struct BaselineRule {
  std::string name;
  Severity severity = Severity::kError;
  std::string description;
  std::string message;  // replaces the generated message of every finding when set
  SourceLoc loc;        // of the rule in its file

  std::vector<ResourceSelector> onlyIf;  // checked only when some resource matches one
  std::optional<ResourceSelector> select;
  std::vector<RuleCondition> require;
  std::vector<RuleCondition> forbid;
  std::optional<RelatedAssertion> requireRelated;
  std::optional<ResourceSelector> requireExists;
};

// A lint rule's severity as a baseline sets it (`lint: {authz-allow-nothing: error}`).
struct LintSetting {
  std::string rule;
  bool off = false;
  Severity severity = Severity::kWarning;
};

struct Baseline {
  std::vector<BaselineRule> rules;
  std::vector<LintSetting> lint;
};

// Reads a baseline: one or more documents of kind Baseline, or a bare YAML list of rules.
// Every problem is reported with file:line:column (not just the first); `out` is usable only
// when the call returns true. Rule names must be unique and must not be lint rule names.
bool parseBaseline(std::string_view text, const std::string& file, Baseline* out,
                   std::vector<Diagnostic>* diags);

// Reads and parses a baseline file ("-" is not accepted: standard input carries resources).
bool loadBaseline(const std::string& path, Baseline* out, std::vector<Diagnostic>* diags);

// Reads a list of rules with the same checks (the built-in lint set is written this way).
// `lint` allows the rule names reserved for lint rules.
bool parseRules(const YamlNode& list, const std::string& file, bool lint,
                std::vector<BaselineRule>* out, std::vector<Diagnostic>* diags);

// Glob match where '*' stands for any run of characters (including none); nothing else is
// special.
bool globMatch(std::string_view glob, std::string_view s);

}  // namespace gh::config
