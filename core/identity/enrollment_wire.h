#pragma once
// The enrollment protocol's bytes, parsed and written without any I/O (spec/mesh.md
// "Enrollment", docs/identity.md "The wire protocol"): what the enrollment server on the CA
// node and `gatehouse join` / `cert renew` say to each other inside TLS.
//
//   request   POST /v1/join   {"token": "ghjt...", "csr": "-----BEGIN CERTIFICATE REQUEST..."}
//             POST /v1/renew  {"csr": "..."}            (authenticated by the client certificate)
//   response  200 {"certificate": PEM, "bundle": PEM}
//             4xx {"error": "what was wrong"}
//
// HTTP/1.1 with one request per connection and a Content-Length body (never chunked), so the
// HTTP here is the least that a curl or an openssl s_client user would recognise, not a general
// codec: the gateway's real one lives in core/http, which identity may not use (DEPS_identity
// is base). The JSON reader likewise takes only what the protocol needs: one object whose
// members of interest are strings; members of other types are skipped, so a newer peer may add
// fields. Both parsers refuse rather than guess, bound everything they read, and are fuzzed
// (tests/fuzz/enrollment_fuzzer.cc). Pure functions; safe from any thread.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/status.h"

namespace gh::identity::wire {

constexpr size_t kMaxHeadBytes = 8 * 1024;          // request or response line + fields
constexpr size_t kMaxRequestBodyBytes = 64 * 1024;  // a CSR and a token fit many times over
constexpr size_t kMaxResponseBodyBytes = 256 * 1024;
constexpr int kMaxJsonDepth = 16;  // nesting of skipped members

// --- JSON -------------------------------------------------------------------------------------

// The string members of one JSON object (RFC 8259), in the order they appear. Escapes are
// decoded (\uXXXX to UTF-8, surrogate pairs joined); members whose value is not a string are
// skipped; a duplicate name, a lone surrogate, a control character in a string, trailing bytes
// or nesting deeper than kMaxJsonDepth are errors. Messages never quote the input (it may hold
// a token's secret).
class JsonStrings {
 public:
  static Result<JsonStrings> parse(std::string_view text);

  // The member's value, or null when there is no string member of that name.
  const std::string* get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& members() const { return members_; }

 private:
  std::vector<std::pair<std::string, std::string>> members_;
};

// `s` as a JSON string literal, quotes included; control characters and non-ASCII bytes are not
// altered except that controls, '"' and '\\' are escaped.
std::string jsonString(std::string_view s);

// {"a": "x", "b": "y"} from name/value pairs.
std::string jsonObject(const std::vector<std::pair<std::string_view, std::string_view>>& members);

// --- HTTP/1.1 ---------------------------------------------------------------------------------

// Where the head ends: the offset just past the first "\r\n\r\n", or 0 when there is none yet.
size_t headLength(std::string_view bytes);

struct RequestHead {
  std::string method;
  std::string target;
  bool hasContentLength = false;
  uint64_t contentLength = 0;
};

// A request head up to and including the blank line. Accepts "HTTP/1.1" and "HTTP/1.0";
// refuses obsolete line folding, a field name that is not a token, Transfer-Encoding (a body
// must come with Content-Length) and Content-Length values that disagree.
Result<RequestHead> parseRequestHead(std::string_view head);

struct ResponseHead {
  int status = 0;
  bool hasContentLength = false;
  uint64_t contentLength = 0;
};

Result<ResponseHead> parseResponseHead(std::string_view head);

// A complete response: status line, content-type application/json, content-length,
// connection: close, the body.
std::string formatResponse(int status, std::string_view jsonBody);
// A complete request to `target` with a JSON body.
std::string formatRequest(std::string_view target, std::string_view host, std::string_view body);

const char* reasonPhrase(int status);

// --- addresses --------------------------------------------------------------------------------

struct HostPort {
  std::string host;  // a DNS name, an IPv4 literal, or an IPv6 literal without brackets
  uint16_t port = 0;
};

// "host:port", "1.2.3.4:port" or "[v6]:port"; the port 1..65535 is required.
Result<HostPort> parseHostPort(std::string_view text);

}  // namespace gh::identity::wire
