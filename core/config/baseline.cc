// Evaluating lint and baseline rules over document trees (baseline.h).
//
// The model
// ---------
// A condition is evaluated against a base node (a resource's root, or an element reached by a
// `where`). Its path is resolved to every value it reaches — `[*]` fans out — and the
// condition *holds* when at least one of them satisfies the operator. Evaluation returns the
// values that satisfy it ("hits", each with its node and concrete path), and, for when it
// does not hold, where the failure is best shown ("failure": the first value that was there
// but wrong, else the deepest node the path got to before it ran out).
//
//   require  — a condition that does not hold gives one finding, at its failure;
//   forbid   — a condition that holds gives one finding per hit, at the hit;
//   where    — hits are the elements on which every sub-condition holds, so conditions about
//              one element stay about that element (a rule with `from` and no `ports`);
//   absent   — holds when the path reaches nothing; its one hit is the node that lacks it.
//
// Universal statements ("every rule sets timeouts.request") are forbids of the opposite
// ("no rule where timeouts.request is absent"): that is also what points at the offending
// element. Null values count as absent everywhere, as they do for the decoder.

#include "core/config/baseline.h"

#include <re2/re2.h>

#include <algorithm>
#include <cstdlib>

#include "core/base/strings.h"
#include "core/config/baseline_lint.h"

namespace gh::config {

namespace {

using Op = RuleCondition::Op;

struct Hit {
  const YamlNode* node = nullptr;
  std::string path;
  std::string found;       // the value, for messages ("" when there is none)
  bool defaulted = false;  // `found` is the condition's default: the field is not set
};

struct Failure {
  const YamlNode* node = nullptr;
  std::string path;
  std::string found;
  bool missing = true;
};

struct Scope {
  const YamlNode* root = nullptr;            // the resource's root, for "$." paths
  const ConfigDocument* selected = nullptr;  // requireRelated: the resource being checked
  bool paths = true;                         // hits need paths and values (for findings)
  // The selected resource's values per {selected: PATH}, resolved once per selected resource
  // rather than once per comparison.
  using SelectedValues = std::vector<std::pair<const FieldPath*, std::vector<const YamlNode*>>>;
  SelectedValues* selectedValues = nullptr;
};

std::string joinPaths(const std::string& base, const std::string& rel) {
  if (rel.empty() || rel == ".") return base;
  if (base.empty()) return rel;
  return rel[0] == '[' ? base + rel : base + "." + rel;
}

std::string valueText(const YamlNode& n) {
  if (n.isMapping()) return "an object";
  if (n.isSequence()) return "a list";
  return n.value;
}

// --- Paths -------------------------------------------------------------------------------

struct Resolved {
  std::vector<Hit> found;  // non-null values, in document order
  Hit deepest;             // the deepest existing node on the way (for "missing" findings)
  size_t depth = 0;
};

// Depth-first over the values `p` reaches from `n`. `path` is the concrete path so far, grown
// and shrunk in place; with `paths` false (a yes/no question, no message to write) it is not
// built at all, which is most of the cost on large configurations.
void walk(const YamlNode& n, std::string& path, const FieldPath& p, size_t step, bool paths,
          Resolved* r) {
  if (r->deepest.node == nullptr || step > r->depth) {
    r->deepest = Hit{&n, path, {}};
    r->depth = step;
  }
  if (step == p.steps.size()) {
    if (!n.isNull()) r->found.push_back(Hit{&n, path, paths ? valueText(n) : std::string()});
    return;
  }
  size_t mark = path.size();
  auto into = [&](const YamlNode& next, const std::string* key, size_t index) {
    if (paths) {
      if (key != nullptr)
        appendPathKey(&path, *key);
      else
        appendPathIndex(&path, index);
    }
    walk(next, path, p, step + 1, paths, r);
    path.resize(mark);
  };
  const FieldPath::Step& s = p.steps[step];
  switch (s.type) {
    case FieldPath::Step::Type::kKey:
      if (n.isMapping()) {
        for (const YamlNode::Entry& e : n.entries)
          if (e.key.value == s.key && !e.value.isNull()) into(e.value, &e.key.value, 0);
      }
      break;
    case FieldPath::Step::Type::kIndex:
      if (n.isSequence() && s.index < n.items.size() && !n.items[s.index].isNull())
        into(n.items[s.index], nullptr, s.index);
      break;
    case FieldPath::Step::Type::kAny:
      if (n.isSequence()) {
        for (size_t i = 0; i < n.items.size(); ++i)
          if (!n.items[i].isNull()) into(n.items[i], nullptr, i);
      } else if (n.isMapping()) {
        for (const YamlNode::Entry& e : n.entries)
          if (!e.value.isNull()) into(e.value, &e.key.value, 0);
      }
      break;
  }
}

Resolved resolve(const YamlNode& base, const std::string& basePath, const FieldPath& p,
                 bool paths = true) {
  Resolved r;
  std::string path = paths ? basePath : std::string();
  walk(base, path, p, 0, paths, &r);
  return r;
}

// --- Values ------------------------------------------------------------------------------

bool numberOf(const YamlNode& n, double* out) {
  if (!n.isScalar()) return false;
  YamlNode::ScalarType t = n.scalarType();
  if (t == YamlNode::ScalarType::kInt) {
    int64_t i = 0;
    if (n.toInt(&i)) {
      *out = static_cast<double>(i);
      return true;
    }
  }
  if (t == YamlNode::ScalarType::kInt || t == YamlNode::ScalarType::kFloat) {
    char* end = nullptr;
    *out = strtod(n.value.c_str(), &end);
    return end != n.value.c_str();
  }
  return false;
}

// Scalars are equal when both are numbers of the same value, both booleans of the same value,
// or otherwise when their text is the same: a rule's `8080` matches `port: 8080` and
// `port: "8080"` alike.
bool scalarEquals(const YamlNode& a, const YamlNode& b) {
  if (!a.isScalar() || !b.isScalar()) return false;
  double x = 0, y = 0;
  if (numberOf(a, &x) && numberOf(b, &y)) return x == y;
  bool p = false, q = false;
  if (a.toBool(&p) && b.toBool(&q)) return p == q;
  return a.value == b.value;
}

std::vector<const YamlNode*> operandsOf(const RuleCondition& c, const Scope& scope) {
  std::vector<const YamlNode*> out;
  if (!c.selected) {
    for (const YamlNode& v : c.values) out.push_back(&v);
    return out;
  }
  if (scope.selected == nullptr) return out;
  if (scope.selectedValues != nullptr) {
    for (const auto& [path, values] : *scope.selectedValues)
      if (path == &*c.selected) return values;
  }
  Resolved r = resolve(scope.selected->root, "", *c.selected, false);
  for (const Hit& h : r.found)
    if (h.node->isScalar()) out.push_back(h.node);
  if (scope.selectedValues != nullptr) scope.selectedValues->emplace_back(&*c.selected, out);
  return out;
}

bool testValue(const RuleCondition& c, const YamlNode& n, const Scope& scope) {
  switch (c.op) {
    case Op::kEquals:
    case Op::kIn:
    case Op::kNotIn: {
      if (!n.isScalar()) return false;
      bool any = false;
      for (const YamlNode* v : operandsOf(c, scope)) any = any || scalarEquals(n, *v);
      return c.op == Op::kNotIn ? !any : any;
    }
    case Op::kMatches:
      return n.isScalar() && re2::RE2::FullMatch(n.value, *c.regex);
    case Op::kLike:
      return n.isScalar() && globMatch(c.operand, n.value);
    case Op::kGte:
    case Op::kLte: {
      double v = 0;
      if (c.durationBound) {
        uint64_t ms = 0;
        if (!n.isScalar() || !str::parseDuration(n.value, &ms)) return false;
        v = static_cast<double>(ms);
      } else if (!numberOf(n, &v)) {
        return false;
      }
      return c.op == Op::kGte ? v >= c.bound : v <= c.bound;
    }
    default:
      return false;
  }
}

// --- Conditions --------------------------------------------------------------------------

bool evaluate(const RuleCondition& c, const YamlNode& base, const std::string& basePath,
              const Scope& scope, std::vector<Hit>* hits, Failure* failure);

const std::string kNoPath;

// "$.metadata.name" as a path from the root: "metadata.name".
std::string rootedText(const FieldPath& p) {
  std::string_view t = p.text;
  if (!t.empty() && t[0] == '$') t.remove_prefix(1);
  if (!t.empty() && t[0] == '.') t.remove_prefix(1);
  return std::string(t);
}

bool holds(const RuleCondition& c, const YamlNode& base, const std::string& basePath,
           const Scope& scope) {
  std::vector<Hit> hits;
  Failure f;
  Scope quiet = scope;
  quiet.paths = false;
  return evaluate(c, base, basePath, quiet, &hits, &f);
}

bool evaluate(const RuleCondition& c, const YamlNode& base, const std::string& basePath,
              const Scope& scope, std::vector<Hit>* hits, Failure* failure) {
  size_t before = hits->size();
  // "$." paths start at the resource's root wherever the condition sits.
  bool rooted = c.path.fromRoot && scope.root != nullptr;
  const YamlNode& start = rooted ? *scope.root : base;
  const std::string& startPath = rooted ? kNoPath : basePath;
  std::string full =
      scope.paths ? joinPaths(startPath, rooted ? rootedText(c.path) : c.path.text) : "";
  auto missingAt = [&](const Resolved& r) { *failure = Failure{r.deepest.node, full, {}, true}; };
  auto wrongAt = [&](const Hit& h) { *failure = Failure{h.node, h.path, h.found, false}; };

  if (c.op == Op::kAnyOf) {
    bool first = true;
    for (const RuleCondition& sub : c.conditions) {
      std::vector<Hit> subHits;
      Failure f;
      evaluate(sub, start, startPath, scope, &subHits, &f);
      if (first) *failure = f;
      first = false;
      for (Hit& h : subHits) {
        bool seen = false;
        for (size_t i = before; i < hits->size(); ++i)
          seen = seen || ((*hits)[i].node == h.node && (*hits)[i].path == h.path);
        if (!seen) hits->push_back(std::move(h));
      }
    }
    return hits->size() > before;
  }
  if (c.op == Op::kAllOf) {
    std::vector<Hit> first;
    for (size_t i = 0; i < c.conditions.size(); ++i) {
      std::vector<Hit> subHits;
      if (!evaluate(c.conditions[i], start, startPath, scope, &subHits, failure)) return false;
      if (i == 0) first = std::move(subHits);
    }
    // Where a forbidden group is shown: at what its first condition found.
    for (Hit& h : first) hits->push_back(std::move(h));
    return true;
  }

  Resolved r = resolve(start, startPath, c.path, scope.paths);
  switch (c.op) {
    case Op::kExists:
      for (Hit& h : r.found) hits->push_back(std::move(h));
      if (hits->size() == before) missingAt(r);
      break;
    case Op::kAbsent:
      if (r.found.empty()) {
        hits->push_back(Hit{r.deepest.node, full, {}});
      } else {
        wrongAt(r.found.front());
      }
      break;
    case Op::kWhere:
      for (const Hit& h : r.found) {
        bool all = true;
        for (const RuleCondition& sub : c.conditions)
          if (all && !holds(sub, *h.node, h.path, scope)) all = false;
        if (all) hits->push_back(h);
      }
      if (hits->size() == before) {
        if (r.found.empty())
          missingAt(r);
        else
          wrongAt(r.found.front());
      }
      break;
    default:  // value operators
      for (const Hit& h : r.found)
        if (testValue(c, *h.node, scope)) hits->push_back(h);
      if (r.found.empty() && c.defaultValue && testValue(c, *c.defaultValue, scope))
        hits->push_back(Hit{r.deepest.node, full, c.defaultValue->value, true});
      if (hits->size() == before) {
        if (r.found.empty()) {
          missingAt(r);
          if (c.defaultValue) failure->found = c.defaultValue->value;
        } else {
          wrongAt(r.found.front());
        }
      }
      break;
  }
  return hits->size() > before;
}

// --- Messages ----------------------------------------------------------------------------

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

std::string operandList(const RuleCondition& c, bool oneOf) {
  if (c.selected) return "the selected resource's " + c.selected->text;
  std::string out;
  if (oneOf && c.values.size() > 1) out = "one of ";
  for (size_t i = 0; i < c.values.size(); ++i) {
    if (i) out += ", ";
    out += c.values[i].value;
  }
  return out;
}

std::string phrase(const RuleCondition& c, const std::string& basePath);

std::string phrases(const std::vector<RuleCondition>& cs, const std::string& basePath,
                    const char* sep) {
  std::string out;
  for (size_t i = 0; i < cs.size(); ++i) {
    if (i) out += sep;
    out += phrase(cs[i], basePath);
  }
  return out;
}

// The condition as a statement: "spec.action is ALLOW".
std::string phrase(const RuleCondition& c, const std::string& basePath) {
  std::string full = joinPaths(basePath, c.path.text);
  std::string subject = full.empty() ? "the value" : full;
  switch (c.op) {
    case Op::kExists:
      return subject + " is set";
    case Op::kAbsent:
      return subject + " is not set";
    case Op::kEquals:
      return subject + " is " + operandList(c, false);
    case Op::kIn:
      return subject + " is " + operandList(c, true);
    case Op::kNotIn:
      return subject + " is not " + operandList(c, true);
    case Op::kMatches:
      return subject + " matches " + quoted(c.operand);
    case Op::kLike:
      return subject + " is like " + quoted(c.operand);
    case Op::kGte:
      return subject + " >= " + c.operand;
    case Op::kLte:
      return subject + " <= " + c.operand;
    case Op::kWhere:
      return subject + " has an element where " + phrases(c.conditions, "", " and ");
    case Op::kAnyOf:
      return "(" + phrases(c.conditions, basePath, " or ") + ")";
    case Op::kAllOf:
      return "(" + phrases(c.conditions, basePath, " and ") + ")";
  }
  return subject;
}

std::string requireMessage(const RuleCondition& c, const Failure& f) {
  std::string was = f.missing ? (c.defaultValue ? " (not set; defaults to " + f.found + ")"
                                                : std::string(" (not set)"))
                              : " (is " + f.found + ")";
  switch (c.op) {
    case Op::kExists:
      return "is required";
    case Op::kAbsent:
      return "must not be set";
    case Op::kEquals:
      return "must be " + operandList(c, false) + was;
    case Op::kIn:
      return "must be " + operandList(c, true) + was;
    case Op::kNotIn:
      return "must not be " + operandList(c, true) + was;
    case Op::kMatches:
      return "must match " + quoted(c.operand) + was;
    case Op::kLike:
      return "must be like " + quoted(c.operand) + was;
    case Op::kGte:
      return "must be at least " + c.operand + was;
    case Op::kLte:
      return "must be at most " + c.operand + was;
    case Op::kWhere:
    case Op::kAnyOf:
    case Op::kAllOf:
      return "required: " + phrase(c, "");
  }
  return "required";
}

std::string forbidMessage(const RuleCondition& c, const Hit& h) {
  std::string is = h.defaulted       ? " (not set; defaults to " + h.found + ")"
                   : h.found.empty() ? ""
                                     : " (is " + h.found + ")";
  switch (c.op) {
    case Op::kExists:
      return "must not be set";
    case Op::kAbsent:
      return "is required";
    case Op::kEquals:
      return "must not be " + operandList(c, false) + (h.defaulted ? is : "");
    case Op::kIn:
      return "must not be " + operandList(c, true) + is;
    case Op::kNotIn:
      return "must be " + operandList(c, true) + is;
    case Op::kMatches:
      return "must not match " + quoted(c.operand) + is;
    case Op::kLike:
      return "must not be like " + quoted(c.operand) + is;
    case Op::kGte:
      return "must be less than " + c.operand + is;
    case Op::kLte:
      return "must be more than " + c.operand + is;
    // A hit is the element itself: say what is wrong with it.
    case Op::kWhere:
      return "forbidden: " + phrases(c.conditions, "", " and ");
    case Op::kAnyOf:
      return "forbidden: " + phrases(c.conditions, "", " or ");
    case Op::kAllOf:
      return "forbidden: " + phrases(c.conditions, "", " and ");
  }
  return "forbidden";
}

std::string kindsText(const std::vector<std::string>& kinds) {
  if (kinds.empty()) return "resource";
  std::string out;
  for (size_t i = 0; i < kinds.size(); ++i) {
    if (i) out += i + 1 == kinds.size() ? " or " : ", ";
    out += kinds[i];
  }
  return out;
}

std::string selectorText(const ResourceSelector& s) {
  std::string out = kindsText(s.kinds);
  auto list = [](const std::vector<std::string>& v) {
    std::string o;
    for (size_t i = 0; i < v.size(); ++i) o += (i ? ", " : "") + v[i];
    return o;
  };
  if (!s.names.empty()) out += " named " + list(s.names);
  if (!s.namespaces.empty()) out += " in namespace " + list(s.namespaces);
  return out;
}

// --- Rules -------------------------------------------------------------------------------

bool globsMatch(const std::vector<std::string>& globs, const std::string& s) {
  if (globs.empty()) return true;
  for (const std::string& g : globs)
    if (globMatch(g, s)) return true;
  return false;
}

bool identityMatches(const ResourceSelector& s, const ConfigDocument& d) {
  return globsMatch(s.kinds, d.kind) && globsMatch(s.namespaces, d.ns) &&
         globsMatch(s.names, d.name);
}

bool selectorMatches(const ResourceSelector& s, const ConfigDocument& d, const Scope& scope) {
  if (!identityMatches(s, d)) return false;
  Scope inDoc = scope;
  inDoc.root = &d.root;
  for (const RuleCondition& c : s.where)
    if (!holds(c, d.root, "", inDoc)) return false;
  return true;
}

class RuleRunner {
 public:
  RuleRunner(const std::vector<ConfigDocument>& docs, std::vector<Finding>* out)
      : docs_(docs), out_(out), rootNs_(rootNamespaceOf(docs)) {}

  void run(const BaselineRule& rule, Severity severity) {
    rule_ = &rule;
    severity_ = severity;
    if (!rule.onlyIf.empty()) {
      bool applies = false;
      for (const ResourceSelector& s : rule.onlyIf)
        for (const ConfigDocument& d : docs_) applies = applies || selectorMatches(s, d, {});
      if (!applies) return;
    }
    if (rule.select) {
      for (const ConfigDocument& d : docs_)
        if (selectorMatches(*rule.select, d, {})) checkResource(d);
    }
    if (rule.requireExists) checkExists(*rule.requireExists);
  }

 private:
  void add(const ConfigDocument* d, const YamlNode* at, std::string path, std::string message) {
    Finding f;
    f.severity = severity_;
    f.rule = rule_->name;
    if (d != nullptr) {
      f.kind = d->kind;
      f.ns = d->ns;
      f.name = d->name;
      f.loc = d->loc;
      if (at != nullptr && at->line > 0) {
        f.loc.line = at->line;
        f.loc.column = at->column;
      }
    }
    f.path = std::move(path);
    f.message = rule_->message.empty() ? std::move(message) : rule_->message;
    out_->push_back(std::move(f));
  }

  void requireAll(const ConfigDocument& d, const std::vector<RuleCondition>& conditions) {
    for (const RuleCondition& c : conditions) {
      std::vector<Hit> hits;
      Failure f;
      if (!evaluate(c, d.root, "", Scope{&d.root, nullptr}, &hits, &f))
        add(&d, f.node, f.path, requireMessage(c, f));
    }
  }

  void checkResource(const ConfigDocument& d) {
    requireAll(d, rule_->require);
    for (const RuleCondition& c : rule_->forbid) {
      std::vector<Hit> hits;
      Failure f;
      evaluate(c, d.root, "", Scope{&d.root, nullptr}, &hits, &f);
      for (const Hit& h : hits) add(&d, h.node, h.path, forbidMessage(c, h));
    }
    if (rule_->requireRelated) checkRelated(d, *rule_->requireRelated);
  }

  void checkRelated(const ConfigDocument& d, const RelatedAssertion& a) {
    Scope::SelectedValues cache;
    Scope scope;
    scope.selected = &d;
    scope.selectedValues = &cache;
    // Cheapest test first: kind and name globs, then the relation, then the conditions.
    for (const ConfigDocument& other : docs_) {
      if (&other == &d || !identityMatches(a.related, other)) continue;
      if (a.relation == Relation::kSelects && !selectsResource(other, d, rootNs_)) continue;
      if (a.relation == Relation::kSelectedBy && !selectsResource(d, other, rootNs_)) continue;
      if (!selectorMatches(a.related, other, scope)) continue;
      return;
    }
    std::string message = "no " + selectorText(a.related);
    if (a.relation == Relation::kSelects) message += " selects it";
    if (a.relation == Relation::kSelectedBy) message += " is selected by it";
    if (!a.related.where.empty()) message += " where " + phrases(a.related.where, "", " and ");
    const YamlNode* at = nullptr;
    std::string path;
    if (a.relation == Relation::kSelectedBy) {
      const YamlNode* spec = d.root.find("spec");
      at = spec != nullptr ? spec->find("selector") : nullptr;
      if (at != nullptr) path = "spec.selector";
    }
    add(&d, at, path, message);
  }

  void checkExists(const ResourceSelector& s) {
    std::vector<const ConfigDocument*> candidates;
    for (const ConfigDocument& d : docs_) {
      if (selectorMatches(s, d, {})) return;
      if (identityMatches(s, d)) candidates.push_back(&d);
    }
    // Resources of the kind exist but none satisfies the conditions: say what each lacks.
    for (const ConfigDocument* d : candidates) requireAll(*d, s.where);
    if (!candidates.empty()) return;
    Finding f;
    f.severity = severity_;
    f.rule = rule_->name;
    if (s.kinds.size() == 1) f.kind = s.kinds[0];
    f.loc = s.loc;
    std::string message = "no " + selectorText(s);
    if (!s.where.empty()) message += " where " + phrases(s.where, "", " and ");
    f.message = rule_->message.empty() ? message + " in this configuration" : rule_->message;
    out_->push_back(std::move(f));
  }

  const std::vector<ConfigDocument>& docs_;
  std::vector<Finding>* out_;
  std::string rootNs_;
  const BaselineRule* rule_ = nullptr;
  Severity severity_ = Severity::kError;
};

// Kubernetes label selector semantics for one matchExpressions item.
bool expressionMatches(const YamlNode& expr, const YamlNode* labels) {
  const YamlNode* key = expr.find("key");
  const YamlNode* op = expr.find("operator");
  if (key == nullptr || op == nullptr || !key->isScalar() || !op->isScalar()) return false;
  const YamlNode* value = labels != nullptr ? labels->find(key->value) : nullptr;
  bool has = value != nullptr && !value->isNull();
  auto inValues = [&]() {
    const YamlNode* values = expr.find("values");
    if (!has || values == nullptr || !values->isSequence()) return false;
    for (const YamlNode& v : values->items)
      if (v.isScalar() && v.value == value->value) return true;
    return false;
  };
  if (op->value == "In") return inValues();
  if (op->value == "NotIn") return !inValues();
  if (op->value == "Exists") return has;
  if (op->value == "DoesNotExist") return !has;
  return false;
}

}  // namespace

std::string Finding::format() const {
  std::string out = loc.file + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.column) +
                    ": " + severityName(severity) + ": " + rule + ": ";
  if (!kind.empty()) {
    out += kind;
    if (!name.empty()) out += " " + ns + "/" + name;
    out += ": ";
  }
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

std::string rootNamespaceOf(const std::vector<ConfigDocument>& docs) {
  for (const ConfigDocument& d : docs) {
    if (d.kind != "MeshConfig" || d.name != "default") continue;
    const YamlNode* spec = d.root.find("spec");
    const YamlNode* root = spec != nullptr ? spec->find("rootNamespace") : nullptr;
    if (root != nullptr && root->isScalar() && !root->isNull()) return root->value;
  }
  return "gatehouse-system";
}

bool selectsResource(const ConfigDocument& selector, const ConfigDocument& target,
                     const std::string& rootNs) {
  const YamlNode* spec = selector.root.find("spec");
  if (spec != nullptr) {
    // A policy attached to a Listener (targetRef/targetRefs) applies at that listener, not to
    // workloads.
    for (const char* k : {"targetRef", "targetRefs"}) {
      const YamlNode* t = spec->find(k);
      if (t != nullptr && !t->isNull()) return false;
    }
  }
  if (selector.ns != target.ns && selector.ns != rootNs) return false;
  const YamlNode* sel = spec != nullptr ? spec->find("selector") : nullptr;
  if (sel == nullptr || sel->isNull()) return true;
  if (!sel->isMapping()) return false;
  const YamlNode* meta = target.root.find("metadata");
  const YamlNode* labels = meta != nullptr ? meta->find("labels") : nullptr;
  if (const YamlNode* ml = sel->find("matchLabels"); ml != nullptr && ml->isMapping()) {
    for (const YamlNode::Entry& e : ml->entries) {
      const YamlNode* v = labels != nullptr ? labels->find(e.key.value) : nullptr;
      if (v == nullptr || !v->isScalar() || v->value != e.value.value) return false;
    }
  }
  if (const YamlNode* me = sel->find("matchExpressions"); me != nullptr && me->isSequence()) {
    for (const YamlNode& expr : me->items)
      if (!expressionMatches(expr, labels)) return false;
  }
  return true;
}

std::vector<Finding> evaluateRules(const std::vector<BaselineRule>& rules,
                                   const std::vector<ConfigDocument>& docs) {
  std::vector<Finding> out;
  RuleRunner runner(docs, &out);
  for (const BaselineRule& r : rules) runner.run(r, r.severity);
  return out;
}

std::vector<Finding> checkPolicies(const std::vector<ConfigDocument>& docs,
                                   const Baseline* baseline) {
  std::vector<Finding> out;
  auto setting = [&](std::string_view rule, Severity def, bool* off) {
    *off = false;
    if (baseline == nullptr) return def;
    for (const LintSetting& s : baseline->lint) {
      if (s.rule != rule) continue;
      *off = s.off;
      def = s.severity;
    }
    return def;
  };
  RuleRunner runner(docs, &out);
  bool off = false;
  for (const BaselineRule& r : lintRules()) {
    Severity sev = setting(r.name, r.severity, &off);
    if (!off) runner.run(r, sev);
  }
  Severity tdSeverity = setting(kLintUnknownTrustDomain, Severity::kWarning, &off);
  if (!off) lintTrustDomains(docs, tdSeverity, &out);
  if (baseline != nullptr)
    for (const BaselineRule& r : baseline->rules) runner.run(r, r.severity);
  // Files in the order they were given (findings in the baseline file itself last), then by
  // position, as a compiler lists its diagnostics.
  std::vector<std::string> files;
  for (const ConfigDocument& d : docs)
    if (std::find(files.begin(), files.end(), d.loc.file) == files.end())
      files.push_back(d.loc.file);
  auto fileIndex = [&](const std::string& f) {
    return std::find(files.begin(), files.end(), f) - files.begin();
  };
  std::stable_sort(out.begin(), out.end(), [&](const Finding& a, const Finding& b) {
    if (a.loc.file != b.loc.file) {
      auto x = fileIndex(a.loc.file), y = fileIndex(b.loc.file);
      return x != y ? x < y : a.loc.file < b.loc.file;
    }
    if (a.loc.line != b.loc.line) return a.loc.line < b.loc.line;
    return a.loc.column < b.loc.column;
  });
  return out;
}

std::vector<FieldValue> fieldValues(const YamlNode& root, const FieldPath& path) {
  std::vector<FieldValue> out;
  for (Hit& h : resolve(root, "", path).found) out.push_back(FieldValue{h.node, std::move(h.path)});
  return out;
}

bool hasErrors(const std::vector<Finding>& findings) {
  for (const Finding& f : findings)
    if (f.severity == Severity::kError) return true;
  return false;
}

}  // namespace gh::config
