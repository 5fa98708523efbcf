#include "core/config/yaml_write.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/config/yaml_tree.h"

using namespace gh::config;

namespace {

YamlNode readOne(const std::string& text) {
  YamlReader reader(text);
  YamlNode doc;
  std::vector<YamlProblem> problems;
  REQUIRE(reader.next(&doc, &problems) == YamlReader::Status::kDocument);
  REQUIRE(problems.empty());
  return doc;
}

YamlNode single(std::string key, YamlNode value) {
  YamlNode m = YamlNode::mapping();
  m.add(std::move(key), std::move(value));
  return m;
}

// Strings that a careless writer would turn into something else on the way back.
const std::vector<std::string> kTrickyStrings = {
    "",
    " ",
    "plain",
    "two words",
    "yes",
    "No",
    "on",
    "null",
    "~",
    "true",
    "8080",
    "0x1F",
    "1e3",
    "1:30",
    "1_000",
    ".inf",
    "-",
    "- item",
    "a: b",
    "a #b",
    "key:",
    "*.example.com",
    "&anchor",
    "!tag",
    "%directive",
    "@at",
    "`tick",
    "{flow}",
    "[flow]",
    "---",
    "...",
    "'single'",
    "\"double\"",
    "back\\slash",
    "line\nbreak",
    "trailing\n",
    "tab\there",
    std::string("nul\0byte", 8),
    "\x01\x1f\x7f",
    "caf\xC3\xA9",                  // é
    "\xF0\x9F\x9A\xAA",             // 🚪
    "\xC2\x85 next line",           // U+0085, a YAML line break
    "\xE2\x80\xA8 line separator",  // U+2028
    "\xE2\x80\xA9 para separator",  // U+2029
    "\xEF\xBB\xBF bom",             // U+FEFF
    "\xC2\x80 c1 control",          // U+0080
    "\xEF\xBF\xBE non-character",   // U+FFFE
    "<h1>Gatehouse is running</h1>",
    "10.0.0.12",
    "/api/orders",
    "text/html; charset=utf-8",
};

}  // namespace

TEST_CASE("JSON escapes what JSON and YAML need escaped, and nothing else", "[config][yaml]") {
  auto json = [](std::string s) { return writeJson(YamlNode::scalar(std::move(s), true)); };
  CHECK(json("a\"b\\c") == R"("a\"b\\c")");
  CHECK(json("\b\f\n\r\t") == R"("\b\f\n\r\t")");
  CHECK(json(std::string("\0\x01\x1f\x7f", 4)) == R"("\u0000\u0001\u001F\u007F")");
  CHECK(json("caf\xC3\xA9 \xF0\x9F\x9A\xAA") == "\"caf\xC3\xA9 \xF0\x9F\x9A\xAA\"");
  CHECK(json("\xC2\x85\xC2\x9F\xE2\x80\xA8\xE2\x80\xA9\xEF\xBB\xBF\xEF\xBF\xBF") ==
        R"("\u0085\u009F\u2028\u2029\uFEFF\uFFFF")");
  // Invalid UTF-8 (only possible in trees built by hand) never reaches the output.
  CHECK(json("a\xFF"
             "b\xC3") == R"("a\uFFFDb\uFFFD")");
  CHECK(json("\xED\xA0\x80") == R"("\uFFFD\uFFFD\uFFFD")");  // an encoded surrogate
  CHECK(json("\xC0\xAF") == R"("\uFFFD\uFFFD")");            // an overlong '/'
}

TEST_CASE("JSON writes scalars by their type, normalised", "[config][yaml]") {
  YamlNode doc = readOne(
      "{a: 0x1F90, b: 0o17, c: +5, d: True, e: FALSE, f: ~, g: \"8080\", h: 1.50, i: 2e3, "
      "j: [], k: {}, l: 99999999999999999999}");
  CHECK(writeJson(doc) ==
        R"({"a":8080,"b":15,"c":5,"d":true,"e":false,"f":null,"g":"8080","h":1.5,"i":2000.0,)"
        R"("j":[],"k":{},"l":"99999999999999999999"})");
}

TEST_CASE("YAML writes strings plain only when nothing could misread them", "[config][yaml]") {
  auto yaml = [](std::string s) {
    std::string out = writeYaml(single("k", YamlNode::scalar(std::move(s), true)));
    return out.substr(3, out.size() - 4);  // between "k: " and the newline
  };
  CHECK(yaml("plain") == "plain");
  CHECK(yaml("two words") == "two words");
  CHECK(yaml("10.0.0.12") == "10.0.0.12");
  CHECK(yaml("/api/orders") == "/api/orders");
  CHECK(yaml("text/html") == "text/html");
  CHECK(yaml("yes") == "\"yes\"");
  CHECK(yaml("8080") == "\"8080\"");
  CHECK(yaml("1:30") == "\"1:30\"");
  CHECK(yaml("") == "\"\"");
  CHECK(yaml("*.example.com") == "\"*.example.com\"");
  CHECK(yaml("a: b") == "\"a: b\"");
  CHECK(yaml("caf\xC3\xA9") == "\"caf\xC3\xA9\"");
  CHECK(yaml("line\nbreak\t\x01") == R"("line\nbreak\t\x01")");
  CHECK(yaml("\xC2\x85\xE2\x80\xA8\xE2\x80\xA9\xEF\xBB\xBF") == R"("\N\L\P\uFEFF")");
}

TEST_CASE("YAML is block style with compact sequences of mappings", "[config][yaml]") {
  YamlNode doc =
      readOne("{kind: Listener, spec: {port: 8080, list: [a, {x: 1, y: [2]}, [3, 4], []], e: {}}}");
  CHECK(writeYaml(doc) ==
        "kind: Listener\n"
        "spec:\n"
        "  port: 8080\n"
        "  list:\n"
        "    - a\n"
        "    - x: 1\n"
        "      \"y\":\n"  // YAML 1.1 reads a bare y as true
        "        - 2\n"
        "    -\n"
        "      - 3\n"
        "      - 4\n"
        "    - []\n"
        "  e: {}\n");
  CHECK(writeYaml(YamlNode::scalar("x", true)) == "x\n");
}

TEST_CASE("tricky strings survive JSON and YAML round trips", "[config][yaml]") {
  for (const std::string& s : kTrickyStrings) {
    INFO("string: " << writeJson(YamlNode::scalar(s, true)));
    YamlNode tree = single(s, YamlNode::scalar(s, true));  // as key and as value
    for (const std::string& text : {writeJson(tree), writeYaml(tree)}) {
      INFO("text: " << text);
      YamlNode back = readOne(text);
      REQUIRE(back.entries.size() == 1);
      CHECK(back.entries[0].key.value == s);
      CHECK(back.entries[0].value.value == s);
      CHECK(back.entries[0].value.scalarType() == YamlNode::ScalarType::kString);
    }
  }
}

TEST_CASE("typed scalars and nesting survive round trips", "[config][yaml]") {
  YamlNode doc =
      readOne("a: 1\nb: -7\nc: true\nd: [x, {y: [1, \"1\", {}], z: \"\"}]\ne: {f: {g: [[[]]]}}\n");
  std::string json = writeJson(doc);
  CHECK(writeJson(readOne(json)) == json);
  CHECK(writeJson(readOne(writeYaml(doc))) == json);
}
