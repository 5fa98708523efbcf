#include "core/admin/bootstrap.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/base/log.h"
#include "core/identity/password.h"
#include "core/store/accounts.h"

namespace gh::admin {

Status ensureInitialAdmin(store::Store& store, const std::string& dataDir) {
  store::Accounts accounts(store);
  auto users = accounts.users();
  if (!users.ok()) return users.status();
  for (const store::User& u : users.value()) {
    if (u.role == "admin") return okStatus();
    if (u.name == "admin") {
      LOG_WARN("no admin UI account has the admin role, and the name `admin` is taken: "
               "gatehouse admin user add NAME --role admin makes one");
      return okStatus();
    }
  }

  const std::string password = identity::randomSecret(18);  // 24 characters
  const std::string path = dataDir + "/" + kInitialPasswordFile;
  // Written before the account exists: a crash in between leaves a file naming a password no
  // account has, and the next start writes a new one.
  ::unlink(path.c_str());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::error(path + ": " + strerror(errno));
  std::string line = password + "\n";
  bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::fsync(fd);
  ::close(fd);
  if (!written) return Status::error(path + ": cannot write");

  store::User user;
  user.name = "admin";
  user.role = "admin";
  user.passwordHash = identity::hashPassword(password);
  user.mustChange = true;
  if (Status s = accounts.addUser(user, {"gatehouse", "gatehouse run (first start)"}); !s.ok())
    return s;
  LOG_INFO("created the admin UI account `admin`; its one-time password is in %s (change it at "
           "the first login)",
           path.c_str());
  return okStatus();
}

}  // namespace gh::admin
