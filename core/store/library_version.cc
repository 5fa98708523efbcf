#include "core/store/library_version.h"

#include <sqlite3.h>

namespace gh::store {
const char* sqliteVersion() { return sqlite3_libversion(); }
}  // namespace gh::store
