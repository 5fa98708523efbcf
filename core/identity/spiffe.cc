#include "core/identity/spiffe.h"

namespace gh::identity {
namespace {

constexpr std::string_view kScheme = "spiffe://";

bool tdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

bool segmentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

bool fail(std::string* why, const char* text) {
  if (why) *why = text;
  return false;
}

}  // namespace

bool validTrustDomain(std::string_view td, std::string* why) {
  if (td.empty()) return fail(why, "trust domain is empty");
  if (td.size() > SpiffeId::kMaxTrustDomainBytes)
    return fail(why, "trust domain is longer than 255 characters");
  for (char c : td) {
    if (c >= 'A' && c <= 'Z') return fail(why, "trust domain must be lower case");
    if (c == ':') return fail(why, "trust domain must not have a port");
    if (c == '@') return fail(why, "trust domain must not have user info");
    if (!tdChar(c)) return fail(why, "trust domain may only hold a-z, 0-9, '.', '-' and '_'");
  }
  return true;
}

bool validPathSegment(std::string_view s, std::string* why) {
  if (s.empty()) return fail(why, "path has an empty segment");
  if (s == "." || s == "..") return fail(why, "path has a '.' or '..' segment");
  for (char c : s)
    if (!segmentChar(c))
      return fail(why, "path segments may only hold a-z, A-Z, 0-9, '.', '-' and '_'");
  return true;
}

Result<SpiffeId> SpiffeId::parse(std::string_view uri) {
  auto bad = [&](const std::string& why) {
    return Status::error("SPIFFE ID \"" + std::string(uri.substr(0, 120)) + "\": " + why);
  };
  if (uri.size() > kMaxUriBytes) return bad("longer than 2048 bytes");
  if (uri.substr(0, kScheme.size()) != kScheme) return bad("must start with spiffe://");
  std::string_view rest = uri.substr(kScheme.size());
  for (char c : rest) {
    if (c == '?' || c == '#') return bad("must not have a query or fragment");
    if (c == '%') return bad("must not be percent-encoded");
  }
  size_t slash = rest.find('/');
  std::string_view td = rest.substr(0, slash);
  std::string why;
  if (!validTrustDomain(td, &why)) return bad(why);
  if (slash != std::string_view::npos) {
    std::string_view path = rest.substr(slash);
    if (path == "/") return bad("path must not end with '/'");
    size_t pos = 1;
    while (true) {
      size_t next = path.find('/', pos);
      std::string_view segment =
          path.substr(pos, next == std::string_view::npos ? path.npos : next - pos);
      if (segment.empty() && next == std::string_view::npos)
        return bad("path must not end with '/'");
      if (!validPathSegment(segment, &why)) return bad(why);
      if (next == std::string_view::npos) break;
      pos = next + 1;
    }
  }
  SpiffeId id;
  id.uri_ = std::string(uri);
  id.tdEnd_ = kScheme.size() + td.size();
  return id;
}

Result<SpiffeId> SpiffeId::forWorkload(std::string_view trustDomain, std::string_view ns,
                                       std::string_view serviceAccount) {
  std::string why;
  if (!validTrustDomain(trustDomain, &why)) return Status::error(why);
  if (!validPathSegment(ns, &why))
    return Status::error("namespace \"" + std::string(ns) + "\": not a valid name");
  if (!validPathSegment(serviceAccount, &why))
    return Status::error("workload \"" + std::string(serviceAccount) + "\": not a valid name");
  return parse(std::string(kScheme) + std::string(trustDomain) + "/ns/" + std::string(ns) + "/sa/" +
               std::string(serviceAccount));
}

std::string_view SpiffeId::trustDomain() const {
  if (uri_.empty()) return {};
  return std::string_view(uri_).substr(kScheme.size(), tdEnd_ - kScheme.size());
}

std::string_view SpiffeId::path() const {
  return std::string_view(uri_).substr(tdEnd_);
}

std::string_view SpiffeId::withoutScheme() const {
  if (uri_.empty()) return {};
  return std::string_view(uri_).substr(kScheme.size());
}

// /ns/<ns>/sa/<sa>: exactly four segments, the first and third fixed.
bool SpiffeId::isWorkload() const {
  return !workloadNamespace().empty();
}

std::string_view SpiffeId::workloadNamespace() const {
  std::string_view p = path();
  if (p.substr(0, 4) != "/ns/") return {};
  size_t end = p.find('/', 4);
  if (end == std::string_view::npos || end == 4) return {};
  std::string_view tail = p.substr(end);
  if (tail.substr(0, 4) != "/sa/" || tail.size() == 4) return {};
  if (tail.find('/', 4) != std::string_view::npos) return {};
  return p.substr(4, end - 4);
}

std::string_view SpiffeId::serviceAccount() const {
  std::string_view ns = workloadNamespace();
  if (ns.empty()) return {};
  return path().substr(4 + ns.size() + 4);
}

// --- patterns ---------------------------------------------------------------------------------

bool PrincipalPattern::Glob::matches(std::string_view s) const {
  switch (kind) {
    case kAny:
      return true;
    case kExact:
      return s == text;
    case kPrefix:
      return s.substr(0, text.size()) == text;
    case kSuffix:
      return s.size() >= text.size() && s.substr(s.size() - text.size()) == text;
  }
  return false;
}

Result<PrincipalPattern::Glob> PrincipalPattern::parseGlob(std::string_view s,
                                                           std::string_view whole) {
  Glob g;
  if (s == "*") {
    g.kind = Glob::kAny;
    return g;
  }
  size_t star = s.find('*');
  if (star == std::string_view::npos) {
    g.text = std::string(s);
    return g;
  }
  if (s.find('*', star + 1) != std::string_view::npos || (star != 0 && star != s.size() - 1))
    return Status::error("principal \"" + std::string(whole) +
                         "\": '*' may only be a prefix or suffix wildcard, once");
  g.kind = star == 0 ? Glob::kSuffix : Glob::kPrefix;
  g.text = std::string(star == 0 ? s.substr(1) : s.substr(0, s.size() - 1));
  return g;
}

Result<PrincipalPattern> PrincipalPattern::parse(std::string_view text) {
  PrincipalPattern p;
  p.text_ = std::string(text);
  auto bad = [&](const std::string& why) {
    return Status::error("principal \"" + std::string(text) + "\": " + why);
  };
  if (text.empty()) return bad("is empty");
  for (char c : text)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
      return bad("has a space or control character");
  if (text == "*") {
    p.form_ = Form::kAny;
    return p;
  }
  if (size_t at = text.find('@'); at != std::string_view::npos) {
    if (text.find('@', at + 1) != std::string_view::npos) return bad("has more than one '@'");
    auto account = parseGlob(text.substr(0, at), text);
    auto domain = parseGlob(text.substr(at + 1), text);
    if (!account.ok()) return account.status();
    if (!domain.ok()) return domain.status();
    std::string why;
    if (account->kind == Glob::kExact && !validPathSegment(account->text, &why))
      return bad("account: " + why);
    if (domain->kind == Glob::kExact && !validTrustDomain(domain->text, &why)) return bad(why);
    p.form_ = Form::kAccountAt;
    p.account_ = std::move(*account);
    p.domain_ = std::move(*domain);
    return p;
  }
  std::string_view body = text;
  if (body.substr(0, kScheme.size()) == kScheme) body = body.substr(kScheme.size());
  if (body.find("://") != std::string_view::npos) return bad("only spiffe:// URIs name identities");
  auto glob = parseGlob(body, text);
  if (!glob.ok()) return glob.status();
  if (glob->kind == Glob::kExact) {
    // A pattern with no wildcard names one identity: it must be a valid one.
    auto id = SpiffeId::parse(std::string(kScheme) + glob->text);
    if (!id.ok()) return bad(id.status().message());
  }
  p.form_ = Form::kIstio;
  p.id_ = std::move(*glob);
  return p;
}

bool PrincipalPattern::matches(const SpiffeId& id) const {
  if (id.empty()) return false;  // no identity: only an authenticated peer has a principal
  switch (form_) {
    case Form::kAny:
      return true;
    case Form::kIstio:
      return id_.matches(id.withoutScheme());
    case Form::kAccountAt:
      return id.isWorkload() && account_.matches(id.serviceAccount()) &&
             domain_.matches(id.trustDomain());
  }
  return false;
}

}  // namespace gh::identity
