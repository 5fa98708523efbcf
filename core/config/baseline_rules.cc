// Reading baseline files into the rule model (baseline_rules.h).
//
// A baseline is checked as strictly as a resource: unknown fields, wrong types, bad paths,
// RE2 patterns that do not compile and rules that could never say anything are errors with
// file:line:column, all of them in one pass. A compliance check that silently ignores a
// misspelt `forbidd:` would pass every configuration, which is worse than no check.

#include "core/config/baseline_rules.h"

#include <re2/re2.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "core/base/strings.h"
#include "core/config/baseline_lint.h"
#include "core/config/yaml_fields.h"

namespace gh::config {

namespace {

constexpr size_t kMaxBaselineBytes = 16u << 20;
constexpr size_t kMaxListItems = 10'000;
constexpr std::string_view kBaselineApiVersion = "gatehouse.dev/v1";

constexpr std::string_view kSeverities[] = {"error", "warning", "info"};

// The operators, in the order messages list them.
struct OpName {
  std::string_view key;
  RuleCondition::Op op;
};
constexpr OpName kOps[] = {
    {"exists", RuleCondition::Op::kExists}, {"absent", RuleCondition::Op::kAbsent},
    {"equals", RuleCondition::Op::kEquals}, {"in", RuleCondition::Op::kIn},
    {"notIn", RuleCondition::Op::kNotIn},   {"matches", RuleCondition::Op::kMatches},
    {"like", RuleCondition::Op::kLike},     {"gte", RuleCondition::Op::kGte},
    {"lte", RuleCondition::Op::kLte},       {"where", RuleCondition::Op::kWhere},
    {"anyOf", RuleCondition::Op::kAnyOf},   {"allOf", RuleCondition::Op::kAllOf},
};

bool isValueOp(RuleCondition::Op op) {
  switch (op) {
    case RuleCondition::Op::kEquals:
    case RuleCondition::Op::kIn:
    case RuleCondition::Op::kNotIn:
    case RuleCondition::Op::kMatches:
    case RuleCondition::Op::kLike:
    case RuleCondition::Op::kGte:
    case RuleCondition::Op::kLte:
      return true;
    default:
      return false;
  }
}

bool isRuleName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s)
    if (!alnum(c) && c != '-' && c != '.') return false;
  return true;
}

bool isPathKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

std::string formatLoc(const SourceLoc& loc) {
  return loc.file + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.column);
}

// Reads rules, selectors and conditions from YAML trees, reporting into one FieldErrors.
class RuleParser {
 public:
  RuleParser(FieldErrors& errors, bool lint, std::map<std::string, SourceLoc>* names)
      : errors_(errors), lint_(lint), names_(names) {}

  void rules(const YamlNode& list, const std::string& path, std::vector<BaselineRule>* out) {
    if (!list.isSequence()) {
      errors_.add(list, path, "must be a list of rules");
      return;
    }
    for (size_t i = 0; i < list.items.size(); ++i) {
      BaselineRule r;
      if (rule(list.items[i], indexPath(path, i), &r)) out->push_back(std::move(r));
    }
  }

 private:
  SourceLoc locOf(const YamlNode& n) const { return SourceLoc{errors_.file(), n.line, n.column}; }

  bool rule(const YamlNode& n, const std::string& path, BaselineRule* r) {
    FieldReader o(errors_, n, path);
    if (!o.valid()) return false;
    r->loc = locOf(n);
    if (o.string("name", &r->name, Need::kRequired)) {
      if (!isRuleName(r->name)) {
        o.fail("name",
               "must be lower-case letters, digits, '-' and '.', starting and ending with a "
               "letter or digit");
      } else if (!lint_ && isLintRuleName(r->name)) {
        o.fail("name", "\"" + r->name +
                           "\" is the name of a built-in lint rule (set its severity under "
                           "`lint:` instead)");
      } else if (auto [it, fresh] = names_->emplace(r->name, o.locOf("name")); !fresh) {
        o.fail("name", "rule \"" + r->name + "\" is already defined at " + formatLoc(it->second));
      }
    }
    int sev = o.choice("severity", kSeverities);
    if (sev >= 0) r->severity = static_cast<Severity>(sev);
    o.string("description", &r->description);
    o.string("message", &r->message);

    if (const YamlNode* only = o.get("onlyIf")) {
      std::string p = o.pathOf("onlyIf");
      if (only->isSequence()) {
        if (only->items.empty()) errors_.add(*only, p, "must not be empty");
        for (size_t i = 0; i < only->items.size(); ++i) {
          ResourceSelector s;
          if (selector(only->items[i], indexPath(p, i), false, &s, nullptr))
            r->onlyIf.push_back(std::move(s));
        }
      } else {
        ResourceSelector s;
        if (selector(*only, p, false, &s, nullptr)) r->onlyIf.push_back(std::move(s));
      }
    }
    const YamlNode* select = o.get("select");
    if (select != nullptr) {
      r->select.emplace();
      selector(*select, o.pathOf("select"), false, &*r->select, nullptr);
    }
    if (const YamlNode* req = o.list("require", kMaxListItems))
      conditions(*req, o.pathOf("require"), false, &r->require);
    if (const YamlNode* forbid = o.list("forbid", kMaxListItems))
      conditions(*forbid, o.pathOf("forbid"), false, &r->forbid);
    if (const YamlNode* rel = o.get("requireRelated")) {
      r->requireRelated.emplace();
      r->requireRelated->loc = locOf(*rel);
      selector(*rel, o.pathOf("requireRelated"), true, &r->requireRelated->related,
               &r->requireRelated->relation);
    }
    if (const YamlNode* ex = o.get("requireExists")) {
      r->requireExists.emplace();
      selector(*ex, o.pathOf("requireExists"), false, &*r->requireExists, nullptr);
    }
    o.finish();

    bool perResource = !r->require.empty() || !r->forbid.empty() || r->requireRelated;
    if (!perResource && !r->requireExists) {
      errors_.add(n, path,
                  "a rule needs at least one of require, forbid, requireRelated or "
                  "requireExists");
    } else if (perResource && select == nullptr) {
      errors_.add(n, joinPath(path, "select"),
                  "is required: require, forbid and requireRelated check the resources it "
                  "selects");
    } else if (!perResource && select != nullptr) {
      errors_.add(*select, joinPath(path, "select"),
                  "has no effect: requireExists has its own kinds, namespaces, names and where");
    }
    return true;
  }

  // A selector's fields; with `relation` (requireRelated) also `relation`, and `where` may
  // then compare with the selected resource.
  bool selector(const YamlNode& n, const std::string& path, bool related, ResourceSelector* s,
                Relation* relation) {
    FieldReader o(errors_, n, path);
    if (!o.valid()) return false;
    s->loc = locOf(n);
    globs(o, "kinds", &s->kinds);
    globs(o, "namespaces", &s->namespaces);
    globs(o, "names", &s->names);
    if (const YamlNode* where = o.list("where", kMaxListItems))
      conditions(*where, o.pathOf("where"), related, &s->where);
    if (relation != nullptr) {
      int rel = o.choice("relation", {"selects", "selectedBy"});
      if (rel == 0) *relation = Relation::kSelects;
      if (rel == 1) *relation = Relation::kSelectedBy;
    }
    o.finish();
    return true;
  }

  // A list of globs, or one glob written alone.
  void globs(FieldReader& o, std::string_view key, std::vector<std::string>* out) {
    const YamlNode* v = o.get(key);
    if (v == nullptr) return;
    std::string path = o.pathOf(key);
    if (v->isScalar()) {
      std::string s;
      if (readString(errors_, *v, path, &s)) out->push_back(std::move(s));
      return;
    }
    if (!v->isSequence()) {
      errors_.add(*v, path, "must be a list of names (`*` matches any characters)");
      return;
    }
    if (v->items.empty()) errors_.add(*v, path, "must not be empty (leave it out to match all)");
    for (size_t i = 0; i < v->items.size(); ++i) {
      std::string s;
      if (readString(errors_, v->items[i], indexPath(path, i), &s)) out->push_back(std::move(s));
    }
  }

  void conditions(const YamlNode& list, const std::string& path, bool related,
                  std::vector<RuleCondition>* out) {
    if (!list.isSequence()) {
      errors_.add(list, path, "must be a list of conditions");
      return;
    }
    if (list.items.empty()) errors_.add(list, path, "must not be empty");
    for (size_t i = 0; i < list.items.size(); ++i) {
      RuleCondition c;
      if (condition(list.items[i], indexPath(path, i), related, &c)) out->push_back(std::move(c));
    }
  }

  bool condition(const YamlNode& n, const std::string& path, bool related, RuleCondition* c) {
    FieldReader o(errors_, n, path);
    if (!o.valid()) return false;
    c->loc = locOf(n);
    std::string pathText;
    bool hasPath = o.string("path", &pathText);
    if (hasPath) {
      std::string error;
      if (!parseFieldPath(pathText, &c->path, &error)) o.fail("path", error);
    }
    const OpName* chosen = nullptr;
    const YamlNode* operand = nullptr;
    for (const OpName& op : kOps) {
      const YamlNode* v = o.get(op.key);
      if (v == nullptr) continue;
      if (chosen != nullptr) {
        errors_.add(*v, joinPath(path, op.key),
                    "a condition has one operator, and this one has " + std::string(chosen->key) +
                        " too: write two conditions");
        continue;
      }
      chosen = &op;
      operand = v;
    }
    const YamlNode* def = o.get("default");
    o.finish();
    if (chosen == nullptr) {
      errors_.add(n, path,
                  "needs an operator: exists, absent, equals, in, notIn, matches, like, gte, "
                  "lte, where, anyOf or allOf");
      return false;
    }
    c->op = chosen->op;
    std::string opPath = joinPath(path, chosen->key);
    bool ok = this->operand(*operand, opPath, related, c);
    if ((c->op == RuleCondition::Op::kAnyOf || c->op == RuleCondition::Op::kAllOf) && hasPath) {
      errors_.add(*n.find("path"), joinPath(path, "path"),
                  std::string(chosen->key) +
                      " has no path of its own: give each of its conditions one (or use where)");
      ok = false;
    }
    if (def != nullptr) {
      std::string defPath = joinPath(path, "default");
      if (!isValueOp(c->op)) {
        errors_.add(*def, defPath,
                    "applies to value operators only (equals, in, notIn, "
                    "matches, like, gte, lte)");
        ok = false;
      } else if (!def->isScalar()) {
        errors_.add(*def, defPath, "must be a single value");
        ok = false;
      } else {
        c->defaultValue = *def;
      }
    }
    return ok;
  }

  bool scalarOperand(const YamlNode& v, const std::string& path) {
    if (!v.isScalar()) {
      errors_.add(v, path, "must be a single value (a string, number or boolean)");
      return false;
    }
    return true;
  }

  // `{selected: PATH}`: values of the selected resource (requireRelated only).
  bool selectedOperand(const YamlNode& v, const std::string& path, bool related, RuleCondition* c) {
    if (!related) {
      errors_.add(v, path,
                  "{selected: PATH} compares with the selected resource and can only be used "
                  "in requireRelated.where");
      return false;
    }
    FieldReader o(errors_, v, path);
    std::string text;
    bool ok = o.string("selected", &text, Need::kRequired);
    o.finish();
    if (!ok) return false;
    std::string error;
    c->selected.emplace();
    if (!parseFieldPath(text, &*c->selected, &error)) {
      errors_.add(*v.find("selected"), joinPath(path, "selected"), error);
      return false;
    }
    return true;
  }

  bool operand(const YamlNode& v, const std::string& path, bool related, RuleCondition* c) {
    using Op = RuleCondition::Op;
    switch (c->op) {
      case Op::kExists:
      case Op::kAbsent: {
        bool b = false;
        if (!v.toBool(&b)) {
          errors_.add(v, path, "must be true or false");
          return false;
        }
        if (!b) c->op = c->op == Op::kExists ? Op::kAbsent : Op::kExists;
        return true;
      }
      case Op::kEquals:
        if (v.isMapping()) return selectedOperand(v, path, related, c);
        if (!scalarOperand(v, path)) return false;
        c->values.push_back(v);
        return true;
      case Op::kIn:
      case Op::kNotIn: {
        if (v.isMapping()) return selectedOperand(v, path, related, c);
        if (!v.isSequence() || v.items.empty()) {
          errors_.add(v, path, "must be a non-empty list of values");
          return false;
        }
        bool ok = true;
        for (size_t i = 0; i < v.items.size(); ++i) {
          if (scalarOperand(v.items[i], indexPath(path, i)))
            c->values.push_back(v.items[i]);
          else
            ok = false;
        }
        return ok;
      }
      case Op::kMatches: {
        if (!readString(errors_, v, path, &c->operand)) return false;
        auto re = std::make_shared<re2::RE2>(c->operand, re2::RE2::Quiet);
        if (!re->ok()) {
          errors_.add(v, path, "invalid RE2 regular expression: " + re->error());
          return false;
        }
        c->regex = std::move(re);
        return true;
      }
      case Op::kLike:
        if (!scalarOperand(v, path)) return false;
        c->operand = v.value;
        return true;
      case Op::kGte:
      case Op::kLte: {
        c->operand = v.value;
        YamlNode::ScalarType t = v.isScalar() ? v.scalarType() : YamlNode::ScalarType::kNull;
        if (t == YamlNode::ScalarType::kInt || t == YamlNode::ScalarType::kFloat) {
          int64_t i = 0;
          c->bound = v.toInt(&i) ? static_cast<double>(i) : strtod(v.value.c_str(), nullptr);
          return true;
        }
        uint64_t ms = 0;
        if (t == YamlNode::ScalarType::kString && str::parseDuration(v.value, &ms)) {
          c->bound = static_cast<double>(ms);
          c->durationBound = true;
          return true;
        }
        errors_.add(v, path, "must be a number, or a duration such as \"30s\"");
        return false;
      }
      case Op::kWhere:
        if (!v.isSequence()) {
          errors_.add(v, path, "must be a list of conditions");
          return false;
        }
        conditions(v, path, related, &c->conditions);
        return true;
      case Op::kAnyOf:
      case Op::kAllOf:
        if (!v.isSequence()) {
          errors_.add(v, path, "must be a list of conditions");
          return false;
        }
        conditions(v, path, related, &c->conditions);
        return true;
    }
    return false;
  }

  FieldErrors& errors_;
  bool lint_;
  std::map<std::string, SourceLoc>* names_;
};

void readLintSettings(FieldErrors& errors, const YamlNode& m, const std::string& path,
                      std::vector<LintSetting>* out) {
  if (!m.isMapping()) {
    errors.add(m, path, "must be an object of lint rule names and severities (or off)");
    return;
  }
  for (const YamlNode::Entry& e : m.entries) {
    std::string p = joinPath(path, e.key.value);
    if (!isLintRuleName(e.key.value)) {
      std::string known;
      for (std::string_view n : lintRuleNames())
        known += (known.empty() ? "" : ", ") + std::string(n);
      errors.add(e.key, p, "is not a lint rule (they are " + known + ")");
      continue;
    }
    LintSetting s;
    s.rule = e.key.value;
    const std::string& v = e.value.value;
    if (e.value.isScalar() && v == "off") {
      s.off = true;
    } else if (e.value.isScalar() && (v == "error" || v == "warning" || v == "info")) {
      s.severity = v == "error"     ? Severity::kError
                   : v == "warning" ? Severity::kWarning
                                    : Severity::kInfo;
    } else {
      errors.add(e.value, p, "must be one of error, warning, info or off");
      continue;
    }
    out->push_back(std::move(s));
  }
}

void readBaselineDocument(FieldErrors& errors, const YamlNode& root, RuleParser& parser,
                          Baseline* out) {
  if (root.isSequence()) {  // a bare list of rules, as spec/config.md words it
    parser.rules(root, "", &out->rules);
    return;
  }
  FieldReader doc(errors, root, "");
  if (!doc.valid()) return;
  std::string apiVersion, kind;
  if (doc.string("apiVersion", &apiVersion, Need::kRequired) && apiVersion != kBaselineApiVersion)
    doc.fail("apiVersion", "must be " + std::string(kBaselineApiVersion));
  if (doc.string("kind", &kind, Need::kRequired) && kind != "Baseline")
    doc.fail("kind", "must be Baseline");
  doc.mapping("metadata");  // informational; not interpreted
  if (const YamlNode* rules = doc.get("rules")) parser.rules(*rules, "rules", &out->rules);
  if (const YamlNode* lint = doc.get("lint")) readLintSettings(errors, *lint, "lint", &out->lint);
  doc.finish();
}

}  // namespace

const char* severityName(Severity s) {
  switch (s) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kInfo:
      return "info";
  }
  return "error";
}

bool parseFieldPath(std::string_view text, FieldPath* out, std::string* error) {
  out->steps.clear();
  out->text = std::string(text);
  out->fromRoot = false;
  if (!text.empty() && text[0] == '$') {
    out->fromRoot = true;
    text.remove_prefix(1);
    if (!text.empty() && text[0] == '.') text.remove_prefix(1);
    if (text.empty()) return true;
    if (text[0] == '.') {
      *error = "has an empty field name after '$.'";
      return false;
    }
  }
  if (text.empty() || text == ".") return true;
  size_t i = 0;
  bool needKey = true;  // at the start and after '.'
  while (i < text.size()) {
    char c = text[i];
    if (c == '[') {
      if (needKey && i != 0) {
        *error = "has '.' before '[' at offset " + std::to_string(i);
        return false;
      }
      size_t close;
      FieldPath::Step step;
      if (i + 1 < text.size() && text[i + 1] == '"') {
        std::string key;
        size_t j = i + 2;
        for (; j < text.size() && text[j] != '"'; ++j) {
          if (text[j] == '\\' && j + 1 < text.size()) ++j;
          key.push_back(text[j]);
        }
        if (j >= text.size() || j + 1 >= text.size() || text[j + 1] != ']') {
          *error = "has an unterminated [\"key\"] at offset " + std::to_string(i);
          return false;
        }
        step.type = FieldPath::Step::Type::kKey;
        step.key = std::move(key);
        close = j + 1;
      } else {
        close = text.find(']', i);
        if (close == std::string_view::npos) {
          *error = "has an unterminated '[' at offset " + std::to_string(i);
          return false;
        }
        std::string_view inside = text.substr(i + 1, close - i - 1);
        uint64_t index = 0;
        if (inside == "*") {
          step.type = FieldPath::Step::Type::kAny;
        } else if (str::parseU64(inside, &index)) {
          step.type = FieldPath::Step::Type::kIndex;
          step.index = static_cast<size_t>(index);
        } else {
          *error = "has [" + std::string(inside) +
                   "]: brackets take an index, * or a quoted key such as [\"app.kubernetes.io/"
                   "name\"]";
          return false;
        }
      }
      out->steps.push_back(std::move(step));
      i = close + 1;
      needKey = false;
      continue;
    }
    if (c == '.') {
      if (needKey) {
        *error = "has an empty field name at offset " + std::to_string(i);
        return false;
      }
      needKey = true;
      ++i;
      continue;
    }
    if (!needKey) {
      *error = "needs '.' or '[' at offset " + std::to_string(i);
      return false;
    }
    size_t j = i;
    while (j < text.size() && isPathKeyChar(text[j])) ++j;
    if (j == i) {
      *error = c == '*' ? "has a bare '*': write [*] for any element"
                        : "has '" + std::string(1, c) + "' at offset " + std::to_string(i) +
                              ": field names are letters, digits, '_' and '-' (quote others: "
                              "[\"a.b\"])";
      return false;
    }
    FieldPath::Step step;
    step.key = std::string(text.substr(i, j - i));
    out->steps.push_back(std::move(step));
    i = j;
    needKey = false;
  }
  if (needKey) {
    *error = "ends with '.'";
    return false;
  }
  return true;
}

bool globMatch(std::string_view glob, std::string_view s) {
  // Iterative wildcard match: remember the last '*' and retry from one character further.
  size_t g = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (g < glob.size() && glob[g] == '*') {
      star = g++;
      mark = i;
    } else if (g < glob.size() && glob[g] == s[i]) {
      ++g;
      ++i;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

bool parseRules(const YamlNode& list, const std::string& file, bool lint,
                std::vector<BaselineRule>* out, std::vector<Diagnostic>* diags) {
  FieldErrors errors(file);
  std::map<std::string, SourceLoc> names;
  RuleParser parser(errors, lint, &names);
  parser.rules(list, "", out);
  bool ok = errors.empty();
  errors.flush("baseline", diags);
  return ok;
}

bool parseBaseline(std::string_view text, const std::string& file, Baseline* out,
                   std::vector<Diagnostic>* diags) {
  FieldErrors errors(file);
  std::map<std::string, SourceLoc> names;
  RuleParser parser(errors, false, &names);
  YamlReader reader(text);
  YamlNode root;
  std::vector<YamlProblem> problems;
  int documents = 0;
  for (;;) {
    problems.clear();
    YamlReader::Status status = reader.next(&root, &problems);
    for (const YamlProblem& p : problems) errors.add(p.line, p.column, p.path, p.message);
    if (status != YamlReader::Status::kDocument) {
      if (status == YamlReader::Status::kEnd && documents == 0 && errors.empty())
        errors.add(1, 1, "", "is empty: expected a document of kind Baseline");
      break;
    }
    ++documents;
    readBaselineDocument(errors, root, parser, out);
  }
  bool ok = errors.empty();
  errors.flush("baseline", diags);
  return ok;
}

bool loadBaseline(const std::string& path, Baseline* out, std::vector<Diagnostic>* diags) {
  auto fail = [&](std::string what) {
    Diagnostic d;
    d.loc.file = path;
    d.message = std::move(what);
    diags->push_back(std::move(d));
    return false;
  };
  if (path == "-") return fail("a baseline must be a file: standard input carries resources");
  FILE* f = fopen(path.c_str(), "rb");
  if (f == nullptr) return fail(std::string("cannot open: ") + strerror(errno));
  std::string text;
  char buf[64 * 1024];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    if (text.size() + n > kMaxBaselineBytes) {
      fclose(f);
      return fail("is larger than " + std::to_string(kMaxBaselineBytes >> 20) + " MiB");
    }
    text.append(buf, n);
  }
  bool readError = ferror(f) != 0;
  int err = errno;
  fclose(f);
  if (readError) return fail(std::string("cannot read: ") + strerror(err));
  return parseBaseline(text, path, out, diags);
}

}  // namespace gh::config
