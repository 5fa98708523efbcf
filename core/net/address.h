#pragma once
// Address: an IPv4 or IPv6 socket address (value type, cheap to copy, any thread). Sized for
// those two families only (28 bytes, not sockaddr_storage's 128): every connection holds two.

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace gh::net {

class Address {
 public:
  Address() = default;
  // Parses an IP literal ("127.0.0.1", "::1", "[::1]" is not accepted here) and a port.
  static bool parse(std::string_view ip, uint16_t port, Address* out);
  static Address fromSockaddr(const struct sockaddr* sa, socklen_t len);

  const struct sockaddr* sockaddr() const { return &u_.sa; }
  socklen_t length() const { return len_; }
  int family() const { return u_.sa.sa_family; }
  uint16_t port() const;
  std::string ip() const;        // "10.0.0.1" or "::1"
  std::string toString() const;  // "10.0.0.1:80" or "[::1]:80"
  bool operator==(const Address& o) const;

 private:
  union {
    struct sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } u_{};
  socklen_t len_ = 0;
};

}  // namespace gh::net
