#pragma once
// Diff: what changes between two configurations, resource by resource and field by field.
//
// Used wherever an operator must see a change before or after it is made: `apply --dry-run`,
// `diff -f`, `diff --from V1 --to V2`, and the summary line of the audit log. Resources are
// matched by (kind, namespace, name); a resource in both sets whose canonical JSON differs is
// compared field by field over the two JSON trees, so the output names the exact fields:
//
//   ~ HTTPRoute/shop/orders
//       spec.rules[0].backendRefs[1].weight: 90 -> 80
//       spec.hostnames[2]: + "b.example.com"
//       spec.rules[0].timeouts: - {"request":"10s"}
//
// Why canonical JSON and not the typed model: the JSON is what the store keeps and what
// `get -o` prints, so the paths are the ones an operator edits, and defaults a user did not
// write do not show up as changes. Lists are aligned by their longest common run of equal
// items before being compared item by item, so inserting a rule at the front shows as one
// added rule rather than every rule changed.
//
// Pure: no I/O, no shared state; any thread.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/model.h"

namespace gh::config {

// One field that differs. Values are compact JSON (strings quoted), long ones shortened with
// "..." (the change is meant to be read; the full documents are a `get -o json` away).
struct FieldChange {
  std::string path;    // "spec.rules[0].backendRefs[1].weight"; empty for the whole document
  std::string before;  // empty when the field is new
  std::string after;   // empty when the field is gone
};

struct ResourceChange {
  enum class Op { kCreated, kDeleted, kChanged };
  Op op = Op::kChanged;
  std::string key;                  // "HTTPRoute/default/shop", as resourceKey() spells it
  std::vector<FieldChange> fields;  // for kChanged
};

struct ConfigDiff {
  std::vector<ResourceChange> changes;  // ascending by key
  size_t created = 0;
  size_t changed = 0;
  size_t deleted = 0;
  size_t unchanged = 0;

  bool empty() const { return changes.empty(); }
};

// "Kind/namespace/name": how resources are named in diffs and in the CLI.
std::string resourceKey(const Resource& r);

// Compares two resource sets (each without duplicate keys).
ConfigDiff diffResources(const std::vector<const Resource*>& before,
                         const std::vector<const Resource*>& after);
ConfigDiff diffResources(const std::vector<Resource>& before, const std::vector<Resource>& after);

// Compares two JSON documents field by field. Text that does not parse as one document is
// compared as a whole (one change with an empty path).
std::vector<FieldChange> diffJson(std::string_view before, std::string_view after);

// The readable form above: one line per resource ("+", "-" or "~", then the key), and for a
// changed one a line per field, indented by four more spaces. Every line starts with `indent`.
std::string formatDiff(const ConfigDiff& diff, std::string_view indent = "  ");

// "2 created, 1 configured, 7 unchanged, 0 deleted".
std::string formatCounts(const ConfigDiff& diff);

}  // namespace gh::config
