#pragma once
// Access log: one line per finished exchange, formatted on the worker, written off it.
//
// Formatting (formatAccessLogText / formatAccessLogJson) is a pure function of an
// AccessLogEntry: any thread. Every value is escaped, so nothing a client sends (a path, a
// user agent) can break a line or forge a field: JSON escapes per RFC 8259, text escapes
// quotes, backslashes and every byte outside printable ASCII as \xHH.
//
// Writing (AccessLogWriter) follows the shared-nothing rule. Each worker has an
// AccessLogWriter::Producer: a lock-free single-producer/single-consumer ring of whole lines that
// only that worker writes. One background thread writes what all the rings hold with one
// writev() straight from them to the sink (stdout, which journald captures under systemd, or
// a file opened O_APPEND). A worker never blocks and never takes a lock: when its ring has no
// room for a line, the line is dropped and counted (gatehouse_access_log_dropped_total). A
// stalled sink (a full pipe, a hung disk) only stalls the background thread; the rings fill
// and further lines are dropped.
//
// reopen() asks the background thread to close and reopen the file (log rotation: logrotate
// renames the file, then SIGUSR1). It only sets an atomic flag, so it may be called from any
// thread, including a signal handler.
//
// What the session must call: in the log phase, fill an AccessLogEntry (views into the
// exchange; valid only during the call), format it with the configured format into a
// per-worker scratch string, and push() that line on the worker's Producer. What the server
// must call: construct the writer with the configured sink, producer() once per worker before
// the workers start, start(); reopen() on SIGUSR1; renderMetrics() on /metrics; stop() (which
// flushes what it can within Options::stopTimeoutMs) after the workers have stopped.
//
// Threads: the constructor, producer(), start(), stop(), renderMetrics(): control thread.
// Producer::push(): its worker only. reopen(), dropped(), written(): any thread.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

struct iovec;

namespace gh::telemetry {

enum class AuthzResult : uint8_t { kNone, kAllowed, kDenied, kDryRunDenied };
const char* authzResultName(AuthzResult r);  // "", "allow", "deny", "dry_run_deny"

struct AccessLogEntry {
  int64_t startUnixMs = 0;  // when the request head arrived (wall clock)
  std::string_view requestId;
  std::string_view traceId;  // 32 hex digits, or empty
  std::string_view listener;
  std::string_view route;  // "ns/name" of the route (rule index if useful), or empty
  std::string_view method;
  std::string_view authority;
  std::string_view path;
  std::string_view protocol;  // "HTTP/1.1"
  int status = 0;             // 0: no response was sent
  std::string_view responseFlags;  // responseFlagName(), "-" when none
  uint64_t bytesIn = 0;
  uint64_t bytesOut = 0;
  double durationMs = 0;
  double upstreamDurationMs = -1;  // < 0: no upstream exchange
  std::string_view upstreamEndpoint;  // "ip:port"
  std::string_view peerPrincipal;     // verified mTLS peer (SPIFFE ID), or empty
  std::string_view clientAddress;     // "ip:port" of the downstream peer
  AuthzResult authz = AuthzResult::kNone;
  std::string_view authzPolicy;  // "ns/name" of the deciding policy
  std::string_view authzRule;    // index or name of the matching rule
  uint32_t luaErrors = 0;
  std::string_view luaError;  // the first error's message, if any
  std::string_view userAgent;
};

enum class AccessLogFormat : uint8_t { kText, kJson };

// Appends one line (with its '\n') to `out`.
void formatAccessLogText(const AccessLogEntry& e, std::string& out);
void formatAccessLogJson(const AccessLogEntry& e, std::string& out);
void formatAccessLog(AccessLogFormat f, const AccessLogEntry& e, std::string& out);

class AccessLogWriter {
 public:
  struct Options {
    std::string path;  // empty: standard output (fd 1), or `fd`
    int fd = -1;       // >= 0 and path empty: write to this descriptor (not owned; tests)
    size_t ringBytes = 1 << 20;  // per worker; rounded up to a power of two
    int stopTimeoutMs = 2000;    // stop() gives up flushing a stalled sink after this
    int idleSleepMs = 5;         // the drain thread's nap when every ring is empty
  };
  class Producer {
   public:
    // Queues one line (including its '\n'). False: no room, the line was dropped and counted.
    bool push(std::string_view line);
    uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

   private:
    friend class AccessLogWriter;
    explicit Producer(size_t bytes);
    // Background thread: the bytes queued now, as 0, 1 or 2 pieces in iov (valid until
    // release()), and in *end the position to release() once they are written.
    int pending(uint64_t* end, struct iovec* iov) const;
    void release(uint64_t end);
    std::unique_ptr<char[]> buf_;
    size_t mask_;
    alignas(64) std::atomic<uint64_t> head_{0};  // written by the producer
    alignas(64) std::atomic<uint64_t> tail_{0};  // written by the consumer
    alignas(64) std::atomic<uint64_t> dropped_{0};
  };

  explicit AccessLogWriter(Options opts);
  ~AccessLogWriter();  // stop()s
  Producer* producer();  // one per worker, before start()
  bool start();  // opens the sink (false: the file cannot be opened) and starts the thread
  void stop();
  void reopen() { reopen_.store(true, std::memory_order_relaxed); }
  uint64_t dropped() const;
  uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  uint64_t writeErrors() const { return writeErrors_.load(std::memory_order_relaxed); }
  // gatehouse_access_log_dropped_total, _lines_total, _write_errors_total.
  void renderMetrics(std::string& out) const;

 private:
  void run();
  bool openSink();
  // Writes all of iov[0..count) (advancing it). False: stopping and the sink is stalled.
  bool writeAll(struct iovec* iov, int count);

  Options opts_;
  std::vector<std::unique_ptr<Producer>> producers_;
  std::thread thread_;
  int fd_ = -1;
  bool ownFd_ = false;
  bool sinkIsFile_ = false;  // a regular file: writes never wait for a reader
  std::atomic<bool> stop_{false};
  std::atomic<bool> reopen_{false};
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> writeErrors_{0};
  int64_t stopDeadlineMs_ = 0;
};

}  // namespace gh::telemetry
