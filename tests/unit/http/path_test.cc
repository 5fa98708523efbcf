// splitTarget and normalizePath: the table of spellings that must (or must not) become one.

#include <catch2/catch.hpp>
#include <string>

#include "core/http/parser.h"

using namespace gh::http;

namespace {

std::string normalized(std::string_view path, bool mergeSlashes = false) {
  std::string out = "stale";
  INFO("path: " << path);
  REQUIRE(normalizePath(path, mergeSlashes, &out));
  return out;
}

bool refused(std::string_view path, bool mergeSlashes = false) {
  std::string out;
  return !normalizePath(path, mergeSlashes, &out);
}

}  // namespace

TEST_CASE("splitTarget: origin-form", "[http]") {
  TargetParts p;
  REQUIRE(splitTarget("/p?q", &p));
  CHECK(p.path == "/p");
  CHECK(p.query == "q");
  CHECK(p.authority.empty());
  CHECK_FALSE(p.absoluteForm);
  REQUIRE(splitTarget("/a/b", &p));
  CHECK(p.path == "/a/b");
  CHECK(p.query.empty());
  REQUIRE(splitTarget("/a?", &p));
  CHECK(p.path == "/a");
  CHECK(p.query.empty());
  REQUIRE(splitTarget("/a?x=1?y=/2", &p));
  CHECK(p.query == "x=1?y=/2");
  REQUIRE(splitTarget("//a", &p));
  CHECK(p.path == "//a");
}

TEST_CASE("splitTarget: absolute-form and asterisk", "[http]") {
  TargetParts p;
  REQUIRE(splitTarget("http://Host:8080/p?q", &p));
  CHECK(p.absoluteForm);
  CHECK(p.authority == "Host:8080");
  CHECK(p.path == "/p");
  CHECK(p.query == "q");
  REQUIRE(splitTarget("HTTPS://h", &p));
  CHECK(p.authority == "h");
  CHECK(p.path == "/");
  CHECK(p.query.empty());
  REQUIRE(splitTarget("http://h?x", &p));
  CHECK(p.path == "/");
  CHECK(p.query == "x");
  REQUIRE(splitTarget("*", &p));
  CHECK(p.path == "*");
  CHECK_FALSE(p.absoluteForm);
}

TEST_CASE("splitTarget: unusable targets", "[http]") {
  TargetParts p;
  CHECK_FALSE(splitTarget("", &p));
  CHECK_FALSE(splitTarget("http:///p", &p));
  CHECK_FALSE(splitTarget("http://", &p));
  CHECK_FALSE(splitTarget("ftp://h/p", &p));
  CHECK_FALSE(splitTarget("h:80", &p));
  CHECK_FALSE(splitTarget("/p#f", &p));
  CHECK_FALSE(splitTarget("http://h#f", &p));
}

TEST_CASE("normalizePath: dot segments are removed", "[http]") {
  CHECK(normalized("/") == "/");
  CHECK(normalized("/a/./b/../c") == "/a/c");
  CHECK(normalized("/a/b/..") == "/a/");
  CHECK(normalized("/a/b/.") == "/a/b/");
  CHECK(normalized("/a/..") == "/");
  CHECK(normalized("/.") == "/");
  CHECK(normalized("/./") == "/");
  CHECK(normalized("/a/b/../../c") == "/c");
  CHECK(normalized("/a/.b/..c/...") == "/a/.b/..c/...");  // not dot segments
  CHECK(normalized("/a/b/") == "/a/b/");                  // trailing slash kept
}

TEST_CASE("normalizePath: climbing above the root is refused", "[http]") {
  CHECK(refused("/.."));
  CHECK(refused("/../a"));
  CHECK(refused("/a/../.."));
  CHECK(refused("/a/../../b"));
  CHECK(refused("/%2e%2e"));
  CHECK(refused("/%2E./x"));
  CHECK(refused("/a/.%2e/.."));
}

TEST_CASE("normalizePath: percent-encodings", "[http]") {
  CHECK(normalized("/a/%7Euser") == "/a/~user");
  CHECK(normalized("/%41%62%2d%2E%5f%7e%30") == "/Ab-._~0");
  CHECK(normalized("/a%2fb") == "/a%2Fb");  // an encoded slash is not a separator
  CHECK(normalized("/a%2Fb/..") == "/");
  CHECK(normalized("/%e2%82%ac") == "/%E2%82%AC");
  CHECK(normalized("/%25") == "/%25");
  CHECK(normalized("/%2541") == "/%2541");  // never decoded twice
  CHECK(normalized("/a/%2e/b") == "/a/b");  // decoded dots are dots
  CHECK(normalized("/a/b/%2E%2e") == "/a/");
  CHECK(refused("/%zz"));
  CHECK(refused("/%4"));
  CHECK(refused("/a%"));
  CHECK(refused("/%4g"));
  CHECK(refused("/%%41"));
}

TEST_CASE("normalizePath: slashes are merged only when asked", "[http]") {
  CHECK(normalized("//a///b", true) == "/a/b");
  CHECK(normalized("//a///b", false) == "//a///b");
  CHECK(normalized("/a//", true) == "/a/");
  CHECK(normalized("//", true) == "/");
  CHECK(normalized("/a/..//b", true) == "/b");
  CHECK(normalized("/.//b", false) == "//b");
  CHECK(normalized("//..", false) == "/");  // ".." removes the empty segment
  CHECK(refused("//..", true));
}

TEST_CASE("normalizePath: only absolute paths", "[http]") {
  CHECK(refused(""));
  CHECK(refused("a/b"));
  CHECK(refused("*"));
  std::string out = "stale";
  CHECK_FALSE(normalizePath("/..", false, &out));
  CHECK(out.empty());
}

TEST_CASE("normalizePath: the output is a fixed point", "[http]") {
  for (const char* p : {"/a/./b/../c", "/%7e/%2f/%2e%2e/x", "//a//./b/", "/%41%2541/"}) {
    for (bool merge : {false, true}) {
      const std::string once = normalized(p, merge);
      CHECK(normalized(once, merge) == once);
    }
  }
}
