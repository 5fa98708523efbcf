#pragma once
// ExtAuthzCheck: one authorization check with an HTTP ext_authz provider, for one exchange
// (AuthorizationPolicy action CUSTOM, Envoy's ext_authz HTTP contract as Istio configures it
// with envoyExtAuthzHttp).
//
// The check request is the original request's method and path (pathPrefix + path, query
// kept), its Host, `Content-Length: 0` (the body is never sent) and the headers the provider
// lists in includeRequestHeadersInCheck (Authorization among them only when listed). The
// provider's answer decides:
//   2xx        allow; the response headers named in headersToUpstreamOnAllow are handed back
//              to be set on the request sent upstream;
//   any other  deny with that status, body and content type (what the client receives);
//   no answer  (connect failure, reset, timeout, garbled or oversized response): an error,
//              which the caller turns into allow or deny by the provider's failOpen.
//
// Owned by the exchange that asked (destroying it cancels the check and closes its
// connection; the callback is then never called); one worker thread. One connection per check
// (checks are rare next to requests: only those a CUSTOM rule selects).

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config/model.h"
#include "core/event/loop.h"
#include "core/http/parser.h"
#include "core/net/address.h"
#include "core/net/stream.h"

namespace gh::http {

struct ExtAuthzOutcome {
  enum class Kind { kAllow, kDeny, kError } kind = Kind::kError;
  int status = 0;                // kDeny: the provider's status
  std::string body;              // kDeny: the provider's body (at most kMaxBody)
  std::string contentType;       // kDeny
  std::string error;             // kError: what went wrong, for the log
  std::vector<std::pair<std::string, std::string>> upstreamHeaders;  // kAllow
};

class ExtAuthzCheck final : public net::Stream::Handler {
 public:
  static constexpr size_t kMaxResponse = 64 * 1024;  // head and body together
  using Callback = void (*)(void* arg, ExtAuthzOutcome outcome);

  ExtAuthzCheck(event::Loop& loop, const config::ExtAuthzHttpProvider& provider,
                const net::Address& address, Callback done, void* arg);
  ~ExtAuthzCheck();
  ExtAuthzCheck(const ExtAuthzCheck&) = delete;
  ExtAuthzCheck& operator=(const ExtAuthzCheck&) = delete;

  // Starts the check for `request` (its path normalised, query without '?'). The callback
  // runs later, from the loop, exactly once unless this object is destroyed first. False
  // (and *error set, the callback never called) when the check cannot even start.
  bool start(const RequestHead& request, std::string_view path, std::string_view query,
             std::string* error);

 private:
  void onReadable() override;
  void onDrained() override;
  static void onTimeout(void* arg);
  void finish(ExtAuthzOutcome outcome);
  void fail(std::string why);
  bool parseResponse(bool eof);  // true when finished (the callback ran)

  event::Loop& loop_;
  const config::ExtAuthzHttpProvider& provider_;
  net::Address address_;
  Callback done_;
  void* arg_;
  std::string request_;
  std::string response_;
  std::unique_ptr<net::Stream> stream_;
  event::Deadline timer_;
  bool connecting_ = false;
  bool finished_ = false;
};

// The check request for `request` (exposed for tests).
std::string buildExtAuthzRequest(const config::ExtAuthzHttpProvider& provider,
                                 const RequestHead& request, std::string_view path,
                                 std::string_view query);

}  // namespace gh::http
