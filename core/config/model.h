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
  std::string workload;   // mesh listeners only: the Workload (same namespace) MESH_INBOUND
                          // forwards to, or whose app sends through MESH_OUTBOUND (its
                          // EgressPolicies apply); empty: the configuration's only Workload
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
                        kUrlRewrite, kRequestMirror };

struct BackendRef {
  std::string name;
  std::string ns;        // defaults to the route's namespace
  uint32_t weight = 1;   // 0..1'000'000
  SourceLoc loc;         // for reference errors: the backendRefs[] item

  bool operator==(const BackendRef&) const = default;
};

// RequestMirror (Gateway API): a fire-and-forget copy of each request (a share of them) to a
// shadow Service; the real request never waits for it (docs/traffic.md "Mirroring").
struct RequestMirror {
  BackendRef backendRef;
  uint32_t perMillion = 1'000'000;  // percent or fraction, in parts per million

  bool operator==(const RequestMirror&) const = default;
};

struct RouteFilter {
  FilterType type = FilterType::kRequestHeaderModifier;
  HeaderModifier headerModifier;  // for the two header modifiers
  RequestRedirect redirect;
  UrlRewrite rewrite;
  RequestMirror mirror;

  bool operator==(const RouteFilter&) const = default;
};

struct RouteTimeouts {  // absent: no timeout (the decoder maps the Gateway API's "0s" here)
  std::optional<uint64_t> requestMs;         // whole exchange, from head received to last byte
  std::optional<uint64_t> backendRequestMs;  // from upstream request sent to response head

  bool operator==(const RouteTimeouts&) const = default;
};

// rules[].retry (Gateway API HTTPRouteRetry): absent or attempts 0: no retries.
struct RouteRetry {
  uint32_t attempts = 1;      // retries after the first try (Envoy's default: 1)
  uint64_t backoffMs = 25;    // the least wait before a retry (jitter is added above it)
  std::vector<int> codes;     // statuses retried (400-599); connect failures and resets always

  bool operator==(const RouteRetry&) const = default;
};

// rules[].fault: Istio's HTTPFaultInjection on a Gateway API rule (a Gatehouse extension, as
// timeouts are a rule field): delay and abort a share of the requests, for resilience drills.
struct FaultInjection {
  uint32_t delayPerMillion = 0;  // delay.percentage, in parts per million
  uint64_t delayMs = 0;          // delay.fixedDelay; 0: no delay
  uint32_t abortPerMillion = 0;  // abort.percentage
  uint16_t abortStatus = 0;      // abort.httpStatus; 0: no abort

  bool operator==(const FaultInjection&) const = default;
};

struct RouteRule {
  std::string name;                   // optional rules[].name
  std::vector<RouteMatch> matches;    // empty: one match of PathPrefix "/"
  std::vector<RouteFilter> filters;
  std::vector<BackendRef> backendRefs;
  RouteTimeouts timeouts;
  std::optional<RouteRetry> retry;
  std::optional<FaultInjection> fault;

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
  std::string address;  // IPv4 or IPv6 literal, or a lower-case DNS name (resolved by the server)
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

// trafficPolicy.loadBalancer (Istio's DestinationRule LoadBalancerSettings).
enum class LoadBalancer { kRoundRobin, kLeastRequest, kRandom, kRingHash, kMaglev };

struct ConsistentHash {  // loadBalancer.consistentHash: what the hash is taken of
  enum class Key { kHeader, kCookie, kSourceIp };
  Key key = Key::kSourceIp;
  std::string name;                 // httpHeaderName (lower-cased) or httpCookie.name
  uint64_t minimumRingSize = 1024;  // ringHash.minimumRingSize
  uint64_t tableSize = 65537;       // maglev.tableSize (a prime)

  bool operator==(const ConsistentHash&) const = default;
};

// trafficPolicy.outlierDetection (Istio's OutlierDetection; defaults when the block is set).
struct OutlierDetectionSpec {
  uint32_t consecutive5xxErrors = 5;
  uint32_t consecutiveGatewayErrors = 0;
  uint64_t intervalMs = 10'000;
  uint64_t baseEjectionTimeMs = 30'000;
  uint32_t maxEjectionPercent = 10;
  uint32_t minHealthPercent = 0;

  bool operator==(const OutlierDetectionSpec&) const = default;
};

// spec.healthCheck: active HTTP health checks of every endpoint (docs/traffic.md).
struct HealthCheckSpec {
  std::string path;  // required; sent as "GET <path> HTTP/1.1"
  uint64_t intervalMs = 5'000;
  uint64_t timeoutMs = 1'000;
  uint32_t healthyThreshold = 2;
  uint32_t unhealthyThreshold = 3;

  bool operator==(const HealthCheckSpec&) const = default;
};

struct ServiceSpec {
  std::vector<Endpoint> endpoints;
  std::optional<OutlierDetectionSpec> outlierDetection;
  std::optional<HealthCheckSpec> healthCheck;
  LoadBalancer loadBalancer = LoadBalancer::kRoundRobin;
  ConsistentHash hash;  // kRingHash / kMaglev
  std::optional<DirectResponse> directResponse;  // exactly one of endpoints / directResponse
  uint64_t connectTimeoutMs = 5'000;  // trafficPolicy.connectionPool.tcp.connectTimeout
  uint64_t idleTimeoutMs = 60'000;    // trafficPolicy.connectionPool.http.idleTimeout
  // trafficPolicy.connectionPool limits (circuit breaking); unset: unlimited.
  std::optional<uint32_t> maxConnections;           // tcp.maxConnections
  std::optional<uint32_t> http1MaxPendingRequests;  // http.http1MaxPendingRequests
  uint32_t maxRequestsPerConnection = 0;            // http.maxRequestsPerConnection; 0: no limit
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

// spec.extensionProviders[].envoyExtAuthzHttp: an external HTTP authorization service with
// Envoy's ext_authz HTTP contract (Istio's MeshConfig shape). A CUSTOM AuthorizationPolicy
// names one by `name`. The request's selected headers go to the service; a 2xx answer allows,
// anything else denies with its status and body.
struct ExtAuthzHttpProvider {
  std::string service;  // a Service of the configuration: "name", "name.namespace" or
                        // "namespace/name" (namespace: the MeshConfig's when not written)
  uint16_t port = 0;    // required, as in Istio
  std::string pathPrefix;                              // prepended to the request's path
  std::vector<std::string> includeRequestHeadersInCheck;  // lower-cased header names
  std::vector<std::string> headersToUpstreamOnAllow;      // lower-cased header names
  uint64_t timeoutMs = 600'000;                           // Istio's default: 600s
  bool failOpen = false;  // the service unreachable or timing out: allow (true) or deny
  SourceLoc serviceLoc;   // of service: where an unknown Service is reported

  bool operator==(const ExtAuthzHttpProvider&) const = default;
};

struct ExtensionProvider {
  std::string name;  // unique; what AuthorizationPolicy spec.provider.name refers to
  ExtAuthzHttpProvider http;  // envoyExtAuthzHttp (when luaScript is empty)
  // lua: {script: NAME} (Gatehouse's own kind): the LuaScript, in the MeshConfig's namespace,
  // whose gatehouse_authorize(handle) decides (docs/lua.md). Empty: an HTTP provider.
  std::string luaScript;
  SourceLoc luaLoc;
  SourceLoc loc;              // of the list item

  bool operator==(const ExtensionProvider&) const = default;
};

struct MeshConfigSpec {  // singleton named "default"; absent: every field at its default
  std::string trustDomain = "cluster.local";
  MtlsMode mtls = MtlsMode::kStrict;
  uint64_t certificateTtlMs = 86'400'000;  // certificateTTL; accepted range 10s .. 2160h
  std::string caAddress;                   // "host:port" (host: DNS name or IP literal,
                                           // [v6]:port); empty: not set
  // The namespace whose AuthorizationPolicies apply to every Workload (spec/authz.md).
  std::string rootNamespace = "gatehouse-system";
  std::vector<ExtensionProvider> extensionProviders;  // CUSTOM authorization providers

  bool operator==(const MeshConfigSpec&) const = default;
};

// --- AuthorizationPolicy (security.istio.io/v1beta1 and v1) ------------------------------
//
// Istio's resource, field for field, with Istio's meaning (spec/authz.md; docs/authz.md).
// Strings in the match lists are kept as written: exact, prefix "abc*", suffix "*abc" or
// presence "*" (the decoder refuses a '*' anywhere else); core/policy compiles them.

enum class AuthzAction { kAllow, kDeny, kAudit, kCustom };

struct PolicyTargetRef {  // targetRef / targetRefs[]: Istio's {group, kind, name}
  std::string group = "gatehouse.dev";
  std::string kind = "Listener";
  std::string name;  // a Listener of the policy's namespace (an edge one: HTTP or HTTPS)
  SourceLoc loc;     // of the reference: where an unknown Listener is reported

  bool operator==(const PolicyTargetRef&) const = default;
};

struct AuthzSource {  // rules[].from[].source: fields ANDed, values of one field ORed
  std::vector<std::string> principals;     // principal patterns (identity::PrincipalPattern)
  std::vector<std::string> notPrincipals;
  std::vector<std::string> requestPrincipals;  // JWT: refused by this build
  std::vector<std::string> notRequestPrincipals;
  std::vector<std::string> namespaces;  // of the peer's SPIFFE ID
  std::vector<std::string> notNamespaces;
  std::vector<std::string> ipBlocks;  // "10.0.0.0/8", "10.1.2.3", "fd00::/8": the peer address
  std::vector<std::string> notIpBlocks;
  std::vector<std::string> remoteIpBlocks;  // the client address (trusted X-Forwarded-For)
  std::vector<std::string> notRemoteIpBlocks;

  bool operator==(const AuthzSource&) const = default;
};

struct AuthzOperation {  // rules[].to[].operation
  std::vector<std::string> hosts;  // matched case-insensitively against the Host as sent
  std::vector<std::string> notHosts;
  std::vector<uint16_t> ports;  // the destination port (Istio writes them as strings)
  std::vector<uint16_t> notPorts;
  std::vector<std::string> methods;
  std::vector<std::string> notMethods;
  std::vector<std::string> paths;  // the normalised path, without query
  std::vector<std::string> notPaths;

  bool operator==(const AuthzOperation&) const = default;
};

struct AuthzCondition {  // rules[].when[]
  std::string key;     // "request.headers[x-tenant]", "source.ip", "destination.port", ...
  std::vector<std::string> values;     // any matches (none written: no constraint)
  std::vector<std::string> notValues;  // none matches

  bool operator==(const AuthzCondition&) const = default;
};

struct AuthzRule {
  std::vector<AuthzSource> from;  // empty: any source
  std::vector<AuthzOperation> to;  // empty: any operation
  std::vector<AuthzCondition> when;  // all must hold

  bool operator==(const AuthzRule&) const = default;
};

struct AuthorizationPolicySpec {
  bool hasSelector = false;  // spec.selector written: matchLabels decides (empty: every
                             // Workload of the namespace, as no selector)
  std::map<std::string, std::string> matchLabels;
  std::vector<PolicyTargetRef> targetRefs;  // targetRef or targetRefs: edge Listeners
  AuthzAction action = AuthzAction::kAllow;
  std::string provider;   // CUSTOM only: an extensionProviders[].name of the MeshConfig
  SourceLoc providerLoc;  // of provider.name
  // No `rules` field (or `rules: []`, which Istio cannot tell apart): the policy matches
  // nothing. `rules: [{}]` is one rule with no from, to or when: it matches everything.
  std::vector<AuthzRule> rules;
  bool dryRun = false;  // metadata.annotations["istio.io/dry-run"] == "true"

  bool operator==(const AuthorizationPolicySpec&) const = default;
};

// --- LuaScript (gatehouse.dev/v1) --------------------------------------------------------
// Envoy-compatible Lua hooks (docs/lua.md); core/script runs them. The source is checked when
// decoded (luaSyntaxChecker), so a syntax error rejects the version with the YAML line of the
// Lua line at fault.

struct LuaAttachment {
  enum class Kind { kListener, kHttpRoute };
  Kind kind = Kind::kListener;
  std::string name;
  SourceLoc loc;  // of the attachTo entry

  bool operator==(const LuaAttachment&) const = default;
};

struct LuaScriptSpec {
  std::string source;   // spec.source.inline: the Lua text
  std::string file;     // spec.source.file: a path, to be inlined by whoever reads files
  SourceLoc sourceLoc;  // where the Lua text (or the file path) is written
  std::vector<LuaAttachment> attachTo;  // at least one
  int64_t order = 0;                    // lower runs first; ties by name
  bool failOpen = false;
  bool trusted = false;
  uint64_t instructions = 0;  // spec.limits.instructions; 0: the default (1 000 000)
  uint32_t wallMs = 0;        // spec.limits.wallMs; 0: the default (50)

  bool operator==(const LuaScriptSpec&) const = default;
};

// The Lua parser config uses to check sources. core/config does not link LuaJIT (its module
// tests build without core/script): the binary installs gh::script::checkSyntax at start-up.
// Returns true when `source` compiles; else sets the 1-based Lua line (0: unknown) and message.
using LuaSyntaxChecker = bool (*)(std::string_view name, std::string_view source, int* line,
                                  std::string* message);
void setLuaSyntaxChecker(LuaSyntaxChecker checker);
LuaSyntaxChecker luaSyntaxChecker();  // nullptr until set: sources are then not parsed

// --- RateLimit (gatehouse.dev/v1) --------------------------------------------------------
// Local token buckets (docs/traffic.md "Rate limits"): `requests` per `per` with a `burst`,
// per key, for the Listeners and HTTPRoutes it targets.

struct RateLimitValue {  // limit: {requests, per, burst}
  uint64_t requests = 0;  // > 0
  uint64_t perMs = 1000;  // per: 1ms .. 24h
  uint64_t burst = 0;     // bucket size; 0: same as requests

  bool operator==(const RateLimitValue&) const = default;
};

enum class RateLimitKeyType {
  kNone,       // no key: one bucket for everything the limit applies to (Envoy's local limit)
  kClientIp,   // the client address (the trusted X-Forwarded-For entry when hops are trusted)
  kPrincipal,  // the verified mTLS peer identity; the client address when there is none
  kHeader,     // a request header's value; the client address when the header is absent
};

struct RateLimitTargetRef {  // targetRefs[]: {group, kind, name} of the RateLimit's namespace
  enum class Kind { kListener, kHttpRoute };
  Kind kind = Kind::kHttpRoute;
  std::string name;
  SourceLoc loc;  // of the reference: where an unknown target is reported

  bool operator==(const RateLimitTargetRef&) const = default;
};

struct RateLimitSpec {
  std::vector<RateLimitTargetRef> targetRefs;  // at least one
  RateLimitValue limit;
  RateLimitKeyType key = RateLimitKeyType::kNone;
  std::string header;       // kHeader: the header name, lower-cased
  uint64_t maxKeys = 10'000;  // buckets kept (rounded up to a power of two); idle ones are reused

  bool operator==(const RateLimitSpec&) const = default;
};

// --- EgressPolicy (gatehouse.dev/v1) -----------------------------------------------------
// What a Workload may call through its MESH_OUTBOUND listener (docs/traffic.md "Egress").

struct EgressDestination {  // egress[]: exactly one of service / host
  std::string service;  // a Service name
  std::string serviceNs;  // its namespace (default: the policy's)
  std::string host;     // an external host as the app sends it: exact or "*.suffix", lower-case
  std::optional<RateLimitValue> rateLimit;  // for this destination, from this Workload
  SourceLoc loc;  // of the item

  bool operator==(const EgressDestination&) const = default;
};

struct EgressPolicySpec {
  std::string workload;      // spec.workload: one Workload of the namespace by name
  bool hasSelector = false;  // spec.selector.matchLabels (empty: every Workload)
  std::map<std::string, std::string> matchLabels;
  std::vector<EgressDestination> egress;  // may be empty: nothing is allowed
  SourceLoc workloadLoc;

  bool operator==(const EgressPolicySpec&) const = default;
};

// --- Resource ----------------------------------------------------------------------------

enum class Kind {
  kListener,
  kHttpRoute,
  kService,
  kWorkload,
  kMeshConfig,
  kAuthorizationPolicy,
  kLuaScript,
  kRateLimit,
  kEgressPolicy
};

struct Resource {
  std::string apiVersion;
  Kind kind = Kind::kListener;
  ObjectMeta meta;
  std::variant<ListenerSpec, HttpRouteSpec, ServiceSpec, WorkloadSpec, MeshConfigSpec,
               AuthorizationPolicySpec, LuaScriptSpec, RateLimitSpec, EgressPolicySpec>
      spec;
  SourceLoc loc;             // where the document starts
  std::string json;          // canonical JSON of the whole document (what the store keeps)

  const ListenerSpec& listener() const { return std::get<ListenerSpec>(spec); }
  const HttpRouteSpec& route() const { return std::get<HttpRouteSpec>(spec); }
  const ServiceSpec& service() const { return std::get<ServiceSpec>(spec); }
  const WorkloadSpec& workload() const { return std::get<WorkloadSpec>(spec); }
  const MeshConfigSpec& meshConfig() const { return std::get<MeshConfigSpec>(spec); }
  const AuthorizationPolicySpec& authorizationPolicy() const {
    return std::get<AuthorizationPolicySpec>(spec);
  }
  const LuaScriptSpec& luaScript() const { return std::get<LuaScriptSpec>(spec); }
  const RateLimitSpec& rateLimit() const { return std::get<RateLimitSpec>(spec); }
  const EgressPolicySpec& egressPolicy() const { return std::get<EgressPolicySpec>(spec); }

  bool operator==(const Resource&) const = default;
};

// "Listener", "HTTPRoute", "Service", "Workload", "MeshConfig", "AuthorizationPolicy",
// "LuaScript", "RateLimit", "EgressPolicy"
const char* kindName(Kind k);
bool parseKindName(std::string_view s, Kind* out);  // accepts case-insensitive kind names,
                                                    // common plurals ("listeners",
                                                    // "meshconfigs") and kubectl's short names
const char* authzActionName(AuthzAction a);  // "ALLOW", "DENY", "AUDIT", "CUSTOM"

}  // namespace gh::config
