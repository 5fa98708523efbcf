// Request conditions: see conditions.h for the contract and the matching choices.

#include "core/route/conditions.h"

#include <re2/re2.h>

#include <utility>

#include "core/base/strings.h"

namespace gh::route {

// --- Pattern ------------------------------------------------------------------------------

Pattern::Pattern() = default;
Pattern::Pattern(Pattern&&) noexcept = default;
Pattern& Pattern::operator=(Pattern&&) noexcept = default;
Pattern::~Pattern() = default;

Result<Pattern> Pattern::compile(std::string_view expression) {
  RE2::Options options;
  options.set_log_errors(false);  // the error goes back to the caller, not to stderr
  auto re =
      std::make_unique<const RE2>(re2::StringPiece(expression.data(), expression.size()), options);
  if (!re->ok()) return Status::error("invalid regular expression: " + re->error());
  Pattern p;
  p.re_ = std::move(re);
  return p;
}

bool Pattern::fullMatch(std::string_view text) const {
  return RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

// --- Query strings ------------------------------------------------------------------------

namespace query {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes the character at raw[*i] and advances *i past it (one byte, or three for a valid
// escape). A malformed escape is taken literally, one byte at a time.
char decodeNext(std::string_view raw, size_t* i) {
  const size_t at = *i;
  if (raw[at] == '%' && at + 2 < raw.size()) {
    const int hi = hexValue(raw[at + 1]);
    const int lo = hexValue(raw[at + 2]);
    if (hi >= 0 && lo >= 0) {
      *i = at + 3;
      return static_cast<char>(hi * 16 + lo);
    }
  }
  *i = at + 1;
  return raw[at];
}

// Decodes `raw` into out[0..raw.size()); returns the decoded length (never longer).
size_t decodeInto(std::string_view raw, char* out) {
  size_t n = 0;
  for (size_t i = 0; i < raw.size();) out[n++] = decodeNext(raw, &i);
  return n;
}

// A regex needs the decoded value as one contiguous text. Values that need decoding are
// decoded into a stack buffer; only a value longer than that falls back to a per-thread
// buffer, which grows to the longest such value seen and is then reused.
bool decodedFullMatch(const Pattern& pattern, std::string_view raw) {
  if (raw.find('%') == std::string_view::npos) return pattern.fullMatch(raw);
  char local[512];
  if (raw.size() <= sizeof(local)) return pattern.fullMatch({local, decodeInto(raw, local)});
  thread_local std::string scratch;
  if (scratch.size() < raw.size()) scratch.resize(raw.size());
  return pattern.fullMatch({scratch.data(), decodeInto(raw, scratch.data())});
}

}  // namespace

bool decodedEquals(std::string_view raw, std::string_view decoded) {
  if (raw.find('%') == std::string_view::npos) return raw == decoded;
  size_t j = 0;
  for (size_t i = 0; i < raw.size();) {
    if (j == decoded.size() || decodeNext(raw, &i) != decoded[j]) return false;
    ++j;
  }
  return j == decoded.size();
}

bool findFirst(std::string_view query, std::string_view name, std::string_view* rawValue) {
  size_t pos = 0;
  while (pos < query.size()) {
    size_t end = query.find('&', pos);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view param = query.substr(pos, end - pos);
    const size_t eq = param.find('=');
    if (!param.empty() && decodedEquals(param.substr(0, eq), name)) {
      *rawValue = eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
      return true;
    }
    pos = end + 1;
  }
  return false;
}

}  // namespace query

// --- Conditions ---------------------------------------------------------------------------

bool ValueCondition::valueMatches(std::string_view v) const {
  return regex ? regex->fullMatch(v) : v == value;
}

namespace {

using NameEquals = bool (*)(std::string_view, std::string_view);

bool exactEquals(std::string_view a, std::string_view b) {
  return a == b;
}

// Compiles headers[] or queryParams[] of a match, keeping only the first entry of each name.
Status compileValueConditions(const std::vector<config::NameValueMatch>& in, NameEquals same,
                              const char* field, std::vector<ValueCondition>* out,
                              config::SourceLoc* errorLoc) {
  for (size_t i = 0; i < in.size(); ++i) {
    const config::NameValueMatch& m = in[i];
    bool seen = false;
    for (const ValueCondition& c : *out) seen = seen || same(c.name, m.name);
    if (seen) continue;
    ValueCondition c;
    c.name = m.name;
    if (m.type == config::ValueMatchType::kRegularExpression) {
      Result<Pattern> p = Pattern::compile(m.value);
      if (!p.ok()) {
        *errorLoc = m.loc;
        return Status::error(std::string(field) + "[" + std::to_string(i) +
                             "].value: " + p.status().message());
      }
      c.regex.emplace(std::move(*p));
    } else {
      c.value = m.value;
    }
    out->push_back(std::move(c));
  }
  return okStatus();
}

}  // namespace

Result<RequestConditions> RequestConditions::compile(const config::RouteMatch& match,
                                                     config::SourceLoc* errorLoc) {
  RequestConditions rc;
  if (match.method) {
    rc.hasMethod_ = true;
    rc.method_ = *match.method;
  }
  Status s = compileValueConditions(match.headers, str::iequals, "headers", &rc.headers_, errorLoc);
  if (!s.ok()) return s;
  s = compileValueConditions(match.queryParams, exactEquals, "queryParams", &rc.queryParams_,
                             errorLoc);
  if (!s.ok()) return s;
  rc.unconditional_ = !rc.hasMethod_ && rc.headers_.empty() && rc.queryParams_.empty();
  return rc;
}

bool RequestConditions::headersHold(const std::vector<http::Header>* headers) const {
  for (const ValueCondition& c : headers_) {
    bool held = false;
    if (headers) {
      for (const http::Header& h : *headers) {
        if (str::iequals(h.name, c.name) && c.valueMatches(h.value)) {
          held = true;
          break;
        }
      }
    }
    if (!held) return false;
  }
  return true;
}

bool RequestConditions::queryHolds(std::string_view queryString) const {
  for (const ValueCondition& c : queryParams_) {
    std::string_view raw;
    if (!query::findFirst(queryString, c.name, &raw)) return false;
    const bool held =
        c.regex ? query::decodedFullMatch(*c.regex, raw) : query::decodedEquals(raw, c.value);
    if (!held) return false;
  }
  return true;
}

}  // namespace gh::route
