#include "cmd/gatehouse/config_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "cmd/gatehouse/cli.h"
#include "core/config/decode.h"
#include "core/config/validate.h"
#include "core/server/server.h"

namespace gh::cli {

bool decodeFiles(const std::vector<std::string>& paths, std::vector<config::Resource>* out) {
  std::vector<config::Diagnostic> diags;
  bool ok = config::decodePaths(paths, out, &diags);
  for (const config::Diagnostic& d : diags) error(d.format());
  return ok && diags.empty();
}

std::unique_ptr<store::Store> openStore(const std::string& dataDirFlag, bool create) {
  std::string dir = server::resolveDataDir(dataDirFlag);
  if (create && mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    error("data dir " + dir, strerror(errno));
    return nullptr;
  }
  auto st = store::Store::open(dir + "/config.db", create);
  if (!st.ok()) {
    error(st.status().message());
    return nullptr;
  }
  return std::move(st.value());
}

bool storeExists(const std::string& dataDirFlag) {
  struct stat st;
  return stat((server::resolveDataDir(dataDirFlag) + "/config.db").c_str(), &st) == 0;
}

bool loadActive(store::Store& store, int64_t* version, std::vector<config::Resource>* out) {
  auto v = store.activeVersion();
  if (!v.ok()) {
    error(v.status().message());
    return false;
  }
  *version = v.value();
  if (v.value() == 0) return true;
  auto stored = store.loadVersion(v.value());
  if (!stored.ok()) {
    error(stored.status().message());
    return false;
  }
  std::vector<config::Diagnostic> diags;
  for (const store::StoredResource& s : stored.value()) {
    config::decodeText(s.body, "version " + std::to_string(v.value()) + ":" + s.kind + "/" + s.ns +
                                   "/" + s.name,
                       out, &diags);
  }
  for (const config::Diagnostic& d : diags) error(d.format());
  return diags.empty();
}

std::string resourceKey(const config::Resource& r) {
  return std::string(config::kindName(r.kind)) + "/" + r.meta.ns + "/" + r.meta.name;
}

}  // namespace gh::cli
