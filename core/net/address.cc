#include "core/net/address.h"

#include <arpa/inet.h>

#include <cstring>

namespace gh::net {

bool Address::parse(std::string_view ip, uint16_t port, Address* out) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (ip.empty() || ip.size() >= sizeof buf || ip.find('\0') != std::string_view::npos)
    return false;
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = 0;
  Address a;
  sockaddr_in* v4 = &a.u_.v4;
  sockaddr_in6* v6 = &a.u_.v6;
  if (inet_pton(AF_INET, buf, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.len_ = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, buf, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.len_ = sizeof(sockaddr_in6);
  } else {
    return false;
  }
  *out = a;
  return true;
}

Address Address::fromSockaddr(const struct sockaddr* sa, socklen_t len) {
  Address a;
  if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) return a;  // not ours: empty
  if (len > sizeof a.u_) len = sizeof a.u_;
  std::memcpy(&a.u_, sa, len);
  a.len_ = len;
  return a;
}

uint16_t Address::port() const {
  if (family() == AF_INET) return ntohs(u_.v4.sin_port);
  if (family() == AF_INET6) return ntohs(u_.v6.sin6_port);
  return 0;
}

std::string Address::ip() const {
  char buf[INET6_ADDRSTRLEN];
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &u_.v4.sin_addr, buf, sizeof buf);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &u_.v6.sin6_addr, buf, sizeof buf);
  } else {
    return "";
  }
  return buf;
}

std::string Address::toString() const {
  std::string ip = this->ip();
  std::string out = family() == AF_INET6 ? "[" + ip + "]" : ip;
  return out + ":" + std::to_string(port());
}

bool Address::operator==(const Address& o) const {
  return len_ == o.len_ && std::memcmp(&u_, &o.u_, len_) == 0;
}

}  // namespace gh::net
