#pragma once
// Address: an IPv4 or IPv6 socket address (value type, cheap to copy, any thread).

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

  const struct sockaddr* sockaddr() const { return reinterpret_cast<const struct sockaddr*>(&ss_); }
  socklen_t length() const { return len_; }
  int family() const { return ss_.ss_family; }
  uint16_t port() const;
  std::string ip() const;        // "10.0.0.1" or "::1"
  std::string toString() const;  // "10.0.0.1:80" or "[::1]:80"
  bool operator==(const Address& o) const;

 private:
  sockaddr_storage ss_{};
  socklen_t len_ = 0;
};

}  // namespace gh::net
