// decodePaths(): files, directories and standard input.

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/config/decode.h"
#include "tests/unit/config/config_test_util.h"

using namespace gh::config;
namespace fs = std::filesystem;
using Errors = std::vector<std::string>;

namespace {

// A scratch directory removed when the test ends.
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "gh-config-XXXXXX").string();
    REQUIRE(mkdtemp(templ.data()) != nullptr);
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& relative, const std::string& text) const {
    fs::path p = path_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

std::string service(const std::string& name) {
  return "apiVersion: gatehouse.dev/v1\nkind: Service\nmetadata: {name: " + name +
         "}\nspec: {directResponse: {}}\n";
}

std::vector<std::string> names(const std::vector<Resource>& rs) {
  std::vector<std::string> out;
  for (const Resource& r : rs) out.push_back(r.meta.name);
  return out;
}

}  // namespace

TEST_CASE("directories are recursed in name order, configuration files only", "[config]") {
  TempDir dir;
  dir.write("b.yaml", service("b"));
  dir.write("a.yml", service("a1") + "---\n" + service("a2"));
  dir.write("c/d.json", R"({"apiVersion": "gatehouse.dev/v1", "kind": "Service",
    "metadata": {"name": "d"}, "spec": {"directResponse": {}}})");
  dir.write("c/e/f.yaml", service("f"));
  dir.write("README.md", "not configuration");
  dir.write("notes.txt", service("ignored-txt"));
  dir.write(".hidden.yaml", service("ignored-hidden"));
  dir.write(".git/config.yaml", service("ignored-git"));
  // A Kubernetes ConfigMap volume: the current revision through ..data, files linked to it.
  dir.write("cm/..2024_01_01/routes.yaml", service("ignored-revision"));
  fs::create_directory_symlink("..2024_01_01", dir.path() + "/cm/..data");
  fs::create_symlink("..data/routes.yaml", dir.path() + "/cm/routes.yaml");

  std::vector<Resource> rs;
  std::vector<Diagnostic> diags;
  CHECK(decodePaths({dir.path()}, &rs, &diags));
  CHECK(diags.empty());
  CHECK(names(rs) == std::vector<std::string>{"a1", "a2", "b", "d", "f", "ignored-revision"});
  CHECK(rs.at(3).loc.file == dir.path() + "/c/d.json");
  CHECK(rs.at(5).loc.file == dir.path() + "/cm/routes.yaml");
}

TEST_CASE("files are read whatever their name, in the order given", "[config]") {
  TempDir dir;
  std::string a = dir.write("a.conf", service("a"));
  std::string b = dir.write("b.yaml", service("b"));
  std::vector<Resource> rs;
  std::vector<Diagnostic> diags;
  CHECK(decodePaths({b, a}, &rs, &diags));
  CHECK(names(rs) == std::vector<std::string>{"b", "a"});
}

TEST_CASE("unreadable paths are reported and the others still decoded", "[config]") {
  TempDir dir;
  std::string good = dir.write("good.yaml", service("good"));
  std::string bad = dir.write("bad.yaml", service("Bad"));
  std::string missing = dir.path() + "/missing.yaml";
  std::vector<Resource> rs;
  std::vector<Diagnostic> diags;
  CHECK_FALSE(decodePaths({missing, bad, good}, &rs, &diags));
  CHECK(testing::formatAll(diags) ==
        Errors{missing + ": cannot open: No such file or directory",
               bad + ":3:18: Service default/Bad: metadata.name: must be a lower-case DNS name: "
                     "letters, digits, '-' and '.', starting and ending with a letter or digit, "
                     "at most 253 characters"});
  CHECK(names(rs) == std::vector<std::string>{"good"});
}

TEST_CASE("\"-\" reads standard input", "[config]") {
  TempDir dir;
  std::string input = dir.write("stdin.yaml", service("from-stdin") + "---\n" + service("X"));
  int saved = dup(STDIN_FILENO);
  int fd = open(input.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  dup2(fd, STDIN_FILENO);
  close(fd);
  clearerr(stdin);

  std::vector<Resource> rs;
  std::vector<Diagnostic> diags;
  bool ok = decodePaths({"-"}, &rs, &diags);

  dup2(saved, STDIN_FILENO);
  close(saved);
  clearerr(stdin);
  CHECK_FALSE(ok);
  CHECK(names(rs) == std::vector<std::string>{"from-stdin"});
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].loc == SourceLoc{"-", 8, 18});
}

TEST_CASE("an empty file or directory holds no resources and no errors", "[config]") {
  TempDir dir;
  std::string empty = dir.write("empty.yaml", "# nothing yet\n");
  fs::create_directory(dir.path() + "/none");
  std::vector<Resource> rs;
  std::vector<Diagnostic> diags;
  CHECK(decodePaths({empty, dir.path() + "/none"}, &rs, &diags));
  CHECK(rs.empty());
  CHECK(diags.empty());
}
