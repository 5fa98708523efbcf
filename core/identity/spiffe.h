#pragma once
// SPIFFE IDs and the principal patterns of policies (spec/mesh.md "Identities").
//
// A SpiffeId is a parsed, validated `spiffe://<trust domain><path>` URI, held in its canonical
// text form. The rules are those of the SPIFFE ID standard, tightened where the standard is
// loose so that two spellings of one identity cannot exist (an identity is compared as a
// string in policies, logs and certificates):
//   - scheme exactly "spiffe" (lower case), then "://";
//   - trust domain: 1..255 characters of [a-z0-9.-_]; no upper case, no port, no user info;
//   - path: empty or "/" segments of [a-zA-Z0-9.-_], no empty segment, no "." or "..", no
//     trailing "/"; no query, no fragment, no percent-encoding; the whole URI at most 2048
//     bytes.
// A *workload* ID (the only kind Gatehouse issues) has the path /ns/<namespace>/sa/<account>.
//
// A PrincipalPattern is one entry of an AuthorizationPolicy's principal list, in any of the
// forms of spec/mesh.md:
//   `cluster.local/ns/prod/sa/web`          the Istio form: the ID without "spiffe://";
//   `spiffe://cluster.local/ns/prod/sa/web` the full URI (same meaning);
//   `web@cluster.local`                     account `web` in that trust domain, any namespace;
//   `*`                                     any authenticated peer;
//   `cluster.local/ns/prod/*`, `*/sa/web`   one `*` as prefix or suffix wildcard, as Istio
//                                           allows; in the `@` form each side may have one.
// A `*` anywhere else is refused when the pattern is parsed, so a typo cannot silently turn
// into "matches nothing". Everything here is pure: no I/O, no allocation while matching.

#include <string>
#include <string_view>

#include "core/base/status.h"

namespace gh::identity {

class SpiffeId {
 public:
  static constexpr size_t kMaxUriBytes = 2048;
  static constexpr size_t kMaxTrustDomainBytes = 255;

  SpiffeId() = default;

  // Parses and validates a URI; the message says which rule was broken.
  static Result<SpiffeId> parse(std::string_view uri);
  // spiffe://<trustDomain>/ns/<ns>/sa/<serviceAccount>, each part validated.
  static Result<SpiffeId> forWorkload(std::string_view trustDomain, std::string_view ns,
                                      std::string_view serviceAccount);

  const std::string& uri() const { return uri_; }  // canonical text, "spiffe://td/path"
  std::string_view trustDomain() const;
  std::string_view path() const;           // "" or "/..."
  std::string_view withoutScheme() const;  // "td/path": the Istio form
  // For workload IDs (/ns/X/sa/Y): the two names; empty views otherwise.
  bool isWorkload() const;
  std::string_view workloadNamespace() const;
  std::string_view serviceAccount() const;

  bool empty() const { return uri_.empty(); }
  bool operator==(const SpiffeId& o) const { return uri_ == o.uri_; }

 private:
  std::string uri_;
  size_t tdEnd_ = 0;  // offset in uri_ where the path starts
};

// Whether `td` is a valid trust domain name; *why says which rule it breaks.
bool validTrustDomain(std::string_view td, std::string* why = nullptr);
// Whether `s` is a valid single path segment (a namespace or a service account name).
bool validPathSegment(std::string_view s, std::string* why = nullptr);

class PrincipalPattern {
 public:
  static Result<PrincipalPattern> parse(std::string_view text);

  bool matches(const SpiffeId& id) const;
  const std::string& text() const { return text_; }  // as written, for messages

 private:
  enum class Form { kAny, kIstio, kAccountAt };
  // One string matched exactly, or by prefix (`abc*`) or suffix (`*abc`), or anything (`*`).
  struct Glob {
    enum Kind { kExact, kPrefix, kSuffix, kAny } kind = kExact;
    std::string text;
    bool matches(std::string_view s) const;
  };
  static Result<Glob> parseGlob(std::string_view s, std::string_view whole);

  std::string text_;
  Form form_ = Form::kAny;
  Glob id_;       // kIstio: matched against SpiffeId::withoutScheme()
  Glob account_;  // kAccountAt
  Glob domain_;   // kAccountAt
};

}  // namespace gh::identity
