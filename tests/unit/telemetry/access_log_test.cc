#include "core/telemetry/access_log.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <future>
#include <poll.h>
#include <sstream>
#include <thread>
#include <unistd.h>

using namespace gh::telemetry;

namespace {

AccessLogEntry sample() {
  AccessLogEntry e;
  e.startUnixMs = 1714564800123;  // 2024-05-01T12:00:00.123Z
  e.requestId = "r-1";
  e.traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  e.listener = "edge";
  e.route = "shop/cart";
  e.method = "GET";
  e.authority = "shop.example";
  e.path = "/cart?id=\"1\"";
  e.protocol = "HTTP/1.1";
  e.status = 403;
  e.responseFlags = "RBAC";
  e.bytesIn = 120;
  e.bytesOut = 19;
  e.durationMs = 1.25;
  e.peerPrincipal = "spiffe://td/ns/web/sa/front";
  e.clientAddress = "10.0.0.7:5123";
  e.authz = AuthzResult::kDenied;
  e.authzPolicy = "shop/deny-cart";
  e.authzRule = "0";
  e.userAgent = "curl/8.0\n\x01\xff";
  return e;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("access log JSON line carries the spec's fields, escaped", "[telemetry]") {
  std::string out;
  formatAccessLogJson(sample(), out);
  CHECK(out ==
        "{\"time\":\"2024-05-01T12:00:00.123Z\",\"request_id\":\"r-1\",\"trace_id\":"
        "\"4bf92f3577b34da6a3ce929d0e0e4736\",\"listener\":\"edge\",\"route\":\"shop/cart\","
        "\"method\":\"GET\",\"authority\":\"shop.example\",\"path\":\"/cart?id=\\\"1\\\"\","
        "\"protocol\":\"HTTP/1.1\",\"status\":403,\"response_flags\":\"RBAC\",\"bytes_in\":120,"
        "\"bytes_out\":19,\"duration_ms\":1.250,\"upstream_duration_ms\":null,\"upstream\":\"\","
        "\"peer_principal\":\"spiffe://td/ns/web/sa/front\",\"client_address\":"
        "\"10.0.0.7:5123\",\"authz_decision\":\"deny\",\"authz_policy\":\"shop/deny-cart\","
        "\"authz_rule\":\"0\",\"lua_errors\":0,\"lua_error\":\"\",\"user_agent\":"
        "\"curl/8.0\\n\\u0001\\u00ff\"}\n");
}

TEST_CASE("access log text line is one line whatever the client sent", "[telemetry]") {
  AccessLogEntry e = sample();
  e.upstreamDurationMs = 0.5;
  e.upstreamEndpoint = "10.0.1.2:8080";
  e.luaErrors = 1;
  e.luaError = "attempt to index a nil value";
  std::string out;
  formatAccessLogText(e, out);
  CHECK(out ==
        "[2024-05-01T12:00:00.123Z] \"GET /cart?id=\\x221\\x22 HTTP/1.1\" 403 RBAC 120 19 1.250 "
        "0.500 request_id=r-1 trace_id=4bf92f3577b34da6a3ce929d0e0e4736 listener=edge "
        "route=shop/cart authority=shop.example upstream=10.0.1.2:8080 "
        "peer=spiffe://td/ns/web/sa/front client=10.0.0.7:5123 authz=deny policy=shop/deny-cart "
        "rule=0 lua_errors=1 lua_error=\"attempt to index a nil value\" "
        "user_agent=\"curl/8.0\\x0a\\x01\\xff\"\n");
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);
}

TEST_CASE("access log writer drains every worker's ring to the sink in order", "[telemetry]") {
  char path[] = "/tmp/gh-access-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  AccessLogWriter::Options o;
  o.path = path;
  o.ringBytes = 4096;
  AccessLogWriter w(o);
  auto* p1 = w.producer();
  auto* p2 = w.producer();
  REQUIRE(w.start());
  std::thread t1([&] {
    for (int i = 0; i < 2000; ++i)
      while (!p1->push("a" + std::to_string(i) + "\n")) std::this_thread::yield();
  });
  std::thread t2([&] {
    for (int i = 0; i < 2000; ++i)
      while (!p2->push("b" + std::to_string(i) + "\n")) std::this_thread::yield();
  });
  t1.join();
  t2.join();
  w.stop();
  CHECK(w.written() == 4000);
  std::string text = slurp(path);
  std::stringstream ss(text);
  std::string line;
  int na = 0, nb = 0;
  while (std::getline(ss, line)) {
    if (line[0] == 'a') CHECK(line == "a" + std::to_string(na++));
    else CHECK(line == "b" + std::to_string(nb++));
  }
  CHECK(na == 2000);
  CHECK(nb == 2000);
  unlink(path);
}

TEST_CASE("access log reopen() follows a renamed file (logrotate)", "[telemetry]") {
  char path[] = "/tmp/gh-access-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::string rotated = std::string(path) + ".1";
  AccessLogWriter::Options o;
  o.path = path;
  o.idleSleepMs = 1;
  AccessLogWriter w(o);
  auto* p = w.producer();
  REQUIRE(w.start());
  p->push("before\n");
  for (int i = 0; i < 2000 && w.written() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(rename(path, rotated.c_str()) == 0);
  w.reopen();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  p->push("after\n");
  w.stop();
  CHECK(slurp(rotated) == "before\n");
  CHECK(slurp(path) == "after\n");
  unlink(path);
  unlink(rotated.c_str());
}

TEST_CASE("a stalled sink never blocks producers: lines are dropped and counted",
          "[telemetry]") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);  // nobody reads fds[0]: once the pipe buffer is full, writes stall
  AccessLogWriter::Options o;
  o.fd = fds[1];
  o.ringBytes = 16 << 10;
  o.stopTimeoutMs = 200;
  AccessLogWriter w(o);
  auto* p = w.producer();
  REQUIRE(w.start());
  std::string line(200, 'x');
  line += '\n';
  constexpr int kLines = 100000;  // 20 MB: far beyond the pipe and the ring
  int accepted = 0;
  auto t0 = std::chrono::steady_clock::now();
  std::chrono::nanoseconds worst{0};
  for (int i = 0; i < kLines; ++i) {
    auto a = std::chrono::steady_clock::now();
    if (p->push(line)) ++accepted;
    worst = std::max(worst, std::chrono::steady_clock::now() - a);
  }
  auto total = std::chrono::steady_clock::now() - t0;
  CHECK(p->dropped() > 0);
  CHECK(w.dropped() == static_cast<uint64_t>(kLines - accepted));
  CHECK(total < std::chrono::seconds(2));
  CHECK(worst < std::chrono::milliseconds(50));  // no push waited on the sink
  std::string m;
  w.renderMetrics(m);
  CHECK(m.find("gatehouse_access_log_dropped_total " + std::to_string(kLines - accepted) + "\n") !=
        std::string::npos);
  // Fill the pipe for real, in bursts larger than a page, so the writer holds more than the
  // pipe's last free room: the case where one blocking write of everything queued would wait
  // for a reader forever, and stop() with it.
  for (int i = 0; i < 500; ++i) {
    pollfd pf{fds[1], POLLOUT, 0};
    if (poll(&pf, 1, 0) == 0) break;
    for (int k = 0; k < 60; ++k) p->push(line);  // 12 KB
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pollfd full{fds[1], POLLOUT, 0};
  REQUIRE(poll(&full, 1, 0) == 0);
  for (int i = 0; i < 100; ++i) p->push(line);  // and lines waiting behind it
  // stop() gives up on the stalled pipe after stopTimeoutMs. Should it hang instead, reading
  // the pipe frees it, so the test fails rather than hangs.
  auto stopped = std::async(std::launch::async, [&w] { w.stop(); });
  bool inTime = stopped.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  if (!inTime) {
    char sink[65536];
    while (stopped.wait_for(std::chrono::milliseconds(10)) != std::future_status::ready)
      (void)!read(fds[0], sink, sizeof sink);
  }
  CHECK(inTime);
  close(fds[0]);
  close(fds[1]);
}

TEST_CASE("access log JSON escapes every byte that needs it, wherever it sits", "[telemetry]") {
  // The formatter skips plain runs eight bytes at a time: put each kind of byte that needs
  // escaping at every position of strings longer than two words.
  auto expected = [](const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
      char buf[8];
      if (c == '"') out += "\\\"";
      else if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else if (c == '\r') out += "\\r";
      else if (c == '\t') out += "\\t";
      else if (c < 0x20 || c >= 0x7f) {
        snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
    return out;
  };
  const unsigned char specials[] = {0x00, 0x01, 0x1f, '"', '\\', '\n', 0x7f, 0x80, 0xc3, 0xff};
  for (size_t len : {1, 7, 8, 9, 16, 23}) {
    for (size_t at = 0; at < len; ++at) {
      for (unsigned char c : specials) {
        std::string path(len, 'a');
        path[at] = static_cast<char>(c);
        AccessLogEntry e = sample();
        e.path = path;
        std::string out;
        formatAccessLogJson(e, out);
        INFO("len " << len << " at " << at << " byte " << static_cast<int>(c));
        CHECK(out.find(",\"path\":\"" + expected(path) + "\",") != std::string::npos);
      }
    }
  }
  // Plain bytes around the edges of the flagged ranges stay as they are.
  AccessLogEntry e = sample();
  std::string plain = " !#$%&'()*+,-./0123456789:;<=>?@AZ[]^_`az{|}~";
  e.path = plain;
  std::string out;
  formatAccessLogJson(e, out);
  CHECK(out.find(",\"path\":\"" + plain + "\",") != std::string::npos);
}
