#pragma once
// AdminServer: the admin listener (default 127.0.0.1:9901) on the control thread's loop.
//
// For now it serves what operations need from day one: /ready (200 once configuration is
// loaded and listeners are open, 503 otherwise) and /metrics (Prometheus text). The admin API
// and web UI arrive later on the same listener. Requests are parsed with the same strict parser
// as the data path; one request per connection (the reply closes it), which every monitoring
// client handles.

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>

#include "core/base/status.h"
#include "core/event/loop.h"
#include "core/net/address.h"

namespace gh::admin {

struct AdminResponse {
  int status = 200;
  std::string contentType = "text/plain; charset=utf-8";
  std::string body;
};

class AdminServer {
 public:
  using Handler = std::function<AdminResponse(std::string_view method, std::string_view path)>;

  AdminServer(event::Loop& loop, Handler handler);
  ~AdminServer();

  Status listen(const net::Address& addr);
  void stop();

  class Connection;

 private:
  static void onAccept(void* arg, short what);
  friend class Connection;

  event::Loop& loop_;
  Handler handler_;
  int fd_ = -1;
  std::unique_ptr<event::IoWatcher> watcher_;
  std::unordered_set<Connection*> connections_;
};

}  // namespace gh::admin
