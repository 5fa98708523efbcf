#pragma once
// PathIndex: the candidates of one host entry, indexed by path so that a lookup touches only
// the candidates whose path can match, never the whole list.
//
// A Candidate is one RouteMatch of one rule (a rule with three matches is three candidates,
// and a route listing two hostnames puts its candidates under both). The index sorts them
// once, at compile time, in the order lookup must try them (route_table.h gives the rules):
//
//   exact      path -> [candidates]        one hash probe of the request path
//   regex      [candidates]                tried in order; each a full match of the path
//   prefix     key  -> [candidates]        one probe per '/' boundary, longest first
//
// Each [candidates] list is sorted by precedence (Candidate::precedes), so lookup returns the
// first candidate of the first list whose conditions hold.
//
// Prefix keys: Gateway API prefixes match whole path elements and ignore a trailing '/', so a
// configured prefix is keyed with its trailing slashes removed ("/foo/" and "/foo" are both
// "/foo", "/" is ""), and a request path is probed at the keys it could be matched by: the
// whole path (unless it ends in '/'), then the path up to each '/' from right to left, and
// last the empty key. "/foo/bar" probes "/foo/bar", "/foo", ""; "/foobar" never probes
// "/foo". Lengths that no key has are skipped without hashing (a bitmap of key lengths).
//
// Immutable once built; safe for concurrent lookups. Lookup allocates nothing. The index
// holds pointers to candidates (and through them to rules and matches) owned by the
// RouteTable, which outlive it.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/config/model.h"
#include "core/route/conditions.h"
#include "core/route/route_table.h"
#include "core/route/string_index.h"

namespace gh::route {

struct Candidate {
  const Rule* rule = nullptr;
  const config::RouteMatch* match = nullptr;
  RequestConditions conditions;
  std::optional<Pattern> pathRegex;  // RegularExpression paths only
  std::string_view pathKey;  // index key: the exact path, or the prefix without trailing '/'

  // Precedence within one path-specificity level, from route_table.h. Precomputed at compile
  // time: `routeRank` is the route's position in "namespace/name" order.
  uint32_t routeRank = 0;
  uint32_t ruleIndex = 0;
  uint32_t matchIndex = 0;

  // Whether this candidate is tried before `other` when both reach the same path level.
  bool precedes(const Candidate& other) const;
};

class PathIndex {
 public:
  // `candidates` in any order; their pathKey must be set.
  explicit PathIndex(std::vector<const Candidate*> candidates);

  // The first candidate, in precedence order, whose path and conditions hold; nullptr if none.
  const Candidate* find(const Request& request) const;

 private:
  struct Span {  // candidates_[begin, end): one path's candidates in precedence order
    uint32_t begin = 0;
    uint32_t end = 0;
  };

  const Candidate* firstHolding(const Span& span, const Request& request) const;
  const Candidate* findPrefix(const Request& request) const;
  bool hasPrefixOfLength(size_t length) const {
    return length < prefixLengths_.size() * 64 &&
           ((prefixLengths_[length / 64] >> (length % 64)) & 1) != 0;
  }

  std::vector<const Candidate*> candidates_;  // exact spans, then prefix spans
  StringIndex<Span> exact_;
  StringIndex<Span> prefixes_;
  std::vector<const Candidate*> regexes_;  // in precedence order
  std::vector<uint64_t> prefixLengths_;    // bit n set: some prefix key has length n
};

}  // namespace gh::route
