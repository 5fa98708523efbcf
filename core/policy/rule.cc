// Compiling and matching one AuthorizationPolicy rule (rule.h).
//
// The matching mirrors what Istio generates for Envoy's RBAC filter: every list is an OR of
// its values, a `not*` list is NOT(OR of its values), the fields of a source/operation and
// the conditions of a rule are ANDed. Where a value is missing from the request (no peer, no
// source address, no such header), a positive field cannot match and its `not*` twin holds,
// as an Envoy matcher on an absent attribute is false and its negation true.

#include "core/policy/rule.h"

#include <algorithm>

#include "core/base/strings.h"

namespace gh::policy {

namespace {

template <typename T, typename F>
bool any(const std::vector<T>& values, F&& f) {
  return std::any_of(values.begin(), values.end(), f);
}

// A positive list holds when empty or some value matches; a negative one when none does.
template <typename T, typename F>
bool field(const std::vector<T>& values, const std::vector<T>& notValues, F&& f) {
  if (!values.empty() && !any(values, f)) return false;
  return notValues.empty() || !any(notValues, f);
}

bool principalMatches(const std::vector<identity::PrincipalPattern>& ps, MatchContext& c) {
  const identity::SpiffeId& id = c.peer();
  if (id.empty()) return false;
  for (const auto& p : ps)
    if (p.matches(id)) return true;
  return false;
}

bool principalField(const std::vector<identity::PrincipalPattern>& values,
                    const std::vector<identity::PrincipalPattern>& notValues, MatchContext& c) {
  if (!values.empty() && !principalMatches(values, c)) return false;
  return notValues.empty() || !principalMatches(notValues, c);
}

bool ipMatches(const std::vector<config::IpBlock>& blocks, const std::optional<IpAddress>& ip) {
  if (!ip) return false;
  for (const config::IpBlock& b : blocks)
    if (b.contains(*ip)) return true;
  return false;
}

bool ipField(const std::vector<config::IpBlock>& values,
             const std::vector<config::IpBlock>& notValues, const std::optional<IpAddress>& ip) {
  if (!values.empty() && !ipMatches(values, ip)) return false;
  return notValues.empty() || !ipMatches(notValues, ip);
}

// A string attribute that may be absent (no peer namespace, no SNI): absent matches nothing.
bool stringMatches(const std::vector<StringMatch>& ms, std::optional<std::string_view> v) {
  if (!v) return false;
  for (const StringMatch& m : ms)
    if (m.matches(*v)) return true;
  return false;
}

bool stringField(const std::vector<StringMatch>& values, const std::vector<StringMatch>& notValues,
                 std::optional<std::string_view> v) {
  if (!values.empty() && !stringMatches(values, v)) return false;
  return notValues.empty() || !stringMatches(notValues, v);
}

// A header condition: presence ("*") means the header is there, even empty.
bool headerMatches(const std::vector<StringMatch>& ms, std::optional<std::string_view> v) {
  if (!v) return false;
  for (const StringMatch& m : ms)
    if (m.kind == StringMatch::Kind::kPresent || m.matches(*v)) return true;
  return false;
}

bool portIn(const std::vector<uint16_t>& ports, uint16_t p) {
  return std::find(ports.begin(), ports.end(), p) != ports.end();
}

std::vector<StringMatch> strings(const std::vector<std::string>& values, bool ignoreCase = false) {
  std::vector<StringMatch> out;
  for (const std::string& v : values) out.push_back(StringMatch::parse(v, ignoreCase));
  return out;
}

Result<std::vector<identity::PrincipalPattern>> principals(const std::vector<std::string>& vs) {
  std::vector<identity::PrincipalPattern> out;
  for (const std::string& v : vs) {
    auto p = identity::PrincipalPattern::parse(v);
    if (!p.ok()) return p.status();
    out.push_back(std::move(*p));
  }
  return out;
}

Result<std::vector<config::IpBlock>> blocks(const std::vector<std::string>& vs) {
  std::vector<config::IpBlock> out;
  for (const std::string& v : vs) {
    config::IpBlock b;
    std::string why;
    if (!config::parseIpBlock(v, &b, &why)) return Status::error("\"" + v + "\": " + why);
    out.push_back(b);
  }
  return out;
}

Result<std::vector<uint16_t>> ports(const std::vector<std::string>& vs) {
  std::vector<uint16_t> out;
  for (const std::string& v : vs) {
    bool digits = !v.empty() && v.size() <= 5 && v.find_first_not_of("0123456789") == v.npos;
    int n = digits ? std::stoi(v) : 0;
    if (n < 1 || n > 65535) return Status::error("\"" + v + "\": not a port number");
    out.push_back(static_cast<uint16_t>(n));
  }
  return out;
}

#define GH_TRY_ASSIGN(dst, expr)          \
  do {                                    \
    auto r_ = (expr);                     \
    if (!r_.ok()) return r_.status();     \
    dst = std::move(*r_);                 \
  } while (0)

}  // namespace

StringMatch StringMatch::parse(std::string_view s, bool ignoreCase) {
  StringMatch m;
  m.ignoreCase = ignoreCase;
  if (s == "*") {
    m.kind = Kind::kPresent;
    return m;
  }
  if (!s.empty() && s.front() == '*') {
    m.kind = Kind::kSuffix;
    s.remove_prefix(1);
  } else if (!s.empty() && s.back() == '*') {
    m.kind = Kind::kPrefix;
    s.remove_suffix(1);
  }
  m.text = ignoreCase ? str::toLower(s) : std::string(s);
  return m;
}

bool StringMatch::matches(std::string_view s) const {
  auto eq = [this](std::string_view a, std::string_view b) {
    return ignoreCase ? str::iequals(a, b) : a == b;
  };
  switch (kind) {
    case Kind::kPresent:
      return !s.empty();
    case Kind::kExact:
      return eq(s, text);
    case Kind::kPrefix:
      return s.size() >= text.size() && eq(s.substr(0, text.size()), text);
    case Kind::kSuffix:
      return s.size() >= text.size() && eq(s.substr(s.size() - text.size()), text);
  }
  return false;
}

const identity::SpiffeId& MatchContext::peer() {
  if (!parsed_) {
    parsed_ = true;
    if (!request.principal.empty()) {
      auto id = identity::SpiffeId::parse(request.principal);
      if (id.ok()) peer_ = std::move(*id);
    }
  }
  return peer_;
}

std::string_view MatchContext::peerNamespace() {
  return peer().workloadNamespace();
}

std::optional<std::string_view> MatchContext::header(std::string_view lowerName) {
  const http::Header* first = nullptr;
  size_t count = 0;
  for (const http::Header& h : request.headers) {
    if (!str::iequals(h.name, lowerName)) continue;
    if (count++ == 0) first = &h;
  }
  if (count == 0) return std::nullopt;
  if (count == 1) return first->value;
  joined_.clear();
  for (const http::Header& h : request.headers) {
    if (!str::iequals(h.name, lowerName)) continue;
    if (!joined_.empty()) joined_ += ',';
    joined_ += h.value;
  }
  return std::string_view(joined_);
}

bool CompiledSource::matches(MatchContext& c) const {
  if (!principalField(principals, notPrincipals, c)) return false;
  if (!namespaces.empty() || !notNamespaces.empty()) {
    std::string_view ns = c.peerNamespace();
    std::optional<std::string_view> v;
    if (!ns.empty()) v = ns;
    if (!stringField(namespaces, notNamespaces, v)) return false;
  }
  if (!ipField(ipBlocks, notIpBlocks, c.request.sourceIp)) return false;
  return ipField(remoteIpBlocks, notRemoteIpBlocks, c.remoteIp());
}

bool CompiledOperation::matches(MatchContext& c) const {
  const Request& r = c.request;
  auto is = [](std::string_view v) { return [v](const StringMatch& m) { return m.matches(v); }; };
  if (!field(methods, notMethods, is(r.method))) return false;
  if (!field(paths, notPaths, is(r.path))) return false;
  if (!field(hosts, notHosts, is(r.host))) return false;
  if (!ports.empty() && !portIn(ports, r.port)) return false;
  return notPorts.empty() || !portIn(notPorts, r.port);
}

bool CompiledCondition::holds(MatchContext& c) const {
  switch (key) {
    case Key::kHeader: {
      std::optional<std::string_view> v = c.header(header);
      if (!values.empty() && !headerMatches(values, v)) return false;
      return notValues.empty() || !headerMatches(notValues, v);
    }
    case Key::kSourceIp:
      return ipField(ipValues, ipNotValues, c.request.sourceIp);
    case Key::kRemoteIp:
      return ipField(ipValues, ipNotValues, c.remoteIp());
    case Key::kSourcePrincipal:
      return principalField(principalValues, principalNotValues, c);
    case Key::kSourceNamespace: {
      std::string_view ns = c.peerNamespace();
      std::optional<std::string_view> v;
      if (!ns.empty()) v = ns;
      return stringField(values, notValues, v);
    }
    case Key::kDestinationPort:
      if (!portValues.empty() && !portIn(portValues, c.request.port)) return false;
      return portNotValues.empty() || !portIn(portNotValues, c.request.port);
    case Key::kSni: {
      std::optional<std::string_view> v;
      if (!c.request.sni.empty()) v = c.request.sni;
      return stringField(values, notValues, v);
    }
  }
  return false;
}

bool CompiledRule::matches(MatchContext& c) const {
  if (!from.empty() && !std::any_of(from.begin(), from.end(),
                                    [&](const CompiledSource& s) { return s.matches(c); }))
    return false;
  if (!to.empty() && !std::any_of(to.begin(), to.end(),
                                  [&](const CompiledOperation& o) { return o.matches(c); }))
    return false;
  for (const CompiledCondition& w : when)
    if (!w.holds(c)) return false;
  return true;
}

Result<CompiledRule> CompiledRule::compile(const config::AuthzRule& rule) {
  CompiledRule out;
  for (const config::AuthzSource& s : rule.from) {
    if (!s.requestPrincipals.empty() || !s.notRequestPrincipals.empty())
      return Status::error("requestPrincipals need JWT, which is not supported yet");
    CompiledSource c;
    GH_TRY_ASSIGN(c.principals, principals(s.principals));
    GH_TRY_ASSIGN(c.notPrincipals, principals(s.notPrincipals));
    c.namespaces = strings(s.namespaces);
    c.notNamespaces = strings(s.notNamespaces);
    GH_TRY_ASSIGN(c.ipBlocks, blocks(s.ipBlocks));
    GH_TRY_ASSIGN(c.notIpBlocks, blocks(s.notIpBlocks));
    GH_TRY_ASSIGN(c.remoteIpBlocks, blocks(s.remoteIpBlocks));
    GH_TRY_ASSIGN(c.notRemoteIpBlocks, blocks(s.notRemoteIpBlocks));
    out.from.push_back(std::move(c));
  }
  for (const config::AuthzOperation& o : rule.to) {
    CompiledOperation c;
    c.hosts = strings(o.hosts, true);
    c.notHosts = strings(o.notHosts, true);
    c.ports = o.ports;
    c.notPorts = o.notPorts;
    c.methods = strings(o.methods);
    c.notMethods = strings(o.notMethods);
    c.paths = strings(o.paths);
    c.notPaths = strings(o.notPaths);
    out.to.push_back(std::move(c));
  }
  for (const config::AuthzCondition& w : rule.when) {
    CompiledCondition c;
    const std::string& k = w.key;
    constexpr std::string_view kHeaders = "request.headers[";
    if (str::startsWith(k, kHeaders) && k.size() > kHeaders.size() + 1 && k.back() == ']') {
      c.key = CompiledCondition::Key::kHeader;
      c.header = str::toLower(std::string_view(k).substr(kHeaders.size(),
                                                         k.size() - kHeaders.size() - 1));
      c.values = strings(w.values);
      c.notValues = strings(w.notValues);
    } else if (k == "source.ip" || k == "remote.ip") {
      c.key = k == "source.ip" ? CompiledCondition::Key::kSourceIp
                               : CompiledCondition::Key::kRemoteIp;
      GH_TRY_ASSIGN(c.ipValues, blocks(w.values));
      GH_TRY_ASSIGN(c.ipNotValues, blocks(w.notValues));
    } else if (k == "source.principal") {
      c.key = CompiledCondition::Key::kSourcePrincipal;
      GH_TRY_ASSIGN(c.principalValues, principals(w.values));
      GH_TRY_ASSIGN(c.principalNotValues, principals(w.notValues));
    } else if (k == "source.namespace" || k == "connection.sni") {
      c.key = k == "source.namespace" ? CompiledCondition::Key::kSourceNamespace
                                      : CompiledCondition::Key::kSni;
      c.values = strings(w.values);
      c.notValues = strings(w.notValues);
    } else if (k == "destination.port") {
      c.key = CompiledCondition::Key::kDestinationPort;
      GH_TRY_ASSIGN(c.portValues, ports(w.values));
      GH_TRY_ASSIGN(c.portNotValues, ports(w.notValues));
    } else {
      return Status::error("when key \"" + k + "\" is not supported");
    }
    out.when.push_back(std::move(c));
  }
  return out;
}

}  // namespace gh::policy
