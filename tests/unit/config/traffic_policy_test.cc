// Service trafficPolicy.loadBalancer and outlierDetection: what decodes to what, what is
// refused (with its position), and that the canonical JSON reads back to the same Service.

#include <catch2/catch.hpp>

#include "tests/unit/config/config_test_util.h"

using namespace gh::config;
using namespace gh::config::testing;

namespace {

std::string service(const std::string& trafficPolicy) {
  return "apiVersion: gatehouse.dev/v1\nkind: Service\nmetadata: {name: s}\nspec:\n"
         "  endpoints: [{address: 10.0.0.1, port: 80}]\n  trafficPolicy:\n" +
         trafficPolicy;
}

const ServiceSpec& only(const Decoded& d) {
  REQUIRE(d.ok);
  REQUIRE(d.resources.size() == 1);
  return d.resources[0].service();
}

// The canonical JSON of the decoded Service decodes to the same Service.
void roundTrips(const Decoded& d) {
  Decoded again = decode(d.resources[0].json, "json");
  REQUIRE(again.ok);
  CHECK(withoutLocations(again.resources[0]).spec == withoutLocations(d.resources[0]).spec);
}

}  // namespace

TEST_CASE("loadBalancer.simple", "[config][traffic]") {
  CHECK(only(decode(service("    loadBalancer: {simple: RANDOM}\n"))).loadBalancer ==
        LoadBalancer::kRandom);
  auto lr = decode(service("    loadBalancer: {simple: LEAST_CONN}\n"));
  CHECK(only(lr).loadBalancer == LoadBalancer::kLeastRequest);  // Istio's old name
  roundTrips(lr);
  CHECK(only(decode(service("    loadBalancer: {simple: UNSPECIFIED}\n"))).loadBalancer ==
        LoadBalancer::kRoundRobin);
  auto pass = decode(service("    loadBalancer: {simple: PASSTHROUGH}\n"));
  CHECK_FALSE(pass.ok);
  CHECK(pass.errors.at(0).find("t.yaml:7:28:") == 0);
}

TEST_CASE("loadBalancer.consistentHash keys and tables", "[config][traffic]") {
  auto header = decode(service("    loadBalancer: {consistentHash: {httpHeaderName: X-User}}\n"));
  const ServiceSpec& h = only(header);
  CHECK(h.loadBalancer == LoadBalancer::kRingHash);
  CHECK(h.hash.key == ConsistentHash::Key::kHeader);
  CHECK(h.hash.name == "x-user");
  roundTrips(header);

  auto cookie = decode(service(
      "    loadBalancer:\n      consistentHash: {httpCookie: {name: sid}, maglev: {tableSize: 251}}\n"));
  const ServiceSpec& c = only(cookie);
  CHECK(c.loadBalancer == LoadBalancer::kMaglev);
  CHECK(c.hash.key == ConsistentHash::Key::kCookie);
  CHECK(c.hash.tableSize == 251);
  roundTrips(cookie);

  auto ip = decode(service(
      "    loadBalancer: {consistentHash: {useSourceIp: true, ringHash: {minimumRingSize: 64}}}\n"));
  CHECK(only(ip).hash.minimumRingSize == 64);
  roundTrips(ip);
}

TEST_CASE("loadBalancer refusals", "[config][traffic]") {
  auto both = decode(service("    loadBalancer: {simple: RANDOM, consistentHash: {useSourceIp: true}}\n"));
  CHECK_FALSE(both.ok);
  CHECK(both.errors.at(0).find("set either simple or consistentHash") != std::string::npos);
  auto none = decode(service("    loadBalancer: {consistentHash: {useSourceIp: false}}\n"));
  CHECK_FALSE(none.ok);
  CHECK(none.errors.at(0).find("name exactly one hash key") != std::string::npos);
  auto two = decode(service(
      "    loadBalancer: {consistentHash: {useSourceIp: true, httpHeaderName: a}}\n"));
  CHECK_FALSE(two.ok);
  auto prime = decode(service(
      "    loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 1000}}}\n"));
  CHECK_FALSE(prime.ok);
  CHECK(prime.errors.at(0).find("must be a prime number") != std::string::npos);
  auto ttl = decode(service(
      "    loadBalancer: {consistentHash: {httpCookie: {name: a, ttl: 1h}}}\n"));
  CHECK_FALSE(ttl.ok);
  CHECK(ttl.errors.at(0).find("ttl: is not supported yet") != std::string::npos);
}

TEST_CASE("outlierDetection", "[config][traffic]") {
  auto d = decode(service("    outlierDetection: {consecutive5xxErrors: 3, interval: 5s,\n"
                          "      baseEjectionTime: 1m, maxEjectionPercent: 50}\n"));
  const ServiceSpec& s = only(d);
  REQUIRE(s.outlierDetection);
  CHECK(s.outlierDetection->consecutive5xxErrors == 3);
  CHECK(s.outlierDetection->consecutiveGatewayErrors == 0);
  CHECK(s.outlierDetection->intervalMs == 5'000);
  CHECK(s.outlierDetection->baseEjectionTimeMs == 60'000);
  CHECK(s.outlierDetection->maxEjectionPercent == 50);
  roundTrips(d);
  // Istio's defaults when the block is there but empty.
  auto defaults = decode(service("    outlierDetection: {}\n"));
  CHECK(only(defaults).outlierDetection->consecutive5xxErrors == 5);
  CHECK(only(defaults).outlierDetection->baseEjectionTimeMs == 30'000);
  CHECK_FALSE(decode(service("    outlierDetection: {maxEjectionPercent: 101}\n")).ok);
  auto later = decode(service("    outlierDetection: {consecutiveLocalOriginFailures: 2}\n"));
  CHECK_FALSE(later.ok);
  CHECK(later.errors.at(0).find("is not supported yet") != std::string::npos);
  // A Service without the block has none (and its JSON has no outlierDetection).
  auto plain = decode(service("    connectionPool: {tcp: {connectTimeout: 1s}}\n"));
  CHECK_FALSE(only(plain).outlierDetection);
  CHECK(plain.resources[0].json.find("outlierDetection") == std::string::npos);
  CHECK(plain.resources[0].json.find("loadBalancer") == std::string::npos);
}

TEST_CASE("healthCheck", "[config][traffic]") {
  auto d = decode(
      "apiVersion: gatehouse.dev/v1\nkind: Service\nmetadata: {name: s}\nspec:\n"
      "  endpoints: [{address: 10.0.0.1, port: 80}]\n"
      "  healthCheck: {path: /healthz, interval: 2s, timeout: 250ms, healthyThreshold: 1,\n"
      "                unhealthyThreshold: 4}\n");
  const ServiceSpec& s = only(d);
  REQUIRE(s.healthCheck);
  CHECK(s.healthCheck->path == "/healthz");
  CHECK(s.healthCheck->intervalMs == 2'000);
  CHECK(s.healthCheck->timeoutMs == 250);
  CHECK(s.healthCheck->healthyThreshold == 1);
  CHECK(s.healthCheck->unhealthyThreshold == 4);
  roundTrips(d);
  auto defaults = decode(service("    {}\n") + "  healthCheck: {path: /h}\n");
  REQUIRE(only(defaults).healthCheck);
  CHECK(only(defaults).healthCheck->intervalMs == 5'000);
  CHECK(only(defaults).healthCheck->healthyThreshold == 2);
  CHECK(only(defaults).healthCheck->unhealthyThreshold == 3);
  auto noPath = decode(service("    {}\n") + "  healthCheck: {interval: 1s}\n");
  REQUIRE_FALSE(noPath.ok);
  CHECK(noPath.errors.at(0).find("spec.healthCheck.path: is required") != std::string::npos);
  auto badPath = decode(service("    {}\n") + "  healthCheck: {path: \"/a b\"}\n");
  CHECK_FALSE(badPath.ok);
  auto direct = decode(
      "apiVersion: gatehouse.dev/v1\nkind: Service\nmetadata: {name: s}\nspec:\n"
      "  directResponse: {status: 200}\n  healthCheck: {path: /h}\n");
  REQUIRE_FALSE(direct.ok);
  CHECK(direct.errors.at(0).find("cannot be combined with directResponse") != std::string::npos);
  // Without the block: none, and nothing in the JSON.
  auto plain = decode(service("    {}\n"));
  CHECK_FALSE(only(plain).healthCheck);
  CHECK(plain.resources[0].json.find("healthCheck") == std::string::npos);
}

TEST_CASE("connectionPool limits", "[config][traffic]") {
  auto d = decode(service("    connectionPool:\n"
                          "      tcp: {maxConnections: 100, connectTimeout: 1s}\n"
                          "      http: {http1MaxPendingRequests: 0, maxRequestsPerConnection: 7}\n"));
  const ServiceSpec& s = only(d);
  REQUIRE(s.maxConnections);
  CHECK(*s.maxConnections == 100);
  REQUIRE(s.http1MaxPendingRequests);
  CHECK(*s.http1MaxPendingRequests == 0);  // no queue: over the connections, overflow at once
  CHECK(s.maxRequestsPerConnection == 7);
  roundTrips(d);
  auto none = decode(service("    connectionPool: {tcp: {connectTimeout: 1s}}\n"));
  CHECK_FALSE(only(none).maxConnections);
  CHECK_FALSE(only(none).http1MaxPendingRequests);
  CHECK(only(none).maxRequestsPerConnection == 0);
  CHECK_FALSE(decode(service("    connectionPool: {tcp: {maxConnections: 0}}\n")).ok);
  auto later = decode(service("    connectionPool: {http: {maxRetries: 3}}\n"));
  REQUIRE_FALSE(later.ok);
  CHECK(later.errors.at(0).find("maxRetries: is not supported yet") != std::string::npos);
}
