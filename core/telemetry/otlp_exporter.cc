#include "core/telemetry/otlp_exporter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

namespace gh::telemetry {
namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void jsonString(std::string_view s, std::string& out) {
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

// Waits until fd is ready for `events` or the deadline passes.
bool waitFor(int fd, short events, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - nowMs();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

}  // namespace

bool parseCollectorUrl(std::string_view url, CollectorUrl& out, std::string* error) {
  auto fail = [error](const char* m) {
    if (error) *error = m;
    return false;
  };
  constexpr std::string_view kHttp = "http://";
  if (url.substr(0, 8) == "https://") return fail("https collectors are not supported yet");
  if (url.substr(0, kHttp.size()) != kHttp) return fail("the collector URL must start http://");
  std::string_view rest = url.substr(kHttp.size());
  size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  CollectorUrl u;
  if (slash != std::string_view::npos) u.path = std::string(rest.substr(slash));
  if (u.path.find_first_of(" \r\n\t") != std::string::npos) return fail("bad path");
  std::string_view host, port;
  if (!hostport.empty() && hostport[0] == '[') {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) return fail("unterminated [IPv6] host");
    host = hostport.substr(1, close - 1);
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return fail("garbage after ]");
      port = after.substr(1);
    }
  } else {
    size_t colon = hostport.rfind(':');
    host = hostport.substr(0, colon);
    if (colon != std::string_view::npos) port = hostport.substr(colon + 1);
  }
  if (host.empty()) return fail("no host");
  if (!port.empty() || hostport.back() == ':') {
    if (port.empty() || port.size() > 5) return fail("bad port");
    unsigned p = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return fail("bad port");
      p = p * 10 + static_cast<unsigned>(c - '0');
    }
    if (p == 0 || p > 65535) return fail("bad port");
    u.port = static_cast<uint16_t>(p);
  }
  u.host = std::string(hostport);
  std::string h(host);
  if (h == "localhost") h = "127.0.0.1";
  in6_addr a6;
  in_addr a4;
  if (inet_pton(AF_INET, h.c_str(), &a4) != 1 && inet_pton(AF_INET6, h.c_str(), &a6) != 1)
    return fail("the collector host must be an IP address or localhost");
  u.ip = h;
  out = std::move(u);
  return true;
}

void formatOtlpJson(const std::vector<Span>& spans, std::string_view serviceName,
                    std::string& out) {
  out += "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
         "\"value\":{\"stringValue\":";
  jsonString(serviceName, out);
  out += "}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"gatehouse\"},\"spans\":[";
  bool first = true;
  for (const Span& s : spans) {
    if (!first) out += ',';
    first = false;
    out += "{\"traceId\":\"" + toHex(s.traceId) + "\",\"spanId\":\"" + toHex(s.spanId) + '"';
    if (!isZero(s.parentSpanId)) out += ",\"parentSpanId\":\"" + toHex(s.parentSpanId) + '"';
    out += ",\"name\":";
    jsonString(s.name, out);
    out += ",\"kind\":" + std::to_string(static_cast<int>(s.kind));
    out += ",\"startTimeUnixNano\":\"" + std::to_string(s.startUnixNano) + '"';
    out += ",\"endTimeUnixNano\":\"" + std::to_string(s.endUnixNano) + '"';
    out += ",\"attributes\":[";
    bool firstAttr = true;
    for (const auto& [k, v] : s.attributes) {
      if (!firstAttr) out += ',';
      firstAttr = false;
      out += "{\"key\":";
      jsonString(k, out);
      out += ",\"value\":{\"stringValue\":";
      jsonString(v, out);
      out += "}}";
    }
    for (const auto& [k, v] : s.intAttributes) {
      if (!firstAttr) out += ',';
      firstAttr = false;
      out += "{\"key\":";
      jsonString(k, out);
      out += ",\"value\":{\"intValue\":\"" + std::to_string(v) + "\"}}";
    }
    out += "],\"status\":{\"code\":";
    out += s.error ? "2" : "0";
    out += "}}";
  }
  out += "]}]}]}";
}

// ---- Producer ---------------------------------------------------------------------------------

OtlpExporter::Producer::Producer(size_t n) {
  size_t cap = 16;
  while (cap < n) cap <<= 1;
  slots_.reset(new Span[cap]);
  mask_ = cap - 1;
}

bool OtlpExporter::Producer::push(Span&& s) {
  uint64_t head = head_.load(std::memory_order_relaxed);
  if (head - tail_.load(std::memory_order_acquire) > mask_) {
    dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return false;
  }
  slots_[head & mask_] = std::move(s);
  head_.store(head + 1, std::memory_order_release);
  return true;
}

size_t OtlpExporter::Producer::drainInto(std::vector<Span>& out, size_t max) {
  uint64_t tail = tail_.load(std::memory_order_relaxed);
  uint64_t head = head_.load(std::memory_order_acquire);
  size_t n = 0;
  while (tail < head && out.size() < max) {
    out.push_back(std::move(slots_[tail & mask_]));
    slots_[tail & mask_] = Span{};  // release the strings on this thread
    ++tail;
    ++n;
  }
  tail_.store(tail, std::memory_order_release);
  return n;
}

// ---- OtlpExporter -----------------------------------------------------------------------------

OtlpExporter::OtlpExporter(Options opts) : opts_(std::move(opts)) {}
OtlpExporter::~OtlpExporter() { stop(); }

OtlpExporter::Producer* OtlpExporter::producer() {
  producers_.emplace_back(new Producer(opts_.queueSpans));
  return producers_.back().get();
}

void OtlpExporter::start() {
  thread_ = std::thread([this] { run(); });
}

void OtlpExporter::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true, std::memory_order_release);
  thread_.join();
}

uint64_t OtlpExporter::dropped() const {
  uint64_t n = 0;
  for (const auto& p : producers_) n += p->dropped();
  return n;
}

bool OtlpExporter::post(const std::string& body) {
  int64_t deadline = nowMs() + opts_.timeoutMs;
  bool v6 = opts_.url.ip.find(':') != std::string::npos;
  sockaddr_storage ss{};
  socklen_t len;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(opts_.url.port);
    inet_pton(AF_INET6, opts_.url.ip.c_str(), &a->sin6_addr);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(opts_.url.port);
    inet_pton(AF_INET, opts_.url.ip.c_str(), &a->sin_addr);
    len = sizeof *a;
  }
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS || !waitFor(fd, POLLOUT, deadline)) return false;
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) return false;
  }
  std::string req = "POST " + opts_.url.path + " HTTP/1.1\r\nHost: " + opts_.url.host +
                    "\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  req += body;
  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!waitFor(fd, POLLOUT, deadline)) return false;
    } else {
      return false;
    }
  }
  // The status line is all we need: "HTTP/1.x 2xx".
  char buf[512];
  size_t got = 0;
  while (got < 12) {
    ssize_t n = ::recv(fd, buf + got, sizeof buf - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!waitFor(fd, POLLIN, deadline)) return false;
    } else {
      return false;
    }
  }
  return std::memcmp(buf, "HTTP/1.", 7) == 0 && buf[8] == ' ' && buf[9] == '2';
}

void OtlpExporter::run() {
  std::vector<Span> batch;
  std::string body;
  int64_t lastFlush = nowMs();
  for (;;) {
    bool stopping = stop_.load(std::memory_order_acquire);
    size_t before = batch.size();
    for (auto& p : producers_) p->drainInto(batch, opts_.batchSize);
    bool due = !batch.empty() && (batch.size() >= opts_.batchSize || stopping ||
                                  nowMs() - lastFlush >= opts_.flushIntervalMs);
    if (due) {
      body.clear();
      formatOtlpJson(batch, opts_.serviceName, body);
      bool ok = post(body);
      if (ok) exported_.fetch_add(batch.size(), std::memory_order_relaxed);
      else failed_.fetch_add(batch.size(), std::memory_order_relaxed);
      batches_.fetch_add(1, std::memory_order_relaxed);
      batch.clear();
      if (stopping && !ok) {
        // Stopping with a failing collector: one timeout is enough, the rest is lost.
        for (auto& p : producers_) {
          std::vector<Span> rest;
          failed_.fetch_add(p->drainInto(rest, SIZE_MAX), std::memory_order_relaxed);
        }
        return;
      }
      lastFlush = nowMs();
      if (!stopping) continue;
    }
    if (stopping) {
      bool empty = true;
      for (auto& p : producers_)
        if (p->head_.load(std::memory_order_acquire) != p->tail_.load(std::memory_order_relaxed))
          empty = false;
      if (empty && batch.empty()) return;
      continue;
    }
    if (batch.size() == before) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void OtlpExporter::renderMetrics(std::string& out) const {
  out += "# HELP gatehouse_tracing_spans_exported_total Spans the collector accepted.\n"
         "# TYPE gatehouse_tracing_spans_exported_total counter\n"
         "gatehouse_tracing_spans_exported_total " +
         std::to_string(exported()) +
         "\n# HELP gatehouse_tracing_spans_dropped_total Spans dropped because a worker's "
         "export queue was full.\n# TYPE gatehouse_tracing_spans_dropped_total counter\n"
         "gatehouse_tracing_spans_dropped_total " +
         std::to_string(dropped()) +
         "\n# HELP gatehouse_tracing_spans_export_failed_total Spans lost in a failed export "
         "(collector refused, timed out or answered non-2xx).\n"
         "# TYPE gatehouse_tracing_spans_export_failed_total counter\n"
         "gatehouse_tracing_spans_export_failed_total " +
         std::to_string(failed()) + "\n";
}

}  // namespace gh::telemetry
