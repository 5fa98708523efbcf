#include "core/telemetry/access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

namespace gh::telemetry {
namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void appendTime(int64_t unixMs, std::string& out) {
  // The date and time to the second change once a second: format them once per thread and
  // second (gmtime_r and snprintf per line were a visible share of a line's cost).
  thread_local int64_t cachedSecs = -1;
  thread_local char cached[24];
  int64_t secs = unixMs / 1000;
  if (secs != cachedSecs) {
    time_t t = static_cast<time_t>(secs);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[64];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(cached, buf, 19);
    cachedSecs = secs;
  }
  int ms = static_cast<int>(unixMs % 1000);
  char frac[6] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                  static_cast<char>('0' + ms % 10), 'Z', 0};
  out.append(cached, 19);
  out.append(frac, 5);
}

void appendUint(uint64_t v, std::string& out) {
  char buf[20];
  int n = 20;
  do {
    buf[--n] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  out.append(buf + n, 20 - n);
}

// Milliseconds with three decimals ("%.3f" without snprintf: this runs for every line).
void appendMs(double ms, std::string& out) {
  if (!(ms >= 0) || ms > 1e12) {  // negative, NaN or absurd: as printf would, roughly
    char buf[48];
    snprintf(buf, sizeof buf, "%.3f", ms);
    out += buf;
    return;
  }
  auto us = static_cast<uint64_t>(ms * 1000.0 + 0.5);
  appendUint(us / 1000, out);
  unsigned frac = static_cast<unsigned>(us % 1000);
  char f[4] = {'.', static_cast<char>('0' + frac / 100), static_cast<char>('0' + frac / 10 % 10),
               static_cast<char>('0' + frac % 10)};
  out.append(f, 4);
}

// Whether a byte goes into a JSON string as is (printable ASCII but '"' and '\\').
struct JsonPlainTable {
  bool plain[256];
  constexpr JsonPlainTable() : plain() {
    for (int c = 0x20; c < 0x7f; ++c) plain[c] = c != '"' && c != '\\';
  }
};
constexpr JsonPlainTable kJsonPlain;
inline bool jsonPlain(unsigned char c) { return kJsonPlain.plain[c]; }

// How many bytes from `from` need no escaping. Eight at a time while none of them is a control
// byte, '"', '\\', DEL or >= 0x80 (the bit tricks may flag a word that is in fact plain;
// the byte loop then decides), so a typical value is scanned in a few steps.
size_t plainRun(std::string_view s, size_t from) {
  constexpr uint64_t k01 = 0x0101010101010101ull, k80 = 0x8080808080808080ull;
  auto zeroByte = [](uint64_t v) { return (v - k01) & ~v; };
  size_t i = from;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    memcpy(&w, s.data() + i, 8);
    uint64_t flagged = ((w - k01 * 0x20) & ~w) | zeroByte(w ^ (k01 * '"')) |
                       zeroByte(w ^ (k01 * '\\')) | zeroByte(w ^ (k01 * 0x7f)) | w;
    if (flagged & k80) break;
  }
  while (i < s.size() && jsonPlain(static_cast<unsigned char>(s[i]))) ++i;
  return i;
}

// The characters of a JSON string, escaped; the quotes around them are the caller's.
void appendJsonChars(std::string_view s, std::string& out) {
  static const char kHex[] = "0123456789abcdef";
  // Runs of plain characters are appended at once; only what needs escaping goes one by one.
  size_t i = 0;
  while (i < s.size()) {
    size_t j = plainRun(s, i);
    out.append(s.data() + i, j - i);
    if (j == s.size()) break;
    unsigned char c = static_cast<unsigned char>(s[j]);
    i = j + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f || c >= 0x80) {
          // Bytes >= 0x80 are escaped as code points U+0080..U+00FF: the line stays valid
          // UTF-8 JSON whatever bytes a client sent, and the original bytes are recoverable.
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

// Text values: printable ASCII except '"' and '\\' as is, the rest \xHH; empty -> "-".
void appendTextValue(std::string_view s, std::string& out, bool quote = false) {
  static const char kHex[] = "0123456789abcdef";
  if (s.empty()) {
    out += quote ? "\"-\"" : "-";
    return;
  }
  if (quote) out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c > 0x20 && c < 0x7f && c != '"' && c != '\\') {
      size_t j = i + 1;  // the whole run of plain characters at once
      while (j < s.size() && static_cast<unsigned char>(s[j]) > 0x20 &&
             static_cast<unsigned char>(s[j]) < 0x7f && s[j] != '"' && s[j] != '\\')
        ++j;
      out.append(s.data() + i, j - i);
      i = j - 1;
    } else if (c == ' ' && quote) {
      out += ' ';
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (quote) out += '"';
}

}  // namespace

const char* authzResultName(AuthzResult r) {
  switch (r) {
    case AuthzResult::kNone: return "";
    case AuthzResult::kAllowed: return "allow";
    case AuthzResult::kDenied: return "deny";
    case AuthzResult::kDryRunDenied: return "dry_run_deny";
  }
  return "";
}

// [time] "METHOD path protocol" status flags bytes_in bytes_out duration_ms upstream_ms
// then key=value fields; an Envoy-like head so existing eyes and grep patterns still work.
void formatAccessLogText(const AccessLogEntry& e, std::string& out) {
  out += '[';
  appendTime(e.startUnixMs, out);
  out += "] \"";
  appendTextValue(e.method, out);
  out += ' ';
  appendTextValue(e.path, out);
  out += ' ';
  appendTextValue(e.protocol, out);
  out += "\" ";
  appendUint(static_cast<uint64_t>(e.status < 0 ? 0 : e.status), out);
  out += ' ';
  appendTextValue(e.responseFlags, out);
  out += ' ';
  appendUint(e.bytesIn, out);
  out += ' ';
  appendUint(e.bytesOut, out);
  out += ' ';
  appendMs(e.durationMs, out);
  out += ' ';
  if (e.upstreamDurationMs < 0) out += '-';
  else appendMs(e.upstreamDurationMs, out);
  auto kv = [&out](const char* k, std::string_view v, bool quote = false) {
    out += ' ';
    out += k;
    out += '=';
    appendTextValue(v, out, quote);
  };
  kv("request_id", e.requestId);
  kv("trace_id", e.traceId);
  kv("listener", e.listener);
  kv("route", e.route);
  kv("authority", e.authority);
  kv("upstream", e.upstreamEndpoint);
  kv("peer", e.peerPrincipal);
  kv("client", e.clientAddress);
  kv("authz", authzResultName(e.authz));
  kv("policy", e.authzPolicy);
  kv("rule", e.authzRule);
  out += " lua_errors=";
  appendUint(e.luaErrors, out);
  if (e.luaErrors) kv("lua_error", e.luaError, true);
  kv("user_agent", e.userAgent, true);
  out += '\n';
}

void formatAccessLogJson(const AccessLogEntry& e, std::string& out) {
  using namespace std::string_view_literals;
  // This runs for every exchange, so the punctuation between two values (a closing quote, a
  // comma, the next key and its opening quote) is one literal appended in one piece.
  auto str = [&out](std::string_view before, std::string_view v) {
    out.append(before);
    appendJsonChars(v, out);
  };
  auto num = [&out](std::string_view before, uint64_t v) {
    out.append(before);
    appendUint(v, out);
  };
  out.reserve(out.size() + 640 + 6 * (e.path.size() + e.userAgent.size() + e.authority.size()));
  out.append("{\"time\":\""sv);
  appendTime(e.startUnixMs, out);  // digits and punctuation only: nothing to escape
  str("\",\"request_id\":\""sv, e.requestId);
  str("\",\"trace_id\":\""sv, e.traceId);
  str("\",\"listener\":\""sv, e.listener);
  str("\",\"route\":\""sv, e.route);
  str("\",\"method\":\""sv, e.method);
  str("\",\"authority\":\""sv, e.authority);
  str("\",\"path\":\""sv, e.path);
  str("\",\"protocol\":\""sv, e.protocol);
  num("\",\"status\":"sv, static_cast<uint64_t>(e.status < 0 ? 0 : e.status));
  str(",\"response_flags\":\""sv, e.responseFlags.empty() ? "-"sv : e.responseFlags);
  num("\",\"bytes_in\":"sv, e.bytesIn);
  num(",\"bytes_out\":"sv, e.bytesOut);
  out.append(",\"duration_ms\":"sv);
  appendMs(e.durationMs, out);
  out.append(",\"upstream_duration_ms\":"sv);
  if (e.upstreamDurationMs < 0) out.append("null"sv);
  else appendMs(e.upstreamDurationMs, out);
  str(",\"upstream\":\""sv, e.upstreamEndpoint);
  str("\",\"peer_principal\":\""sv, e.peerPrincipal);
  str("\",\"client_address\":\""sv, e.clientAddress);
  str("\",\"authz_decision\":\""sv, authzResultName(e.authz));
  str("\",\"authz_policy\":\""sv, e.authzPolicy);
  str("\",\"authz_rule\":\""sv, e.authzRule);
  num("\",\"lua_errors\":"sv, e.luaErrors);
  str(",\"lua_error\":\""sv, e.luaError);
  str("\",\"user_agent\":\""sv, e.userAgent);
  out.append("\"}\n"sv);
}

void formatAccessLog(AccessLogFormat f, const AccessLogEntry& e, std::string& out) {
  if (f == AccessLogFormat::kJson) formatAccessLogJson(e, out);
  else formatAccessLogText(e, out);
}

// ---- Producer: a single-producer single-consumer ring of whole lines -------------------------
//
// The ring holds the lines' bytes and nothing else: a line is pushed whole or not at all, so
// the bytes between tail and head are always whole lines and the writer hands them to
// writev() where they lie (two pieces when they wrap), with no copy on its side.

AccessLogWriter::Producer::Producer(size_t bytes) {
  size_t cap = 4096;
  while (cap < bytes) cap <<= 1;
  buf_.reset(new char[cap]);
  mask_ = cap - 1;
}

bool AccessLogWriter::Producer::push(std::string_view line) {
  uint64_t head = head_.load(std::memory_order_relaxed);
  uint64_t tail = tail_.load(std::memory_order_acquire);
  size_t cap = mask_ + 1;
  if (line.size() > cap - (head - tail)) {
    dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return false;
  }
  size_t off = head & mask_;
  size_t first = std::min(line.size(), cap - off);
  memcpy(&buf_[off], line.data(), first);
  memcpy(&buf_[0], line.data() + first, line.size() - first);
  head_.store(head + line.size(), std::memory_order_release);
  return true;
}

int AccessLogWriter::Producer::pending(uint64_t* end, iovec* iov) const {
  uint64_t tail = tail_.load(std::memory_order_relaxed);  // only the writer moves it
  uint64_t head = head_.load(std::memory_order_acquire);
  *end = head;
  if (head == tail) return 0;
  size_t cap = mask_ + 1;
  size_t off = tail & mask_;
  size_t len = head - tail;
  size_t first = std::min(len, cap - off);
  iov[0] = {&buf_[off], first};
  if (first == len) return 1;
  iov[1] = {&buf_[0], len - first};
  return 2;
}

void AccessLogWriter::Producer::release(uint64_t end) {
  tail_.store(end, std::memory_order_release);
}

// ---- AccessLogWriter --------------------------------------------------------------------------

AccessLogWriter::AccessLogWriter(Options opts) : opts_(std::move(opts)) {}

AccessLogWriter::~AccessLogWriter() {
  stop();
  if (ownFd_ && fd_ >= 0) ::close(fd_);
}

AccessLogWriter::Producer* AccessLogWriter::producer() {
  producers_.emplace_back(new Producer(opts_.ringBytes));
  return producers_.back().get();
}

bool AccessLogWriter::openSink() {
  if (opts_.path.empty()) {
    fd_ = opts_.fd >= 0 ? opts_.fd : 1;
    ownFd_ = false;
  } else {
    int fd = ::open(opts_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) return false;
    if (ownFd_ && fd_ >= 0) ::close(fd_);
    fd_ = fd;
    ownFd_ = true;
  }
  struct stat st;
  sinkIsFile_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
  return true;
}

bool AccessLogWriter::start() {
  if (!openSink()) return false;
  thread_ = std::thread([this] { run(); });
  return true;
}

void AccessLogWriter::stop() {
  if (!thread_.joinable()) return;
  stopDeadlineMs_ = nowMs() + opts_.stopTimeoutMs;
  stop_.store(true, std::memory_order_release);
  thread_.join();
}

uint64_t AccessLogWriter::dropped() const {
  uint64_t n = 0;
  for (const auto& p : producers_) n += p->dropped();
  return n;
}

bool AccessLogWriter::writeAll(iovec* iov, int count) {
  while (count > 0) {
    // Wait for room with a timeout, so a stalled sink still lets stop() finish.
    pollfd p{fd_, POLLOUT, 0};
    int r = ::poll(&p, 1, 100);
    if (r == 0) {
      if (stop_.load(std::memory_order_acquire) && nowMs() >= stopDeadlineMs_) return false;
      continue;
    }
    // POLLOUT on a pipe or a socket promises room for PIPE_BUF bytes, not for the batch: a
    // larger blocking write could wait for a reader forever and stop() with it. So those get
    // at most PIPE_BUF per call; a regular file takes the whole batch at once.
    int pieces = std::min(count, IOV_MAX);
    iovec capped[1];
    const iovec* out = iov;
    if (!sinkIsFile_) {
      capped[0] = {iov->iov_base, std::min<size_t>(iov->iov_len, PIPE_BUF)};
      out = capped;
      pieces = 1;
    }
    ssize_t n = ::writev(fd_, out, pieces);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      writeErrors_.fetch_add(1, std::memory_order_relaxed);  // background thread only
      return true;  // the batch is lost; keep draining rather than letting rings fill
    }
    // Skip what was written; a partial write resumes mid-line, which a byte stream allows.
    auto done = static_cast<size_t>(n);
    while (count > 0 && done >= iov->iov_len) {
      done -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + done;
      iov->iov_len -= done;
    }
  }
  return true;
}

// Lines in `iov`: one '\n' ends each.
static uint64_t countLines(const iovec* iov, int count) {
  uint64_t lines = 0;
  for (int i = 0; i < count; ++i) {
    const char* p = static_cast<const char*>(iov[i].iov_base);
    const char* end = p + iov[i].iov_len;
    while ((p = static_cast<const char*>(memchr(p, '\n', static_cast<size_t>(end - p))))) {
      ++lines;
      ++p;
    }
  }
  return lines;
}

void AccessLogWriter::run() {
  std::vector<iovec> iov(2 * producers_.size());
  std::vector<iovec> toWrite(iov.size());
  std::vector<uint64_t> ends(producers_.size());
  for (;;) {
    if (reopen_.exchange(false, std::memory_order_relaxed) && !opts_.path.empty()) {
      if (!openSink()) writeErrors_.fetch_add(1, std::memory_order_relaxed);
    }
    bool stopping = stop_.load(std::memory_order_acquire);
    // Everything every ring holds now goes out in one writev(), straight from the rings.
    int count = 0;
    size_t bytes = 0;
    for (size_t i = 0; i < producers_.size(); ++i)
      count += producers_[i]->pending(&ends[i], &iov[count]);
    for (int i = 0; i < count; ++i) bytes += iov[i].iov_len;
    if (count) {
      uint64_t lines = countLines(iov.data(), count);
      std::copy(iov.begin(), iov.begin() + count, toWrite.begin());  // writeAll advances it
      if (!writeAll(toWrite.data(), count)) return;  // stopping with a stalled sink: give up
      for (size_t i = 0; i < producers_.size(); ++i) producers_[i]->release(ends[i]);
      written_.fetch_add(lines, std::memory_order_relaxed);
      // A small batch means the rings were nearly empty: nap before draining again, so that
      // under steady traffic one write() carries hundreds of lines instead of a few (the
      // rings hold far more than a nap's worth of lines).
      if (bytes < (64 << 10) && !stopping)
        std::this_thread::sleep_for(std::chrono::milliseconds(opts_.idleSleepMs));
      continue;
    }
    if (stopping) return;  // everything queued before stop() has been written
    std::this_thread::sleep_for(std::chrono::milliseconds(opts_.idleSleepMs));
  }
}

void AccessLogWriter::renderMetrics(std::string& out) const {
  out += "# HELP gatehouse_access_log_dropped_total Access log lines dropped because the "
         "worker's buffer was full (the sink was slower than traffic).\n"
         "# TYPE gatehouse_access_log_dropped_total counter\n"
         "gatehouse_access_log_dropped_total " +
         std::to_string(dropped()) +
         "\n# HELP gatehouse_access_log_lines_total Access log lines written.\n"
         "# TYPE gatehouse_access_log_lines_total counter\n"
         "gatehouse_access_log_lines_total " +
         std::to_string(written()) +
         "\n# HELP gatehouse_access_log_write_errors_total Access log write or reopen errors.\n"
         "# TYPE gatehouse_access_log_write_errors_total counter\n"
         "gatehouse_access_log_write_errors_total " +
         std::to_string(writeErrors()) + "\n";
}

}  // namespace gh::telemetry
