// gatehouse admin: accounts of the admin API and web UI (spec/cli.md, spec/admin.md).
//
//   admin user add NAME --role admin|editor|viewer   a new account; the password is read from
//                                                    standard input (asked twice on a terminal)
//   admin user list | remove NAME | role NAME ROLE   the accounts
//   admin passwd NAME                                a new password (ends the user's sessions)
//   admin token create --name N --role R [--days D]  an API token for CI, printed once
//   admin token list | revoke ID                     the tokens
//
// Works on the data dir's database directly, so it works with the server stopped too; every
// change is in the audit log with the OS user as its author. Passwords are hashed here
// (scrypt) and never printed.

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "cmd/gatehouse/cli.h"
#include "cmd/gatehouse/config_files.h"
#include "core/base/sha256.h"
#include "core/base/strings.h"
#include "core/identity/encoding.h"
#include "core/identity/password.h"
#include "core/store/accounts.h"

namespace gh::cli {
namespace {

const char kAdminUsage[] =
    "usage: gatehouse admin <command> [options] [--data-dir DIR]\n"
    "\n"
    "Accounts of the admin API and web UI.\n"
    "\n"
    "Commands:\n"
    "  user add NAME --role admin|editor|viewer   add an account (password from stdin)\n"
    "  user list                                  list the accounts\n"
    "  user remove NAME                           remove an account (not the last admin)\n"
    "  user role NAME ROLE                        change an account's role\n"
    "  passwd NAME                                set an account's password (from stdin)\n"
    "  token create --name NAME --role ROLE [--days N]   an API token for CI (printed once)\n"
    "  token list                                 list API tokens\n"
    "  token revoke ID                            revoke an API token\n"
    "\n"
    "A password is read from standard input: asked twice without echo on a terminal, else\n"
    "the first line. It needs at least 10 characters.\n";

store::Actor actor() { return {osUser(), cliSource()}; }

// Reads a password: twice without echo on a terminal, else one line of stdin.
bool readPassword(const std::string& command, std::string* out) {
  auto line = [](std::string* s) { return static_cast<bool>(std::getline(std::cin, *s)); };
  if (isatty(STDIN_FILENO)) {
    termios old{};
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::string again;
    fprintf(stderr, "password: ");
    bool ok = line(out);
    fprintf(stderr, "\nagain: ");
    ok = ok && line(&again);
    fprintf(stderr, "\n");
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    if (ok && *out != again) {
      error(command, "the two passwords differ");
      return false;
    }
    if (!ok) return false;
  } else if (!line(out)) {
    error(command, "expected the password on standard input");
    return false;
  }
  if (!out->empty() && out->back() == '\r') out->pop_back();
  if (out->size() < 10 || out->size() > 1024) {
    error(command, "a password needs 10 to 1024 characters");
    return false;
  }
  return true;
}

int fail(const std::string& command, const Status& s) {
  error(command, s.message());
  const std::string& m = s.message();
  bool problem = m.find("not found") != std::string::npos ||
                 m.find("already exists") != std::string::npos ||
                 m.find("no admin") != std::string::npos;
  return problem ? kProblem : kUnavailable;
}

int userAdd(const std::vector<std::string>& args) {
  Flags f("admin user add", {{"role"}, {"data-dir"}},
          "usage: gatehouse admin user add NAME --role admin|editor|viewer [--data-dir DIR]\n"
          "\n"
          "Adds an admin UI account. The password is read from standard input.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  if (f.positional().size() != 1 || !store::isRole(f.get("role"))) {
    error("admin user add", "needs NAME and --role admin, editor or viewer");
    return kUsage;
  }
  store::User u;
  u.name = f.positional()[0];
  u.role = f.get("role");
  for (char c : u.name) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != '@') {
      error("admin user add " + u.name, "a name is letters, digits, '-', '_', '.' or '@'");
      return kUsage;
    }
  }
  auto store = openStore(f.get("data-dir"), true);
  if (!store) return kUnavailable;
  std::string password;
  if (!readPassword("admin user add", &password)) return kUsage;
  u.passwordHash = identity::hashPassword(password);
  store::Accounts accounts(*store);
  if (Status s = accounts.addUser(u, actor()); !s.ok()) return fail("admin user add", s);
  printf("added %s (%s)\n", u.name.c_str(), u.role.c_str());
  return kOk;
}

int userList(const std::vector<std::string>& args) {
  Flags f("admin user list", {{"data-dir"}}, "usage: gatehouse admin user list [--data-dir DIR]\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  auto store = openStore(f.get("data-dir"), false);
  if (!store) return kUnavailable;
  store::Accounts accounts(*store);
  auto users = accounts.users();
  if (!users.ok()) return fail("admin user list", users.status());
  printf("%-24s %-8s %s\n", "NAME", "ROLE", "CHANGED");
  for (const store::User& u : users.value())
    printf("%-24s %-8s %s%s\n", u.name.c_str(), u.role.c_str(),
           formatTime(u.updatedAtUnixMs).c_str(), u.mustChange ? "  (one-time password)" : "");
  return kOk;
}

int userChange(const std::string& what, const std::vector<std::string>& args) {
  const bool role = what == "role";
  Flags f("admin user " + what, {{"data-dir"}},
          role ? "usage: gatehouse admin user role NAME admin|editor|viewer [--data-dir DIR]\n"
               : "usage: gatehouse admin user remove NAME [--data-dir DIR]\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  if (f.positional().size() != (role ? 2u : 1u) || (role && !store::isRole(f.positional()[1]))) {
    error("admin user " + what, "see --help");
    return kUsage;
  }
  auto store = openStore(f.get("data-dir"), false);
  if (!store) return kUnavailable;
  store::Accounts accounts(*store);
  const std::string& name = f.positional()[0];
  Status s = role ? accounts.setRole(name, f.positional()[1], actor())
                  : accounts.removeUser(name, actor());
  if (!s.ok()) return fail("admin user " + what, s);
  printf(role ? "%s is now %s\n" : "removed %s\n", name.c_str(),
         role ? f.positional()[1].c_str() : "");
  return kOk;
}

int passwd(const std::vector<std::string>& args) {
  Flags f("admin passwd", {{"data-dir"}},
          "usage: gatehouse admin passwd NAME [--data-dir DIR]\n"
          "\n"
          "Sets the account's password (read from standard input) and ends its sessions.\n");
  if (!f.parse(args)) return kUsage;
  if (f.helpRequested()) return kOk;
  if (f.positional().size() != 1) {
    error("admin passwd", "needs NAME");
    return kUsage;
  }
  auto store = openStore(f.get("data-dir"), false);
  if (!store) return kUnavailable;
  std::string password;
  if (!readPassword("admin passwd", &password)) return kUsage;
  store::Accounts accounts(*store);
  if (Status s = accounts.setPassword(f.positional()[0], identity::hashPassword(password), actor());
      !s.ok())
    return fail("admin passwd", s);
  printf("password of %s changed; its sessions ended\n", f.positional()[0].c_str());
  return kOk;
}

int token(const std::vector<std::string>& args) {
  const std::string sub = args.empty() ? "" : args[0];
  std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
  if (sub == "create") {
    Flags f("admin token create", {{"name"}, {"role"}, {"days"}, {"data-dir"}},
            "usage: gatehouse admin token create --name NAME --role ROLE [--days N]\n"
            "\n"
            "Prints a new API token (Authorization: Bearer TOKEN) once. --days 0: never "
            "expires (default 90).\n");
    if (!f.parse(rest)) return kUsage;
    if (f.helpRequested()) return kOk;
    uint64_t days = 90;
    if (f.get("name").empty() || !store::isRole(f.get("role")) ||
        (f.has("days") && (!str::parseU64(f.get("days"), &days) || days > 3650))) {
      error("admin token create", "needs --name and --role admin|editor|viewer; --days 0..3650");
      return kUsage;
    }
    auto store = openStore(f.get("data-dir"), false);
    if (!store) return kUnavailable;
    store::ApiToken t;
    t.id = identity::hexEncode(identity::randomBytes(8));
    std::string secret = identity::randomSecret(32);
    t.name = f.get("name");
    t.role = f.get("role");
    t.secretHash = Sha256::hex(secret);
    t.createdBy = osUser();
    t.createdAtUnixMs = static_cast<int64_t>(time(nullptr)) * 1000;
    t.expiresAtUnixMs = days == 0 ? 0 : t.createdAtUnixMs + static_cast<int64_t>(days) * 86'400'000;
    store::Accounts accounts(*store);
    if (Status s = accounts.addToken(t, actor()); !s.ok()) return fail("admin token create", s);
    printf("ghat_%s_%s\n", t.id.c_str(), secret.c_str());
    fprintf(stderr, "API token %s (%s, %s); shown once\n", t.id.c_str(), t.name.c_str(),
            t.role.c_str());
    return kOk;
  }
  if (sub == "list" || sub == "revoke") {
    Flags f("admin token " + sub, {{"data-dir"}},
            sub == "list" ? "usage: gatehouse admin token list [--data-dir DIR]\n"
                          : "usage: gatehouse admin token revoke ID [--data-dir DIR]\n");
    if (!f.parse(rest)) return kUsage;
    if (f.helpRequested()) return kOk;
    auto store = openStore(f.get("data-dir"), false);
    if (!store) return kUnavailable;
    store::Accounts accounts(*store);
    if (sub == "revoke") {
      if (f.positional().size() != 1) {
        error("admin token revoke", "needs ID");
        return kUsage;
      }
      if (Status s = accounts.revokeToken(f.positional()[0], actor()); !s.ok())
        return fail("admin token revoke", s);
      printf("revoked %s\n", f.positional()[0].c_str());
      return kOk;
    }
    auto list = accounts.tokens();
    if (!list.ok()) return fail("admin token list", list.status());
    printf("%-16s %-20s %-7s %-21s %s\n", "ID", "NAME", "ROLE", "EXPIRES", "CREATED BY");
    for (const store::ApiToken& t : list.value())
      printf("%-16s %-20s %-7s %-21s %s\n", t.id.c_str(), t.name.c_str(), t.role.c_str(),
             t.expiresAtUnixMs ? formatTime(t.expiresAtUnixMs).c_str() : "never",
             t.createdBy.c_str());
    return kOk;
  }
  error("admin token " + sub, "unknown command (create, list, revoke)");
  return kUsage;
}

}  // namespace

int cmdAdmin(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    fputs(kAdminUsage, args.empty() ? stderr : stdout);
    return args.empty() ? kUsage : kOk;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "passwd") return passwd(rest);
  if (args[0] == "token") return token(rest);
  if (args[0] == "user" && !rest.empty()) {
    std::vector<std::string> sub(rest.begin() + 1, rest.end());
    if (rest[0] == "add") return userAdd(sub);
    if (rest[0] == "list") return userList(sub);
    if (rest[0] == "remove" || rest[0] == "role") return userChange(rest[0], sub);
  }
  error("admin " + args[0], "unknown command (see gatehouse admin --help)");
  return kUsage;
}

}  // namespace gh::cli
