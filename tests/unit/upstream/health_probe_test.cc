// HealthProbe: the status-line verdict, and one probe against real sockets on a loop.

#include "core/upstream/health_probe.h"

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "core/net/socket.h"

using namespace gh;
using namespace gh::upstream;
using P = StatusLineVerdict;

TEST_CASE("health probe: 2xx passes, anything else fails", "[upstream][health]") {
  CHECK(healthStatusLine("HTTP/1.1 200 OK\r\n") == P::kPass);
  CHECK(healthStatusLine("HTTP/1.0 204 No Content\r\n") == P::kPass);
  CHECK(healthStatusLine("HTTP/1.1 200\r\n") == P::kPass);
  CHECK(healthStatusLine("HTTP/1.1 301 Moved\r\n") == P::kFail);
  CHECK(healthStatusLine("HTTP/1.1 503 X\r\n") == P::kFail);
  CHECK(healthStatusLine("HTTP/1.1 2000 X\r\n") == P::kFail);
  CHECK(healthStatusLine("SSH-2.0-OpenSSH\r\n") == P::kFail);
  CHECK(healthStatusLine("HTTP/1.1 20") == P::kNeedMore);
  CHECK(healthStatusLine(std::string(2000, 'x')) == P::kFail);
}

namespace {
struct Seen {
  event::Loop* loop;
  int results = 0;
  ProbeResult last = ProbeResult::kPass;
};
void onResult(void* arg, ProbeResult r) {
  auto* s = static_cast<Seen*>(arg);
  ++s->results;
  s->last = r;
  s->loop->stop();
}
}  // namespace

TEST_CASE("health probe: a refused connection fails, a silent one times out",
          "[upstream][health]") {
  event::Loop loop;
  Seen seen{&loop};
  HealthProbe probe(loop, &onResult, &seen);
  // A listening socket that never answers: the probe connects, then times out.
  net::Address any;
  REQUIRE(net::Address::parse("127.0.0.1", 0, &any));
  auto l = net::listenTcp(any, false);
  REQUIRE(l.ok());
  net::Address silent = net::localAddress(l.value());
  probe.start(silent, "s", "/healthz", 50);
  loop.run();
  CHECK(seen.results == 1);
  CHECK(seen.last == ProbeResult::kTimeout);
  ::close(l.value());
  // Nothing listens there any more: refused, a failure.
  probe.start(silent, "s", "/healthz", 2000);
  loop.run();
  CHECK(seen.results == 2);
  CHECK(seen.last == ProbeResult::kFail);
}
