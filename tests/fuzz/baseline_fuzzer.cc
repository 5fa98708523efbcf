// Fuzzes the baseline rule language: the baseline parser, and the evaluation of a parsed
// baseline (with the built-in lint) over documents.
//
// The input is a baseline and a configuration separated by a line "===": any baseline text
// must parse or be refused with diagnostics, and evaluation over any documents must finish
// without crashing, whatever the rules select, however deep the paths reach.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/baseline.h"
#include "core/config/baseline_document.h"
#include "core/config/baseline_rules.h"

using namespace gh::config;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t sep = in.find("\n===\n");
  std::string_view baselineText = in.substr(0, sep);
  std::string_view configText = sep == std::string_view::npos ? std::string_view() : in.substr(sep + 5);

  Baseline baseline;
  std::vector<Diagnostic> diags;
  bool ok = parseBaseline(baselineText, "baseline.yaml", &baseline, &diags);
  for (const Diagnostic& d : diags) (void)d.format();

  std::vector<ConfigDocument> docs;
  documentsFromText(configText, "config.yaml", &docs);
  std::vector<Finding> findings = checkPolicies(docs, ok ? &baseline : nullptr);
  for (const Finding& f : findings) (void)f.format();
  return 0;
}
