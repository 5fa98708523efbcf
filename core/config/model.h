#pragma once
// The resource model: typed, validated forms of the resources of ../shared/spec/config.md.
//
// A Resource is what a YAML/JSON document decodes to. Decoding (decode.h) fills these structs
// and rejects unknown fields, wrong types and bad values with file:line:column diagnostics;
// cross-resource checks (references, port conflicts) are in validate.h. The structs are plain
// data: no I/O, no behaviour, safe to copy and to share read-only across threads.
//
// Fields a later capability will honour (retries, mirroring, TLS, ...) are rejected by the
// decoder with "not supported yet" instead of being accepted and ignored: a configuration that
// is accepted is a configuration that is enforced.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace gh::config {

// Where a value came from, for diagnostics.
//
// Every struct below compares with ==, field by field, SourceLocs included: two Resources read
// from different places are different objects. Compare what a resource *says* with
// Resource::json, which carries no positions.
struct SourceLoc {
  std::string file;  // "-" for stdin, "<embedded>" for the built-in default
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;    // 1-based

  bool operator==(const SourceLoc&) const = default;
};

struct Diagnostic {
  SourceLoc loc;
  std::string message;  // "HTTPRoute default/shop: spec.rules[0].matches[0].path.type: must be
                        // one of Exact, PathPrefix, RegularExpression"
  std::string format() const;  // "file:line:column: message"

  bool operator==(const Diagnostic&) const = default;
};

struct ObjectMeta {
  std::string name;
  std::string ns = "default";  // metadata.namespace
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  SourceLoc nameLoc;  // of metadata.name: where duplicate-resource errors point

  bool operator==(const ObjectMeta&) const = default;
};

// --- Listener (gatehouse.dev/v1) ---------------------------------------------------------

enum class Protocol { kHttp, kHttps, kMeshInbound, kMeshOutbound };

struct HttpSettings {  // spec.http: per-listener limits of spec/http.md (all optional)
  uint64_t maxRequestLineBytes = 8 * 1024;
  uint64_t maxHeaderBytes = 60 * 1024;
  uint64_t maxHeaders = 100;
  uint64_t maxResponseHeadBytes = 60 * 1024;
  uint64_t maxBodyBytes = 0;          // 0 = unlimited
  uint64_t headTimeoutMs = 10'000;
  uint64_t idleTimeoutMs = 60'000;
  bool mergeSlashes = false;
  uint32_t xffTrustedHops = 0;        // how many X-Forwarded-For hops to trust (0: none, the
                                      // client address starts a new list)

  bool operator==(const HttpSettings&) const = default;
};

enum class TlsVersion { kTls12, kTls13 };

struct CertificateRef {  // spec.tls.certificates[]: PEM files, absolute paths
  std::string certFile;  // the leaf first, then its intermediates
  std::string keyFile;
  SourceLoc certLoc;  // of certFile / keyFile: where load errors are reported
  SourceLoc keyLoc;

  bool operator==(const CertificateRef&) const = default;
};

struct TlsSettings {                         // spec.tls: required for HTTPS, refused for HTTP
  std::vector<CertificateRef> certificates;  // chosen by SNI; the first is the default
  TlsVersion minVersion = TlsVersion::kTls12;

  bool operator==(const TlsSettings&) const = default;
};

struct ListenerSpec {
  std::string address = "0.0.0.0";  // IPv4 or IPv6 literal
  uint16_t port = 0;
  Protocol protocol = Protocol::kHttp;
  HttpSettings http;
  std::optional<TlsSettings> tls;  // HTTPS only: mesh listeners use the workload certificate
  SourceLoc portLoc;  // of spec.port: where address:port conflicts are reported
  std::string workload;   // MESH_INBOUND only: the Workload (same namespace) it forwards to;
                          // empty: the configuration's only Workload
  SourceLoc workloadLoc;  // of spec.workload (of spec when absent): where it fails to resolve

  bool operator==(const ListenerSpec&) const = default;
};

// --- HTTPRoute (gateway.networking.k8s.io/v1) --------------------------------------------

struct ParentRef {
  std::string name;
  std::string ns;  // defaults to the route's namespace
  SourceLoc loc;   // of the parentRefs[] item, for reference errors

  bool operator==(const ParentRef&) const = default;
};

enum class PathMatchType { kExact, kPathPrefix, kRegularExpression };
enum class ValueMatchType { kExact, kRegularExpression };

struct PathMatch {
  PathMatchType type = PathMatchType::kPathPrefix;
  std::string value = "/";
  SourceLoc loc;  // of path.value, for regex compile errors

  bool operator==(const PathMatch&) const = default;
};

struct NameValueMatch {  // headers[] and queryParams[]
  ValueMatchType type = ValueMatchType::kExact;
  std::string name;      // header names compare case-insensitively; query names exactly
  std::string value;
  SourceLoc loc;         // of value, for regex compile errors

  bool operator==(const NameValueMatch&) const = default;
};

struct RouteMatch {
  PathMatch path;                          // default: PathPrefix "/"
  std::optional<std::string> method;       // GET, POST, ...
  std::vector<NameValueMatch> headers;
  std::vector<NameValueMatch> queryParams;

  bool operator==(const RouteMatch&) const = default;
};

struct HeaderValue {
  std::string name;
  std::string value;

  bool operator==(const HeaderValue&) const = default;
};

struct HeaderModifier {  // RequestHeaderModifier / ResponseHeaderModifier
  std::vector<HeaderValue> set;
  std::vector<HeaderValue> add;
  std::vector<std::string> remove;

  bool operator==(const HeaderModifier&) const = default;
};

enum class PathModifierType { kReplaceFullPath, kReplacePrefixMatch };

struct PathModifier {
  PathModifierType type = PathModifierType::kReplaceFullPath;
  std::string value;  // replaceFullPath or replacePrefixMatch

  bool operator==(const PathModifier&) const = default;
};

struct RequestRedirect {
  std::optional<std::string> scheme;    // http | https
  std::optional<std::string> hostname;
  std::optional<PathModifier> path;
  std::optional<uint16_t> port;
  int statusCode = 302;                 // 301 | 302 | 303 | 307 | 308

  bool operator==(const RequestRedirect&) const = default;
};

struct UrlRewrite {
  std::optional<std::string> hostname;
  std::optional<PathModifier> path;

  bool operator==(const UrlRewrite&) const = default;
};

enum class FilterType { kRequestHeaderModifier, kResponseHeaderModifier, kRequestRedirect,
                        kUrlRewrite };

struct RouteFilter {
  FilterType type = FilterType::kRequestHeaderModifier;
  HeaderModifier headerModifier;  // for the two header modifiers
  RequestRedirect redirect;
  UrlRewrite rewrite;

  bool operator==(const RouteFilter&) const = default;
};

struct BackendRef {
  std::string name;
  std::string ns;        // defaults to the route's namespace
  uint32_t weight = 1;   // 0..1'000'000
  SourceLoc loc;         // for reference errors: the backendRefs[] item

  bool operator==(const BackendRef&) const = default;
};

struct RouteTimeouts {  // absent: no timeout (the decoder maps the Gateway API's "0s" here)
  std::optional<uint64_t> requestMs;         // whole exchange, from head received to last byte
  std::optional<uint64_t> backendRequestMs;  // from upstream request sent to response head

  bool operator==(const RouteTimeouts&) const = default;
};

struct RouteRule {
  std::string name;                   // optional rules[].name
  std::vector<RouteMatch> matches;    // empty: one match of PathPrefix "/"
  std::vector<RouteFilter> filters;
  std::vector<BackendRef> backendRefs;
  RouteTimeouts timeouts;

  bool operator==(const RouteRule&) const = default;
};

struct HttpRouteSpec {
  std::vector<ParentRef> parentRefs;
  std::vector<std::string> hostnames;  // lower-cased; exact or "*.suffix"
  std::vector<RouteRule> rules;

  bool operator==(const HttpRouteSpec&) const = default;
};

// --- Service (gatehouse.dev/v1) ----------------------------------------------------------

struct Endpoint {
  std::string address;  // IPv4 or IPv6 literal
  uint16_t port = 0;
  uint32_t weight = 1;

  bool operator==(const Endpoint&) const = default;
};

struct DirectResponse {
  int status = 200;
  std::string contentType = "text/plain";
  std::string body;

  bool operator==(const DirectResponse&) const = default;
};

struct ServiceSpec {
  std::vector<Endpoint> endpoints;
  std::optional<DirectResponse> directResponse;  // exactly one of endpoints / directResponse
  uint64_t connectTimeoutMs = 5'000;  // trafficPolicy.connectionPool.tcp.connectTimeout
  uint64_t idleTimeoutMs = 60'000;    // trafficPolicy.connectionPool.http.idleTimeout
  bool mesh = false;      // originate mTLS with this node's workload identity
  std::string identity;   // mesh only: the SPIFFE ID (URI form) the peer must present;
                          // empty: any workload identity of the local trust domain
  SourceLoc identityLoc;  // of spec.identity: where a foreign trust domain is reported

  bool operator==(const ServiceSpec&) const = default;
};

// --- Workload (gatehouse.dev/v1) ---------------------------------------------------------

struct WorkloadSpec {  // the local app this node fronts (MESH_INBOUND forwards to it)
  std::string serviceAccount;         // required; identity spiffe://<td>/ns/<ns>/sa/<sa>
  std::string address = "127.0.0.1";  // IPv4 or IPv6 literal
  uint16_t port = 0;                  // required, 1..65535

  bool operator==(const WorkloadSpec&) const = default;
};

// --- MeshConfig (gatehouse.dev/v1) -------------------------------------------------------

enum class MtlsMode {
  kStrict,      // inbound mesh listeners accept mutual TLS only
  kPermissive,  // plaintext is accepted too (and counted)
};

struct MeshConfigSpec {  // singleton named "default"; absent: every field at its default
  std::string trustDomain = "cluster.local";
  MtlsMode mtls = MtlsMode::kStrict;
  uint64_t certificateTtlMs = 86'400'000;  // certificateTTL; accepted range 10s .. 2160h
  std::string caAddress;                   // "host:port" (host: DNS name or IP literal,
                                           // [v6]:port); empty: not set

  bool operator==(const MeshConfigSpec&) const = default;
};

// --- Resource ----------------------------------------------------------------------------

enum class Kind { kListener, kHttpRoute, kService, kWorkload, kMeshConfig };

struct Resource {
  std::string apiVersion;
  Kind kind = Kind::kListener;
  ObjectMeta meta;
  std::variant<ListenerSpec, HttpRouteSpec, ServiceSpec, WorkloadSpec, MeshConfigSpec> spec;
  SourceLoc loc;             // where the document starts
  std::string json;          // canonical JSON of the whole document (what the store keeps)

  const ListenerSpec& listener() const { return std::get<ListenerSpec>(spec); }
  const HttpRouteSpec& route() const { return std::get<HttpRouteSpec>(spec); }
  const ServiceSpec& service() const { return std::get<ServiceSpec>(spec); }
  const WorkloadSpec& workload() const { return std::get<WorkloadSpec>(spec); }
  const MeshConfigSpec& meshConfig() const { return std::get<MeshConfigSpec>(spec); }

  bool operator==(const Resource&) const = default;
};

const char* kindName(Kind k);  // "Listener", "HTTPRoute", "Service", "Workload", "MeshConfig"
bool parseKindName(std::string_view s, Kind* out);  // accepts case-insensitive kind names and
                                                    // common plurals ("listeners", "meshconfigs")

}  // namespace gh::config
