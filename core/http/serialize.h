#pragma once
// Serialization of message heads toward the upstream and the client, and of local replies.
//
// This is where the proxy rules of spec/http.md that concern header fields live: hop-by-hop
// fields (Connection and the fields it names, Keep-Alive, TE, Trailer, Transfer-Encoding,
// Upgrade, Proxy-*) are never forwarded (except the Upgrade handshake for WebSocket);
// X-Forwarded-For/-Proto/-Host are set, appended to only when the listener trusts hops in
// front of it; x-request-id is generated when absent; framing fields are written by us from
// the parsed framing, never copied. Route filters that edit headers apply here too.
//
// Pure functions: they append into a caller-owned string (the worker's scratch) and allocate
// nothing else.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config/model.h"
#include "core/http/parser.h"

namespace gh::http {

struct RequestHeadInput {
  const RequestHead* head = nullptr;
  std::string_view path;    // normalised (or rewritten) path
  std::string_view query;   // without '?'
  std::string_view host;    // Host to send (original or rewritten)
  std::string_view clientIp;
  uint32_t xffTrustedHops = 0;
  bool secure = false;  // the client connection is TLS: X-Forwarded-Proto https
  const std::vector<config::RouteFilter>* filters = nullptr;
  uint64_t random[2] = {0, 0};  // entropy for a generated x-request-id
  // A verified mesh peer (both set, or both empty): forwarded as x-forwarded-client-cert in
  // Envoy's format, By=<localIdentity>;Hash=<peerHash>;URI=<peerIdentity>. An
  // x-forwarded-client-cert field the client sent is always dropped, so the header cannot be
  // forged from outside.
  std::string_view peerIdentity;
  std::string_view peerHash;
  std::string_view localIdentity;
  // Set on the request (replacing fields of the same name): what CUSTOM authorization
  // providers returned in headersToUpstreamOnAllow.
  std::span<const std::pair<std::string, std::string>> extraHeaders;
  // Tracing on: this hop's `traceparent` (and the validated `tracestate` to pass on, may be
  // empty) replace the fields the client sent. Empty: trace fields pass through untouched.
  std::string_view traceparent;
  std::string_view tracestate;
  // A mirror copy: Host is `host` whatever the RequestHeaderModifiers or extra headers say
  // (the caller computed it from theirs, requestHostAfterModifiers), never theirs or none.
  bool forceHost = false;
};
void serializeRequest(const RequestHeadInput& in, std::string& out);
// The Host the real request goes out with after the RequestHeaderModifiers in `filters`: the
// value the last one sets, else `host` (also when a modifier removes Host: Envoy refuses to
// remove it; the copy of such a request keeps the host it was routed with).
std::string_view requestHostAfterModifiers(const std::vector<config::RouteFilter>* filters,
                                           std::string_view host);
// The x-request-id serializeRequest generates from `random` when the client sent none: a
// version 4 UUID, 36 characters (the access log writes the same id).
void formatRequestId(uint64_t a, uint64_t b, char out[36]);

struct ResponseHeadInput {
  const ResponseHead* head = nullptr;
  const std::vector<config::RouteFilter>* filters = nullptr;
  int clientVersionMinor = 1;
  bool headRequest = false;
};
struct ResponseFraming {
  bool chunked = false;    // re-chunk the body toward the client
  bool keepAlive = true;   // the client connection stays open after this response
};
// `keepAlive`: whether the client connection may stay open as far as the caller knows.
ResponseFraming serializeResponse(const ResponseHeadInput& in, bool keepAlive, std::string& out);

// A complete local reply (head and body). `reason` (may be null) becomes x-gatehouse-reason;
// `location` (may be empty) a Location field, `retryAfter` (may be empty) a Retry-After field.
void serializeLocalReply(int status, const char* reason, std::string_view body,
                         std::string_view contentType, std::string_view location, bool keepAlive,
                         bool headRequest, int clientVersionMinor, std::string& out,
                         std::string_view retryAfter = {});

// RequestRedirect: the Location for a request (Gateway API rules for scheme, port and path:
// without a scheme of its own the redirect keeps the request's, `requestScheme`).
void buildRedirectLocation(const config::RequestRedirect& r, const config::PathMatch* matched,
                           uint16_t listenerPort, std::string_view host, std::string_view path,
                           std::string_view query, std::string* out,
                           std::string_view requestScheme = "http");
// URLRewrite / redirect path modifiers. `matched` is the PathPrefix that matched (for
// ReplacePrefixMatch).
void rewritePath(const config::PathModifier& m, const config::PathMatch* matched,
                 std::string_view path, std::string* out);

const char* statusText(int status);
// True for fields that are never forwarded (hop-by-hop), compared case-insensitively.
bool isHopByHop(std::string_view name);

}  // namespace gh::http
