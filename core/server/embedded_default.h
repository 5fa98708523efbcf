#pragma once
// The configuration a first start writes into an empty data directory (spec/cli.md): an HTTP
// listener on 127.0.0.1:8080 whose default route answers with a page saying Gatehouse runs and
// where the admin UI is.

#include <string>

namespace gh::server {

std::string embeddedDefaultConfig(const std::string& adminAddress);

}  // namespace gh::server
