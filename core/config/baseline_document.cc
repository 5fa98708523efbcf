// Resource documents as positioned trees (baseline_document.h). Files are read by
// readConfigSources (decode.h), the same reader decodePaths uses, so the baseline checks and
// decoding always see the same files.

#include "core/config/baseline_document.h"

#include <algorithm>

#include "core/config/yaml_fields.h"  // formatDuration

namespace gh::config {

namespace {

std::string scalarText(const YamlNode* n) {
  return n != nullptr && n->isScalar() && !n->isNull() ? n->value : std::string();
}

// Gives `map` the entry key: value when it has none (or a null one), positioned at the map:
// what the decoder reads an absent field as, so that rules see the value that is enforced.
void fillDefault(YamlNode* map, std::string_view key, std::string value) {
  const YamlNode* have = map->find(key);
  if (have != nullptr && !have->isNull()) return;
  map->entries.erase(
      std::remove_if(map->entries.begin(), map->entries.end(),
                     [&](const YamlNode::Entry& m) { return m.key.value == key; }),
      map->entries.end());
  YamlNode v = YamlNode::scalar(std::move(value), true);
  v.line = map->line;
  v.column = map->column;
  map->add(std::string(key), std::move(v));
  map->entries.back().key.line = map->line;
  map->entries.back().key.column = map->column;
}

// The MeshConfig fields whose defaults decide how the mesh behaves (model.h MeshConfigSpec):
// `mtls` absent is STRICT, and a rule such as "mtls is STRICT" must see it so.
void fillMeshConfigDefaults(YamlNode* root) {
  for (YamlNode::Entry& e : root->entries) {
    if (e.key.value != "spec" || !e.value.isMapping()) continue;
    MeshConfigSpec defaults;
    fillDefault(&e.value, "trustDomain", defaults.trustDomain);
    fillDefault(&e.value, "mtls", defaults.mtls == MtlsMode::kStrict ? "STRICT" : "PERMISSIVE");
    fillDefault(&e.value, "certificateTTL", formatDuration(defaults.certificateTtlMs));
    return;
  }
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
  if (d.kind == "MeshConfig") fillMeshConfigDefaults(&root);
  d.root = std::move(root);
  return d;
}

void documentsFromText(std::string_view text, const std::string& file,
                       std::vector<ConfigDocument>* out) {
  if (text.size() > kMaxConfigFileBytes) return;
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

}  // namespace gh::config
