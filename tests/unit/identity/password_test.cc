#include "core/identity/password.h"

#include <catch2/catch.hpp>

#include "core/base/strings.h"

TEST_CASE("scrypt password hashes verify and carry their parameters", "[identity]") {
  // Low cost for the test's speed is refused by verify (the floor is N = 2^15), so use it.
  std::string h = gh::identity::hashPassword("correct horse battery");
  CHECK(gh::str::startsWith(h, "scrypt$15$8$1$"));
  CHECK(gh::identity::verifyPassword("correct horse battery", h));
  CHECK_FALSE(gh::identity::verifyPassword("correct horse batterY", h));
  // A fresh salt every time.
  CHECK(gh::identity::hashPassword("correct horse battery") != h);
  // Weakened or malformed stored forms never match.
  std::string weak = gh::identity::hashPassword("pw", {10, 8, 1});
  CHECK_FALSE(gh::identity::verifyPassword("pw", weak));
  CHECK_FALSE(gh::identity::verifyPassword("pw", "scrypt$15$8$1$$"));
  CHECK_FALSE(gh::identity::verifyPassword("pw", "plain"));
  CHECK(gh::identity::randomSecret(16).size() == 22);
}
