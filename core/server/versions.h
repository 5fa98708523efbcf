#pragma once
// Versions of the libraries linked into this binary, for `gatehouse version`.

#include <string>
#include <utility>
#include <vector>

namespace gh::server {
std::vector<std::pair<std::string, std::string>> linkedLibraryVersions();
}  // namespace gh::server
