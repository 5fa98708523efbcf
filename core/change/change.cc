#include "core/change/change.h"

#include <map>

#include "core/config/decode.h"
#include "core/config/validate.h"

namespace gh::change {

bool decodeStored(int64_t version, const std::vector<store::StoredResource>& stored,
                  std::vector<config::Resource>* out, std::vector<config::Diagnostic>* diags) {
  const size_t before = diags->size();
  for (const store::StoredResource& s : stored) {
    config::decodeText(
        s.body, "version " + std::to_string(version) + ":" + s.kind + "/" + s.ns + "/" + s.name,
        out, diags);
  }
  return diags->size() == before;
}

Status loadVersion(store::Store& store, int64_t id, std::vector<config::Resource>* out,
                   std::vector<config::Diagnostic>* diags) {
  if (id == 0) return okStatus();
  auto stored = store.loadVersion(id);
  if (!stored.ok()) return stored.status();
  if (!decodeStored(id, stored.value(), out, diags))
    return Status::error("version " + std::to_string(id) + " does not decode");
  return okStatus();
}

Status loadActive(store::Store& store, int64_t* version, std::vector<config::Resource>* out,
                  std::vector<config::Diagnostic>* diags) {
  auto v = store.activeVersion();
  if (!v.ok()) return v.status();
  *version = v.value();
  return loadVersion(store, v.value(), out, diags);
}

bool validateSet(const std::vector<const config::Resource*>& set,
                 std::vector<config::Diagnostic>* diags) {
  std::vector<config::Resource> copy;
  copy.reserve(set.size());
  for (const config::Resource* r : set) copy.push_back(*r);
  return config::validate(copy, diags);
}

std::vector<const config::Resource*> mergeApply(const std::vector<config::Resource>& active,
                                                const std::vector<config::Resource>& given,
                                                bool prune) {
  std::map<std::string, const config::Resource*> after;
  if (!prune)
    for (const config::Resource& r : active) after[config::resourceKey(r)] = &r;
  for (const config::Resource& r : given) after[config::resourceKey(r)] = &r;
  std::vector<const config::Resource*> merged;
  for (auto& [key, r] : after) merged.push_back(r);
  return merged;
}

std::string auditSummary(const config::ConfigDiff& diff, const std::string& lead) {
  constexpr size_t kNamed = 5;
  std::string s = lead.empty() ? "" : lead + ": ";
  s += std::to_string(diff.created) + " created, " + std::to_string(diff.changed) +
       " configured, " + std::to_string(diff.deleted) + " deleted";
  if (diff.changes.empty()) return s;
  s += " (";
  for (size_t i = 0; i < diff.changes.size() && i < kNamed; ++i) {
    const config::ResourceChange& c = diff.changes[i];
    if (i) s += ", ";
    s += c.op == config::ResourceChange::Op::kCreated   ? "+ "
         : c.op == config::ResourceChange::Op::kDeleted ? "- "
                                                        : "~ ";
    s += c.key;
  }
  if (diff.changes.size() > kNamed)
    s += ", and " + std::to_string(diff.changes.size() - kNamed) + " more";
  return s + ")";
}

Result<int64_t> commitSet(store::Store& store, const std::vector<const config::Resource*>& set,
                          const config::ConfigDiff& diff, const CommitRequest& request) {
  std::vector<store::StoredResource> stored;
  stored.reserve(set.size());
  for (const config::Resource* r : set)
    stored.push_back({config::kindName(r->kind), r->meta.ns, r->meta.name, r->json});
  store::CommitInfo info;
  info.author = request.author;
  info.message = request.message;
  info.baseVersion = request.base;
  info.source = request.source;
  info.action = request.action;
  info.summary = auditSummary(diff, request.summaryLead);
  return store.commit(stored, info);
}

}  // namespace gh::change
