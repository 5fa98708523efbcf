// Resource documents as positioned trees, and reading configuration files once
// (baseline_document.h).
//
// readConfigSources mirrors decodePaths (decode.cc) rule for rule: which files a directory
// contributes, in which order, the size limit, and the words of each diagnostic. They must stay
// in step: `validate` decodes what this reads, and a file read by one but not the other would
// be checked by half the checks.

#include "core/config/baseline_document.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace gh::config {

namespace {

constexpr size_t kMaxFileBytes = 128u << 20;  // as decode.cc

std::string scalarText(const YamlNode* n) {
  return n != nullptr && n->isScalar() && !n->isNull() ? n->value : std::string();
}

Diagnostic fileProblem(const std::string& file, std::string what) {
  Diagnostic d;
  d.loc.file = file;
  d.message = std::move(what);
  return d;
}

std::string readAll(FILE* f, std::string* out) {
  char buf[64 * 1024];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    if (out->size() + n > kMaxFileBytes)
      return "is larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB";
    out->append(buf, n);
  }
  if (ferror(f)) return std::string("cannot read: ") + strerror(errno);
  return {};
}

bool readFile(const std::string& path, std::vector<ConfigSource>* out,
              std::vector<Diagnostic>* diags) {
  FILE* f = fopen(path.c_str(), "rb");
  if (f == nullptr) {
    diags->push_back(fileProblem(path, std::string("cannot open: ") + strerror(errno)));
    return false;
  }
  ConfigSource s{path, {}};
  std::string error = readAll(f, &s.text);
  fclose(f);
  if (!error.empty()) {
    diags->push_back(fileProblem(path, error));
    return false;
  }
  out->push_back(std::move(s));
  return true;
}

bool isConfigFileName(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

bool listDirectory(const std::string& dir, std::vector<std::string>* files,
                   std::vector<Diagnostic>* diags) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (isConfigFileName(it->path()) && it->is_regular_file(ec)) files->push_back(it->path());
  }
  if (ec) {
    diags->push_back(fileProblem(dir, "cannot list: " + ec.message()));
    return false;
  }
  std::sort(files->begin(), files->end());
  return true;
}

}  // namespace

ConfigDocument documentFromTree(YamlNode root, const std::string& file) {
  ConfigDocument d;
  d.loc = SourceLoc{file, root.line, root.column};
  d.apiVersion = scalarText(root.find("apiVersion"));
  d.kind = scalarText(root.find("kind"));
  d.ns = "default";
  // Find metadata by hand: it must be mutable to receive the default namespace.
  for (YamlNode::Entry& e : root.entries) {
    if (e.key.value != "metadata" || !e.value.isMapping()) continue;
    YamlNode& meta = e.value;
    d.name = scalarText(meta.find("name"));
    const YamlNode* ns = meta.find("namespace");
    if (ns != nullptr && !ns->isNull()) {
      d.ns = scalarText(ns);
    } else {
      // A null `namespace:` entry reads as absent, as everywhere in the configuration.
      meta.entries.erase(
          std::remove_if(meta.entries.begin(), meta.entries.end(),
                         [](const YamlNode::Entry& m) { return m.key.value == "namespace"; }),
          meta.entries.end());
      YamlNode value = YamlNode::scalar("default", true);
      value.line = meta.line;
      value.column = meta.column;
      meta.add("namespace", std::move(value));
      meta.entries.back().key.line = meta.line;
      meta.entries.back().key.column = meta.column;
    }
    break;
  }
  d.root = std::move(root);
  return d;
}

void documentsFromText(std::string_view text, const std::string& file,
                       std::vector<ConfigDocument>* out) {
  if (text.size() > kMaxFileBytes) return;
  YamlReader reader(text);
  YamlNode root;
  std::vector<YamlProblem> problems;
  while (reader.next(&root, &problems) == YamlReader::Status::kDocument) {
    if (!root.isMapping()) continue;
    const YamlNode* kind = root.find("kind");
    if (kind != nullptr && kind->isScalar() && kind->value == "List") {
      const YamlNode* items = root.find("items");
      if (items == nullptr || !items->isSequence()) continue;
      for (const YamlNode& item : items->items) {
        const YamlNode* k = item.find("kind");
        if (!item.isMapping() || (k != nullptr && k->isScalar() && k->value == "List")) continue;
        out->push_back(documentFromTree(item, file));
      }
      continue;
    }
    out->push_back(documentFromTree(std::move(root), file));
    root = YamlNode();
  }
}

bool readConfigSources(const std::vector<std::string>& paths, std::vector<ConfigSource>* out,
                       std::vector<Diagnostic>* diags) {
  bool ok = true;
  for (const std::string& path : paths) {
    if (path == "-") {
      ConfigSource s{"-", {}};
      std::string error = readAll(stdin, &s.text);
      if (!error.empty()) {
        diags->push_back(fileProblem("-", error));
        ok = false;
        continue;
      }
      out->push_back(std::move(s));
      continue;
    }
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      std::vector<std::string> files;
      if (!listDirectory(path, &files, diags)) {
        ok = false;
        continue;
      }
      for (const std::string& f : files) ok &= readFile(f, out, diags);
      continue;
    }
    ok &= readFile(path, out, diags);
  }
  return ok;
}

}  // namespace gh::config
