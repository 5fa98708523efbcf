#include "core/identity/spiffe.h"

#include <catch2/catch.hpp>
#include <string>

using gh::identity::PrincipalPattern;
using gh::identity::SpiffeId;

TEST_CASE("SpiffeId accepts valid IDs and keeps their parts", "[identity][spiffe]") {
  struct Case {
    const char* uri;
    const char* td;
    const char* path;
    const char* ns;  // "" when not a workload ID
    const char* sa;
  };
  const Case cases[] = {
      {"spiffe://cluster.local/ns/prod/sa/web", "cluster.local", "/ns/prod/sa/web", "prod", "web"},
      {"spiffe://example.org", "example.org", "", "", ""},
      {"spiffe://a_b-c.9/x", "a_b-c.9", "/x", "", ""},
      {"spiffe://td/ns/A.b-c_d/sa/S", "td", "/ns/A.b-c_d/sa/S", "A.b-c_d", "S"},
      {"spiffe://td/ns/prod/sa/web/extra", "td", "/ns/prod/sa/web/extra", "", ""},
      {"spiffe://td/ns/prod/xx/web", "td", "/ns/prod/xx/web", "", ""},
      {"spiffe://td/ns/prod", "td", "/ns/prod", "", ""},
  };
  for (const Case& c : cases) {
    INFO(c.uri);
    auto id = SpiffeId::parse(c.uri);
    REQUIRE(id.ok());
    CHECK(id->uri() == c.uri);
    CHECK(id->trustDomain() == c.td);
    CHECK(id->path() == c.path);
    CHECK(id->withoutScheme() == std::string(c.uri).substr(9));
    CHECK(id->isWorkload() == (c.ns[0] != '\0'));
    CHECK(id->workloadNamespace() == c.ns);
    CHECK(id->serviceAccount() == c.sa);
  }
}

TEST_CASE("SpiffeId refuses what the standard forbids, saying why", "[identity][spiffe]") {
  struct Case {
    std::string uri;
    const char* why;
  };
  const Case cases[] = {
      {"", "must start with spiffe://"},
      {"http://td/x", "must start with spiffe://"},
      {"SPIFFE://td/x", "must start with spiffe://"},
      {"spiffe:/td/x", "must start with spiffe://"},
      {"spiffe://", "trust domain is empty"},
      {"spiffe:///ns/x", "trust domain is empty"},
      {"spiffe://Cluster.local/x", "lower case"},
      {"spiffe://td:443/x", "port"},
      {"spiffe://user@td/x", "user info"},
      {"spiffe://t d/x", "may only hold"},
      {"spiffe://td/", "must not end with '/'"},
      {"spiffe://td/ns/", "must not end with '/'"},
      {"spiffe://td//x", "empty segment"},
      {"spiffe://td/./x", "'.' or '..'"},
      {"spiffe://td/ns/..", "'.' or '..'"},
      {"spiffe://td/x?y=1", "query or fragment"},
      {"spiffe://td/x#f", "query or fragment"},
      {"spiffe://td/a%20b", "percent-encoded"},
      {"spiffe://td/a b", "path segments may only hold"},
      {"spiffe://td/a*", "path segments may only hold"},
      {"spiffe://" + std::string(256, 'a'), "longer than 255"},
      {"spiffe://td/" + std::string(2040, 'a'), "longer than 2048"},
  };
  for (const Case& c : cases) {
    INFO(c.uri);
    auto id = SpiffeId::parse(c.uri);
    REQUIRE_FALSE(id.ok());
    CHECK_THAT(id.status().message(), Catch::Contains(c.why));
  }
}

TEST_CASE("SpiffeId::forWorkload builds the Istio form and validates names", "[identity][spiffe]") {
  auto id = SpiffeId::forWorkload("cluster.local", "default", "web");
  REQUIRE(id.ok());
  CHECK(id->uri() == "spiffe://cluster.local/ns/default/sa/web");
  CHECK_FALSE(SpiffeId::forWorkload("Cluster", "default", "web").ok());
  CHECK_FALSE(SpiffeId::forWorkload("td", "", "web").ok());
  CHECK_FALSE(SpiffeId::forWorkload("td", "default", "a/b").ok());
  CHECK_FALSE(SpiffeId::forWorkload("td", "..", "web").ok());
  CHECK_THAT(SpiffeId::forWorkload("td", "default", "we b").status().message(),
             Catch::Contains("workload \"we b\""));
}

TEST_CASE("PrincipalPattern matches the forms of spec/mesh.md", "[identity][spiffe][principal]") {
  const char* web = "spiffe://cluster.local/ns/production/sa/frontend";
  const char* other = "spiffe://cluster.local/ns/staging/sa/frontend";
  const char* api = "spiffe://cluster.local/ns/production/sa/api";
  const char* foreign = "spiffe://partner.example/ns/production/sa/frontend";
  const char* nonWorkload = "spiffe://cluster.local/frontend";
  struct Case {
    const char* pattern;
    bool web, other, api, foreign, nonWorkload;
  };
  const Case cases[] = {
      {"cluster.local/ns/production/sa/frontend", true, false, false, false, false},
      {"spiffe://cluster.local/ns/production/sa/frontend", true, false, false, false, false},
      {"frontend@cluster.local", true, true, false, false, false},
      {"frontend@partner.example", false, false, false, true, false},
      {"*", true, true, true, true, true},
      {"cluster.local/ns/production/*", true, false, true, false, false},
      {"spiffe://cluster.local/ns/production/*", true, false, true, false, false},
      {"*/sa/frontend", true, true, false, true, false},
      {"cluster.local/*", true, true, true, false, true},
      {"*@cluster.local", true, true, true, false, false},
      {"front*@cluster.local", true, true, false, false, false},
      {"frontend@*", true, true, false, true, false},
      {"frontend@*.example", false, false, false, true, false},
      {"*/frontend", true, true, false, true, true},
      {"cluster.local/frontend", false, false, false, false, true},
  };
  auto id = [](const char* uri) { return SpiffeId::parse(uri).value(); };
  for (const Case& c : cases) {
    INFO(c.pattern);
    auto p = PrincipalPattern::parse(c.pattern);
    REQUIRE(p.ok());
    CHECK(p->text() == c.pattern);
    CHECK(p->matches(id(web)) == c.web);
    CHECK(p->matches(id(other)) == c.other);
    CHECK(p->matches(id(api)) == c.api);
    CHECK(p->matches(id(foreign)) == c.foreign);
    CHECK(p->matches(id(nonWorkload)) == c.nonWorkload);
    CHECK_FALSE(p->matches(SpiffeId()));  // no identity never matches, not even "*"
  }
}

TEST_CASE("PrincipalPattern refuses patterns that cannot mean what they say",
          "[identity][spiffe][principal]") {
  struct Case {
    const char* pattern;
    const char* why;
  };
  const Case cases[] = {
      {"", "is empty"},
      {"cluster.local/ns/*/sa/web", "prefix or suffix wildcard"},
      {"**", "prefix or suffix wildcard"},
      {"*cluster.local*", "prefix or suffix wildcard"},
      {"a@b@c", "more than one '@'"},
      {"fr*nt@cluster.local", "prefix or suffix wildcard"},
      {"frontend@Cluster.local", "lower case"},
      {"front/end@cluster.local", "account"},
      {"Cluster.local/ns/x/sa/y", "lower case"},
      {"cluster.local/ns//sa/y", "empty segment"},
      {"cluster.local/ns/x/sa/y ", "space"},
      {"http://cluster.local/ns/x/sa/y", "only spiffe://"},
  };
  for (const Case& c : cases) {
    INFO(c.pattern);
    auto p = PrincipalPattern::parse(c.pattern);
    REQUIRE_FALSE(p.ok());
    CHECK_THAT(p.status().message(), Catch::Contains(c.why));
  }
}
