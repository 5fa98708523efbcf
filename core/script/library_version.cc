#include "core/script/library_version.h"

#include <luajit.h>

namespace gh::script {
const char* luajitVersion() { return LUAJIT_VERSION; }
}  // namespace gh::script
