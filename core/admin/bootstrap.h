#pragma once
// The first admin account (spec/cli.md "Embedded default"): when the database has no account
// with the admin role (a new data dir, or one whose only users came from the CLI), the server
// creates `admin` with a random one-time password, writes the password to
// DATA_DIR/initial-admin-password (mode 0600) and says so in the log. The account must change
// its password at the first login (nothing else is allowed until then); the file is removed
// when it does. Run on the control thread at start.

#include <string>

#include "core/base/status.h"
#include "core/store/store.h"

namespace gh::admin {

constexpr const char* kInitialPasswordFile = "initial-admin-password";

// Creates the account if no user has the admin role. Returns ok when there was nothing to do.
Status ensureInitialAdmin(store::Store& store, const std::string& dataDir);

}  // namespace gh::admin
