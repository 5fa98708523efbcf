#pragma once
// This binary's version and the versions of the libraries linked into it, for `gatehouse
// version` and the gatehouse_build_info metric.

#include <string>
#include <utility>
#include <vector>

namespace gh::server {
const char* gatehouseVersion();  // the VERSION file's, given by the Makefile
std::vector<std::pair<std::string, std::string>> linkedLibraryVersions();
}  // namespace gh::server
