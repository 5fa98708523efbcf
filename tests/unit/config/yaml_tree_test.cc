#include "core/config/yaml_tree.h"

#include "core/config/decode.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace gh::config;
using ScalarType = YamlNode::ScalarType;

namespace {

struct Read {
  std::vector<YamlNode> docs;
  std::vector<YamlProblem> problems;
  bool failed = false;
};

Read readAll(std::string_view text, YamlLimits limits = {}) {
  Read r;
  YamlReader reader(text, limits);
  for (;;) {
    YamlNode doc;
    YamlReader::Status s = reader.next(&doc, &r.problems);
    if (s == YamlReader::Status::kDocument) {
      r.docs.push_back(std::move(doc));
      continue;
    }
    r.failed = s == YamlReader::Status::kFailed;
    return r;
  }
}

const YamlNode& only(const Read& r) {
  REQUIRE(r.docs.size() == 1);
  return r.docs[0];
}

}  // namespace

TEST_CASE("plain scalars follow the YAML 1.2 core schema, strictly", "[config][yaml]") {
  CHECK(resolvePlainScalar("") == ScalarType::kNull);
  CHECK(resolvePlainScalar("~") == ScalarType::kNull);
  CHECK(resolvePlainScalar("null") == ScalarType::kNull);
  CHECK(resolvePlainScalar("NULL") == ScalarType::kNull);
  CHECK(resolvePlainScalar("true") == ScalarType::kBool);
  CHECK(resolvePlainScalar("False") == ScalarType::kBool);
  CHECK(resolvePlainScalar("8080") == ScalarType::kInt);
  CHECK(resolvePlainScalar("-12") == ScalarType::kInt);
  CHECK(resolvePlainScalar("0x1F") == ScalarType::kInt);
  CHECK(resolvePlainScalar("0o17") == ScalarType::kInt);
  CHECK(resolvePlainScalar("1.5") == ScalarType::kFloat);
  CHECK(resolvePlainScalar("1e3") == ScalarType::kFloat);
  CHECK(resolvePlainScalar(".inf") == ScalarType::kFloat);
  CHECK(resolvePlainScalar(".NaN") == ScalarType::kFloat);
  // YAML 1.1 booleans and friends are strings here.
  for (const char* s : {"yes", "no", "on", "off", "y", "n", "NO"})
    CHECK(resolvePlainScalar(s) == ScalarType::kString);
  // Neither sexagesimal nor underscores nor binary are numbers in 1.2.
  for (const char* s : {"1:30", "1_000", "0b101", "10.0.0.1", "1.2.3", "0x", "+", "."})
    CHECK(resolvePlainScalar(s) == ScalarType::kString);
}

TEST_CASE("quoted and block scalars are strings whatever they spell", "[config][yaml]") {
  Read read = readAll("a: \"8080\"\nb: '8080'\nc: 8080\nd: |\n  true\ne: ~\n");
  const YamlNode& doc = only(read);
  CHECK(doc.find("a")->scalarType() == ScalarType::kString);
  CHECK(doc.find("b")->scalarType() == ScalarType::kString);
  CHECK(doc.find("c")->scalarType() == ScalarType::kInt);
  CHECK(doc.find("d")->scalarType() == ScalarType::kString);
  CHECK(doc.find("d")->value == "true\n");
  CHECK(doc.find("e")->isNull());
  CHECK(doc.find("missing") == nullptr);
}

TEST_CASE("integers convert with range checks", "[config][yaml]") {
  int64_t v = 0;
  CHECK(YamlNode::scalar("0x1F90", false).toInt(&v));
  CHECK(v == 8080);
  CHECK(YamlNode::scalar("0o17", false).toInt(&v));
  CHECK(v == 15);
  CHECK(YamlNode::scalar("-9223372036854775808", false).toInt(&v));
  CHECK(v == INT64_MIN);
  CHECK(YamlNode::scalar("9223372036854775807", false).toInt(&v));
  CHECK(v == INT64_MAX);
  CHECK_FALSE(YamlNode::scalar("9223372036854775808", false).toInt(&v));
  CHECK_FALSE(YamlNode::scalar("0x8000000000000000", false).toInt(&v));
  CHECK_FALSE(YamlNode::scalar("8080", true).toInt(&v));  // quoted: a string
  bool b = false;
  CHECK(YamlNode::scalar("TRUE", false).toBool(&b));
  CHECK(b);
  CHECK_FALSE(YamlNode::scalar("yes", false).toBool(&b));
}

TEST_CASE("nodes carry 1-based positions", "[config][yaml]") {
  Read read = readAll("kind: Listener\nspec:\n  port: 8080\n  list: [a, {b: 1}]\n");
  const YamlNode& doc = only(read);
  CHECK(doc.line == 1);
  CHECK(doc.column == 1);
  const YamlNode& spec = *doc.find("spec");
  CHECK(spec.line == 3);
  CHECK(spec.column == 3);
  CHECK(doc.entries[1].key.line == 2);
  CHECK(doc.entries[1].key.column == 1);
  const YamlNode& port = *spec.find("port");
  CHECK(port.line == 3);
  CHECK(port.column == 9);
  const YamlNode& list = *spec.find("list");
  REQUIRE(list.items.size() == 2);
  CHECK(list.items[1].line == 4);
  CHECK(list.items[1].column == 13);
  CHECK(list.items[1].find("b")->column == 17);
}

TEST_CASE("documents are read one by one and empty ones are skipped", "[config][yaml]") {
  Read r = readAll("---\n---\n# only a comment\n---\na: 1\n---\nb: 2\n...\n---\n");
  REQUIRE(r.docs.size() == 2);
  CHECK(r.problems.empty());
  CHECK_FALSE(r.failed);
  CHECK(r.docs[0].find("a")->line == 5);
  CHECK(r.docs[1].find("b")->line == 7);
  CHECK(readAll("").docs.empty());
  CHECK(readAll("# nothing\n").docs.empty());
}

TEST_CASE("JSON reads through the same parser, with positions", "[config][yaml]") {
  Read read = readAll(
      "{\"kind\":\"Listener\",\n \"spec\": {\"port\": 8080, \"on\": true,"
      " \"s\": \"a\\u00e9\\/\\n\", \"n\": null, \"l\": [1, \"2\"]}}");
  const YamlNode& doc = only(read);
  const YamlNode& spec = *doc.find("spec");
  CHECK(spec.find("port")->scalarType() == ScalarType::kInt);
  CHECK(spec.find("port")->line == 2);
  CHECK(spec.find("port")->column == 19);
  CHECK(spec.find("on")->scalarType() == ScalarType::kBool);
  CHECK(spec.find("s")->value == "a\xC3\xA9/\n");
  CHECK(spec.find("n")->isNull());
  CHECK(spec.find("l")->items[1].scalarType() == ScalarType::kString);
}

TEST_CASE("duplicate keys are reported and the first value kept", "[config][yaml]") {
  Read r = readAll("spec:\n  port: 1\n  port: 2\n");
  const YamlNode& doc = only(r);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].line == 3);
  CHECK(r.problems[0].column == 3);
  CHECK(r.problems[0].path == "spec.port");
  CHECK(r.problems[0].message == "duplicate key \"port\" (first at line 2)");
  CHECK(doc.find("spec")->entries.size() == 1);
  CHECK(doc.find("spec")->find("port")->value == "1");
}

TEST_CASE("duplicate keys are found in large mappings too", "[config][yaml]") {
  std::string text = "{";
  for (int i = 0; i < 100; ++i) text += "k" + std::to_string(i) + ": " + std::to_string(i) + ", ";
  text += "k42: dup}";
  Read r = readAll(text);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].path == "k42");
  CHECK(only(r).entries.size() == 100);
  CHECK(only(r).find("k99")->value == "99");
}

TEST_CASE("anchors and aliases are refused", "[config][yaml]") {
  Read r = readAll("base: &b {port: 1}\nother: *b\n");
  REQUIRE(r.problems.size() == 2);
  CHECK(r.problems[0].line == 1);
  CHECK(r.problems[0].column == 7);
  CHECK(r.problems[0].path == "base");
  CHECK(r.problems[0].message == "anchors (&b) are not supported");
  CHECK(r.problems[1].line == 2);
  CHECK(r.problems[1].column == 8);
  CHECK(r.problems[1].path == "other");
  CHECK(r.problems[1].message == "aliases (*b) are not supported");
  CHECK(only(r).find("other")->isNull());  // present, but read as null
}

TEST_CASE("an alias bomb costs nothing", "[config][yaml]") {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    bomb += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" +
            prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n";
  }
  Read r = readAll(bomb);
  CHECK(r.problems.size() == 10 + 81);  // ten anchors, nine aliases on each of nine lines
  CHECK(only(r).entries.size() == 10);
}

TEST_CASE("core schema tags are honoured, others refused", "[config][yaml]") {
  Read r = readAll(
      "a: !!str 8080\nb: !!int \"8080\"\nc: ! 12\nd: !!int abc\ne: !custom x\n"
      "f: !!map {}\n");
  const YamlNode& doc = only(r);
  CHECK(doc.find("a")->scalarType() == ScalarType::kString);
  CHECK(doc.find("b")->scalarType() == ScalarType::kInt);
  CHECK(doc.find("c")->scalarType() == ScalarType::kString);
  REQUIRE(r.problems.size() == 2);
  CHECK(r.problems[0].path == "d");
  CHECK(r.problems[0].message == "\"abc\" is not a valid !!int");
  CHECK(r.problems[1].path == "e");
  CHECK(r.problems[1].message == "tag !custom is not supported");
}

TEST_CASE("nesting is bounded", "[config][yaml]") {
  std::string deep = std::string(64, '[') + std::string(64, ']');
  Read ok = readAll(deep);
  CHECK_FALSE(ok.failed);
  CHECK(ok.problems.empty());

  Read r = readAll("a: 1\n---\n" + std::string(65, '[') + std::string(65, ']'));
  CHECK(r.failed);
  CHECK(r.docs.size() == 1);  // documents before the problem are still delivered
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].line == 3);
  CHECK(r.problems[0].column == 65);
  CHECK(r.problems[0].message == "nesting deeper than 64 levels");
}

TEST_CASE("the number of nodes per document is bounded", "[config][yaml]") {
  YamlLimits limits;
  limits.maxNodes = 10;
  CHECK_FALSE(readAll("[1, 2, 3, 4, 5, 6, 7, 8, 9]", limits).failed);
  Read r = readAll("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", limits);
  CHECK(r.failed);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].message == "document has more than 10 nodes");
  CHECK(r.problems[0].column == 29);
}

TEST_CASE("syntax errors stop the stream with libyaml's explanation", "[config][yaml]") {
  Read r = readAll("a: 1\n---\nb: [1, 2\nc: 3\n");
  CHECK(r.failed);
  CHECK(r.docs.size() == 1);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].line == 4);
  CHECK(r.problems[0].message.rfind("invalid YAML: ", 0) == 0);
  CHECK(r.problems[0].message.find("line 3, column 4") != std::string::npos);
}

TEST_CASE("non-scalar keys are refused", "[config][yaml]") {
  Read r = readAll("? [a, b]\n: 1\n");
  CHECK(r.failed);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].message == "mapping keys must be scalars");
}

TEST_CASE("invalid UTF-8 is reported at its position", "[config][yaml]") {
  Read r = readAll("a: 1\nb: \xC3\xA9\xFF\n");
  CHECK(r.failed);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].line == 2);
  CHECK(r.problems[0].column == 5);
  CHECK(r.problems[0].message.rfind("invalid YAML: ", 0) == 0);
}

TEST_CASE("paths quote keys that are not identifiers", "[config][yaml]") {
  std::string p = "metadata.labels";
  appendPathKey(&p, "app.kubernetes.io/name");
  CHECK(p == "metadata.labels[\"app.kubernetes.io/name\"]");
  std::string q;
  appendPathKey(&q, "spec");
  appendPathIndex(&q, 3);
  appendPathKey(&q, "a\"b");
  CHECK(q == "spec[3][\"a\\\"b\"]");
}

TEST_CASE("an empty view without storage is an empty input, not a crash", "[config][yaml]") {
  // Found by the baseline fuzzer: libyaml asserts on a null input pointer.
  std::vector<Resource> out;
  std::vector<Diagnostic> diags;
  CHECK(decodeText(std::string_view(), "empty", &out, &diags));
  CHECK(out.empty());
  CHECK(diags.empty());
}
