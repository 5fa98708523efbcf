#pragma once
// Helpers shared by the commands that read resource files or the stored configuration.

#include <memory>
#include <string>
#include <vector>

#include "core/config/model.h"
#include "core/store/store.h"

namespace gh::cli {

// Decodes files (every resource must be well-formed on its own); prints every diagnostic.
// Cross-resource validation is the caller's: `apply` validates the merged set, because a file
// may name resources that only the stored configuration holds.
bool decodeFiles(const std::vector<std::string>& paths, std::vector<config::Resource>* out);

// Opens DATA_DIR/config.db (creating the directory and database when `create`).
// Prints the error and returns nullptr on failure.
std::unique_ptr<store::Store> openStore(const std::string& dataDirFlag, bool create);

// Whether DATA_DIR/config.db exists.
bool storeExists(const std::string& dataDirFlag);

// The active version's resources, decoded. False (printed) on failure.
bool loadActive(store::Store& store, int64_t* version, std::vector<config::Resource>* out);

std::string resourceKey(const config::Resource& r);  // "Kind/ns/name"

}  // namespace gh::cli
