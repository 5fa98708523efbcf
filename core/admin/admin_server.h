#pragma once
// AdminServer: the admin listener (default 127.0.0.1:9901) on the control thread's loop.
//
// It serves whatever its Handler answers: the server's /ready and /metrics, and the admin API
// and web UI (api.h). Requests are parsed with the same strict parser as the data path and
// their bodies read whole (Content-Length only, at most kMaxBody; chunked bodies are refused
// with 411, which no browser or CI client sends to an API anyway); one request per connection
// (the reply closes it), which every monitoring client and browser handles. A connection gets
// kTimeoutMs to send its request.
//
// TLS: when built with a context source that returns a context, every connection is TLS
// (core/tls's TlsTransport, the same as an HTTPS listener); the source is asked per accepted
// connection, so a renewed certificate serves the next connection. The server uses it when the
// admin address is beyond loopback (spec/admin.md).
//
// Control thread only; the Handler runs on it, so it may use the control thread's Store.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/event/loop.h"
#include "core/net/address.h"

namespace gh::tls {
class ServerContext;
}

namespace gh::admin {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct AdminRequest {
  std::string method;
  std::string path;   // without the query
  std::string query;  // after '?', still percent-encoded; empty when none
  HeaderList headers;  // names lower-cased, values as received
  std::string body;
  std::string peer;  // the client's IP address
  bool secure = false;  // arrived over TLS

  // The first value of a header (name in lower case), or empty.
  std::string_view header(std::string_view lowerName) const;
};

struct AdminResponse {
  int status = 200;
  std::string contentType = "text/plain; charset=utf-8";
  std::string body;
  HeaderList headers;  // more fields (Set-Cookie, ETag, Content-Encoding, security headers)
};

class AdminServer {
 public:
  using Handler = std::function<AdminResponse(const AdminRequest&)>;
  using TlsSource = std::function<std::shared_ptr<const tls::ServerContext>()>;

  static constexpr size_t kMaxBody = 8u << 20;
  static constexpr uint64_t kTimeoutMs = 10'000;

  AdminServer(event::Loop& loop, Handler handler, TlsSource tls = nullptr);
  ~AdminServer();

  Status listen(const net::Address& addr);
  void stop();

  class Connection;

 private:
  static void onAccept(void* arg, short what);
  friend class Connection;

  event::Loop& loop_;
  Handler handler_;
  TlsSource tls_;
  int fd_ = -1;
  std::unique_ptr<event::IoWatcher> watcher_;
  std::unordered_set<Connection*> connections_;
};

// The bytes of a complete response (status line, fields, body; `Connection: close`).
void serializeResponse(const AdminResponse& resp, bool headRequest, int versionMinor,
                       std::string& out);

}  // namespace gh::admin
