// Service endpoints given as DNS names at compile time: which (name, port) pairs the server
// must watch, and how the answers it has become endpoints (one per address, the configured
// weight, the name kept, none before the first answer, no address twice).

#include <catch2/catch.hpp>

#include <map>

#include "core/config/snapshot.h"
#include "tests/unit/config/config_test_util.h"

using namespace gh;
using namespace gh::config;
using namespace gh::config::testing;

namespace {

const char* kConfig = R"(apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: api}
spec:
  endpoints:
    - {address: 10.0.0.1, port: 8080}
    - {address: api.test.internal, port: 8080, weight: 3}
    - {address: api.test.internal, port: 9090}
  healthCheck: {path: /healthz}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: other}
spec:
  endpoints:
    - {address: api.test.internal, port: 8080}
)";

net::Address addr(const char* ip, uint16_t port) {
  net::Address a;
  REQUIRE(net::Address::parse(ip, port, &a));
  return a;
}

const upstream::Service& service(const Snapshot& s, const std::string& name) {
  for (const upstream::Service& svc : s.services)
    if (svc.name == name) return svc;
  FAIL("no service " << name);
  return s.services.front();
}

}  // namespace

TEST_CASE("dnsEndpoints lists each name and port once", "[config][dns]") {
  Decoded d = decodeAndValidate(kConfig);
  REQUIRE(d.errors == std::vector<std::string>{});
  using P = std::pair<std::string, uint16_t>;
  CHECK(dnsEndpoints(d.resources) ==
        std::vector<P>{P{"api.test.internal", 8080}, P{"api.test.internal", 9090}});
}

TEST_CASE("DNS endpoints compile to their current addresses", "[config][dns]") {
  Decoded d = decodeAndValidate(kConfig);
  REQUIRE(d.ok);

  SECTION("without answers only the IP endpoints exist") {
    auto snap = compile(1, d.resources);
    REQUIRE(snap.ok());
    const upstream::Service& api = service(*snap.value(), "api");
    REQUIRE(api.endpoints.size() == 1);
    CHECK(api.endpoints[0].label == "10.0.0.1:8080");
    CHECK(api.endpoints[0].hostname.empty());
    CHECK(api.dnsNames ==
          std::vector<std::string>{"api.test.internal:8080", "api.test.internal:9090"});
    REQUIRE(api.health);
    CHECK(api.health->size() == 1);
    const upstream::Service& other = service(*snap.value(), "other");
    CHECK(other.endpoints.empty());  // 503 no_healthy_upstream until the first answer
  }

  SECTION("answers become endpoints with the configured weight and the name") {
    std::map<std::pair<std::string, uint16_t>, std::vector<net::Address>> answers;
    answers[{"api.test.internal", 8080}] = {addr("10.0.0.1", 8080), addr("10.0.0.2", 8080),
                                            addr("10.0.0.3", 8080)};
    DnsLookupFn lookup = [&](const std::string& name,
                             uint16_t port) -> const std::vector<net::Address>* {
      auto it = answers.find({name, port});
      return it == answers.end() ? nullptr : &it->second;
    };
    auto snap = compile(7, d.resources, nullptr, {}, {}, {}, lookup);
    REQUIRE(snap.ok());
    CHECK(snap.value()->version == 7);
    const upstream::Service& api = service(*snap.value(), "api");
    // 10.0.0.1:8080 is in the config as an address already: it is not added a second time.
    REQUIRE(api.endpoints.size() == 3);
    CHECK(api.endpoints[0].label == "10.0.0.1:8080");
    CHECK(api.endpoints[0].hostname.empty());
    CHECK(api.endpoints[0].weight == 1);
    CHECK(api.endpoints[1].label == "10.0.0.2:8080");
    CHECK(api.endpoints[1].hostname == "api.test.internal");
    CHECK(api.endpoints[1].weight == 3);
    CHECK(api.endpoints[2].label == "10.0.0.3:8080");
    CHECK(api.cumulativeWeight == std::vector<uint64_t>{1, 4, 7});
    CHECK(api.health->size() == 3);
    CHECK(api.usable.size() == 3);
    const upstream::Service& other = service(*snap.value(), "other");
    REQUIRE(other.endpoints.size() == 3);
    CHECK(other.endpoints[0].label == "10.0.0.1:8080");
    CHECK(other.endpoints[0].hostname == "api.test.internal");
  }
}
