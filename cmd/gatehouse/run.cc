// gatehouse run: the gateway in the foreground.

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "cmd/gatehouse/cli.h"
#include "core/base/log.h"
#include "core/base/strings.h"
#include "core/server/server.h"
#include "core/telemetry/otlp_exporter.h"

namespace gh::cli {

namespace {

// ADDR, ADDR:PORT, [V6ADDR] or [V6ADDR]:PORT; a bare IPv6 address has no port. Port 53 when
// none is given.
bool parseDnsServer(const std::string& v, net::Address* out) {
  std::string host = v;
  uint64_t port = 53;
  if (!v.empty() && v.front() == '[') {
    size_t close = v.find(']');
    if (close == std::string::npos) return false;
    host = v.substr(1, close - 1);
    std::string rest = v.substr(close + 1);
    if (!rest.empty() && (rest[0] != ':' || !str::parseU64(rest.substr(1), &port))) return false;
  } else if (std::count(v.begin(), v.end(), ':') == 1) {
    size_t colon = v.find(':');
    host = v.substr(0, colon);
    if (!str::parseU64(v.substr(colon + 1), &port)) return false;
  }
  if (port == 0 || port > 65535) return false;
  return net::Address::parse(host, static_cast<uint16_t>(port), out);
}

}  // namespace

int cmdRun(const std::vector<std::string>& args) {
  Flags f("run",
          {{"data-dir"}, {"workers"}, {"admin"}, {"log-level"}, {"log-format"}, {"drain-timeout"},
           {"access-log"}, {"access-log-format"}, {"tracing-collector"}, {"tracing-sampling"},
           {"tracing-service-name"}, {"dns-server", 0, true, true}},
          "usage: gatehouse run [--data-dir DIR] [--workers N] [--admin ADDR:PORT]\n"
          "                     [--log-level trace|debug|info|warn|error] [--log-format text|json]\n"
          "                     [--drain-timeout DURATION] [--access-log FILE|-]\n"
          "                     [--access-log-format text|json]\n"
          "                     [--tracing-collector URL [--tracing-sampling PERCENT]\n"
          "                      [--tracing-service-name NAME]]\n"
          "                     [--dns-server ADDR[:PORT]]...\n"
          "\n"
          "Runs the gateway in the foreground. On an empty data dir, creates config.db with the\n"
          "embedded default (an HTTP listener on 127.0.0.1:8080 with a welcome page).\n"
          "SIGTERM/SIGINT drain and exit 0; SIGHUP re-reads the configuration; new versions\n"
          "stored by `gatehouse apply` are picked up within a second.\n"
          "\n"
          "  --data-dir DIR        state directory (default: $GATEHOUSE_DATA_DIR, else\n"
          "                        /var/lib/gatehouse if writable, else ./gatehouse-data)\n"
          "  --workers N           worker threads (default: number of cores)\n"
          "  --admin ADDR:PORT     admin listener (default 127.0.0.1:9901)\n"
          "  --log-level L         default info\n"
          "  --log-format F        text (default) or json\n"
          "  --drain-timeout D     how long in-flight exchanges may take on shutdown (30s)\n"
          "  --access-log FILE     one line per exchange to FILE (- for standard output);\n"
          "                        off by default; SIGUSR1 reopens FILE (log rotation)\n"
          "  --access-log-format F text (default) or json\n"
          "  --tracing-collector URL  export sampled spans as OTLP/HTTP JSON to URL\n"
          "                        (http://HOST:PORT/v1/traces); W3C traceparent is propagated\n"
          "  --tracing-sampling P  percent of new traces sampled, 0-100 (default 1, as Istio)\n"
          "  --tracing-service-name N  the spans' service.name (default gatehouse)\n"
          "  --dns-server A[:P]    name server for endpoints given as DNS names (repeatable;\n"
          "                        IPv6 as [ADDR]:PORT; default port 53); default: the\n"
          "                        nameserver lines of /etc/resolv.conf\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  if (!f.positional().empty()) {
    error("run: " + f.positional().front(), "unexpected argument");
    return kUsage;
  }
  log::Level level = log::Level::kInfo;
  if (f.has("log-level") && !log::parseLevel(f.get("log-level"), &level)) {
    error("run: --log-level " + f.get("log-level"), "expected trace, debug, info, warn or error");
    return kUsage;
  }
  log::setLevel(level);
  std::string format = f.get("log-format", "text");
  if (format != "text" && format != "json") {
    error("run: --log-format " + format, "expected text or json");
    return kUsage;
  }
  log::setFormat(format == "json" ? log::Format::kJson : log::Format::kText);

  server::Options opt;
  opt.dataDir = server::resolveDataDir(f.get("data-dir"));
  if (f.has("workers")) {
    uint64_t n = 0;
    if (!str::parseU64(f.get("workers"), &n) || n == 0 || n > 256) {
      error("run: --workers " + f.get("workers"), "expected a number from 1 to 256");
      return kUsage;
    }
    opt.workers = n;
  }
  if (f.has("admin")) opt.adminAddress = f.get("admin");
  if (f.has("drain-timeout") && !str::parseDuration(f.get("drain-timeout"), &opt.drainTimeoutMs)) {
    error("run: --drain-timeout " + f.get("drain-timeout"), "expected a duration like 30s");
    return kUsage;
  }
  opt.accessLog = f.get("access-log", "");
  std::string alf = f.get("access-log-format", "text");
  if (alf != "text" && alf != "json") {
    error("run: --access-log-format " + alf, "expected text or json");
    return kUsage;
  }
  opt.accessLogJson = alf == "json";
  opt.tracingCollector = f.get("tracing-collector", "");
  if (!opt.tracingCollector.empty()) {
    telemetry::CollectorUrl url;
    std::string why;
    if (!telemetry::parseCollectorUrl(opt.tracingCollector, url, &why)) {
      error("run: --tracing-collector " + opt.tracingCollector, why);
      return kUsage;
    }
  }
  if (f.has("tracing-sampling")) {
    std::string v = f.get("tracing-sampling");
    char* end = nullptr;
    double p = strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || !(p >= 0 && p <= 100)) {
      error("run: --tracing-sampling " + v, "expected a percentage from 0 to 100");
      return kUsage;
    }
    opt.tracingSamplingPercent = p;
  }
  opt.tracingServiceName = f.get("tracing-service-name", "gatehouse");
  for (const std::string& v : f.all("dns-server")) {
    net::Address a;
    if (!parseDnsServer(v, &a)) {
      error("run: --dns-server " + v, "expected an IP address with an optional port, such as "
                                      "10.0.0.2, 10.0.0.2:53 or [fd00::2]:53");
      return kUsage;
    }
    opt.dnsServers.push_back(a);
  }
  server::Server s(opt);
  return s.run();
}

}  // namespace gh::cli
