#pragma once
// ConfigDocument: one resource document as a positioned tree, for the policy checks of
// baseline.h, plus the reading of configuration files that gives both the decoder and those
// checks the same bytes.
//
// Why a second view of a resource beside the typed model: lint and baseline rules talk about
// fields of any kind, including kinds this build does not decode yet (AuthorizationPolicy),
// and every finding must point at the line and column the user wrote.
// The typed model has neither; the tree YamlReader builds has both. A ConfigDocument is plain
// data: safe to copy and to share read-only across threads.

#include <string>
#include <string_view>
#include <vector>

#include "core/config/decode.h"  // readConfigSources
#include "core/config/model.h"
#include "core/config/yaml_tree.h"

namespace gh::config {

struct ConfigDocument {
  std::string apiVersion;
  std::string kind;  // as written; "" when missing or not a string
  std::string ns;    // metadata.namespace, "default" when absent (as the decoder has it)
  std::string name;  // metadata.name; "" when missing
  SourceLoc loc;     // where the document (or the List item) starts: the decoder's Resource::loc
  YamlNode root;     // the document; metadata.namespace is filled in when absent, positioned
                     // at metadata, and so are a MeshConfig's spec.trustDomain, spec.mtls
                     // and spec.certificateTTL (at spec), so rules read what is enforced
};

// A document tree as a ConfigDocument. `file` is used for positions only.
ConfigDocument documentFromTree(YamlNode root, const std::string& file);

// Every resource document of a YAML/JSON text, in order: each non-empty document that is a
// mapping, and each item of a Kubernetes List (as decode.h expands them). Syntax problems are
// not reported here (decoding reports them); reading stops at the first one.
void documentsFromText(std::string_view text, const std::string& file,
                       std::vector<ConfigDocument>* out);

}  // namespace gh::config
