#include "core/server/versions.h"

#include "core/config/library_version.h"
#include "core/event/version.h"
#include "core/script/library_version.h"
#include "core/store/library_version.h"
#include "core/tls/library_version.h"

#ifndef GATEHOUSE_VERSION
#define GATEHOUSE_VERSION "unknown"
#endif

namespace gh::server {

const char* gatehouseVersion() { return GATEHOUSE_VERSION; }

std::vector<std::pair<std::string, std::string>> linkedLibraryVersions() {
  return {
      {"libevent", event::libeventVersion()},  {"sqlite", store::sqliteVersion()},
      {"libyaml", config::libyamlVersion()},   {"tls", tls::boringsslVersion()},
      {"luajit", script::luajitVersion()},     {"re2", "2022-06-01 (Debian libre2-9)"},
  };
}

}  // namespace gh::server
