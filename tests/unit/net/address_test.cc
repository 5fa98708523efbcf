// Address: IP literal parsing (IPv4 and IPv6, nothing else), formatting, equality.

#include "core/net/address.h"

#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

using gh::net::Address;

TEST_CASE("Address: IPv4", "[net]") {
  Address a;
  REQUIRE(Address::parse("127.0.0.1", 8080, &a));
  CHECK(a.family() == AF_INET);
  CHECK(a.port() == 8080);
  CHECK(a.ip() == "127.0.0.1");
  CHECK(a.toString() == "127.0.0.1:8080");
  CHECK(a.length() == sizeof(sockaddr_in));
  auto* sin = reinterpret_cast<const sockaddr_in*>(a.sockaddr());
  CHECK(sin->sin_family == AF_INET);
  CHECK(ntohs(sin->sin_port) == 8080);
  CHECK(ntohl(sin->sin_addr.s_addr) == 0x7f000001u);

  REQUIRE(Address::parse("0.0.0.0", 0, &a));
  CHECK(a.toString() == "0.0.0.0:0");
  REQUIRE(Address::parse("255.255.255.255", 65535, &a));
  CHECK(a.toString() == "255.255.255.255:65535");
  CHECK(a.port() == 65535);
}

TEST_CASE("Address: IPv6", "[net]") {
  Address a;
  REQUIRE(Address::parse("::1", 443, &a));
  CHECK(a.family() == AF_INET6);
  CHECK(a.port() == 443);
  CHECK(a.ip() == "::1");
  CHECK(a.toString() == "[::1]:443");
  CHECK(a.length() == sizeof(sockaddr_in6));

  // Printed in canonical (RFC 5952) form whatever the spelling.
  REQUIRE(Address::parse("2001:DB8:0:0:0:0:0:1", 80, &a));
  CHECK(a.ip() == "2001:db8::1");
  CHECK(a.toString() == "[2001:db8::1]:80");

  REQUIRE(Address::parse("::", 1, &a));
  CHECK(a.toString() == "[::]:1");

  REQUIRE(Address::parse("::ffff:10.0.0.1", 9, &a));
  CHECK(a.family() == AF_INET6);
  CHECK(a.toString() == "[::ffff:10.0.0.1]:9");
}

TEST_CASE("Address: rejects anything but a bare IP literal", "[net]") {
  const char* bad[] = {
      "",
      "[::1]",  // brackets are not part of the literal here
      "localhost",
      "example.com",
      "1.2.3",
      "1.2.3.4.5",
      "256.0.0.1",
      "1.2.3.4:80",  // the port is a separate argument
      " 1.2.3.4",
      "1.2.3.4 ",
      "01.2.3.4x",
      "::1::2",
      "12345::",
      "fe80::1%lo",  // zone ids are not accepted
      "::ffff:1.2.3",
      "0x7f.0.0.1",
  };
  for (const char* s : bad) {
    INFO("'" << s << "'");
    Address a;
    REQUIRE(Address::parse("10.9.8.7", 77, &a));
    CHECK_FALSE(Address::parse(s, 80, &a));
    CHECK(a.toString() == "10.9.8.7:77");  // untouched on failure
  }
  // Longer than any literal.
  Address a;
  CHECK_FALSE(Address::parse(std::string(200, '1'), 80, &a));
  // A view that is not NUL-terminated is parsed by its length only.
  std::string longer = "10.0.0.12345";
  REQUIRE(Address::parse(std::string_view(longer).substr(0, 9), 1, &a));
  CHECK(a.ip() == "10.0.0.12");
}

// The input is a string_view: all of its bytes are the literal. An embedded NUL must not cut
// it short (parse copies into a C string for inet_pton, which stops at the NUL).
TEST_CASE("Address: an embedded NUL does not truncate the input", "[net]") {
  Address a;
  CHECK_FALSE(Address::parse(std::string_view("1.2.3.4\0junk", 12), 80, &a));
  CHECK_FALSE(Address::parse(std::string_view("::1\0", 4), 80, &a));
}

TEST_CASE("Address: equality", "[net]") {
  Address a, b, c, d, e;
  REQUIRE(Address::parse("10.0.0.1", 80, &a));
  REQUIRE(Address::parse("10.0.0.1", 80, &b));
  REQUIRE(Address::parse("10.0.0.1", 81, &c));
  REQUIRE(Address::parse("10.0.0.2", 80, &d));
  REQUIRE(Address::parse("::ffff:10.0.0.1", 80, &e));
  CHECK(a == b);
  CHECK_FALSE(a == c);
  CHECK_FALSE(a == d);
  CHECK_FALSE(a == e);  // a v4-mapped v6 address is another address
  Address f, g;
  REQUIRE(Address::parse("::1", 80, &f));
  REQUIRE(Address::parse("0:0:0:0:0:0:0:1", 80, &g));
  CHECK(f == g);
}

TEST_CASE("Address: fromSockaddr round trip", "[net]") {
  Address a;
  REQUIRE(Address::parse("192.0.2.33", 4242, &a));
  Address b = Address::fromSockaddr(a.sockaddr(), a.length());
  CHECK(b == a);
  CHECK(b.toString() == "192.0.2.33:4242");

  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(8443);
  REQUIRE(inet_pton(AF_INET6, "2001:db8::42", &sin6.sin6_addr) == 1);
  Address c = Address::fromSockaddr(reinterpret_cast<const sockaddr*>(&sin6), sizeof sin6);
  CHECK(c.family() == AF_INET6);
  CHECK(c.toString() == "[2001:db8::42]:8443");
  Address d;
  REQUIRE(Address::parse("2001:db8::42", 8443, &d));
  CHECK(c == d);
}

TEST_CASE("Address: a default Address is empty", "[net]") {
  Address a;
  CHECK(a.length() == 0);
  CHECK(a.port() == 0);
  CHECK(a.ip().empty());
}
