#pragma once
// Files of key material: written whole or not at all, with their mode set by us (not by the
// umask), and private files refused on read when anyone but the owner could read them.
//
// Why refuse rather than fix a too-open key file: a key that was readable by others may have
// been read; silently tightening the mode would hide that. The operator decides (chmod 600 if
// they are sure, a new CA or a new join if not).

#include <string>
#include <string_view>

#include "core/base/status.h"

namespace gh::identity {

// Creates `dir` with mode 0700 when missing (its parent must exist or is created 0700 too).
// An existing directory is kept as it is.
Status makePrivateDir(const std::string& dir);

// Writes `path` via a temporary file in the same directory, fsync and rename, so a crash
// leaves the old file or the new one, never half of one. The file gets exactly `mode`.
// With `replace` false an existing `path` is an error and is left alone, even when two
// processes race to create it (the temporary file is linked into place, not renamed).
Status writeFileAtomic(const std::string& path, std::string_view content, unsigned mode,
                       bool replace = true);

Result<std::string> readWholeFile(const std::string& path);
// As readWholeFile, but refuses a file that is not a regular file or whose mode gives any
// permission to group or others.
Result<std::string> readPrivateFile(const std::string& path);

bool fileExists(const std::string& path);

}  // namespace gh::identity
