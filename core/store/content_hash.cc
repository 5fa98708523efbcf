#include "core/store/content_hash.h"

#include <string>

namespace gh::store {
namespace {

constexpr std::string_view kVersionTag = "gatehouse-version-1\n";

}  // namespace

VersionHasher::VersionHasher() {
  sha_.update(kVersionTag);
}

void VersionHasher::add(std::string_view kind, std::string_view ns, std::string_view name,
                        std::string_view bodyHash) {
  field(kind);
  field(ns);
  field(name);
  field(bodyHash);
}

void VersionHasher::field(std::string_view s) {
  const std::string length = std::to_string(s.size());
  sha_.update(length);
  sha_.update(":");
  sha_.update(s);
  sha_.update(",");
}

}  // namespace gh::store
