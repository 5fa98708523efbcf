#pragma once
// change: the one path by which a configuration change becomes a version, whichever door it
// came through — the CLI (`gatehouse apply`, `delete`, `rollback`, `restore`) or the admin API
// and web UI (DESIGN.md: "one code path, two doors").
//
// Every change is: read the active version and decode it -> build the complete new set ->
// validate the set whole (config::validate, the checks `gatehouse validate` makes) -> diff
// it against the old set -> commit it as one version with an audit entry, under optimistic
// concurrency (a commit based on a version that is no longer active is refused as a conflict,
// store::isConflict). The callers differ only in how they build the set and how they report.
//
// Pure functions over a Store the caller owns (one thread at a time, as Store).

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/config/diff.h"
#include "core/config/model.h"
#include "core/store/store.h"

namespace gh::change {

// Stored resources decoded, with "version N:Kind/ns/name" as the file of their diagnostics.
// False when any did not decode (the diagnostics say why).
bool decodeStored(int64_t version, const std::vector<store::StoredResource>& stored,
                  std::vector<config::Resource>* out, std::vector<config::Diagnostic>* diags);

// Version `id` decoded (id 0: the empty configuration). A store failure (a version history no
// longer holds) is the Status; decoding problems are diagnostics and an error Status.
Status loadVersion(store::Store& store, int64_t id, std::vector<config::Resource>* out,
                   std::vector<config::Diagnostic>* diags);

// The active version's id and resources.
Status loadActive(store::Store& store, int64_t* version, std::vector<config::Resource>* out,
                  std::vector<config::Diagnostic>* diags);

// Cross-resource validation of a whole set (what the server would compile).
bool validateSet(const std::vector<const config::Resource*>& set,
                 std::vector<config::Diagnostic>* diags);

// The new set of an apply: `given` created or replaced over `active` (prune: only `given`).
std::vector<const config::Resource*> mergeApply(const std::vector<config::Resource>& active,
                                                const std::vector<config::Resource>& given,
                                                bool prune);

// "1 created, 1 configured, 0 deleted (+ Service/default/a, ~ HTTPRoute/default/r)": the
// audit summary names the first few resources so the log says what changed, not only how
// much. `lead` ("delete Service default/a") comes first when not empty.
std::string auditSummary(const config::ConfigDiff& diff, const std::string& lead);

struct CommitRequest {
  std::string author;  // the OS user (CLI) or the account (admin API)
  std::string source;  // "cli pid 42 on host edge-1", "admin api from 127.0.0.1"
  std::string message;
  std::string action = "apply";  // audit action: apply, delete, rollback, restore
  std::string summaryLead;       // see auditSummary
  int64_t base = -1;  // the version the set was built from; -1: no check (--force)
};

// Commits `set` as a new version with its audit entry. Returns the new id, or `base` (the
// active id) when the set equals the active version's. A conflict is a Status for which
// store::isConflict holds.
Result<int64_t> commitSet(store::Store& store, const std::vector<const config::Resource*>& set,
                          const config::ConfigDiff& diff, const CommitRequest& request);

}  // namespace gh::change
