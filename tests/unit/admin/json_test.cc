#include "core/admin/json.h"

#include <catch2/catch.hpp>

using gh::admin::json::Value;
using gh::admin::json::parse;

TEST_CASE("json parses and dumps what the admin API exchanges", "[admin]") {
  Value v;
  std::string err;
  REQUIRE(parse(R"({"a": [1, 2.5, -3e2], "b": {"c": "x\u00e9\ud83d\ude00"}, "d": null, "e": true})",
                &v, &err));
  CHECK(v.find("a")->items().size() == 3);
  CHECK(v.find("a")->items()[2].asNumber() == -300);
  CHECK(v.find("b")->getString("c") == "x\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(v.getBool("e", false));
  CHECK(v.dump() == R"({"a":[1,2.5,-300],"b":{"c":"xé😀"},"d":null,"e":true})");
  // Markup characters never appear raw in JSON output.
  CHECK(Value("<script>&").dump() == R"("\u003cscript\u003e\u0026")");
  // Invalid UTF-8 is replaced, so the output is always valid JSON.
  CHECK(Value(std::string("a\xff")).dump() == R"("a\ufffd")");
}

TEST_CASE("json refuses what RFC 8259 refuses", "[admin]") {
  Value v;
  std::string err;
  for (const char* bad : {"", "{", "[1,]", "{\"a\":1,}", "01", "1.", "\"\\x\"", "\"\x01\"",
                          "nul", "{\"a\" 1}", "\"\\ud800\"", "1 2", "\"\xc0\x80\""}) {
    INFO(bad);
    CHECK_FALSE(parse(bad, &v, &err));
  }
  std::string deep(100, '[');
  CHECK_FALSE(parse(deep, &v, &err));
  CHECK(err.find("deeply") != std::string::npos);
}
