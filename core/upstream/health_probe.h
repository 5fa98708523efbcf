#pragma once
// HealthProbe: one active HTTP health check of one endpoint, repeated by its owner.
//
// A probe connects (non-blocking), sends `GET <path> HTTP/1.1` with `Host: <host>`,
// `User-Agent: gatehouse-health-check` and `Connection: close`, and reads until the status
// line is complete. The result:
//   kPass     a 2xx status (HAProxy's httpchk rule; Envoy's default is 200 only — 204 from a
//             health endpoint is common enough to accept);
//   kFail     any other status, a refused connection, a reset, or garbage instead of a
//             status line;
//   kTimeout  no status line within the probe's timeout (connect time included).
// The connection is closed after every probe: a health check must see whether a *new*
// connection works, which is what requests that find no pooled connection need.
//
// Owned by one thread's loop user (the server's HealthChecker on the control thread); not
// thread-safe. The callback runs from the loop, exactly once per start(), unless the probe is
// destroyed (or cancel()ed) first; the probe may be started again from inside the callback.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/event/loop.h"
#include "core/net/address.h"
#include "core/net/stream.h"
#include "core/upstream/health.h"
#include "core/upstream/health_status.h"

namespace gh::upstream {

class HealthProbe final : public net::Stream::Handler {
 public:
  using Callback = void (*)(void* arg, ProbeResult result);

  HealthProbe(event::Loop& loop, Callback done, void* arg);
  ~HealthProbe();
  HealthProbe(const HealthProbe&) = delete;
  HealthProbe& operator=(const HealthProbe&) = delete;

  // Starts a probe (cancelling one still running, without its callback).
  void start(const net::Address& address, std::string_view host, std::string_view path,
             uint64_t timeoutMs);
  void cancel();
  bool running() const { return running_; }

 private:
  void onReadable() override;
  void onDrained() override;
  static void onTimeout(void* arg);
  static void onStartFailed(void* arg);
  void finish(ProbeResult result);

  event::Loop& loop_;
  Callback done_;
  void* arg_;
  std::string request_;
  std::unique_ptr<net::Stream> stream_;
  event::Timer timer_;
  event::Timer failNow_;  // a connect that fails at once still reports from the loop
  bool connecting_ = false;
  bool running_ = false;
};

}  // namespace gh::upstream
