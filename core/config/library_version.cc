#include "core/config/library_version.h"

#include <yaml.h>

namespace gh::config {
const char* libyamlVersion() { return yaml_get_version_string(); }
}  // namespace gh::config
