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

  std::sort(regexes_.begin(), regexes_.end(),
            [](const Candidate* a, const Candidate* b) { return a->precedes(*b); });

  // Groups each list by key, each group in precedence order. The order of the groups does not
  // matter (lookup reaches them by hash), so they are sorted by the key's hash first: keys like
  // "/api/v1/service-N" share long prefixes and comparing them would dominate the compile.
  using Keyed = std::pair<size_t, const Candidate*>;
  const auto groupByKey = [](const std::vector<const Candidate*>& list) {
    std::vector<Keyed> keyed;
    keyed.reserve(list.size());
    for (const Candidate* c : list)
      keyed.emplace_back(std::hash<std::string_view>{}(c->pathKey), c);
    std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
      if (a.first != b.first) return a.first < b.first;
      if (a.second->pathKey != b.second->pathKey) return a.second->pathKey < b.second->pathKey;
      return a.second->precedes(*b.second);
    });
    return keyed;
  };

  candidates_.reserve(exact.size() + prefix.size());
  // Appends the grouped candidates to candidates_ and returns one span per distinct key.
  const auto appendSpans = [this](const std::vector<Keyed>& grouped) {
    std::vector<std::pair<std::string_view, Span>> spans;
    for (size_t i = 0; i < grouped.size();) {
      const std::string_view key = grouped[i].second->pathKey;
      const auto begin = static_cast<uint32_t>(candidates_.size());
      for (; i < grouped.size() && grouped[i].second->pathKey == key; ++i) {
        candidates_.push_back(grouped[i].second);
      }
      spans.emplace_back(key, Span{begin, static_cast<uint32_t>(candidates_.size())});
    }
    return spans;
  };
  exact_ = StringIndex<Span>(appendSpans(groupByKey(exact)));
  const auto prefixSpans = appendSpans(groupByKey(prefix));
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
