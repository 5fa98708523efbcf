// Fuzzes the configuration decoder (YAML/JSON -> typed resources) and its round trips.
//
// Any input must decode or be refused with diagnostics — never crash, hang or leak. For every
// resource that decodes, the canonical JSON and the YAML rendering must decode back to the
// same canonical JSON (what `get -o json|yaml` prints, `apply` takes back unchanged), and the
// encoder from typed fields must produce something that decodes. Validation runs on the set.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/decode.h"
#include "core/config/validate.h"
#include "tests/fuzz/fuzz_support.h"

using gh::config::Diagnostic;
using gh::config::Resource;

namespace {

bool decodesToSameJson(const std::string& text, const std::string& json) {
  std::vector<Resource> again;
  std::vector<Diagnostic> diags;
  return gh::config::decodeText(text, "round-trip", &again, &diags) && again.size() == 1 &&
         again[0].json == json;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<Resource> resources;
  std::vector<Diagnostic> diags;
  bool ok = gh::config::decodeText(text, "fuzz.yaml", &resources, &diags);
  for (const Diagnostic& d : diags) (void)d.format();
  if (!ok) return 0;
  gh::config::validate(resources, &diags);
  for (const Resource& r : resources) {
    FUZZ_CHECK(decodesToSameJson(gh::config::canonicalJson(r), r.json));
    FUZZ_CHECK(decodesToSameJson(gh::config::toYaml(r), r.json));
    Resource typed = r;
    typed.json.clear();  // forces the encoder that works from the typed fields
    std::vector<Resource> again;
    FUZZ_CHECK(gh::config::decodeText(gh::config::canonicalJson(typed), "typed", &again, &diags));
  }
  return 0;
}
