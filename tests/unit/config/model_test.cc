#include "core/config/model.h"

#include <catch2/catch.hpp>

using namespace gh::config;

TEST_CASE("diagnostics format as file:line:column: message", "[config]") {
  CHECK(Diagnostic{{"a.yaml", 3, 7}, "Listener default/x: spec.port: is required"}.format() ==
        "a.yaml:3:7: Listener default/x: spec.port: is required");
  CHECK(Diagnostic{{"a.yaml", 3, 0}, "m"}.format() == "a.yaml:3: m");
  CHECK(Diagnostic{{"a.yaml", 0, 0}, "cannot open"}.format() == "a.yaml: cannot open");
  CHECK(Diagnostic{{"", 0, 0}, "m"}.format() == "m");
}

TEST_CASE("kind names and the names get accepts", "[config]") {
  CHECK(std::string(kindName(Kind::kListener)) == "Listener");
  CHECK(std::string(kindName(Kind::kHttpRoute)) == "HTTPRoute");
  CHECK(std::string(kindName(Kind::kService)) == "Service");
  CHECK(std::string(kindName(Kind::kWorkload)) == "Workload");
  CHECK(std::string(kindName(Kind::kMeshConfig)) == "MeshConfig");
  Kind k = Kind::kListener;
  CHECK(parseKindName("HTTPRoute", &k));
  CHECK(k == Kind::kHttpRoute);
  CHECK(parseKindName("httproutes", &k));
  CHECK(k == Kind::kHttpRoute);
  CHECK(parseKindName("Services", &k));
  CHECK(k == Kind::kService);
  CHECK(parseKindName("svc", &k));
  CHECK(k == Kind::kService);
  CHECK(parseKindName("LISTENERS", &k));
  CHECK(k == Kind::kListener);
  CHECK(parseKindName("Workload", &k));
  CHECK(k == Kind::kWorkload);
  CHECK(parseKindName("workloads", &k));
  CHECK(k == Kind::kWorkload);
  CHECK(parseKindName("MeshConfig", &k));
  CHECK(k == Kind::kMeshConfig);
  CHECK(parseKindName("MESHCONFIGS", &k));
  CHECK(k == Kind::kMeshConfig);
  CHECK_FALSE(parseKindName("Gateway", &k));
  CHECK_FALSE(parseKindName("", &k));
  CHECK_FALSE(parseKindName("listenerss", &k));
}
