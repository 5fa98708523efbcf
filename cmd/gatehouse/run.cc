// gatehouse run: the gateway in the foreground.

#include <cstdio>
#include <cstdlib>

#include "cmd/gatehouse/cli.h"
#include "core/base/log.h"
#include "core/base/strings.h"
#include "core/server/server.h"
#include "core/telemetry/otlp_exporter.h"

namespace gh::cli {

int cmdRun(const std::vector<std::string>& args) {
  Flags f("run",
          {{"data-dir"}, {"workers"}, {"admin"}, {"log-level"}, {"log-format"}, {"drain-timeout"},
           {"access-log"}, {"access-log-format"}, {"tracing-collector"}, {"tracing-sampling"},
           {"tracing-service-name"}},
          "usage: gatehouse run [--data-dir DIR] [--workers N] [--admin ADDR:PORT]\n"
          "                     [--log-level trace|debug|info|warn|error] [--log-format text|json]\n"
          "                     [--drain-timeout DURATION] [--access-log FILE|-]\n"
          "                     [--access-log-format text|json]\n"
          "                     [--tracing-collector URL [--tracing-sampling PERCENT]\n"
          "                      [--tracing-service-name NAME]]\n"
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
          "  --tracing-service-name N  the spans' service.name (default gatehouse)\n");
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
  server::Server s(opt);
  return s.run();
}

}  // namespace gh::cli
