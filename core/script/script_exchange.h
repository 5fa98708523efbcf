#pragma once
// ScriptExchange: what a Lua hook sees of one HTTP exchange, as an interface the session
// implements. core/script never includes core/http: the session adapts its own types to these.
//
// Contract
// --------
// - Owned by the session. A HookCall (runtime.h) holds a reference to it from start() until
//   the call ends (finished, failed or cancel()ed); the session keeps it alive that long.
// - Called only on the worker thread that runs the hook, and only from inside HookCall::start
//   or HookCall::resume*(): never re-entered, never called after the hook ended.
// - Nothing here may call back into the HookCall (no resume from inside startHttpCall): the
//   session answers asynchronous work later, from its own loop.
//
// - Objects handed out (headers(), bufferedBody(), createEmptyBody(), trailers()) stay valid
//   until the hook ends: scripts keep wrappers of them across resumes.
//
// Header names given to the interface are already lower-cased by core/script (Envoy's
// LowerCaseString); values are passed through untouched. Names the session presents should be
// lower-case too (HTTP/2 style, as Envoy shows them); lookups compare case-insensitively.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gh::script {

// A header map as Envoy's Lua API sees it: an ordered list of (name, value) entries in which a
// name may repeat. Request maps present the pseudo-headers :method :path :authority :scheme
// first; response maps present :status first.
class ScriptHeaders {
 public:
  virtual ~ScriptHeaders() = default;
  virtual size_t size() const = 0;
  // Entry i in iteration order (0 <= i < size()). Views stay valid until the map is modified.
  virtual std::pair<std::string_view, std::string_view> at(size_t i) const = 0;
  // Appends one entry (Envoy addCopy).
  virtual void add(std::string_view name, std::string_view value) = 0;
  // The first entry named `name` gets `value` and later ones are removed; absent: add (Envoy
  // setCopy).
  virtual void replace(std::string_view name, std::string_view value) = 0;
  // Removes every entry named `name`.
  virtual void remove(std::string_view name) = 0;
  // Response maps: the reason phrase an HTTP/1 status line carries. Default: ignored.
  virtual void setReasonPhrase(std::string_view text) {}
};

// A body or one chunk of it. The session owns the bytes; setBytes replaces them all and the
// session keeps content-length in step (Envoy's BufferWrapper does the same).
class ScriptBuffer {
 public:
  virtual ~ScriptBuffer() = default;
  virtual size_t length() const = 0;
  virtual std::string copyOut(size_t index, size_t length) const = 0;  // index+length <= length()
  virtual void setBytes(std::string_view bytes) = 0;
};

struct MetaField;

// A value in dynamic or route metadata: a JSON-like tree (protobuf Struct in Envoy).
struct MetaValue {
  enum class Kind : uint8_t { kNull, kNumber, kBool, kString, kList, kStruct };
  Kind kind = Kind::kNull;
  double number = 0;
  bool boolean = false;
  std::string string;
  std::vector<MetaValue> list;
  std::vector<MetaField> fields;  // kStruct: unique keys, in the order they were set

  static MetaValue ofString(std::string s);
  static MetaValue ofNumber(double n);
  static MetaValue ofBool(bool b);
  static MetaValue ofStruct();
  const MetaValue* find(std::string_view key) const;  // kStruct: the field, else nullptr
  void set(std::string key, MetaValue value);         // kStruct: insert or overwrite
};

struct MetaField {
  std::string key;
  MetaValue value;
};

inline MetaValue MetaValue::ofString(std::string s) {
  MetaValue v;
  v.kind = Kind::kString;
  v.string = std::move(s);
  return v;
}
inline MetaValue MetaValue::ofNumber(double n) {
  MetaValue v;
  v.kind = Kind::kNumber;
  v.number = n;
  return v;
}
inline MetaValue MetaValue::ofBool(bool b) {
  MetaValue v;
  v.kind = Kind::kBool;
  v.boolean = b;
  return v;
}
inline MetaValue MetaValue::ofStruct() {
  MetaValue v;
  v.kind = Kind::kStruct;
  return v;
}

// Dynamic metadata: namespace (filter name) -> struct. Envoy's set(ns, key, value) merges one
// key into the namespace's struct.
using DynamicMetadata = std::vector<std::pair<std::string, MetaValue>>;

// The downstream TLS connection as Envoy's SslConnectionWrapper shows it.
struct SslInfo {
  bool peerCertificatePresented = false;
  bool peerCertificateValidated = false;
  std::vector<std::string> uriSanPeerCertificate;  // the SPIFFE ID first, when present
  std::vector<std::string> dnsSansPeerCertificate;
  std::vector<std::string> uriSanLocalCertificate;
  std::vector<std::string> dnsSansLocalCertificate;
  std::string sha256PeerCertificateDigest;  // lower-case hex
  std::string serialNumberPeerCertificate;
  std::string subjectPeerCertificate;  // RFC 2253
  std::string issuerPeerCertificate;
  std::string subjectLocalCertificate;
  std::string urlEncodedPemEncodedPeerCertificate;
  std::string tlsVersion;  // "TLSv1.3"
  std::string ciphersuiteString;
  uint16_t ciphersuiteId = 0;
  int64_t validFromPeerCertificate = 0;    // seconds since the epoch; 0: none
  int64_t expirationPeerCertificate = 0;   // seconds since the epoch; 0: none
  std::string sessionId;                   // hex
};

// A request a script sends with handle:httpCall. Headers include :method :path :authority.
struct HttpCallRequest {
  std::string service;  // a configured Service's name (Envoy: the cluster)
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> body;  // set: the session sends content-length
  uint32_t timeoutMs = 0;           // 0: no timeout beyond the Service's own
  bool detached = false;            // asynchronous: no answer is awaited
  bool returnDuplicateHeaders = false;
  bool sendXff = true;
};

// Its answer. A transport failure or timeout is answered the way Envoy does it: status 503
// and body "upstream failure" (HttpCallResponse::failure()).
struct HttpCallResponse {
  std::vector<std::pair<std::string, std::string>> headers;  // ":status" first
  std::string body;
  static HttpCallResponse failure() {
    return HttpCallResponse{{{":status", "503"}}, "upstream failure"};
  }
};

// A local reply (handle:respond, or the 500 of a failed script).
struct LocalReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // without :status
  std::optional<std::string> body;                           // set: content-length sent
  std::string details;  // "lua_response" (respond) or "lua_error" (failed script)
};

enum class ScriptLogLevel : uint8_t { kTrace, kDebug, kInfo, kWarn, kError, kCritical };

// Which side of the exchange a hook is running on.
enum class Direction : uint8_t { kRequest, kResponse };

class ScriptExchange {
 public:
  virtual ~ScriptExchange() = default;

  // --- headers, body, trailers of the side the hook runs on (`dir`) ---
  virtual ScriptHeaders& headers(Direction dir) = 0;
  // Envoy's end_stream for this side: true once the whole message (body and trailers) has
  // reached the hook — at once for a message without a body; after a Wait::kBody, once the
  // body is buffered; while streaming (Wait::kBodyChunk), once the last chunk was handed over.
  virtual bool endOfStream(Direction dir) const = 0;
  // The buffered body; nullptr when there is none (no body, or not buffered). Valid once
  // endOfStream(dir) after the session buffered it for a script that asked (Wait::kBody).
  virtual ScriptBuffer* bufferedBody(Direction dir) = 0;
  // Buffer an empty body so body(true) has something to wrap (Envoy's always_wrap_body).
  virtual ScriptBuffer* createEmptyBody(Direction dir) = 0;
  // Trailers, once received; nullptr if none arrived (yet).
  virtual ScriptHeaders* trailers(Direction dir) = 0;

  // --- replies and calls ---
  // Ends the exchange with a local reply. Request side only; the session sends it once the
  // hook returns HookResult::kRespond.
  virtual void respond(LocalReply reply) = 0;
  // Whether `service` names a Service this exchange's snapshot can call.
  virtual bool knowsService(std::string_view service) const = 0;
  // Starts an HTTP call. The session answers with HookCall::resumeHttpCall later (unless
  // request.detached), never from inside this function.
  virtual void startHttpCall(HttpCallRequest request) = 0;
  // The request headers were modified by the script before continuing (drop any route cache).
  virtual void onHeadersModified() {}

  // --- stream info ---
  virtual std::string_view protocol() const = 0;  // "HTTP/1.1"
  virtual std::string_view routeName() const = 0;
  virtual std::string downstreamLocalAddress() const = 0;         // "10.0.0.1:443"
  virtual std::string downstreamDirectRemoteAddress() const = 0;  // the socket peer
  virtual std::string downstreamRemoteAddress() const = 0;        // after trusted XFF
  virtual std::string_view requestedServerName() const = 0;       // SNI; empty: none
  virtual DynamicMetadata& dynamicMetadata() = 0;
  // The downstream TLS connection; nullptr for plaintext.
  virtual const SslInfo* downstreamSsl() const = 0;
  // The verified SPIFFE ID of the mTLS peer; empty: none (beyond Envoy).
  virtual std::string_view peerPrincipal() const = 0;
  // The route's metadata under "envoy.filters.http.lua" (or the script's name); nullptr: none.
  virtual const MetaValue* routeMetadata() const = 0;

  // --- logging sink: a line from handle:log*(), with the script's name ---
  virtual void log(ScriptLogLevel level, std::string_view script, std::string_view message) = 0;
};

}  // namespace gh::script
