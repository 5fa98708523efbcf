// PathIndex: see path_index.h.

#include "core/route/path_index.h"

#include <algorithm>
#include <cassert>
#include <tuple>
#include <utility>

namespace gh::route {

namespace {

using config::PathMatchType;

// Characters of the configured path, for the Gateway API's "largest number of characters in a
// matching path". Only prefixes differ in this within one index key ("/foo/" and "/foo");
// exact paths in one key are equal, and regex lengths say nothing about specificity.
size_t configuredPrefixLength(const Candidate& c) {
  return c.match->path.type == PathMatchType::kPathPrefix ? c.match->path.value.size() : 0;
}

}  // namespace

bool Candidate::precedes(const Candidate& o) const {
  // Larger first for the path length and the condition counts, smaller first for the rest.
  const auto key = [](const Candidate& c) {
    return std::make_tuple(~configuredPrefixLength(c), !c.conditions.hasMethod(),
                           ~c.conditions.headerCount(), ~c.conditions.queryParamCount(),
                           c.routeRank, c.ruleIndex, c.matchIndex);
  };
  return key(*this) < key(o);
}

PathIndex::PathIndex(std::vector<const Candidate*> candidates) {
  std::vector<const Candidate*> exact;
  std::vector<const Candidate*> prefix;
  for (const Candidate* c : candidates) {
    switch (c->match->path.type) {
      case PathMatchType::kExact:
        exact.push_back(c);
        break;
      case PathMatchType::kPathPrefix:
        prefix.push_back(c);
        break;
      case PathMatchType::kRegularExpression:
        assert(c->pathRegex);
        regexes_.push_back(c);
        break;
    }
  }

  const auto byKeyThenPrecedence = [](const Candidate* a, const Candidate* b) {
    if (a->pathKey != b->pathKey) return a->pathKey < b->pathKey;
    return a->precedes(*b);
  };
  std::sort(exact.begin(), exact.end(), byKeyThenPrecedence);
  std::sort(prefix.begin(), prefix.end(), byKeyThenPrecedence);
  std::sort(regexes_.begin(), regexes_.end(),
            [](const Candidate* a, const Candidate* b) { return a->precedes(*b); });

  candidates_.reserve(exact.size() + prefix.size());
  // Appends the sorted `group` to candidates_ and returns one span per distinct key.
  const auto appendSpans = [this](const std::vector<const Candidate*>& group) {
    std::vector<std::pair<std::string_view, Span>> spans;
    for (size_t i = 0; i < group.size();) {
      size_t j = i + 1;
      while (j < group.size() && group[j]->pathKey == group[i]->pathKey) ++j;
      const auto begin = static_cast<uint32_t>(candidates_.size());
      candidates_.insert(candidates_.end(), group.begin() + i, group.begin() + j);
      spans.emplace_back(group[i]->pathKey, Span{begin, static_cast<uint32_t>(candidates_.size())});
      i = j;
    }
    return spans;
  };
  exact_ = StringIndex<Span>(appendSpans(exact));
  const auto prefixSpans = appendSpans(prefix);
  prefixes_ = StringIndex<Span>(prefixSpans);

  for (const auto& [key, span] : prefixSpans) {
    if (key.size() / 64 >= prefixLengths_.size()) prefixLengths_.resize(key.size() / 64 + 1);
    prefixLengths_[key.size() / 64] |= uint64_t{1} << (key.size() % 64);
  }
}

const Candidate* PathIndex::firstHolding(const Span& span, const Request& r) const {
  for (uint32_t i = span.begin; i < span.end; ++i) {
    const Candidate* c = candidates_[i];
    if (c->conditions.holds(r.method, r.headers, r.query)) return c;
  }
  return nullptr;
}

const Candidate* PathIndex::find(const Request& r) const {
  if (const Span* span = exact_.find(r.path)) {
    if (const Candidate* c = firstHolding(*span, r)) return c;
  }
  for (const Candidate* c : regexes_) {
    if (c->pathRegex->fullMatch(r.path) && c->conditions.holds(r.method, r.headers, r.query)) {
      return c;
    }
  }
  return prefixes_.empty() ? nullptr : findPrefix(r);
}

const Candidate* PathIndex::findPrefix(const Request& r) const {
  const std::string_view path = r.path;
  const auto probe = [&](size_t length) -> const Candidate* {
    if (!hasPrefixOfLength(length)) return nullptr;
    const Span* span = prefixes_.find(path.substr(0, length));
    return span ? firstHolding(*span, r) : nullptr;
  };

  // Keys never end in '/', so a path ending in '/' is first probed without it, below.
  if (!path.empty() && path.back() != '/') {
    if (const Candidate* c = probe(path.size())) return c;
  }
  for (size_t end = path.size(); end > 0;) {
    end = path.rfind('/', end - 1);
    if (end == std::string_view::npos || end == 0) break;
    if (const Candidate* c = probe(end)) return c;
  }
  return probe(0);  // the "/" prefix matches every path
}

}  // namespace gh::route
