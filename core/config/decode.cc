// Decoding resource documents into typed Resources (decode.h).
//
// How a file is decoded
// ---------------------
// YamlReader (yaml_tree.h) hands over one document at a time as a tree of positioned nodes.
// The tree is walked once by the hand-written decoders below, one function per object of the
// schema, in the order the schema lists its fields. Each mapping is wrapped in a FieldReader
// (yaml_fields.h): a decoder asks it for the fields it knows, and whatever it did not ask for
// is an unknown field. A problem is recorded with the node it concerns and the field path,
// and decoding carries on with the next field, so one run reports every error of every
// document. Nothing a decoder produces is used unless the whole call is error-free.
//
// Fields of the upstream schemas (Gateway API, Istio) that this build cannot honour yet are
// named explicitly and refused with "is not supported yet", so a user can tell "you misspelt
// it" from "we don't do that yet". What is accepted is enforced: nothing is silently ignored,
// with one documented exception (backendRefs[].port, which a Service's endpoints make moot).
//
// The canonical form
// ------------------
// A document that decodes cleanly is stored as canonical JSON made from the same tree: null
// entries dropped, scalars written by their type (so 0x1F90 becomes 8080, True becomes true),
// the envelope in the fixed order apiVersion, kind, metadata (name, namespace, labels,
// annotations), spec, and every other mapping in byte order of its keys. It keeps exactly the
// fields the user wrote (defaults are not filled in), so `get -o yaml` shows the user's
// configuration, and decoding it again gives an equal Resource and the same JSON.
//
// A document may also be a Kubernetes List (apiVersion v1, kind List, items), as `get -o json`
// and kubectl print several resources; each item is then decoded as a document of its own.
//
// A Resource built in code has no JSON; canonicalJson() then encodes the typed fields, all
// of them explicitly. That form is also canonical in the sense above: it decodes to the same
// Resource.

#include "core/config/decode.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "core/base/strings.h"
#include "core/config/ip_block.h"
#include "core/config/yaml_fields.h"
#include "core/config/yaml_tree.h"
#include "core/config/yaml_write.h"
#include "core/identity/spiffe.h"

namespace gh::config {

namespace {

// --- Limits ------------------------------------------------------------------------------
// They bound the memory a hostile or runaway file can take. Where the Gateway API sets a
// limit we use it, except for rules per route and matches per rule: generated configurations
// with thousands of rules are legitimate here.

constexpr size_t kMaxFileBytes = kMaxConfigFileBytes;
constexpr size_t kMaxParentRefs = 32;
constexpr size_t kMaxHostnames = 16;
constexpr size_t kMaxRules = 10'000;
constexpr size_t kMaxMatches = 1'000;
constexpr size_t kMaxValueMatches = 16;  // headers[] and queryParams[] of one match
constexpr size_t kMaxFilters = 16;
constexpr size_t kMaxBackendRefs = 16;
constexpr size_t kMaxHeaderEdits = 16;  // set[], add[] and remove[] of a header modifier
constexpr size_t kMaxEndpoints = 10'000;
constexpr size_t kMaxPathLength = 1024;
constexpr size_t kMaxHeaderNameLength = 256;
constexpr size_t kMaxHeaderValueLength = 4096;
constexpr size_t kMaxDirectBodyBytes = 1u << 20;
constexpr int64_t kMaxWeight = 1'000'000;

constexpr int64_t kKiB = 1024;
constexpr int64_t kMiB = 1024 * kKiB;
constexpr uint64_t kSecond = 1000;
constexpr uint64_t kHour = 3600 * kSecond;
constexpr uint64_t kNoLimit = UINT64_MAX;

constexpr std::string_view kGatehouseV1 = "gatehouse.dev/v1";
constexpr std::string_view kGatewayV1 = "gateway.networking.k8s.io/v1";
constexpr std::string_view kGatewayV1beta1 = "gateway.networking.k8s.io/v1beta1";
constexpr std::string_view kIstioSecurityV1 = "security.istio.io/v1";
constexpr std::string_view kIstioSecurityV1beta1 = "security.istio.io/v1beta1";

struct KindInfo {
  std::string_view name;
  Kind kind;
  std::array<std::string_view, 2> apiVersions;  // the first is the one we write
};

constexpr KindInfo kKinds[] = {
    {"Listener", Kind::kListener, {kGatehouseV1, {}}},
    {"HTTPRoute", Kind::kHttpRoute, {kGatewayV1, kGatewayV1beta1}},
    {"Service", Kind::kService, {kGatehouseV1, {}}},
    {"Workload", Kind::kWorkload, {kGatehouseV1, {}}},
    {"MeshConfig", Kind::kMeshConfig, {kGatehouseV1, {}}},
    {"AuthorizationPolicy", Kind::kAuthorizationPolicy, {kIstioSecurityV1, kIstioSecurityV1beta1}},
    {"LuaScript", Kind::kLuaScript, {kGatehouseV1, {}}},
    {"RateLimit", Kind::kRateLimit, {kGatehouseV1, {}}},
    {"EgressPolicy", Kind::kEgressPolicy, {kGatehouseV1, {}}},
};

const KindInfo* findKind(std::string_view name) {
  for (const KindInfo& k : kKinds)
    if (k.name == name) return &k;
  return nullptr;
}

const KindInfo& kindInfo(Kind kind) {
  for (const KindInfo& k : kKinds)
    if (k.kind == kind) return k;
  return kKinds[0];
}

constexpr std::string_view kProtocols[] = {"HTTP", "HTTPS", "MESH_INBOUND", "MESH_OUTBOUND"};
constexpr std::string_view kTlsVersions[] = {"TLS1_2", "TLS1_3"};
constexpr std::string_view kMtlsModes[] = {"STRICT", "PERMISSIVE"};
constexpr char kMeshConfigName[] = "default";
constexpr uint64_t kMinCertificateTtlMs = 10 * kSecond;
constexpr uint64_t kMaxCertificateTtlMs = 2160 * kHour;  // 90 days
constexpr size_t kMaxCertificates = 100;
constexpr size_t kMaxProviders = 100;  // MeshConfig extensionProviders
constexpr std::string_view kPathMatchTypes[] = {"Exact", "PathPrefix", "RegularExpression"};
constexpr std::string_view kValueMatchTypes[] = {"Exact", "RegularExpression"};
constexpr std::string_view kMethods[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                         "CONNECT", "OPTIONS", "TRACE", "PATCH"};
constexpr std::string_view kPathModifierTypes[] = {"ReplaceFullPath", "ReplacePrefixMatch"};
constexpr std::string_view kPathModifierFields[] = {"replaceFullPath", "replacePrefixMatch"};
constexpr std::string_view kSchemes[] = {"http", "https"};
constexpr int kRedirectCodes[] = {301, 302, 303, 307, 308};

// Gateway API filter types, and the field holding each one's configuration. The first five
// are FilterType in order; the rest are refused for now.
constexpr std::string_view kFilterTypes[] = {"RequestHeaderModifier",
                                             "ResponseHeaderModifier",
                                             "RequestRedirect",
                                             "URLRewrite",
                                             "RequestMirror",
                                             "ExtensionRef",
                                             "CORS",
                                             "ExternalAuth"};
constexpr std::string_view kFilterFields[] = {"requestHeaderModifier",
                                              "responseHeaderModifier",
                                              "requestRedirect",
                                              "urlRewrite",
                                              "requestMirror",
                                              "extensionRef",
                                              "cors",
                                              "externalAuth"};
constexpr int kSupportedFilterTypes = 5;
static_assert(std::size(kFilterTypes) == std::size(kFilterFields));

// --- Value rules -------------------------------------------------------------------------
// Each check returns an empty string when the value is acceptable, else what is wrong.

constexpr char kDnsNameRule[] =
    "must be a lower-case DNS name: letters, digits, '-' and '.', starting and ending with a "
    "letter or digit, at most 253 characters";
constexpr char kDnsLabelRule[] =
    "must be a lower-case DNS label: letters, digits and '-', starting and ending with a letter "
    "or digit, at most 63 characters";

bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool isAlnum(char c) {
  return isLowerAlnum(c) || (c >= 'A' && c <= 'Z');
}

bool isDnsLabel(std::string_view s, size_t maxLength) {
  if (s.empty() || s.size() > maxLength) return false;
  if (!isLowerAlnum(s.front()) || !isLowerAlnum(s.back())) return false;
  for (char c : s)
    if (!isLowerAlnum(c) && c != '-') return false;
  return true;
}

// Kubernetes' DNS-1123 subdomain: dot-separated labels, 253 characters in all. (Kubernetes
// does not hold each label to 63 characters here; RFC 1123 hostnames do, see checkHostname.)
bool isDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (std::string_view label : str::split(s, '.'))
    if (!isDnsLabel(label, 253)) return false;
  return true;
}

bool isIpLiteral(std::string_view s) {
  if (s.size() > INET6_ADDRSTRLEN) return false;
  std::string z(s);
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, z.c_str(), buf) == 1 || inet_pton(AF_INET6, z.c_str(), buf) == 1;
}

// A route or redirect hostname (Gateway API Hostname): an RFC 1123 name, lower-case, with
// "*." allowed in front when `wildcard`; never an IP address.
std::string checkHostname(std::string_view h, bool wildcard) {
  if (h.size() > 253) return "must be at most 253 characters";
  if (isIpLiteral(h)) return "must be a hostname, not an IP address";
  std::string_view rest = h;
  if (wildcard && str::startsWith(rest, "*.")) rest.remove_prefix(2);
  if (rest.find('*') != std::string_view::npos) {
    return wildcard ? "may contain '*' only as the whole first label, as in *.example.com"
                    : "must not contain a wildcard";
  }
  for (std::string_view label : str::split(rest, '.')) {
    if (!isDnsLabel(label, 63)) {
      return "must be a DNS hostname such as shop.example.com" +
             std::string(wildcard ? " or *.example.com" : "") +
             ": labels of letters, digits and '-', at most 63 characters each";
    }
  }
  return {};
}

bool isTchar(char c) {
  return isAlnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string checkHeaderName(std::string_view s) {
  if (s.empty()) return "must not be empty";
  if (s.size() > kMaxHeaderNameLength)
    return "must be at most " + std::to_string(kMaxHeaderNameLength) + " characters";
  for (char c : s)
    if (!isTchar(c)) return "must be an HTTP field name: letters, digits and !#$%&'*+-.^_`|~";
  return {};
}

// Header modifiers may not touch what frames the message or belongs to one hop: a filter that
// set Content-Length or added Transfer-Encoding would make the proxy emit two framings — the
// shape of a request-smuggling attack on the upstream (or of a desynchronised client).
std::string checkModifiableHeader(std::string_view s) {
  std::string bad = checkHeaderName(s);
  if (!bad.empty()) return bad;
  std::string n = str::toLower(s);
  static const std::string_view kReserved[] = {"content-length", "transfer-encoding", "connection",
                                               "keep-alive", "te", "trailer", "upgrade", "expect"};
  for (std::string_view r : kReserved)
    if (n == r) return "\"" + std::string(s) + "\" frames the message or belongs to one hop; " +
                       "header modifiers cannot change it";
  if (str::startsWith(n, "proxy-"))
    return "\"" + std::string(s) + "\" belongs to one hop; header modifiers cannot change it";
  return {};
}

std::string checkHeaderValue(std::string_view s) {
  if (s.empty()) return "must not be empty";
  if (s.size() > kMaxHeaderValueLength)
    return "must be at most " + std::to_string(kMaxHeaderValueLength) + " characters";
  if (s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
    return "must not contain CR, LF or NUL";
  return {};
}

// An absolute path as the router compares it (Gateway API's rules for Exact and PathPrefix
// values, also applied to rewrite targets): RFC 3986 path characters and valid
// %-escapes only, and nothing that path normalisation would change, so that what is written
// is what matches.
std::string checkPath(std::string_view p) {
  if (p.empty() || p[0] != '/') return "must start with '/'";
  if (p.size() > kMaxPathLength)
    return "must be at most " + std::to_string(kMaxPathLength) + " characters";
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '%') {
      auto hex = [](char h) { return std::isxdigit(static_cast<unsigned char>(h)) != 0; };
      if (i + 2 >= p.size() || !hex(p[i + 1]) || !hex(p[i + 2]))
        return "has a '%' that does not start a %XX escape";
      if (p[i + 1] == '2' && (p[i + 2] == 'f' || p[i + 2] == 'F'))
        return "must not contain an escaped '/' (%2F)";
      continue;
    }
    if (isAlnum(c) || std::string_view("-._~!$&'()*+,;=:@/").find(c) != std::string_view::npos)
      continue;
    if (c == '?') return "must not contain '?': match query parameters with queryParams";
    if (c == '#') return "must not contain '#'";
    if (c == ' ') return "must not contain spaces (write them as %20)";
    return "must not contain control or non-ASCII characters (percent-encode them)";
  }
  if (p.find("//") != std::string_view::npos) return "must not contain \"//\"";
  for (std::string_view seg : str::split(p, '/'))
    if (seg == "." || seg == "..") return "must not contain \".\" or \"..\" segments";
  return {};
}

// Kubernetes "qualified name" segment: 1-63 characters, alphanumeric at both ends, with
// '-', '_' and '.' inside.
bool isQualifiedSegment(std::string_view s) {
  if (s.empty() || s.size() > 63 || !isAlnum(s.front()) || !isAlnum(s.back())) return false;
  for (char c : s)
    if (!isAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

// A label or annotation key: [DNS-subdomain prefix "/"] segment.
bool isQualifiedName(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return isQualifiedSegment(s);
  return isDnsSubdomain(s.substr(0, slash)) && isQualifiedSegment(s.substr(slash + 1));
}

// A DNS name rather than a mistyped address: a valid hostname whose last label is not all
// digits (no top-level domain is), so 10.0.0.300 is a bad IPv4 address, not a name.
bool looksLikeDnsName(std::string_view s) {
  std::string lower = str::toLower(s);
  if (!checkHostname(lower, false).empty()) return false;
  std::string_view last = std::string_view(lower).substr(lower.rfind('.') + 1);
  return last.find_first_not_of("0123456789") != std::string_view::npos;
}

SourceLoc locOf(const FieldErrors& errors, const YamlNode& n) {
  return SourceLoc{errors.file(), n.line, n.column};
}

// --- metadata ----------------------------------------------------------------------------

void decodeStringMap(FieldReader& o, std::string_view key, bool labels,
                     std::map<std::string, std::string>* out) {
  const YamlNode* m = o.mapping(key);
  if (m == nullptr) return;
  FieldErrors& errors = o.errors();
  for (const YamlNode::Entry& e : m->entries) {
    std::string path = joinPath(o.pathOf(key), e.key.value);
    if (!isQualifiedName(e.key.value)) {
      errors.add(e.key, path,
                 "must be a qualified name: an optional DNS-name prefix and '/', then 1-63 "
                 "letters, digits, '-', '_' or '.', starting and ending with a letter or digit");
    }
    std::string value;
    if (!readString(errors, e.value, path, &value)) continue;
    if (labels && !value.empty() && !isQualifiedSegment(value)) {
      errors.add(e.value, path,
                 "must be at most 63 letters, digits, '-', '_' or '.', starting and ending "
                 "with a letter or digit");
    }
    (*out)[e.key.value] = std::move(value);
  }
}

void decodeMetadata(FieldReader& doc, ObjectMeta* meta) {
  const YamlNode* node = doc.get("metadata", Need::kRequired);
  if (node == nullptr) return;
  FieldErrors& errors = doc.errors();
  FieldReader o(errors, *node, "metadata");
  if (o.string("name", &meta->name, Need::kRequired)) {
    meta->nameLoc = o.locOf("name");
    if (!isDnsSubdomain(meta->name)) o.fail("name", kDnsNameRule);
  }
  if (o.string("namespace", &meta->ns) && !isDnsLabel(meta->ns, 63))
    o.fail("namespace", kDnsLabelRule);
  decodeStringMap(o, "labels", true, &meta->labels);
  decodeStringMap(o, "annotations", false, &meta->annotations);
  o.finish();
}

// --- Listener ----------------------------------------------------------------------------

void decodeHttpSettings(FieldErrors& errors, const YamlNode& node, const std::string& path,
                        HttpSettings* h) {
  FieldReader o(errors, node, path);
  o.number("maxRequestLineBytes", 1, kMiB, &h->maxRequestLineBytes);
  o.number("maxHeaderBytes", 1, kMiB, &h->maxHeaderBytes);
  o.number("maxHeaders", 1, 10'000, &h->maxHeaders);
  o.number("maxResponseHeadBytes", 1, kMiB, &h->maxResponseHeadBytes);
  o.number("maxBodyBytes", 0, INT64_MAX, &h->maxBodyBytes);  // 0: unlimited
  o.duration("headTimeout", 1, kHour, &h->headTimeoutMs);
  o.duration("idleTimeout", 1, 24 * kHour, &h->idleTimeoutMs);
  o.boolean("mergeSlashes", &h->mergeSlashes);
  o.number("xffTrustedHops", 0, 64, &h->xffTrustedHops);
  o.finish();
}

// A certificate or key path: absolute, because the server reads it at every (re)load from its
// own working directory, which has nothing to do with where `apply` ran.
void decodePemPath(FieldReader& o, std::string_view key, std::string* out, SourceLoc* loc) {
  *loc = o.locOf(key);
  if (!o.string(key, out, Need::kRequired)) return;
  if (out->empty() || (*out)[0] != '/')
    o.fail(key, "must be an absolute path (the server reads it, from its own directory)");
}

void decodeTls(FieldReader& spec, const YamlNode& node, TlsSettings* t) {
  FieldReader o(spec.errors(), node, spec.pathOf("tls"));
  if (const YamlNode* list = o.list("certificates", kMaxCertificates, Need::kRequired)) {
    if (list->items.empty()) o.fail("certificates", "must list at least one certificate");
    for (size_t i = 0; i < list->items.size(); ++i) {
      FieldReader c(o.errors(), list->items[i], indexPath(o.pathOf("certificates"), i));
      CertificateRef ref;
      decodePemPath(c, "certFile", &ref.certFile, &ref.certLoc);
      decodePemPath(c, "keyFile", &ref.keyFile, &ref.keyLoc);
      c.finish();
      t->certificates.push_back(std::move(ref));
    }
  }
  int v = o.choice("minVersion", kTlsVersions);
  if (v >= 0) t->minVersion = static_cast<TlsVersion>(v);
  o.finish();
}

void decodeListener(FieldReader& spec, ListenerSpec* l) {
  if (spec.string("address", &l->address) && !isIpLiteral(l->address))
    spec.fail("address", "must be an IPv4 or IPv6 address, such as 0.0.0.0 or ::");
  if (spec.number("port", 1, 65535, &l->port, Need::kRequired)) l->portLoc = spec.locOf("port");
  int protocol = spec.choice("protocol", kProtocols);
  if (protocol >= 0) l->protocol = static_cast<Protocol>(protocol);
  // The protocol the other fields are checked against: HTTP when absent, unknown (-1) when
  // misspelt (that error says it all).
  if (protocol < 0 && !spec.node().find("protocol")) protocol = 0;
  std::string protocolName = protocol >= 0 ? std::string(kProtocols[protocol]) : "";
  bool meshListener = l->protocol == Protocol::kMeshInbound ||
                      l->protocol == Protocol::kMeshOutbound;
  if (const YamlNode* tls = spec.get("tls")) {
    if (protocol == 1) {
      l->tls.emplace();
      decodeTls(spec, *tls, &*l->tls);
    } else if (protocol == 0) {
      spec.fail("tls", "must not be set for protocol HTTP (use protocol: HTTPS)");
    } else if (protocol >= 0 && meshListener) {
      spec.fail("tls", "must not be set for protocol " + protocolName +
                           ": mesh listeners use this node's workload certificate");
    }
  } else if (protocol == 1) {
    spec.errors().add(spec.node(), spec.pathOf("tls"), "is required for protocol HTTPS");
  }
  l->workloadLoc = spec.locOf("workload");
  if (spec.string("workload", &l->workload)) {
    if (protocol >= 0 && l->protocol != Protocol::kMeshInbound &&
        l->protocol != Protocol::kMeshOutbound) {
      spec.fail("workload", "must not be set for protocol " + protocolName +
                                ": a mesh listener belongs to a Workload, an edge one does not");
    } else if (!isDnsSubdomain(l->workload)) {
      spec.fail("workload", kDnsNameRule);
    }
  }
  if (const YamlNode* http = spec.get("http"))
    decodeHttpSettings(spec.errors(), *http, spec.pathOf("http"), &l->http);
}

// --- HTTPRoute ---------------------------------------------------------------------------

struct RouteContext {
  FieldErrors& errors;
  const std::string& ns;  // the route's namespace: the default for references
};

// What the rule-level checks need to know about one filter.
struct FilterFacts {
  int type = -1;  // index into kFilterTypes
  const YamlNode* typeNode = nullptr;
  std::string typePath;
  const YamlNode* prefixRewrite = nullptr;  // path.type node when it is ReplacePrefixMatch
  std::string prefixRewritePath;
};

void decodeParentRef(RouteContext& c, const YamlNode& node, const std::string& path, ParentRef* p) {
  FieldReader o(c.errors, node, path);
  p->ns = c.ns;
  p->loc = locOf(c.errors, node);
  if (o.string("name", &p->name, Need::kRequired) && !isDnsSubdomain(p->name))
    o.fail("name", kDnsNameRule);
  if (o.string("namespace", &p->ns) && !isDnsLabel(p->ns, 63)) o.fail("namespace", kDnsLabelRule);
  o.choice("group", {"gateway.networking.k8s.io", "gatehouse.dev"});
  o.choice("kind", {"Gateway", "Listener"});  // both name a Listener here
  o.notSupported("sectionName");
  o.notSupported("port");
  o.finish();
}

void decodePathMatch(RouteContext& c, const YamlNode& node, const std::string& path, PathMatch* m) {
  FieldReader o(c.errors, node, path);
  int type = o.choice("type", kPathMatchTypes);
  if (type >= 0) m->type = static_cast<PathMatchType>(type);
  m->loc = o.locOf("value");
  if (o.string("value", &m->value)) {
    if (m->type != PathMatchType::kRegularExpression) {
      std::string bad = checkPath(m->value);
      if (!bad.empty()) o.fail("value", bad);
    } else if (m->value.empty() || m->value.size() > kMaxPathLength) {
      o.fail("value", "must be 1 to " + std::to_string(kMaxPathLength) + " characters");
    }
  }
  o.finish();
}

// headers[] (names compared case-insensitively) or queryParams[] (compared exactly).
void decodeValueMatches(RouteContext& c, FieldReader& parent, std::string_view key, bool headers,
                        std::vector<NameValueMatch>* out) {
  const YamlNode* list = parent.list(key, kMaxValueMatches);
  if (list == nullptr) return;
  std::set<std::string> seen;
  for (size_t i = 0; i < list->items.size(); ++i) {
    FieldReader o(c.errors, list->items[i], indexPath(parent.pathOf(key), i));
    NameValueMatch m;
    int type = o.choice("type", kValueMatchTypes);
    if (type >= 0) m.type = static_cast<ValueMatchType>(type);
    if (o.string("name", &m.name, Need::kRequired)) {
      std::string bad = checkHeaderName(m.name);
      if (!bad.empty()) {
        o.fail("name", bad);
      } else if (!seen.insert(headers ? str::toLower(m.name) : m.name).second) {
        o.fail("name", "duplicate name \"" + m.name + "\" in " + std::string(key));
      }
    }
    m.loc = o.locOf("value");
    if (o.string("value", &m.value, Need::kRequired)) {
      if (m.type == ValueMatchType::kExact) {
        std::string bad = checkHeaderValue(m.value);
        if (!bad.empty()) o.fail("value", bad);
      } else if (m.value.empty() || m.value.size() > kMaxHeaderValueLength) {
        o.fail("value", "must be 1 to " + std::to_string(kMaxHeaderValueLength) + " characters");
      }
    }
    o.finish();
    out->push_back(std::move(m));
  }
}

void decodeMatch(RouteContext& c, const YamlNode& node, const std::string& path, RouteMatch* m) {
  FieldReader o(c.errors, node, path);
  if (const YamlNode* p = o.get("path")) decodePathMatch(c, *p, o.pathOf("path"), &m->path);
  int method = o.choice("method", kMethods);
  if (method >= 0) m->method = std::string(kMethods[method]);
  decodeValueMatches(c, o, "headers", true, &m->headers);
  decodeValueMatches(c, o, "queryParams", false, &m->queryParams);
  o.finish();
}

void decodeHeaderValues(FieldReader& parent, std::string_view key, std::vector<HeaderValue>* out) {
  const YamlNode* list = parent.list(key, kMaxHeaderEdits);
  if (list == nullptr) return;
  std::set<std::string> seen;
  for (size_t i = 0; i < list->items.size(); ++i) {
    FieldReader o(parent.errors(), list->items[i], indexPath(parent.pathOf(key), i));
    HeaderValue h;
    if (o.string("name", &h.name, Need::kRequired)) {
      std::string bad = checkModifiableHeader(h.name);
      if (!bad.empty()) {
        o.fail("name", bad);
      } else if (key == "add" && str::iequals(h.name, "host")) {
        // Adding would send a second Host, which upstreams must refuse (RFC 9112 3.2) or may
        // read differently from us.
        o.fail("name", "a request has one Host: use set to change it, not add");
      } else if (!seen.insert(str::toLower(h.name)).second) {
        o.fail("name", "duplicate header \"" + h.name + "\" in " + std::string(key));
      }
    }
    if (o.string("value", &h.value, Need::kRequired)) {
      std::string bad = checkHeaderValue(h.value);
      if (!bad.empty()) o.fail("value", bad);
    }
    o.finish();
    out->push_back(std::move(h));
  }
}

void decodeHeaderModifier(FieldErrors& errors, const YamlNode& node, const std::string& path,
                          HeaderModifier* m) {
  FieldReader o(errors, node, path);
  decodeHeaderValues(o, "set", &m->set);
  decodeHeaderValues(o, "add", &m->add);
  if (const YamlNode* list = o.list("remove", kMaxHeaderEdits)) {
    std::set<std::string> seen;
    for (size_t i = 0; i < list->items.size(); ++i) {
      const YamlNode& item = list->items[i];
      std::string itemPath = indexPath(o.pathOf("remove"), i);
      std::string name;
      if (!readString(errors, item, itemPath, &name)) continue;
      std::string bad = checkModifiableHeader(name);
      if (!bad.empty()) {
        errors.add(item, itemPath, bad);
      } else if (!seen.insert(str::toLower(name)).second) {
        errors.add(item, itemPath, "duplicate header \"" + name + "\" in remove");
      }
      m->remove.push_back(std::move(name));
    }
  }
  o.finish();
}

void decodePathModifier(FieldErrors& errors, const YamlNode& node, const std::string& path,
                        PathModifier* m, FilterFacts* facts) {
  FieldReader o(errors, node, path);
  int type = o.choice("type", kPathModifierTypes, Need::kRequired);
  if (type >= 0) m->type = static_cast<PathModifierType>(type);
  for (int i = 0; i < 2; ++i) {
    std::string_view field = kPathModifierFields[i];
    const YamlNode* v = o.get(field);
    if (i != type) {
      if (v != nullptr && type >= 0)
        o.fail(field, "must not be set when type is " + std::string(kPathModifierTypes[type]));
      continue;
    }
    if (v == nullptr) {
      errors.add(node, o.pathOf(field),
                 "is required when type is " + std::string(kPathModifierTypes[type]));
    } else if (readString(errors, *v, o.pathOf(field), &m->value)) {
      std::string bad = checkPath(m->value);
      if (!bad.empty()) o.fail(field, bad);
    }
  }
  if (m->type == PathModifierType::kReplacePrefixMatch && type >= 0) {
    facts->prefixRewrite = o.get("type");
    facts->prefixRewritePath = o.pathOf("type");
  }
  o.finish();
}

void decodePreciseHostname(FieldReader& o, std::optional<std::string>* out) {
  std::string host;
  if (!o.string("hostname", &host)) return;
  host = str::toLower(host);
  std::string bad = checkHostname(host, false);
  if (!bad.empty()) o.fail("hostname", bad);
  *out = std::move(host);
}

void decodeRedirect(FieldErrors& errors, const YamlNode& node, const std::string& path,
                    RequestRedirect* r, FilterFacts* facts) {
  FieldReader o(errors, node, path);
  int scheme = o.choice("scheme", kSchemes);
  if (scheme >= 0) r->scheme = std::string(kSchemes[scheme]);
  decodePreciseHostname(o, &r->hostname);
  if (const YamlNode* p = o.get("path")) {
    PathModifier m;
    decodePathModifier(errors, *p, o.pathOf("path"), &m, facts);
    r->path = std::move(m);
  }
  int64_t port = 0;
  if (o.integer("port", 1, 65535, &port)) r->port = static_cast<uint16_t>(port);
  if (const YamlNode* code = o.get("statusCode")) {
    int64_t v = 0;
    if (readInt(errors, *code, o.pathOf("statusCode"), 100, 599, &v)) {
      if (std::find(std::begin(kRedirectCodes), std::end(kRedirectCodes), v) ==
          std::end(kRedirectCodes)) {
        o.fail("statusCode", "must be one of 301, 302, 303, 307 or 308");
      } else {
        r->statusCode = static_cast<int>(v);
      }
    }
  }
  o.finish();
}

void decodeRewrite(FieldErrors& errors, const YamlNode& node, const std::string& path,
                   UrlRewrite* r, FilterFacts* facts) {
  FieldReader o(errors, node, path);
  decodePreciseHostname(o, &r->hostname);
  if (const YamlNode* p = o.get("path")) {
    PathModifier m;
    decodePathModifier(errors, *p, o.pathOf("path"), &m, facts);
    r->path = std::move(m);
  }
  o.finish();
}

void decodeMirror(RouteContext& c, const YamlNode& node, const std::string& path,
                  RequestMirror* m);

FilterFacts decodeFilter(RouteContext& c, const YamlNode& node, const std::string& path,
                         RouteFilter* f) {
  FilterFacts facts;
  FieldReader o(c.errors, node, path);
  int type = o.choice("type", kFilterTypes, Need::kRequired);
  facts.type = type;
  facts.typeNode = o.get("type");
  facts.typePath = o.pathOf("type");
  if (type >= kSupportedFilterTypes)
    o.fail("type", "filter type " + std::string(kFilterTypes[type]) + " is not supported yet");
  if (type >= 0 && type < kSupportedFilterTypes) f->type = static_cast<FilterType>(type);
  for (int i = 0; i < static_cast<int>(std::size(kFilterFields)); ++i) {
    std::string_view field = kFilterFields[i];
    const YamlNode* config = o.get(field);
    if (i != type) {
      if (config != nullptr && type >= 0)
        o.fail(field, "must not be set when type is " + std::string(kFilterTypes[type]));
      continue;
    }
    if (type >= kSupportedFilterTypes) continue;  // refused above
    if (config == nullptr) {
      c.errors.add(node, o.pathOf(field),
                   "is required when type is " + std::string(kFilterTypes[type]));
      continue;
    }
    std::string configPath = o.pathOf(field);
    switch (static_cast<FilterType>(type)) {
      case FilterType::kRequestHeaderModifier:
      case FilterType::kResponseHeaderModifier:
        decodeHeaderModifier(c.errors, *config, configPath, &f->headerModifier);
        break;
      case FilterType::kRequestRedirect:
        decodeRedirect(c.errors, *config, configPath, &f->redirect, &facts);
        break;
      case FilterType::kUrlRewrite:
        decodeRewrite(c.errors, *config, configPath, &f->rewrite, &facts);
        break;
      case FilterType::kRequestMirror:
        decodeMirror(c, *config, configPath, &f->mirror);
        break;
    }
  }
  o.finish();
  return facts;
}

void decodeBackendRef(RouteContext& c, const YamlNode& node, const std::string& path,
                      BackendRef* b) {
  FieldReader o(c.errors, node, path);
  b->ns = c.ns;
  b->loc = locOf(c.errors, node);
  if (o.string("name", &b->name, Need::kRequired) && !isDnsSubdomain(b->name))
    o.fail("name", kDnsNameRule);
  if (o.string("namespace", &b->ns) && !isDnsLabel(b->ns, 63)) o.fail("namespace", kDnsLabelRule);
  // Accepted for compatibility with Gateway API manifests, and ignored: traffic goes to the
  // Service's endpoints, each of which carries its own port.
  int64_t port = 0;
  o.integer("port", 1, 65535, &port);
  o.number("weight", 0, kMaxWeight, &b->weight);
  std::string group, kind;
  if (o.string("group", &group) && !group.empty())
    o.fail("group", "must be \"\" (the core group, where Service lives)");
  if (o.string("kind", &kind) && kind != "Service") o.fail("kind", "must be Service");
  o.notSupported("filters");
  o.finish();
}

// A percentage 0..100 written as a number (integer or decimal), in parts per million.
bool readPercent(FieldReader& o, std::string_view key, uint32_t* perMillion,
                 Need need = Need::kOptional) {
  const YamlNode* n = o.get(key, need);
  if (n == nullptr) return false;
  auto type = n->isScalar() ? n->scalarType() : YamlNode::ScalarType::kString;
  if (type != YamlNode::ScalarType::kInt && type != YamlNode::ScalarType::kFloat) {
    o.fail(key, "must be a number from 0 to 100");
    return false;
  }
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(n->value.c_str(), &end);
  if (errno != 0 || end == n->value.c_str() || *end != '\0' || !(v >= 0) || v > 100) {
    o.fail(key, "must be a number from 0 to 100");
    return false;
  }
  *perMillion = v >= 100 ? 1'000'000 : static_cast<uint32_t>(v * 10'000 + 0.5);
  return true;
}

// requestMirror: {backendRef, percent | fraction} (Gateway API v1.2).
void decodeMirror(RouteContext& c, const YamlNode& node, const std::string& path,
                  RequestMirror* m) {
  FieldReader o(c.errors, node, path);
  if (const YamlNode* b = o.get("backendRef", Need::kRequired)) {
    decodeBackendRef(c, *b, o.pathOf("backendRef"), &m->backendRef);
    if (b->find("weight") != nullptr) o.fail("backendRef", "a mirror's backendRef has no weight");
  }
  int64_t percent = 0;
  bool hasPercent = o.integer("percent", 0, 100, &percent);
  if (hasPercent) m->perMillion = static_cast<uint32_t>(percent * 10'000);
  if (const YamlNode* f = o.get("fraction")) {
    FieldReader fr(c.errors, *f, o.pathOf("fraction"));
    int64_t num = 0, den = 100;
    bool hasNum = fr.integer("numerator", 0, 1'000'000, &num, Need::kRequired);
    fr.integer("denominator", 1, 1'000'000, &den);
    if (hasNum && num > den) fr.fail("numerator", "must not be greater than the denominator");
    else if (hasNum) m->perMillion = static_cast<uint32_t>(num * 1'000'000 / den);
    fr.finish();
    if (hasPercent) o.fail("fraction", "cannot be combined with percent: write one of them");
  }
  o.finish();
}

// rules[].fault: Istio's HTTPFaultInjection spelling ({delay: {percentage: {value},
// fixedDelay}, abort: {percentage: {value}, httpStatus}}) on a Gateway API rule.
void decodeFault(FieldErrors& errors, const YamlNode& node, const std::string& path,
                 FaultInjection* f) {
  FieldReader o(errors, node, path);
  auto percentage = [&](FieldReader& parent, uint32_t* out) {
    const YamlNode* p = parent.get("percentage", Need::kRequired);
    if (p == nullptr) return;
    FieldReader pr(errors, *p, parent.pathOf("percentage"));
    readPercent(pr, "value", out, Need::kRequired);
    pr.finish();
  };
  if (const YamlNode* d = o.get("delay")) {
    FieldReader dr(errors, *d, o.pathOf("delay"));
    percentage(dr, &f->delayPerMillion);
    if (dr.get("fixedDelay", Need::kRequired) != nullptr)
      dr.duration("fixedDelay", 1, kHour, &f->delayMs);
    dr.notSupported("exponentialDelay");
    dr.notSupported("percent");
    dr.finish();
  }
  if (const YamlNode* a = o.get("abort")) {
    FieldReader ar(errors, *a, o.pathOf("abort"));
    percentage(ar, &f->abortPerMillion);
    int64_t status = 0;
    if (ar.integer("httpStatus", 200, 599, &status, Need::kRequired))
      f->abortStatus = static_cast<uint16_t>(status);
    ar.notSupported("grpcStatus");
    ar.notSupported("http2Error");
    ar.finish();
  }
  if (o.get("delay") == nullptr && o.get("abort") == nullptr && o.valid())
    errors.add(node, path, "must have delay, abort or both");
  o.finish();
}

void decodeTimeouts(FieldErrors& errors, const YamlNode& node, const std::string& path,
                    RouteTimeouts* t) {
  FieldReader o(errors, node, path);
  uint64_t request = 0, backend = 0;
  bool hasRequest = o.duration("request", 0, kNoLimit, &request);
  bool hasBackend = o.duration("backendRequest", 0, kNoLimit, &backend);
  // As the Gateway API: a backend attempt cannot outlast the request it serves.
  if (hasRequest && hasBackend && request != 0 && backend > request)
    o.fail("backendRequest", "must not be longer than request (" + formatDuration(request) + ")");
  // "0s" turns a timeout off, which the model spells as no timeout at all.
  if (request != 0) t->requestMs = request;
  if (backend != 0) t->backendRequestMs = backend;
  o.finish();
}

void decodeRule(RouteContext& c, const YamlNode& node, const std::string& path, RouteRule* rule) {
  FieldReader o(c.errors, node, path);
  if (o.string("name", &rule->name) && !isDnsSubdomain(rule->name)) o.fail("name", kDnsNameRule);

  if (const YamlNode* list = o.list("matches", kMaxMatches)) {
    for (size_t i = 0; i < list->items.size(); ++i) {
      RouteMatch m;
      decodeMatch(c, list->items[i], indexPath(o.pathOf("matches"), i), &m);
      rule->matches.push_back(std::move(m));
    }
  }

  std::vector<FilterFacts> facts;
  if (const YamlNode* list = o.list("filters", kMaxFilters)) {
    for (size_t i = 0; i < list->items.size(); ++i) {
      RouteFilter f;
      facts.push_back(decodeFilter(c, list->items[i], indexPath(o.pathOf("filters"), i), &f));
      rule->filters.push_back(std::move(f));
    }
  }

  const YamlNode* backends = o.list("backendRefs", kMaxBackendRefs);
  if (backends != nullptr) {
    for (size_t i = 0; i < backends->items.size(); ++i) {
      BackendRef b;
      decodeBackendRef(c, backends->items[i], indexPath(o.pathOf("backendRefs"), i), &b);
      rule->backendRefs.push_back(std::move(b));
    }
  }

  if (const YamlNode* t = o.get("timeouts"))
    decodeTimeouts(c.errors, *t, o.pathOf("timeouts"), &rule->timeouts);
  if (const YamlNode* r = o.get("retry")) {
    FieldReader rr(c.errors, *r, o.pathOf("retry"));
    RouteRetry retry;
    rr.number("attempts", 0, 10, &retry.attempts);
    rr.duration("backoff", 0, kHour, &retry.backoffMs);
    if (const YamlNode* codes = rr.list("codes", 200)) {
      for (size_t i = 0; i < codes->items.size(); ++i) {
        int64_t code = 0;
        if (!codes->items[i].isScalar() || !codes->items[i].toInt(&code) || code < 400 ||
            code > 599) {
          c.errors.add(codes->items[i], indexPath(rr.pathOf("codes"), i),
                       "must be an HTTP status between 400 and 599");
          continue;
        }
        retry.codes.push_back(static_cast<int>(code));
      }
    }
    rr.finish();
    rule->retry = retry;
  }
  if (const YamlNode* f = o.get("fault")) {
    FaultInjection fault;
    decodeFault(c.errors, *f, o.pathOf("fault"), &fault);
    rule->fault = fault;
  }
  o.notSupported("sessionPersistence");

  // Rules the Gateway API states across the fields of a rule.
  const FilterFacts* firstOfType[kSupportedFilterTypes] = {};
  for (const FilterFacts& f : facts) {
    if (f.type < 0 || f.type >= kSupportedFilterTypes) continue;
    std::string name(kFilterTypes[f.type]);
    // RequestMirror alone may repeat (Gateway API): one copy to each shadow.
    if (firstOfType[f.type] != nullptr && f.type != static_cast<int>(FilterType::kRequestMirror)) {
      c.errors.add(*f.typeNode, f.typePath, "a rule may have only one " + name + " filter");
      continue;
    }
    firstOfType[f.type] = &f;
  }
  const FilterFacts* redirect = firstOfType[static_cast<int>(FilterType::kRequestRedirect)];
  const FilterFacts* rewrite = firstOfType[static_cast<int>(FilterType::kUrlRewrite)];
  if (redirect != nullptr && rewrite != nullptr) {
    const FilterFacts* later = redirect->typeNode->line > rewrite->typeNode->line ||
                                       (redirect->typeNode->line == rewrite->typeNode->line &&
                                        redirect->typeNode->column > rewrite->typeNode->column)
                                   ? redirect
                                   : rewrite;
    c.errors.add(*later->typeNode, later->typePath,
                 "a rule cannot have both RequestRedirect and URLRewrite filters");
  }
  if (redirect != nullptr && backends != nullptr && !backends->items.empty()) {
    c.errors.add(*backends, o.pathOf("backendRefs"),
                 "must be empty when the rule has a RequestRedirect filter: the redirect is "
                 "the response");
  }
  bool allPrefix = std::all_of(rule->matches.begin(), rule->matches.end(), [](const auto& m) {
    return m.path.type == PathMatchType::kPathPrefix;
  });
  for (const FilterFacts& f : facts) {
    if (f.prefixRewrite != nullptr && !allPrefix) {
      c.errors.add(*f.prefixRewrite, f.prefixRewritePath,
                   "ReplacePrefixMatch needs every match of the rule to be a PathPrefix match");
    }
  }
  o.finish();
}

void decodeHttpRoute(FieldReader& spec, const std::string& ns, HttpRouteSpec* r) {
  RouteContext c{spec.errors(), ns};
  if (const YamlNode* list = spec.list("parentRefs", kMaxParentRefs)) {
    std::set<std::pair<std::string, std::string>> seen;
    for (size_t i = 0; i < list->items.size(); ++i) {
      ParentRef p;
      std::string path = indexPath(spec.pathOf("parentRefs"), i);
      decodeParentRef(c, list->items[i], path, &p);
      if (!p.name.empty() && !seen.emplace(p.ns, p.name).second)
        c.errors.add(list->items[i], path, "duplicate parentRef " + p.ns + "/" + p.name);
      r->parentRefs.push_back(std::move(p));
    }
  }
  if (const YamlNode* list = spec.list("hostnames", kMaxHostnames)) {
    for (size_t i = 0; i < list->items.size(); ++i) {
      const YamlNode& item = list->items[i];
      std::string path = indexPath(spec.pathOf("hostnames"), i);
      std::string host;
      if (!readString(c.errors, item, path, &host)) continue;
      host = str::toLower(host);
      std::string bad = checkHostname(host, true);
      if (!bad.empty()) c.errors.add(item, path, bad);
      r->hostnames.push_back(std::move(host));
    }
  }
  if (const YamlNode* list = spec.list("rules", kMaxRules)) {
    std::set<std::string> names;
    for (size_t i = 0; i < list->items.size(); ++i) {
      RouteRule rule;
      std::string path = indexPath(spec.pathOf("rules"), i);
      decodeRule(c, list->items[i], path, &rule);
      if (!rule.name.empty() && !names.insert(rule.name).second) {
        const YamlNode* name = list->items[i].find("name");
        c.errors.add(*name, joinPath(path, "name"), "duplicate rule name \"" + rule.name + "\"");
      }
      r->rules.push_back(std::move(rule));
    }
  }
}

// --- Service -----------------------------------------------------------------------------

void decodeEndpoint(FieldErrors& errors, const YamlNode& node, const std::string& path,
                    Endpoint* e) {
  FieldReader o(errors, node, path);
  if (o.string("address", &e->address, Need::kRequired) && !isIpLiteral(e->address)) {
    const std::string& a = e->address;
    if (a.size() > 2 && a.front() == '[' && a.back() == ']') {
      o.fail("address", "must be written without brackets");
    } else if (a.size() > 1 && a.back() == '.' && looksLikeDnsName(a.substr(0, a.size() - 1))) {
      o.fail("address", "a DNS name must be written without the trailing dot");
    } else if (looksLikeDnsName(a)) {
      // A DNS name, resolved by the running server (docs/traffic.md). Written as it is asked,
      // in lower case, so the name in the config, /api/v1/clusters and the logs is one string.
      if (a != str::toLower(a))
        o.fail("address", "a DNS name must be written in lower case: " + str::toLower(a));
    } else {
      o.fail("address", "must be an IPv4 or IPv6 address or a DNS name such as api.example.com");
    }
  }
  o.number("port", 1, 65535, &e->port, Need::kRequired);
  o.number("weight", 1, kMaxWeight, &e->weight);
  o.finish();
}

void decodeDirectResponse(FieldErrors& errors, const YamlNode& node, const std::string& path,
                          DirectResponse* d) {
  FieldReader o(errors, node, path);
  o.number("status", 200, 599, &d->status);
  if (o.string("contentType", &d->contentType)) {
    std::string bad = checkHeaderValue(d->contentType);
    if (!bad.empty()) o.fail("contentType", bad);
  }
  if (o.string("body", &d->body)) {
    if (d->body.size() > kMaxDirectBodyBytes) {
      o.fail("body", "must be at most 1 MiB");
    } else if (!d->body.empty() && (d->status == 204 || d->status == 205 || d->status == 304)) {
      o.fail("body", "must be empty: a " + std::to_string(d->status) + " response has no body");
    }
  }
  o.finish();
}

bool isPrime(uint64_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d)
    if (n % d == 0) return false;
  return true;
}

// loadBalancer: either `simple` or `consistentHash` (Istio's LoadBalancerSettings).
void decodeLoadBalancer(FieldErrors& errors, const YamlNode& node, FieldReader& parent,
                        ServiceSpec* s) {
  FieldReader l(errors, node, parent.pathOf("loadBalancer"));
  const YamlNode* hash = l.get("consistentHash");
  if (hash && l.get("simple")) l.fail("simple", "set either simple or consistentHash, not both");
  // UNSPECIFIED is Istio's default (round robin here); LEAST_CONN its deprecated name for
  // LEAST_REQUEST. PASSTHROUGH (no load balancing) has no meaning without transparent capture.
  int simple = l.choice("simple", {"ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "UNSPECIFIED",
                                   "LEAST_CONN", "PASSTHROUGH"});
  static constexpr LoadBalancer kSimple[] = {LoadBalancer::kRoundRobin, LoadBalancer::kLeastRequest,
                                             LoadBalancer::kRandom, LoadBalancer::kRoundRobin,
                                             LoadBalancer::kLeastRequest};
  if (simple == 5)
    l.fail("simple", "PASSTHROUGH is not supported: Gatehouse always chooses an endpoint");
  else if (simple >= 0)
    s->loadBalancer = kSimple[simple];
  if (hash) {
    FieldReader c(errors, *hash, l.pathOf("consistentHash"));
    int keys = 0;
    if (c.string("httpHeaderName", &s->hash.name)) {
      s->hash.key = ConsistentHash::Key::kHeader;
      for (char& ch : s->hash.name)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
      ++keys;
    }
    if (const YamlNode* cookie = c.get("httpCookie")) {
      FieldReader k(errors, *cookie, c.pathOf("httpCookie"));
      k.string("name", &s->hash.name, Need::kRequired);
      // Envoy generates the cookie when it is missing and a ttl is set; this build hashes a
      // cookie the client sends and does not generate one.
      k.notSupported("ttl");
      k.notSupported("path");
      k.notSupported("attributes");
      k.finish();
      s->hash.key = ConsistentHash::Key::kCookie;
      ++keys;
    }
    bool sourceIp = false;
    if (c.boolean("useSourceIp", &sourceIp) && sourceIp) {
      s->hash.key = ConsistentHash::Key::kSourceIp;
      ++keys;
    }
    c.notSupported("httpQueryParameterName");
    if (keys != 1)
      c.fail(keys == 0 ? "useSourceIp" : "httpHeaderName",
             "name exactly one hash key: httpHeaderName, httpCookie or useSourceIp");
    s->loadBalancer = LoadBalancer::kRingHash;
    const YamlNode* ring = c.get("ringHash");
    const YamlNode* maglev = c.get("maglev");
    if (ring && maglev) c.fail("maglev", "set either ringHash or maglev, not both");
    if (ring) {
      FieldReader r(errors, *ring, c.pathOf("ringHash"));
      r.number("minimumRingSize", 1, 8'388'608, &s->hash.minimumRingSize);
      r.finish();
    }
    if (maglev) {
      FieldReader m(errors, *maglev, c.pathOf("maglev"));
      if (m.number("tableSize", 3, 5'000'011, &s->hash.tableSize) && !isPrime(s->hash.tableSize))
        m.fail("tableSize", "must be a prime number (65537 is the default)");
      m.finish();
      s->loadBalancer = LoadBalancer::kMaglev;
    }
    c.number("minimumRingSize", 1, 8'388'608, &s->hash.minimumRingSize);  // deprecated spelling
    c.finish();
  }
  for (std::string_view f : {"localityLbSetting", "warmupDurationSecs", "warmup"})
    l.notSupported(f);
  l.finish();
}

void decodeTrafficPolicy(FieldErrors& errors, const YamlNode& node, ServiceSpec* s) {
  FieldReader o(errors, node, "spec.trafficPolicy");
  if (const YamlNode* pool = o.get("connectionPool")) {
    FieldReader p(errors, *pool, o.pathOf("connectionPool"));
    if (const YamlNode* tcp = p.get("tcp")) {
      FieldReader t(errors, *tcp, p.pathOf("tcp"));
      t.duration("connectTimeout", 1, kHour, &s->connectTimeoutMs);
      uint32_t n = 0;
      if (t.number("maxConnections", 1, UINT32_MAX - 1, &n)) s->maxConnections = n;
      for (std::string_view f : {"tcpKeepalive", "maxConnectionDuration", "idleTimeout"})
        t.notSupported(f);
      t.finish();
    }
    if (const YamlNode* http = p.get("http")) {
      FieldReader h(errors, *http, p.pathOf("http"));
      h.duration("idleTimeout", 1, 24 * kHour, &s->idleTimeoutMs);
      uint32_t n = 0;
      if (h.number("http1MaxPendingRequests", 0, UINT32_MAX - 1, &n))
        s->http1MaxPendingRequests = n;
      h.number("maxRequestsPerConnection", 0, UINT32_MAX - 1, &s->maxRequestsPerConnection);
      for (std::string_view f : {"http2MaxRequests", "maxRetries", "h2UpgradePolicy",
                                 "useClientProtocol", "maxConcurrentStreams"})
        h.notSupported(f);
      h.finish();
    }
    p.finish();
  }
  if (const YamlNode* lb = o.get("loadBalancer")) decodeLoadBalancer(errors, *lb, o, s);
  if (const YamlNode* od = o.get("outlierDetection")) {
    FieldReader d(errors, *od, o.pathOf("outlierDetection"));
    OutlierDetectionSpec spec;
    d.number("consecutive5xxErrors", 0, 1'000'000, &spec.consecutive5xxErrors);
    d.number("consecutiveGatewayErrors", 0, 1'000'000, &spec.consecutiveGatewayErrors);
    d.duration("interval", 1, kHour, &spec.intervalMs);
    d.duration("baseEjectionTime", 1, kHour, &spec.baseEjectionTimeMs);
    d.number("maxEjectionPercent", 0, 100, &spec.maxEjectionPercent);
    d.number("minHealthPercent", 0, 100, &spec.minHealthPercent);
    for (std::string_view f : {"splitExternalLocalOriginErrors", "consecutiveLocalOriginFailures",
                               "consecutiveErrors"})
      d.notSupported(f);
    d.finish();
    s->outlierDetection = spec;
  }
  for (std::string_view f : {"tls", "portLevelSettings", "tunnel", "proxyProtocol",
                             "retryBudget"})
    o.notSupported(f);
  o.finish();
}

void decodeService(FieldReader& spec, ServiceSpec* s) {
  FieldErrors& errors = spec.errors();
  bool hasEndpoints = spec.get("endpoints") != nullptr;
  if (const YamlNode* list = spec.list("endpoints", kMaxEndpoints)) {
    std::set<std::pair<std::string, uint16_t>> seen;
    for (size_t i = 0; i < list->items.size(); ++i) {
      Endpoint e;
      std::string path = indexPath(spec.pathOf("endpoints"), i);
      decodeEndpoint(errors, list->items[i], path, &e);
      if (e.port != 0 && !e.address.empty() && !seen.emplace(e.address, e.port).second)
        errors.add(list->items[i], path,
                   "duplicate endpoint " + e.address + " port " + std::to_string(e.port));
      s->endpoints.push_back(std::move(e));
    }
    hasEndpoints = !list->items.empty();
  }
  if (const YamlNode* direct = spec.get("directResponse")) {
    DirectResponse d;
    decodeDirectResponse(errors, *direct, spec.pathOf("directResponse"), &d);
    s->directResponse = std::move(d);
    if (hasEndpoints)
      spec.fail("directResponse",
                "cannot be combined with endpoints: a Service has one or the "
                "other");
  } else if (!hasEndpoints) {
    if (spec.get("endpoints") != nullptr) {
      spec.fail("endpoints", "must not be empty (or give a directResponse instead)");
    } else {
      errors.add(spec.node(), "spec", "needs endpoints or a directResponse");
    }
  }
  if (const YamlNode* tp = spec.get("trafficPolicy")) decodeTrafficPolicy(errors, *tp, s);
  bool meshKnown = spec.boolean("mesh", &s->mesh) || spec.get("mesh") == nullptr;
  if (s->mesh && s->directResponse)
    spec.fail("mesh", "cannot be combined with directResponse: a direct response is answered "
                      "by this node and never reaches a mesh peer");
  s->identityLoc = spec.locOf("identity");
  std::string identity;
  if (spec.string("identity", &identity)) {
    auto id = gh::identity::SpiffeId::parse(identity);
    if (!id.ok()) {
      spec.fail("identity", "must be a SPIFFE ID such as spiffe://cluster.local/ns/production/"
                            "sa/orders: " + id.status().message());
    } else if (!s->mesh && meshKnown) {
      spec.fail("identity", "needs mesh: true (the identity is checked on the mesh's mutual "
                            "TLS, which only a mesh Service uses)");
    }
    s->identity = id.ok() ? id.value().uri() : identity;
  }
  if (const YamlNode* hc = spec.get("healthCheck")) {
    FieldReader h(errors, *hc, spec.pathOf("healthCheck"));
    HealthCheckSpec c;
    if (h.string("path", &c.path, Need::kRequired) &&
        (c.path.empty() || c.path[0] != '/' ||
         c.path.find_first_of(std::string_view(" \t\r\n\0#", 6)) != std::string::npos))
      h.fail("path", "must be an origin-form path starting with '/' (no spaces, controls or "
                     "fragment), such as /healthz");
    h.duration("interval", 10, kHour, &c.intervalMs);
    h.duration("timeout", 1, kHour, &c.timeoutMs);
    h.number("healthyThreshold", 1, 1000, &c.healthyThreshold);
    h.number("unhealthyThreshold", 1, 1000, &c.unhealthyThreshold);
    h.finish();
    if (s->directResponse)
      spec.fail("healthCheck", "cannot be combined with directResponse: there is no endpoint "
                               "to check");
    else if (s->mesh)
      spec.fail("healthCheck", "is not supported yet on mesh Services (probes would need the "
                               "mesh's mutual TLS); use outlierDetection");
    s->healthCheck = c;
  }
}

// --- Workload ----------------------------------------------------------------------------

void decodeWorkload(FieldReader& spec, WorkloadSpec* w) {
  if (spec.string("serviceAccount", &w->serviceAccount, Need::kRequired) &&
      !gh::identity::validPathSegment(w->serviceAccount)) {
    spec.fail("serviceAccount",
              "must be a SPIFFE ID path segment: letters, digits, '.', '-' and '_', not '.' or "
              "'..' (it names the identity spiffe://<trustDomain>/ns/<namespace>/sa/<account>)");
  }
  if (spec.string("address", &w->address) && !isIpLiteral(w->address))
    spec.fail("address", "must be an IPv4 or IPv6 address, such as 127.0.0.1 or ::1");
  spec.number("port", 1, 65535, &w->port, Need::kRequired);
}

// --- MeshConfig --------------------------------------------------------------------------

// "host:port", host a DNS name or an IP literal (IPv6 in brackets); empty when acceptable,
// else what is wrong.
std::string checkHostPort(std::string_view s) {
  constexpr char kForm[] = "must be host:port, such as ca.internal:15012 or [fd00::1]:15012";
  std::string_view host, port;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return kForm;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
    unsigned char buf[sizeof(struct in6_addr)];
    if (host.size() > INET6_ADDRSTRLEN ||
        inet_pton(AF_INET6, std::string(host).c_str(), buf) != 1)
      return "has \"[" + std::string(host) + "]\", which is not an IPv6 address";
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return kForm;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return "must write an IPv6 address in brackets, as [fd00::1]:15012";
    if (host.empty()) return kForm;
    if (!isIpLiteral(host)) {
      std::string bad = checkHostname(host, false);
      if (!bad.empty()) return "host " + bad;
    }
  }
  bool digits = !port.empty() && port.size() <= 5 &&
                std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535)
    return "must end with a port number from 1 to 65535";
  return {};
}

// Istio's MeshConfig.extensionProviders, the HTTP ext_authz kind only. The Service named is
// resolved in validate.cc.
void decodeExtensionProviders(FieldReader& spec, std::vector<ExtensionProvider>* out) {
  const YamlNode* list = spec.list("extensionProviders", kMaxProviders);
  if (list == nullptr) return;
  std::set<std::string> seen;
  for (size_t i = 0; i < list->items.size(); ++i) {
    FieldReader o(spec.errors(), list->items[i], indexPath(spec.pathOf("extensionProviders"), i));
    ExtensionProvider p;
    p.loc = locOf(spec.errors(), list->items[i]);
    if (o.string("name", &p.name, Need::kRequired)) {
      if (p.name.empty() || p.name.size() > 253)
        o.fail("name", "must be 1 to 253 characters");
      else if (!seen.insert(p.name).second)
        o.fail("name", "duplicate provider name \"" + p.name + "\"");
    }
    const YamlNode* http = o.get("envoyExtAuthzHttp");
    const YamlNode* lua = o.get("lua");
    if (lua != nullptr) {
      // Gatehouse's own kind: a LuaScript's gatehouse_authorize decides.
      FieldReader l(spec.errors(), *lua, o.pathOf("lua"));
      p.luaLoc = l.locOf("script");
      if (l.string("script", &p.luaScript, Need::kRequired) && !isDnsSubdomain(p.luaScript))
        l.fail("script", "must name a LuaScript of the MeshConfig's namespace");
      l.finish();
      if (http != nullptr) o.fail("lua", "a provider is either envoyExtAuthzHttp or lua, not both");
      http = nullptr;
    }
    for (std::string_view later :
         {"envoyExtAuthzGrpc", "zipkin", "lightstep", "datadog", "stackdriver", "opencensus",
          "skywalking", "opentelemetry", "prometheus", "envoyFileAccessLog",
          "envoyHttpAls", "envoyTcpAls", "envoyOtelAls", "sds"})
      o.notSupported(later);
    if (http == nullptr) {
      if (o.valid() && lua == nullptr && o.node().find("envoyExtAuthzHttp") == nullptr)
        spec.errors().add(list->items[i], o.pathOf("envoyExtAuthzHttp"), "is required");
    } else {
      FieldReader h(spec.errors(), *http, o.pathOf("envoyExtAuthzHttp"));
      ExtAuthzHttpProvider& x = p.http;
      x.serviceLoc = h.locOf("service");
      if (h.string("service", &x.service, Need::kRequired)) {
        std::string_view sv = x.service;
        size_t slash = sv.find('/');
        bool ok = slash == std::string_view::npos
                      ? isDnsSubdomain(sv)
                      : isDnsLabel(sv.substr(0, slash), 63) && isDnsSubdomain(sv.substr(slash + 1));
        if (!ok)
          h.fail("service", "must name a Service: name, name.namespace or namespace/name");
      }
      h.number("port", 1, 65535, &x.port, Need::kRequired);
      if (h.string("pathPrefix", &x.pathPrefix) && !x.pathPrefix.empty()) {
        std::string bad = checkPath(x.pathPrefix);
        if (!bad.empty()) h.fail("pathPrefix", bad);
      }
      for (auto [key, dst] : {std::pair{"includeRequestHeadersInCheck",
                                        &x.includeRequestHeadersInCheck},
                              std::pair{"headersToUpstreamOnAllow", &x.headersToUpstreamOnAllow}}) {
        const YamlNode* names = h.list(key, kMaxValueMatches * 4);
        if (names == nullptr) continue;
        for (size_t j = 0; j < names->items.size(); ++j) {
          std::string name, itemPath = indexPath(h.pathOf(key), j);
          if (!readString(spec.errors(), names->items[j], itemPath, &name)) continue;
          std::string bad = checkHeaderName(name);
          if (!bad.empty()) spec.errors().add(names->items[j], itemPath, bad);
          dst->push_back(str::toLower(name));
        }
      }
      h.duration("timeout", 1, kHour, &x.timeoutMs);
      h.boolean("failOpen", &x.failOpen);
      for (std::string_view later :
           {"statusOnError", "includeHeadersInCheck", "includeAdditionalHeadersInCheck",
            "includeRequestBodyInCheck", "headersToDownstreamOnDeny",
            "headersToDownstreamOnAllow"})
        h.notSupported(later);
      h.finish();
    }
    o.finish();
    out->push_back(std::move(p));
  }
}

void decodeMeshConfig(FieldReader& spec, MeshConfigSpec* m) {
  std::string why;
  if (spec.string("trustDomain", &m->trustDomain) &&
      !gh::identity::validTrustDomain(m->trustDomain, &why))
    spec.fail("trustDomain", "must be a SPIFFE trust domain such as cluster.local: " + why);
  int mtls = spec.choice("mtls", kMtlsModes);
  if (mtls >= 0) m->mtls = static_cast<MtlsMode>(mtls);
  spec.duration("certificateTTL", kMinCertificateTtlMs, kMaxCertificateTtlMs,
                &m->certificateTtlMs);
  if (spec.string("caAddress", &m->caAddress)) {
    std::string bad = checkHostPort(m->caAddress);
    if (!bad.empty()) spec.fail("caAddress", bad);
  }
  if (spec.string("rootNamespace", &m->rootNamespace) && !isDnsLabel(m->rootNamespace, 63))
    spec.fail("rootNamespace", kDnsLabelRule);
  decodeExtensionProviders(spec, &m->extensionProviders);
}

// --- AuthorizationPolicy -----------------------------------------------------------------
//
// Istio's schema and Istio's validation (pilot's ValidateAuthorizationPolicy), plus what a
// configuration that is accepted must be able to enforce: principals parse as the patterns of
// spec/mesh.md, CIDRs parse, `when` keys are known, and what needs JWT is refused until
// RequestAuthentication exists. Cross-resource checks (the CUSTOM provider is declared,
// targetRefs name edge Listeners) are in validate.cc.

constexpr size_t kMaxAuthzRules = 10'000;
constexpr size_t kMaxAuthzItems = 1'000;  // from[], to[], when[] of a rule
constexpr size_t kMaxAuthzValues = 10'000;  // values of one field
constexpr size_t kMaxAuthzString = 1024;
constexpr size_t kMaxTargetRefs = 16;
constexpr std::string_view kAuthzActions[] = {"ALLOW", "DENY", "AUDIT", "CUSTOM"};
constexpr std::string_view kDryRunAnnotation = "istio.io/dry-run";
constexpr char kNeedsJwt[] =
    "needs JWT (RequestAuthentication), which is not supported yet";

// A match string of Istio's forms: exact, "abc*", "*abc" or "*". Empty when acceptable.
std::string checkAuthzString(std::string_view v) {
  if (v.empty()) return "must not be empty";
  if (v.size() > kMaxAuthzString)
    return "must be at most " + std::to_string(kMaxAuthzString) + " characters";
  for (char c : v)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "must not contain control characters";
  size_t star = v.find('*');
  if (star != std::string_view::npos && v != "*") {
    bool edge = star == 0 || star == v.size() - 1;
    if (!edge || v.find('*', star + 1) != std::string_view::npos)
      return "may hold '*' only once, as a prefix (\"*abc\") or suffix (\"abc*\") wildcard or "
             "alone (\"*\": any value)";
  }
  return {};
}

// Each kind of value of a policy, and how it is checked.
enum class AuthzValue { kString, kPath, kPrincipal, kIpBlock, kPort, kHeaderValue };

std::string checkAuthzValue(AuthzValue kind, std::string_view v) {
  switch (kind) {
    case AuthzValue::kPrincipal: {
      auto p = gh::identity::PrincipalPattern::parse(v);
      return p.ok() ? std::string() : p.status().message();
    }
    case AuthzValue::kIpBlock: {
      IpBlock b;
      std::string why;
      return parseIpBlock(v, &b, &why) ? std::string() : why;
    }
    case AuthzValue::kPort: {
      bool digits = !v.empty() && v.size() <= 5 &&
                    v.find_first_not_of("0123456789") == std::string_view::npos;
      if (!digits || std::stoi(std::string(v)) < 1 || std::stoi(std::string(v)) > 65535)
        return "must be a port number from 1 to 65535";
      return {};
    }
    case AuthzValue::kPath:
      if (v.find('{') != std::string_view::npos)
        return "path templates ({*}, {**}) are not supported yet";
      return checkAuthzString(v);
    case AuthzValue::kHeaderValue:
      if (v.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
        return "must not contain CR, LF or NUL";
      return checkAuthzString(v);
    case AuthzValue::kString:
      return checkAuthzString(v);
  }
  return {};
}

// A list of strings (or, for ports, numbers or strings: Istio writes them as strings, and a
// YAML author often does not quote them). Returns whether the field was present.
bool decodeAuthzValues(FieldReader& o, std::string_view key, AuthzValue kind,
                       std::vector<std::string>* out) {
  const YamlNode* list = o.list(key, kMaxAuthzValues);
  if (list == nullptr) return o.node().find(key) != nullptr && !o.node().find(key)->isNull();
  if (list->items.empty()) o.fail(key, "must not be empty (leave the field out instead)");
  for (size_t i = 0; i < list->items.size(); ++i) {
    const YamlNode& item = list->items[i];
    std::string path = indexPath(o.pathOf(key), i);
    std::string v;
    if (kind == AuthzValue::kPort && item.isScalar() &&
        item.scalarType() == YamlNode::ScalarType::kInt) {
      v = item.value;
      int64_t n = 0;
      if (!item.toInt(&n) || n < 1 || n > 65535) {
        o.errors().add(item, path, "must be a port number from 1 to 65535");
        continue;
      }
      v = std::to_string(n);
    } else if (!readString(o.errors(), item, path, &v)) {
      continue;
    }
    std::string bad = checkAuthzValue(kind, v);
    if (!bad.empty()) {
      o.errors().add(item, path, bad);
      continue;
    }
    out->push_back(std::move(v));
  }
  return true;
}

void decodeAuthzPorts(FieldReader& o, std::string_view key, std::vector<uint16_t>* out) {
  std::vector<std::string> ports;
  decodeAuthzValues(o, key, AuthzValue::kPort, &ports);
  for (const std::string& p : ports) out->push_back(static_cast<uint16_t>(std::stoi(p)));
}

void decodeAuthzSource(FieldReader& parent, const YamlNode& node, const std::string& path,
                       AuthzSource* s) {
  FieldReader o(parent.errors(), node, path);
  bool any = false;
  any |= decodeAuthzValues(o, "principals", AuthzValue::kPrincipal, &s->principals);
  any |= decodeAuthzValues(o, "notPrincipals", AuthzValue::kPrincipal, &s->notPrincipals);
  for (std::string_view jwt : {"requestPrincipals", "notRequestPrincipals"}) {
    if (o.get(jwt) != nullptr) {
      o.fail(jwt, kNeedsJwt);
      any = true;
    }
  }
  any |= decodeAuthzValues(o, "namespaces", AuthzValue::kString, &s->namespaces);
  any |= decodeAuthzValues(o, "notNamespaces", AuthzValue::kString, &s->notNamespaces);
  any |= decodeAuthzValues(o, "ipBlocks", AuthzValue::kIpBlock, &s->ipBlocks);
  any |= decodeAuthzValues(o, "notIpBlocks", AuthzValue::kIpBlock, &s->notIpBlocks);
  any |= decodeAuthzValues(o, "remoteIpBlocks", AuthzValue::kIpBlock, &s->remoteIpBlocks);
  any |= decodeAuthzValues(o, "notRemoteIpBlocks", AuthzValue::kIpBlock, &s->notRemoteIpBlocks);
  for (std::string_view later : {"serviceAccounts", "notServiceAccounts"}) o.notSupported(later);
  if (!any && o.valid() && o.node().entries.empty())
    o.errors().add(node, path, "must not be empty (Istio: a source needs at least one field)");
  o.finish();
}

void decodeAuthzOperation(FieldReader& parent, const YamlNode& node, const std::string& path,
                          AuthzOperation* op) {
  FieldReader o(parent.errors(), node, path);
  bool any = false;
  any |= decodeAuthzValues(o, "hosts", AuthzValue::kString, &op->hosts);
  any |= decodeAuthzValues(o, "notHosts", AuthzValue::kString, &op->notHosts);
  if (o.get("ports") != nullptr) any = true;
  decodeAuthzPorts(o, "ports", &op->ports);
  if (o.get("notPorts") != nullptr) any = true;
  decodeAuthzPorts(o, "notPorts", &op->notPorts);
  any |= decodeAuthzValues(o, "methods", AuthzValue::kString, &op->methods);
  any |= decodeAuthzValues(o, "notMethods", AuthzValue::kString, &op->notMethods);
  any |= decodeAuthzValues(o, "paths", AuthzValue::kPath, &op->paths);
  any |= decodeAuthzValues(o, "notPaths", AuthzValue::kPath, &op->notPaths);
  if (!any && o.valid() && o.node().entries.empty())
    o.errors().add(node, path, "must not be empty (Istio: an operation needs at least one field)");
  o.finish();
}

// The kind of value a `when` key compares, or -1 (with *why) when the key is refused.
int authzConditionKind(std::string_view key, std::string* why) {
  constexpr std::string_view kHeaders = "request.headers[";
  if (str::startsWith(key, kHeaders)) {
    if (key.size() < kHeaders.size() + 2 || key.back() != ']') {
      *why = "must be request.headers[NAME]";
      return -1;
    }
    std::string bad = checkHeaderName(key.substr(kHeaders.size(), key.size() - kHeaders.size() - 1));
    if (!bad.empty()) {
      *why = "header name " + bad;
      return -1;
    }
    return static_cast<int>(AuthzValue::kHeaderValue);
  }
  if (key == "source.ip" || key == "remote.ip") return static_cast<int>(AuthzValue::kIpBlock);
  if (key == "source.principal") return static_cast<int>(AuthzValue::kPrincipal);
  if (key == "source.namespace" || key == "connection.sni")
    return static_cast<int>(AuthzValue::kString);
  if (key == "destination.port") return static_cast<int>(AuthzValue::kPort);
  if (str::startsWith(key, "request.auth.")) {
    *why = std::string("key ") + std::string(key) + " " + kNeedsJwt;
    return -1;
  }
  if (key == "destination.ip" || key == "source.serviceAccount" ||
      str::startsWith(key, "experimental.")) {
    *why = "key " + std::string(key) + " is not supported yet";
    return -1;
  }
  *why = "unknown key \"" + std::string(key) +
         "\" (known: request.headers[NAME], source.ip, remote.ip, source.principal, "
         "source.namespace, destination.port, connection.sni)";
  return -1;
}

void decodeAuthzCondition(FieldReader& parent, const YamlNode& node, const std::string& path,
                          AuthzCondition* c) {
  FieldReader o(parent.errors(), node, path);
  int kind = -1;
  if (o.string("key", &c->key, Need::kRequired)) {
    std::string why;
    kind = authzConditionKind(c->key, &why);
    if (kind < 0) o.fail("key", why);
  }
  AuthzValue k = kind >= 0 ? static_cast<AuthzValue>(kind) : AuthzValue::kString;
  bool values = decodeAuthzValues(o, "values", k, &c->values);
  bool notValues = decodeAuthzValues(o, "notValues", k, &c->notValues);
  if (!values && !notValues && o.valid())
    o.errors().add(node, path, "needs values or notValues (or both)");
  o.finish();
}

void decodeAuthzRule(FieldReader& parent, const YamlNode& node, const std::string& path,
                     AuthzRule* r) {
  FieldReader o(parent.errors(), node, path);
  if (const YamlNode* from = o.list("from", kMaxAuthzItems)) {
    for (size_t i = 0; i < from->items.size(); ++i) {
      std::string itemPath = indexPath(o.pathOf("from"), i);
      FieldReader f(o.errors(), from->items[i], itemPath);
      AuthzSource s;
      if (const YamlNode* src = f.get("source", Need::kRequired))
        decodeAuthzSource(f, *src, f.pathOf("source"), &s);
      f.finish();
      r->from.push_back(std::move(s));
    }
  }
  if (const YamlNode* to = o.list("to", kMaxAuthzItems)) {
    for (size_t i = 0; i < to->items.size(); ++i) {
      std::string itemPath = indexPath(o.pathOf("to"), i);
      FieldReader t(o.errors(), to->items[i], itemPath);
      AuthzOperation op;
      if (const YamlNode* operation = t.get("operation", Need::kRequired))
        decodeAuthzOperation(t, *operation, t.pathOf("operation"), &op);
      t.finish();
      r->to.push_back(std::move(op));
    }
  }
  if (const YamlNode* when = o.list("when", kMaxAuthzItems)) {
    for (size_t i = 0; i < when->items.size(); ++i) {
      AuthzCondition c;
      decodeAuthzCondition(o, when->items[i], indexPath(o.pathOf("when"), i), &c);
      r->when.push_back(std::move(c));
    }
  }
  o.finish();
}

void decodeTargetRef(FieldReader& parent, const YamlNode& node, const std::string& path,
                     const std::string& ns, PolicyTargetRef* t) {
  FieldReader o(parent.errors(), node, path);
  t->loc = locOf(parent.errors(), node);
  o.choice("group", {"gatehouse.dev"}, Need::kRequired);
  o.choice("kind", {"Listener"}, Need::kRequired);
  if (o.string("name", &t->name, Need::kRequired) && !isDnsSubdomain(t->name))
    o.fail("name", kDnsNameRule);
  std::string targetNs;
  if (o.string("namespace", &targetNs) && targetNs != ns)
    o.fail("namespace", "must be the policy's own namespace (\"" + ns + "\"), as in Istio");
  o.finish();
}

void decodeAuthorizationPolicy(FieldReader& spec, const ObjectMeta& meta,
                               AuthorizationPolicySpec* p) {
  FieldErrors& errors = spec.errors();
  if (const YamlNode* sel = spec.get("selector")) {
    FieldReader o(errors, *sel, spec.pathOf("selector"));
    if (o.valid()) p->hasSelector = true;
    decodeStringMap(o, "matchLabels", true, &p->matchLabels);
    o.finish();
  }
  const YamlNode* one = spec.get("targetRef");
  const YamlNode* many = spec.list("targetRefs", kMaxTargetRefs);
  if (one != nullptr && spec.node().find("targetRefs") != nullptr &&
      !spec.node().find("targetRefs")->isNull()) {
    spec.fail("targetRefs", "cannot be combined with targetRef: write one of them");
  } else if (one != nullptr) {
    PolicyTargetRef t;
    decodeTargetRef(spec, *one, spec.pathOf("targetRef"), meta.ns, &t);
    p->targetRefs.push_back(std::move(t));
  } else if (many != nullptr) {
    if (many->items.empty()) spec.fail("targetRefs", "must not be empty (leave it out instead)");
    for (size_t i = 0; i < many->items.size(); ++i) {
      PolicyTargetRef t;
      decodeTargetRef(spec, many->items[i], indexPath(spec.pathOf("targetRefs"), i), meta.ns, &t);
      p->targetRefs.push_back(std::move(t));
    }
  }
  if (p->hasSelector && (one != nullptr || many != nullptr)) {
    spec.fail("selector", std::string("cannot be combined with ") +
                              (one != nullptr ? "targetRef" : "targetRefs") +
                              ": a policy selects Workloads or targets Listeners, not both");
  }
  int action = spec.choice("action", kAuthzActions);
  if (action >= 0) p->action = static_cast<AuthzAction>(action);
  if (const YamlNode* provider = spec.get("provider")) {
    FieldReader o(errors, *provider, spec.pathOf("provider"));
    p->providerLoc = o.locOf("name");
    if (o.string("name", &p->provider, Need::kRequired) && p->provider.empty())
      o.fail("name", "must not be empty");
    o.finish();
    if (action >= 0 && p->action != AuthzAction::kCustom)
      spec.fail("provider", "must be set only with action CUSTOM");
  } else if (p->action == AuthzAction::kCustom) {
    errors.add(spec.node(), spec.pathOf("provider"),
               "is required with action CUSTOM: name an extensionProviders[] entry of the "
               "MeshConfig");
  }
  if (const YamlNode* rules = spec.list("rules", kMaxAuthzRules)) {
    for (size_t i = 0; i < rules->items.size(); ++i) {
      AuthzRule r;
      decodeAuthzRule(spec, rules->items[i], indexPath(spec.pathOf("rules"), i), &r);
      p->rules.push_back(std::move(r));
    }
  }
  auto dry = meta.annotations.find(std::string(kDryRunAnnotation));
  if (dry != meta.annotations.end()) {
    std::string path = "metadata.annotations[\"" + std::string(kDryRunAnnotation) + "\"]";
    if (dry->second == "true") {
      p->dryRun = true;
      if (p->action == AuthzAction::kCustom)
        errors.add(spec.node(), path, "dry-run is not supported for action CUSTOM yet");
    } else if (dry->second != "false") {
      errors.add(spec.node(), path, "must be \"true\" or \"false\"");
    }
  }
}


// --- Canonical form ----------------------------------------------------------------------

enum class Level { kRoot, kMetadata, kOther };

int keyRank(Level level, std::string_view key) {
  static constexpr std::string_view kRootOrder[] = {"apiVersion", "kind", "metadata", "spec"};
  static constexpr std::string_view kMetaOrder[] = {"name", "namespace", "labels", "annotations"};
  std::span<const std::string_view> order;
  if (level == Level::kRoot) order = kRootOrder;
  if (level == Level::kMetadata) order = kMetaOrder;
  auto it = std::find(order.begin(), order.end(), key);
  return static_cast<int>(it - order.begin());
}

// Drops null-valued entries and orders keys; see "The canonical form" above.
void canonicalize(YamlNode* n, Level level) {
  if (n->isSequence()) {
    for (YamlNode& item : n->items) canonicalize(&item, Level::kOther);
    return;
  }
  if (!n->isMapping()) return;
  auto& entries = n->entries;
  entries.erase(std::remove_if(entries.begin(), entries.end(),
                               [](const YamlNode::Entry& e) { return e.value.isNull(); }),
                entries.end());
  std::stable_sort(entries.begin(), entries.end(),
                   [level](const YamlNode::Entry& a, const YamlNode::Entry& b) {
                     int ra = keyRank(level, a.key.value), rb = keyRank(level, b.key.value);
                     return ra != rb ? ra < rb : a.key.value < b.key.value;
                   });
  for (YamlNode::Entry& e : entries) {
    bool meta = level == Level::kRoot && e.key.value == "metadata";
    canonicalize(&e.value, meta ? Level::kMetadata : Level::kOther);
  }
}

YamlNode canonicalTree(const YamlNode& root) {
  YamlNode copy = root;
  canonicalize(&copy, Level::kRoot);
  return copy;
}

// --- LuaScript ---------------------------------------------------------------------------

constexpr size_t kMaxLuaAttachments = 64;
constexpr size_t kMaxLuaSourceBytes = 256 * 1024;

void decodeLuaScript(FieldReader& spec, const ObjectMeta& meta, LuaScriptSpec* l) {
  if (const YamlNode* src = spec.mapping("source")) {
    FieldReader so(spec.errors(), *src, spec.pathOf("source"));
    const bool hasInline = so.string("inline", &l->source);
    const bool hasFile = so.string("file", &l->file);
    if (hasInline && hasFile) so.fail("file", "give the script inline or in a file, not both");
    if (!hasInline && !hasFile && so.valid())
      spec.fail("source", "must have inline (the Lua text) or file (a path to it)");
    if (hasInline && l->source.size() > kMaxLuaSourceBytes)
      so.fail("inline", "is longer than 256 KiB");
    if (hasFile && l->file.empty()) so.fail("file", "must not be empty");
    l->sourceLoc = so.locOf(hasInline ? "inline" : "file");
    LuaSyntaxChecker check = luaSyntaxChecker();
    const YamlNode* text = so.get("inline");
    if (hasInline && check != nullptr && text != nullptr && l->source.size() <= kMaxLuaSourceBytes) {
      int luaLine = 0;
      std::string message;
      if (!check(meta.name, l->source, &luaLine, &message)) {
        // A multi-line string is a block scalar (`inline: |`): its text starts on the line
        // after the indicator. Point at the YAML line of the Lua line at fault.
        const bool block = text->quoted && l->source.find('\n') != std::string::npos;
        int line = text->line;
        if (luaLine > 0) line += block ? luaLine : luaLine - 1;
        spec.errors().add(line, block ? 1 : text->column, so.pathOf("inline"),
                          "Lua syntax error" + (luaLine > 0 ? " (script line " +
                                                                  std::to_string(luaLine) + ")"
                                                            : std::string()) +
                              ": " + message);
      }
    }
    so.finish();
  } else {
    spec.get("source", Need::kRequired);
  }
  if (const YamlNode* list = spec.list("attachTo", kMaxLuaAttachments, Need::kRequired)) {
    if (list->items.empty()) spec.fail("attachTo", "must name at least one Listener or HTTPRoute");
    for (size_t i = 0; i < list->items.size(); ++i) {
      const YamlNode& item = list->items[i];
      FieldReader a(spec.errors(), item, indexPath(spec.pathOf("attachTo"), i));
      LuaAttachment att;
      att.loc = locOf(spec.errors(), item);
      int k = a.choice("kind", {"Listener", "HTTPRoute"}, Need::kRequired);
      att.kind = k == 1 ? LuaAttachment::Kind::kHttpRoute : LuaAttachment::Kind::kListener;
      if (a.string("name", &att.name, Need::kRequired) && !isDnsSubdomain(att.name))
        a.fail("name", kDnsNameRule);
      a.finish();
      l->attachTo.push_back(std::move(att));
    }
  }
  spec.integer("order", -1'000'000, 1'000'000, &l->order);
  spec.boolean("failOpen", &l->failOpen);
  spec.boolean("trusted", &l->trusted);
  if (const YamlNode* limits = spec.mapping("limits")) {
    FieldReader lim(spec.errors(), *limits, spec.pathOf("limits"));
    int64_t instructions = 0, wallMs = 0;
    if (lim.integer("instructions", 1000, 1'000'000'000, &instructions))
      l->instructions = uint64_t(instructions);
    if (lim.integer("wallMs", 1, 60'000, &wallMs)) l->wallMs = uint32_t(wallMs);
    lim.finish();
  }
}

// --- RateLimit and EgressPolicy (docs/traffic.md) ----------------------------------------

constexpr size_t kMaxRateLimitTargets = 16;
constexpr size_t kMaxEgressDestinations = 1'000;
constexpr uint64_t kMaxRateLimitKeys = 1u << 20;
constexpr std::string_view kRateLimitKeyTypes[] = {"ClientIP", "Principal", "Header"};

// limit: {requests, per, burst}
void decodeRateLimitValue(FieldErrors& errors, const YamlNode& node, const std::string& path,
                          RateLimitValue* v) {
  FieldReader o(errors, node, path);
  o.number("requests", 1, 1'000'000'000, &v->requests, Need::kRequired);
  if (o.get("per", Need::kRequired) != nullptr) o.duration("per", 1, 24 * kHour, &v->perMs);
  o.number("burst", 1, 1'000'000'000, &v->burst);
  // One token every per/requests must be at least a nanosecond apart to be measurable.
  if (v->requests > v->perMs * 1'000'000) o.fail("requests", "is more than one per nanosecond");
  o.finish();
}

void decodeRateLimit(FieldReader& spec, const ObjectMeta& meta, RateLimitSpec* r) {
  FieldErrors& errors = spec.errors();
  if (const YamlNode* list = spec.list("targetRefs", kMaxRateLimitTargets, Need::kRequired)) {
    if (list->items.empty()) spec.fail("targetRefs", "must name at least one Listener or HTTPRoute");
    for (size_t i = 0; i < list->items.size(); ++i) {
      std::string path = indexPath(spec.pathOf("targetRefs"), i);
      FieldReader o(errors, list->items[i], path);
      RateLimitTargetRef t;
      t.loc = locOf(errors, list->items[i]);
      o.choice("group", {"gatehouse.dev", "gateway.networking.k8s.io"});
      int kind = o.choice("kind", {"Listener", "HTTPRoute"}, Need::kRequired);
      if (kind >= 0)
        t.kind = kind == 0 ? RateLimitTargetRef::Kind::kListener : RateLimitTargetRef::Kind::kHttpRoute;
      if (o.string("name", &t.name, Need::kRequired) && !isDnsSubdomain(t.name))
        o.fail("name", kDnsNameRule);
      std::string ns;
      if (o.string("namespace", &ns) && ns != meta.ns)
        o.fail("namespace", "must be the RateLimit's own namespace (\"" + meta.ns + "\")");
      o.notSupported("sectionName");
      o.finish();
      r->targetRefs.push_back(std::move(t));
    }
  }
  if (const YamlNode* l = spec.get("limit", Need::kRequired))
    decodeRateLimitValue(errors, *l, spec.pathOf("limit"), &r->limit);
  if (const YamlNode* k = spec.get("key")) {
    FieldReader o(errors, *k, spec.pathOf("key"));
    int type = o.choice("type", kRateLimitKeyTypes, Need::kRequired);
    if (type >= 0) r->key = static_cast<RateLimitKeyType>(type + 1);
    if (o.string("name", &r->header)) {
      std::string bad = checkHeaderName(r->header);
      if (!bad.empty()) o.fail("name", bad);
      if (r->key != RateLimitKeyType::kHeader && type >= 0)
        o.fail("name", "is only for type Header");
      r->header = str::toLower(r->header);
    } else if (r->key == RateLimitKeyType::kHeader) {
      errors.add(*k, o.pathOf("name"), "is required when type is Header");
    }
    o.finish();
  }
  int64_t maxKeys = 0;
  if (spec.integer("maxKeys", 8, kMaxRateLimitKeys, &maxKeys))
    r->maxKeys = static_cast<uint64_t>(maxKeys);
}

void decodeEgressPolicy(FieldReader& spec, const ObjectMeta& meta, EgressPolicySpec* p) {
  FieldErrors& errors = spec.errors();
  p->workloadLoc = spec.locOf("workload");
  if (spec.string("workload", &p->workload) && !isDnsSubdomain(p->workload))
    spec.fail("workload", kDnsNameRule);
  if (const YamlNode* sel = spec.get("selector")) {
    FieldReader o(errors, *sel, spec.pathOf("selector"));
    if (o.valid()) p->hasSelector = true;
    decodeStringMap(o, "matchLabels", true, &p->matchLabels);
    o.finish();
    if (!p->workload.empty()) spec.fail("selector", "cannot be combined with workload");
  }
  if (const YamlNode* list = spec.list("egress", kMaxEgressDestinations, Need::kRequired)) {
    std::set<std::string> seen;
    for (size_t i = 0; i < list->items.size(); ++i) {
      std::string path = indexPath(spec.pathOf("egress"), i);
      FieldReader o(errors, list->items[i], path);
      EgressDestination d;
      d.loc = locOf(errors, list->items[i]);
      bool hasService = o.string("service", &d.service);
      if (hasService && !isDnsSubdomain(d.service)) o.fail("service", kDnsNameRule);
      d.serviceNs = meta.ns;
      if (o.string("namespace", &d.serviceNs)) {
        if (!isDnsLabel(d.serviceNs, 63)) o.fail("namespace", kDnsLabelRule);
        if (!hasService) o.fail("namespace", "is only for a service destination");
      }
      if (o.string("host", &d.host)) {
        d.host = str::toLower(d.host);
        std::string bad = checkHostname(d.host, true);
        if (!bad.empty()) o.fail("host", bad);
        if (hasService) o.fail("host", "cannot be combined with service: one destination each");
      } else if (!hasService && o.valid()) {
        errors.add(list->items[i], path, "must have a service or a host");
      }
      if (const YamlNode* rl = o.get("rateLimit")) {
        RateLimitValue v;
        decodeRateLimitValue(errors, *rl, o.pathOf("rateLimit"), &v);
        d.rateLimit = v;
      }
      o.finish();
      std::string key = d.host.empty() ? "service " + d.serviceNs + "/" + d.service : "host " + d.host;
      if (!seen.insert(key).second) errors.add(list->items[i], path, "duplicate destination " + key);
      p->egress.push_back(std::move(d));
    }
  }
}

// --- Encoding typed Resources (for Resources built in code) -------------------------------

YamlNode text(std::string_view s) {
  return YamlNode::scalar(std::string(s), true);
}
YamlNode integer(int64_t v) {
  return YamlNode::scalar(std::to_string(v), false);
}
YamlNode boolean(bool b) {
  return YamlNode::scalar(b ? "true" : "false", false);
}
YamlNode duration(uint64_t ms) {
  return text(formatDuration(ms));
}
YamlNode texts(const std::vector<std::string>& values) {
  YamlNode list = YamlNode::sequence();
  for (const std::string& v : values) list.push(text(v));
  return list;
}

YamlNode encodeListener(const ListenerSpec& l) {
  YamlNode spec = YamlNode::mapping();
  spec.add("address", text(l.address));
  spec.add("port", integer(l.port));
  spec.add("protocol", text(kProtocols[static_cast<int>(l.protocol)]));
  const HttpSettings& h = l.http;
  YamlNode& http = spec.add("http", YamlNode::mapping());
  http.add("maxRequestLineBytes", integer(h.maxRequestLineBytes));
  http.add("maxHeaderBytes", integer(h.maxHeaderBytes));
  http.add("maxHeaders", integer(h.maxHeaders));
  http.add("maxResponseHeadBytes", integer(h.maxResponseHeadBytes));
  http.add("maxBodyBytes", integer(h.maxBodyBytes));
  http.add("headTimeout", duration(h.headTimeoutMs));
  http.add("idleTimeout", duration(h.idleTimeoutMs));
  http.add("mergeSlashes", boolean(h.mergeSlashes));
  http.add("xffTrustedHops", integer(h.xffTrustedHops));
  if (l.tls) {
    YamlNode& tls = spec.add("tls", YamlNode::mapping());
    YamlNode& certs = tls.add("certificates", YamlNode::sequence());
    for (const CertificateRef& c : l.tls->certificates) {
      YamlNode& item = certs.push(YamlNode::mapping());
      item.add("certFile", text(c.certFile));
      item.add("keyFile", text(c.keyFile));
    }
    tls.add("minVersion", text(kTlsVersions[static_cast<int>(l.tls->minVersion)]));
  }
  if (!l.workload.empty()) spec.add("workload", text(l.workload));
  return spec;
}

YamlNode encodeNameValues(const std::vector<NameValueMatch>& matches) {
  YamlNode list = YamlNode::sequence();
  for (const NameValueMatch& m : matches) {
    YamlNode& item = list.push(YamlNode::mapping());
    item.add("type", text(kValueMatchTypes[static_cast<int>(m.type)]));
    item.add("name", text(m.name));
    item.add("value", text(m.value));
  }
  return list;
}

YamlNode encodeHeaderValues(const std::vector<HeaderValue>& values) {
  YamlNode list = YamlNode::sequence();
  for (const HeaderValue& h : values) {
    YamlNode& item = list.push(YamlNode::mapping());
    item.add("name", text(h.name));
    item.add("value", text(h.value));
  }
  return list;
}

YamlNode encodePathModifier(const PathModifier& m) {
  YamlNode node = YamlNode::mapping();
  int type = static_cast<int>(m.type);
  node.add("type", text(kPathModifierTypes[type]));
  node.add(std::string(kPathModifierFields[type]), text(m.value));
  return node;
}

YamlNode encodeFilter(const RouteFilter& f) {
  YamlNode node = YamlNode::mapping();
  int type = static_cast<int>(f.type);
  node.add("type", text(kFilterTypes[type]));
  YamlNode& config = node.add(std::string(kFilterFields[type]), YamlNode::mapping());
  switch (f.type) {
    case FilterType::kRequestHeaderModifier:
    case FilterType::kResponseHeaderModifier: {
      const HeaderModifier& m = f.headerModifier;
      if (!m.set.empty()) config.add("set", encodeHeaderValues(m.set));
      if (!m.add.empty()) config.add("add", encodeHeaderValues(m.add));
      if (!m.remove.empty()) {
        YamlNode& remove = config.add("remove", YamlNode::sequence());
        for (const std::string& name : m.remove) remove.push(text(name));
      }
      break;
    }
    case FilterType::kRequestRedirect: {
      const RequestRedirect& r = f.redirect;
      if (r.scheme) config.add("scheme", text(*r.scheme));
      if (r.hostname) config.add("hostname", text(*r.hostname));
      if (r.path) config.add("path", encodePathModifier(*r.path));
      if (r.port) config.add("port", integer(*r.port));
      config.add("statusCode", integer(r.statusCode));
      break;
    }
    case FilterType::kUrlRewrite:
      if (f.rewrite.hostname) config.add("hostname", text(*f.rewrite.hostname));
      if (f.rewrite.path) config.add("path", encodePathModifier(*f.rewrite.path));
      break;
    case FilterType::kRequestMirror: {
      YamlNode& b = config.add("backendRef", YamlNode::mapping());
      b.add("name", text(f.mirror.backendRef.name));
      b.add("namespace", text(f.mirror.backendRef.ns));
      if (f.mirror.perMillion % 10'000 == 0) {
        config.add("percent", integer(f.mirror.perMillion / 10'000));
      } else {
        YamlNode& fr = config.add("fraction", YamlNode::mapping());
        fr.add("numerator", integer(f.mirror.perMillion));
        fr.add("denominator", integer(1'000'000));
      }
      break;
    }
  }
  return node;
}

// A percentage in parts per million as the decimal number it was written as ("12.5").
YamlNode percentNumber(uint32_t perMillion) {
  std::string out = std::to_string(perMillion / 10'000);
  if (uint32_t frac = perMillion % 10'000) {
    char buf[8];
    snprintf(buf, sizeof buf, ".%04u", frac);
    std::string f(buf);
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return YamlNode::scalar(out, false);
}

YamlNode encodeRule(const RouteRule& rule) {
  YamlNode node = YamlNode::mapping();
  if (!rule.name.empty()) node.add("name", text(rule.name));
  if (!rule.matches.empty()) {
    YamlNode& matches = node.add("matches", YamlNode::sequence());
    for (const RouteMatch& m : rule.matches) {
      YamlNode& item = matches.push(YamlNode::mapping());
      YamlNode& path = item.add("path", YamlNode::mapping());
      path.add("type", text(kPathMatchTypes[static_cast<int>(m.path.type)]));
      path.add("value", text(m.path.value));
      if (m.method) item.add("method", text(*m.method));
      if (!m.headers.empty()) item.add("headers", encodeNameValues(m.headers));
      if (!m.queryParams.empty()) item.add("queryParams", encodeNameValues(m.queryParams));
    }
  }
  if (!rule.filters.empty()) {
    YamlNode& filters = node.add("filters", YamlNode::sequence());
    for (const RouteFilter& f : rule.filters) filters.push(encodeFilter(f));
  }
  if (!rule.backendRefs.empty()) {
    YamlNode& refs = node.add("backendRefs", YamlNode::sequence());
    for (const BackendRef& b : rule.backendRefs) {
      YamlNode& item = refs.push(YamlNode::mapping());
      item.add("name", text(b.name));
      item.add("namespace", text(b.ns));
      item.add("weight", integer(b.weight));
    }
  }
  if (rule.retry) {
    YamlNode& r = node.add("retry", YamlNode::mapping());
    r.add("attempts", integer(rule.retry->attempts));
    r.add("backoff", duration(rule.retry->backoffMs));
    if (!rule.retry->codes.empty()) {
      YamlNode& codes = r.add("codes", YamlNode::sequence());
      for (int code : rule.retry->codes) codes.push(integer(code));
    }
  }
  if (rule.timeouts.requestMs || rule.timeouts.backendRequestMs) {
    YamlNode& t = node.add("timeouts", YamlNode::mapping());
    if (rule.timeouts.requestMs) t.add("request", duration(*rule.timeouts.requestMs));
    if (rule.timeouts.backendRequestMs)
      t.add("backendRequest", duration(*rule.timeouts.backendRequestMs));
  }
  if (rule.fault) {
    const FaultInjection& f = *rule.fault;
    YamlNode& fault = node.add("fault", YamlNode::mapping());
    if (f.delayMs) {
      YamlNode& d = fault.add("delay", YamlNode::mapping());
      d.add("percentage", YamlNode::mapping()).add("value", percentNumber(f.delayPerMillion));
      d.add("fixedDelay", duration(f.delayMs));
    }
    if (f.abortStatus) {
      YamlNode& a = fault.add("abort", YamlNode::mapping());
      a.add("percentage", YamlNode::mapping()).add("value", percentNumber(f.abortPerMillion));
      a.add("httpStatus", integer(f.abortStatus));
    }
  }
  return node;
}

YamlNode encodeHttpRoute(const HttpRouteSpec& r) {
  YamlNode spec = YamlNode::mapping();
  if (!r.parentRefs.empty()) {
    YamlNode& refs = spec.add("parentRefs", YamlNode::sequence());
    for (const ParentRef& p : r.parentRefs) {
      YamlNode& item = refs.push(YamlNode::mapping());
      item.add("name", text(p.name));
      item.add("namespace", text(p.ns));
    }
  }
  if (!r.hostnames.empty()) {
    YamlNode& hosts = spec.add("hostnames", YamlNode::sequence());
    for (const std::string& h : r.hostnames) hosts.push(text(h));
  }
  if (!r.rules.empty()) {
    YamlNode& rules = spec.add("rules", YamlNode::sequence());
    for (const RouteRule& rule : r.rules) rules.push(encodeRule(rule));
  }
  return spec;
}

YamlNode encodeService(const ServiceSpec& s) {
  YamlNode spec = YamlNode::mapping();
  if (!s.endpoints.empty()) {
    YamlNode& eps = spec.add("endpoints", YamlNode::sequence());
    for (const Endpoint& e : s.endpoints) {
      YamlNode& item = eps.push(YamlNode::mapping());
      item.add("address", text(e.address));
      item.add("port", integer(e.port));
      item.add("weight", integer(e.weight));
    }
  }
  if (s.directResponse) {
    YamlNode& d = spec.add("directResponse", YamlNode::mapping());
    d.add("status", integer(s.directResponse->status));
    d.add("contentType", text(s.directResponse->contentType));
    d.add("body", text(s.directResponse->body));
  }
  YamlNode& policy = spec.add("trafficPolicy", YamlNode::mapping());
  YamlNode& pool = policy.add("connectionPool", YamlNode::mapping());
  YamlNode& tcp = pool.add("tcp", YamlNode::mapping());
  tcp.add("connectTimeout", duration(s.connectTimeoutMs));
  if (s.maxConnections) tcp.add("maxConnections", integer(*s.maxConnections));
  YamlNode& http = pool.add("http", YamlNode::mapping());
  http.add("idleTimeout", duration(s.idleTimeoutMs));
  if (s.http1MaxPendingRequests)
    http.add("http1MaxPendingRequests", integer(*s.http1MaxPendingRequests));
  if (s.maxRequestsPerConnection)
    http.add("maxRequestsPerConnection", integer(s.maxRequestsPerConnection));
  if (s.outlierDetection) {
    const OutlierDetectionSpec& o = *s.outlierDetection;
    YamlNode& od = policy.add("outlierDetection", YamlNode::mapping());
    od.add("consecutive5xxErrors", integer(o.consecutive5xxErrors));
    od.add("consecutiveGatewayErrors", integer(o.consecutiveGatewayErrors));
    od.add("interval", duration(o.intervalMs));
    od.add("baseEjectionTime", duration(o.baseEjectionTimeMs));
    od.add("maxEjectionPercent", integer(o.maxEjectionPercent));
    od.add("minHealthPercent", integer(o.minHealthPercent));
  }
  // Written only when set, so Services stored before it existed keep their canonical form.
  if (s.healthCheck) {
    const HealthCheckSpec& h = *s.healthCheck;
    YamlNode& hc = spec.add("healthCheck", YamlNode::mapping());
    hc.add("path", text(h.path));
    hc.add("interval", duration(h.intervalMs));
    hc.add("timeout", duration(h.timeoutMs));
    hc.add("healthyThreshold", integer(h.healthyThreshold));
    hc.add("unhealthyThreshold", integer(h.unhealthyThreshold));
  }
  if (s.loadBalancer == LoadBalancer::kLeastRequest || s.loadBalancer == LoadBalancer::kRandom) {
    policy.add("loadBalancer", YamlNode::mapping())
        .add("simple", text(s.loadBalancer == LoadBalancer::kRandom ? "RANDOM" : "LEAST_REQUEST"));
  } else if (s.loadBalancer != LoadBalancer::kRoundRobin) {
    YamlNode& hash =
        policy.add("loadBalancer", YamlNode::mapping()).add("consistentHash", YamlNode::mapping());
    switch (s.hash.key) {
      case ConsistentHash::Key::kHeader:
        hash.add("httpHeaderName", text(s.hash.name));
        break;
      case ConsistentHash::Key::kCookie:
        hash.add("httpCookie", YamlNode::mapping()).add("name", text(s.hash.name));
        break;
      case ConsistentHash::Key::kSourceIp:
        hash.add("useSourceIp", boolean(true));
        break;
    }
    if (s.loadBalancer == LoadBalancer::kMaglev)
      hash.add("maglev", YamlNode::mapping()).add("tableSize", integer(s.hash.tableSize));
    else
      hash.add("ringHash", YamlNode::mapping())
          .add("minimumRingSize", integer(s.hash.minimumRingSize));
  }
  spec.add("mesh", boolean(s.mesh));
  if (!s.identity.empty()) spec.add("identity", text(s.identity));
  return spec;
}

YamlNode encodeWorkload(const WorkloadSpec& w) {
  YamlNode spec = YamlNode::mapping();
  spec.add("serviceAccount", text(w.serviceAccount));
  spec.add("address", text(w.address));
  spec.add("port", integer(w.port));
  return spec;
}

YamlNode encodeMeshConfig(const MeshConfigSpec& m) {
  YamlNode spec = YamlNode::mapping();
  spec.add("trustDomain", text(m.trustDomain));
  spec.add("mtls", text(kMtlsModes[static_cast<int>(m.mtls)]));
  spec.add("certificateTTL", duration(m.certificateTtlMs));
  if (!m.caAddress.empty()) spec.add("caAddress", text(m.caAddress));
  spec.add("rootNamespace", text(m.rootNamespace));
  if (!m.extensionProviders.empty()) {
    YamlNode& list = spec.add("extensionProviders", YamlNode::sequence());
    for (const ExtensionProvider& p : m.extensionProviders) {
      YamlNode& item = list.push(YamlNode::mapping());
      item.add("name", text(p.name));
      if (!p.luaScript.empty()) {
        item.add("lua", YamlNode::mapping()).add("script", text(p.luaScript));
        continue;
      }
      YamlNode& h = item.add("envoyExtAuthzHttp", YamlNode::mapping());
      h.add("service", text(p.http.service));
      h.add("port", integer(p.http.port));
      if (!p.http.pathPrefix.empty()) h.add("pathPrefix", text(p.http.pathPrefix));
      if (!p.http.includeRequestHeadersInCheck.empty())
        h.add("includeRequestHeadersInCheck", texts(p.http.includeRequestHeadersInCheck));
      if (!p.http.headersToUpstreamOnAllow.empty())
        h.add("headersToUpstreamOnAllow", texts(p.http.headersToUpstreamOnAllow));
      h.add("timeout", duration(p.http.timeoutMs));
      h.add("failOpen", boolean(p.http.failOpen));
    }
  }
  return spec;
}

void addTexts(YamlNode* map, std::string_view key, const std::vector<std::string>& values) {
  if (!values.empty()) map->add(std::string(key), texts(values));
}

void addPorts(YamlNode* map, std::string_view key, const std::vector<uint16_t>& ports) {
  if (ports.empty()) return;
  YamlNode& list = map->add(std::string(key), YamlNode::sequence());
  for (uint16_t p : ports) list.push(text(std::to_string(p)));  // Istio's ports are strings
}

YamlNode encodeAuthorizationPolicy(const AuthorizationPolicySpec& p) {
  YamlNode spec = YamlNode::mapping();
  if (p.hasSelector) {
    YamlNode& labels =
        spec.add("selector", YamlNode::mapping()).add("matchLabels", YamlNode::mapping());
    for (const auto& [k, v] : p.matchLabels) labels.add(k, text(v));
  }
  if (!p.targetRefs.empty()) {
    YamlNode& refs = spec.add("targetRefs", YamlNode::sequence());
    for (const PolicyTargetRef& t : p.targetRefs) {
      YamlNode& item = refs.push(YamlNode::mapping());
      item.add("group", text(t.group));
      item.add("kind", text(t.kind));
      item.add("name", text(t.name));
    }
  }
  spec.add("action", text(authzActionName(p.action)));
  if (!p.provider.empty()) spec.add("provider", YamlNode::mapping()).add("name", text(p.provider));
  if (!p.rules.empty()) {
    YamlNode& rules = spec.add("rules", YamlNode::sequence());
    for (const AuthzRule& r : p.rules) {
      YamlNode& rule = rules.push(YamlNode::mapping());
      if (!r.from.empty()) {
        YamlNode& from = rule.add("from", YamlNode::sequence());
        for (const AuthzSource& src : r.from) {
          YamlNode& s = from.push(YamlNode::mapping()).add("source", YamlNode::mapping());
          addTexts(&s, "principals", src.principals);
          addTexts(&s, "notPrincipals", src.notPrincipals);
          addTexts(&s, "requestPrincipals", src.requestPrincipals);
          addTexts(&s, "notRequestPrincipals", src.notRequestPrincipals);
          addTexts(&s, "namespaces", src.namespaces);
          addTexts(&s, "notNamespaces", src.notNamespaces);
          addTexts(&s, "ipBlocks", src.ipBlocks);
          addTexts(&s, "notIpBlocks", src.notIpBlocks);
          addTexts(&s, "remoteIpBlocks", src.remoteIpBlocks);
          addTexts(&s, "notRemoteIpBlocks", src.notRemoteIpBlocks);
        }
      }
      if (!r.to.empty()) {
        YamlNode& to = rule.add("to", YamlNode::sequence());
        for (const AuthzOperation& op : r.to) {
          YamlNode& o = to.push(YamlNode::mapping()).add("operation", YamlNode::mapping());
          addTexts(&o, "hosts", op.hosts);
          addTexts(&o, "notHosts", op.notHosts);
          addPorts(&o, "ports", op.ports);
          addPorts(&o, "notPorts", op.notPorts);
          addTexts(&o, "methods", op.methods);
          addTexts(&o, "notMethods", op.notMethods);
          addTexts(&o, "paths", op.paths);
          addTexts(&o, "notPaths", op.notPaths);
        }
      }
      if (!r.when.empty()) {
        YamlNode& when = rule.add("when", YamlNode::sequence());
        for (const AuthzCondition& c : r.when) {
          YamlNode& item = when.push(YamlNode::mapping());
          item.add("key", text(c.key));
          addTexts(&item, "values", c.values);
          addTexts(&item, "notValues", c.notValues);
        }
      }
    }
  }
  return spec;
}

YamlNode encodeLuaScript(const LuaScriptSpec& l) {
  YamlNode spec = YamlNode::mapping();
  YamlNode& source = spec.add("source", YamlNode::mapping());
  if (!l.file.empty())
    source.add("file", text(l.file));
  else
    source.add("inline", text(l.source));
  YamlNode& attach = spec.add("attachTo", YamlNode::sequence());
  for (const LuaAttachment& a : l.attachTo) {
    YamlNode& item = attach.push(YamlNode::mapping());
    item.add("kind", text(a.kind == LuaAttachment::Kind::kHttpRoute ? "HTTPRoute" : "Listener"));
    item.add("name", text(a.name));
  }
  spec.add("order", integer(l.order));
  spec.add("failOpen", boolean(l.failOpen));
  spec.add("trusted", boolean(l.trusted));
  if (l.instructions != 0 || l.wallMs != 0) {
    YamlNode& limits = spec.add("limits", YamlNode::mapping());
    if (l.instructions != 0) limits.add("instructions", integer(int64_t(l.instructions)));
    if (l.wallMs != 0) limits.add("wallMs", integer(l.wallMs));
  }
  return spec;
}

YamlNode encodeRateLimitValue(const RateLimitValue& v) {
  YamlNode m = YamlNode::mapping();
  m.add("requests", integer(static_cast<int64_t>(v.requests)));
  m.add("per", duration(v.perMs));
  if (v.burst) m.add("burst", integer(static_cast<int64_t>(v.burst)));
  return m;
}

YamlNode encodeRateLimit(const RateLimitSpec& r) {
  YamlNode spec = YamlNode::mapping();
  YamlNode& refs = spec.add("targetRefs", YamlNode::sequence());
  for (const RateLimitTargetRef& t : r.targetRefs) {
    YamlNode& item = refs.push(YamlNode::mapping());
    item.add("kind",
             text(t.kind == RateLimitTargetRef::Kind::kListener ? "Listener" : "HTTPRoute"));
    item.add("name", text(t.name));
  }
  spec.add("limit", encodeRateLimitValue(r.limit));
  if (r.key != RateLimitKeyType::kNone) {
    YamlNode& key = spec.add("key", YamlNode::mapping());
    key.add("type", text(kRateLimitKeyTypes[static_cast<int>(r.key) - 1]));
    if (r.key == RateLimitKeyType::kHeader) key.add("name", text(r.header));
  }
  spec.add("maxKeys", integer(static_cast<int64_t>(r.maxKeys)));
  return spec;
}

YamlNode encodeEgressPolicy(const EgressPolicySpec& p) {
  YamlNode spec = YamlNode::mapping();
  if (!p.workload.empty()) spec.add("workload", text(p.workload));
  if (p.hasSelector) {
    YamlNode& labels =
        spec.add("selector", YamlNode::mapping()).add("matchLabels", YamlNode::mapping());
    for (const auto& [k, v] : p.matchLabels) labels.add(k, text(v));
  }
  YamlNode& list = spec.add("egress", YamlNode::sequence());
  for (const EgressDestination& d : p.egress) {
    YamlNode& item = list.push(YamlNode::mapping());
    if (d.host.empty()) {
      item.add("service", text(d.service));
      item.add("namespace", text(d.serviceNs));
    } else {
      item.add("host", text(d.host));
    }
    if (d.rateLimit) item.add("rateLimit", encodeRateLimitValue(*d.rateLimit));
  }
  return spec;
}

YamlNode encodeResource(const Resource& r) {
  YamlNode root = YamlNode::mapping();
  const KindInfo& kind = kindInfo(r.kind);
  root.add("apiVersion", text(r.apiVersion.empty() ? kind.apiVersions[0] : r.apiVersion));
  root.add("kind", text(kind.name));
  YamlNode& meta = root.add("metadata", YamlNode::mapping());
  meta.add("name", text(r.meta.name));
  meta.add("namespace", text(r.meta.ns));
  if (!r.meta.labels.empty()) {
    YamlNode& labels = meta.add("labels", YamlNode::mapping());
    for (const auto& [k, v] : r.meta.labels) labels.add(k, text(v));
  }
  if (!r.meta.annotations.empty()) {
    YamlNode& annotations = meta.add("annotations", YamlNode::mapping());
    for (const auto& [k, v] : r.meta.annotations) annotations.add(k, text(v));
  }
  YamlNode spec = std::visit(
      [](const auto& s) -> YamlNode {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, ListenerSpec>) return encodeListener(s);
        if constexpr (std::is_same_v<T, HttpRouteSpec>) return encodeHttpRoute(s);
        if constexpr (std::is_same_v<T, ServiceSpec>) return encodeService(s);
        if constexpr (std::is_same_v<T, WorkloadSpec>) return encodeWorkload(s);
        if constexpr (std::is_same_v<T, MeshConfigSpec>) return encodeMeshConfig(s);
        if constexpr (std::is_same_v<T, AuthorizationPolicySpec>)
          return encodeAuthorizationPolicy(s);
        if constexpr (std::is_same_v<T, LuaScriptSpec>) return encodeLuaScript(s);
        if constexpr (std::is_same_v<T, RateLimitSpec>) return encodeRateLimit(s);
        if constexpr (std::is_same_v<T, EgressPolicySpec>) return encodeEgressPolicy(s);
      },
      r.spec);
  root.add("spec", std::move(spec));
  canonicalize(&root, Level::kRoot);
  return root;
}

// The canonical tree of a Resource: its stored JSON when it has one.
YamlNode resourceTree(const Resource& r) {
  if (!r.json.empty()) {
    YamlReader reader(r.json);
    YamlNode root;
    std::vector<YamlProblem> problems;
    if (reader.next(&root, &problems) == YamlReader::Status::kDocument && problems.empty())
      return root;
  }
  return encodeResource(r);
}

// --- Documents ---------------------------------------------------------------------------

// One resource: a whole document, or an item of a List.
void decodeResource(const YamlNode& root, const std::vector<YamlProblem>& problems,
                    const std::string& file, std::vector<Resource>* out,
                    std::vector<Diagnostic>* diags) {
  FieldErrors errors(file);
  for (const YamlProblem& p : problems) errors.add(p.line, p.column, p.path, p.message);
  if (!root.isMapping()) {
    errors.add(root, "", "a resource must be an object with apiVersion, kind, metadata and spec");
    errors.flush("document", diags);
    return;
  }

  Resource r;
  r.loc = SourceLoc{file, root.line, root.column};
  FieldReader doc(errors, root, "");
  doc.string("apiVersion", &r.apiVersion, Need::kRequired);
  std::string kind;
  doc.string("kind", &kind, Need::kRequired);
  decodeMetadata(doc, &r.meta);

  const KindInfo* info = findKind(kind);
  if (info == nullptr && doc.get("kind") != nullptr && !kind.empty()) {
    doc.fail("kind", "unknown kind \"" + kind +
                         "\" (this build knows Listener, HTTPRoute, Service, Workload, "
                         "MeshConfig, AuthorizationPolicy, LuaScript, RateLimit and "
                         "EgressPolicy)");
  } else if (info == nullptr && doc.get("kind") != nullptr) {
    doc.fail("kind", "must not be empty");
  }
  if (info != nullptr && !r.apiVersion.empty() &&
      std::find(info->apiVersions.begin(), info->apiVersions.end(), r.apiVersion) ==
          info->apiVersions.end()) {
    std::string expected(info->apiVersions[0]);
    if (!info->apiVersions[1].empty()) expected += " or " + std::string(info->apiVersions[1]);
    doc.fail("apiVersion", "must be " + expected + " for kind " + kind);
  }

  // The spec of a kind we do not decode is not looked into: the kind error says it all.
  const YamlNode* specNode = doc.get("spec", info != nullptr ? Need::kRequired : Need::kOptional);
  if (info != nullptr && specNode != nullptr) {
    r.kind = info->kind;
    FieldReader spec(errors, *specNode, "spec");
    switch (info->kind) {
      case Kind::kListener:
        r.spec = ListenerSpec{};
        decodeListener(spec, &std::get<ListenerSpec>(r.spec));
        break;
      case Kind::kHttpRoute:
        r.spec = HttpRouteSpec{};
        decodeHttpRoute(spec, r.meta.ns, &std::get<HttpRouteSpec>(r.spec));
        break;
      case Kind::kService:
        r.spec = ServiceSpec{};
        decodeService(spec, &std::get<ServiceSpec>(r.spec));
        break;
      case Kind::kWorkload:
        r.spec = WorkloadSpec{};
        decodeWorkload(spec, &std::get<WorkloadSpec>(r.spec));
        break;
      case Kind::kMeshConfig:
        r.spec = MeshConfigSpec{};
        decodeMeshConfig(spec, &std::get<MeshConfigSpec>(r.spec));
        break;
      case Kind::kAuthorizationPolicy:
        r.spec = AuthorizationPolicySpec{};
        decodeAuthorizationPolicy(spec, r.meta, &std::get<AuthorizationPolicySpec>(r.spec));
        break;
      case Kind::kLuaScript:
        r.spec = LuaScriptSpec{};
        decodeLuaScript(spec, r.meta, &std::get<LuaScriptSpec>(r.spec));
        break;
      case Kind::kRateLimit:
        r.spec = RateLimitSpec{};
        decodeRateLimit(spec, r.meta, &std::get<RateLimitSpec>(r.spec));
        break;
      case Kind::kEgressPolicy:
        r.spec = EgressPolicySpec{};
        decodeEgressPolicy(spec, r.meta, &std::get<EgressPolicySpec>(r.spec));
        break;
    }
    spec.finish();
  }
  // One MeshConfig configures the whole mesh; the fixed name makes a second one in the same
  // namespace a duplicate (validate.cc refuses one in another namespace).
  if (info != nullptr && info->kind == Kind::kMeshConfig && !r.meta.name.empty() &&
      r.meta.name != kMeshConfigName) {
    errors.add(r.meta.nameLoc.line, r.meta.nameLoc.column, "metadata.name",
               "must be \"default\": MeshConfig is a singleton");
  }
  doc.finish();

  if (errors.empty()) {
    r.json = writeJson(canonicalTree(root));
    out->push_back(std::move(r));
    return;
  }
  std::string subject = (kind.empty() ? std::string("resource") : kind) + " " + r.meta.ns + "/" +
                        (r.meta.name.empty() ? std::string("<unnamed>") : r.meta.name);
  errors.flush(subject, diags);
}

// A Kubernetes List ({apiVersion: v1, kind: List, items: [...]}): what `get KIND -o json`
// prints, and what kubectl prints, so that it can be applied back. Its items are resources;
// its own metadata (ListMeta) carries no configuration and is not kept.
void decodeList(const YamlNode& root, const std::vector<YamlProblem>& problems,
                const std::string& file, std::vector<Resource>* out,
                std::vector<Diagnostic>* diags) {
  FieldErrors errors(file);
  for (const YamlProblem& p : problems) errors.add(p.line, p.column, p.path, p.message);
  FieldReader o(errors, root, "");
  std::string apiVersion;
  if (o.string("apiVersion", &apiVersion, Need::kRequired) && apiVersion != "v1")
    o.fail("apiVersion", "must be v1 for kind List");
  o.get("kind");
  if (const YamlNode* meta = o.get("metadata")) {
    FieldReader m(errors, *meta, "metadata");
    for (std::string_view f : {"resourceVersion", "continue", "remainingItemCount", "selfLink"})
      m.get(f);
    m.finish();
  }
  const YamlNode* items = o.list("items", SIZE_MAX, Need::kRequired);
  if (items != nullptr) {
    for (size_t i = 0; i < items->items.size(); ++i) {
      const YamlNode* kind = items->items[i].find("kind");
      if (kind != nullptr && kind->isScalar() && kind->value == "List")
        errors.add(*kind, joinPath(indexPath("items", i), "kind"), "a List cannot hold a List");
    }
  }
  o.finish();
  // The List's own errors and its items' are reported together, in source order.
  std::vector<Diagnostic> found;
  errors.flush("List", &found);
  if (items != nullptr) {
    for (const YamlNode& item : items->items) {
      const YamlNode* kind = item.find("kind");
      if (kind == nullptr || !kind->isScalar() || kind->value != "List")
        decodeResource(item, {}, file, out, &found);
    }
  }
  std::stable_sort(found.begin(), found.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return a.loc.line != b.loc.line ? a.loc.line < b.loc.line : a.loc.column < b.loc.column;
  });
  diags->insert(diags->end(), found.begin(), found.end());
}

void decodeDocument(const YamlNode& root, const std::vector<YamlProblem>& problems,
                    const std::string& file, std::vector<Resource>* out,
                    std::vector<Diagnostic>* diags) {
  const YamlNode* kind = root.find("kind");
  if (kind != nullptr && kind->isScalar() && kind->value == "List") {
    decodeList(root, problems, file, out, diags);
  } else {
    decodeResource(root, problems, file, out, diags);
  }
}

// --- Files -------------------------------------------------------------------------------

Diagnostic fileProblem(const std::string& file, std::string what) {
  Diagnostic d;
  d.loc.file = file;
  d.message = std::move(what);
  return d;
}

// Reads all of `f` (at most kMaxFileBytes); the error is empty on success.
std::string readAll(FILE* f, std::string* out) {
  char buf[64 * 1024];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    if (out->size() + n > kMaxFileBytes)
      return "is larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB";
    out->append(buf, n);
  }
  if (ferror(f)) return std::string("cannot read: ") + strerror(errno);
  return {};
}

bool readFile(const std::string& path, std::vector<ConfigSource>* out,
              std::vector<Diagnostic>* diags) {
  FILE* f = fopen(path.c_str(), "rb");
  if (f == nullptr) {
    diags->push_back(fileProblem(path, std::string("cannot open: ") + strerror(errno)));
    return false;
  }
  ConfigSource source{path, {}};
  std::string error = readAll(f, &source.text);
  fclose(f);
  if (!error.empty()) {
    diags->push_back(fileProblem(path, error));
    return false;
  }
  out->push_back(std::move(source));
  return true;
}

bool isConfigFileName(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

// The configuration files under a directory, sorted. Entries whose names start with '.' are
// skipped: besides editor and VCS litter, that is how a Kubernetes ConfigMap volume keeps its
// previous revision (..data, ..2024_01_01...), which must not be read twice.
bool listDirectory(const std::string& dir, std::vector<std::string>* files,
                   std::vector<Diagnostic>* diags) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (isConfigFileName(it->path()) && it->is_regular_file(ec)) files->push_back(it->path());
  }
  if (ec) {
    diags->push_back(fileProblem(dir, "cannot list: " + ec.message()));
    return false;
  }
  std::sort(files->begin(), files->end());
  return true;
}

}  // namespace

bool decodeText(std::string_view text, const std::string& file, std::vector<Resource>* out,
                std::vector<Diagnostic>* diags) {
  size_t before = diags->size();
  if (text.size() > kMaxFileBytes) {
    diags->push_back(
        fileProblem(file, "is larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB"));
    return false;
  }
  YamlReader reader(text);
  YamlNode root;
  std::vector<YamlProblem> problems;
  for (;;) {
    problems.clear();
    YamlReader::Status status = reader.next(&root, &problems);
    if (status == YamlReader::Status::kDocument) {
      decodeDocument(root, problems, file, out, diags);
      continue;
    }
    // The stream is over; what remains are problems outside any usable document.
    for (const YamlProblem& p : problems) {
      Diagnostic d;
      d.loc = SourceLoc{file, p.line, p.column};
      d.message = p.path.empty() ? p.message : p.path + ": " + p.message;
      diags->push_back(std::move(d));
    }
    break;
  }
  return diags->size() == before;
}

bool readConfigSources(const std::vector<std::string>& paths, std::vector<ConfigSource>* out,
                       std::vector<Diagnostic>* diags) {
  bool ok = true;
  for (const std::string& path : paths) {
    if (path == "-") {
      ConfigSource source{"-", {}};
      std::string error = readAll(stdin, &source.text);
      if (!error.empty()) {
        diags->push_back(fileProblem("-", error));
        ok = false;
        continue;
      }
      out->push_back(std::move(source));
      continue;
    }
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      std::vector<std::string> files;
      if (!listDirectory(path, &files, diags)) {
        ok = false;
        continue;
      }
      for (const std::string& f : files) ok &= readFile(f, out, diags);
      continue;
    }
    ok &= readFile(path, out, diags);
  }
  return ok;
}

bool decodePaths(const std::vector<std::string>& paths, std::vector<Resource>* out,
                 std::vector<Diagnostic>* diags) {
  std::vector<ConfigSource> sources;
  bool ok = readConfigSources(paths, &sources, diags);
  for (const ConfigSource& source : sources) ok &= decodeText(source.text, source.file, out, diags);
  return ok;
}

std::string canonicalJson(const Resource& r) {
  if (!r.json.empty()) return r.json;
  return writeJson(encodeResource(r));
}

std::string toYaml(const Resource& r) {
  return writeYaml(resourceTree(r));
}

}  // namespace gh::config
