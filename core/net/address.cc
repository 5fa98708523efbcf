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
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.ss_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.ss_);
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
  if (len > sizeof a.ss_) len = sizeof a.ss_;
  std::memcpy(&a.ss_, sa, len);
  a.len_ = len;
  return a;
}

uint16_t Address::port() const {
  if (ss_.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss_)->sin_port);
  if (ss_.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss_)->sin6_port);
  return 0;
}

std::string Address::ip() const {
  char buf[INET6_ADDRSTRLEN];
  if (ss_.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss_)->sin_addr, buf, sizeof buf);
  } else if (ss_.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss_)->sin6_addr, buf, sizeof buf);
  } else {
    return "";
  }
  return buf;
}

std::string Address::toString() const {
  std::string ip = this->ip();
  std::string out = ss_.ss_family == AF_INET6 ? "[" + ip + "]" : ip;
  return out + ":" + std::to_string(port());
}

bool Address::operator==(const Address& o) const {
  return len_ == o.len_ && std::memcmp(&ss_, &o.ss_, len_) == 0;
}

}  // namespace gh::net
