#pragma once
// Decoding of resource documents (YAML or JSON, several documents per file) into typed
// Resources, with file:line:column diagnostics.
//
// Decoding is all-or-nothing per call: if any document has an error, every error found is
// reported (not just the first) and the caller must not use the partial output.
// Uses libyaml's event parser for positions; JSON is read through the same path (YAML 1.2's
// flow style), so error positions are right for both. Pure: no I/O beyond reading the files
// named, no global state; safe to call from any thread.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/model.h"

namespace gh::config {

// Decodes the text of one file. `file` is used in diagnostics only.
bool decodeText(std::string_view text, const std::string& file, std::vector<Resource>* out,
                std::vector<Diagnostic>* diags);

// The largest configuration file read or decoded (bigger ones are refused with a diagnostic).
constexpr size_t kMaxConfigFileBytes = 128u << 20;

// The text of one input file; `file` is "-" for standard input.
struct ConfigSource {
  std::string file;
  std::string text;
};

// Reads paths: files, directories (recursed; *.yaml, *.yml and *.json, sorted by name; names
// starting with '.' skipped) or "-" for standard input. Every file that cannot be read is a
// diagnostic; the others are still returned. Reading once and decoding the texts lets a caller
// keep other views of the same text (the baseline checker keeps the documents' trees) without
// reading standard input twice.
bool readConfigSources(const std::vector<std::string>& paths, std::vector<ConfigSource>* out,
                       std::vector<Diagnostic>* diags);

// Reads and decodes paths (readConfigSources, then decodeText on each).
bool decodePaths(const std::vector<std::string>& paths, std::vector<Resource>* out,
                 std::vector<Diagnostic>* diags);

// Canonical JSON of a resource document: keys in a fixed order (apiVersion, kind, metadata,
// spec), no insignificant whitespace. Re-decoding it yields an equal Resource. This is what the
// store keeps and what `get -o json` prints.
std::string canonicalJson(const Resource& r);

// YAML rendering of the canonical form (for `get -o yaml`); decodes back to the same Resource.
std::string toYaml(const Resource& r);

}  // namespace gh::config
