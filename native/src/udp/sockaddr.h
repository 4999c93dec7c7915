// Socket addresses for the UDP area: parsing IP literals (with an optional
// IPv6 zone), the compact form handed to JS (family, 16 address bytes, port,
// scope), and text for error messages.
#pragma once
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace wraith::udp {

// Big enough for either family; sockaddr_in6 is the larger.
union SockAddr {
  sockaddr sa;
  sockaddr_in v4;
  sockaddr_in6 v6;
};

// An IPv6 zone ("eth0" or "2"): the interface index, 0 when unknown.
inline uint32_t ZoneIndex(const std::string& zone) {
  if (zone.empty()) return 0;
  char* end = nullptr;
  unsigned long n = std::strtoul(zone.c_str(), &end, 10);
  if (end != nullptr && *end == '\0') return static_cast<uint32_t>(n);
  return if_nametoindex(zone.c_str());
}

// Parses an IP literal into `out` with `port`, for a socket of `sockFamily`:
// an AF_INET6 socket reaches IPv4 hosts through their IPv4-mapped form, an
// AF_INET socket takes IPv4-mapped IPv6 as plain IPv4. Returns the address
// length, or 0 when the text is no IP literal or the family cannot be reached.
inline socklen_t ParseAddr(const std::string& host, uint16_t port, int sockFamily, SockAddr* out) {
  std::memset(out, 0, sizeof(*out));
  in_addr a4;
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) {
    if (sockFamily == AF_INET) {
      out->v4.sin_family = AF_INET;
      out->v4.sin_port = htons(port);
      out->v4.sin_addr = a4;
      return sizeof(sockaddr_in);
    }
    out->v6.sin6_family = AF_INET6;
    out->v6.sin6_port = htons(port);
    out->v6.sin6_addr.s6_addr[10] = 0xff;
    out->v6.sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&out->v6.sin6_addr.s6_addr[12], &a4, 4);
    return sizeof(sockaddr_in6);
  }
  std::string text = host, zone;
  size_t pct = host.find('%');
  if (pct != std::string::npos) {
    text = host.substr(0, pct);
    zone = host.substr(pct + 1);
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, text.c_str(), &a6) != 1) return 0;
  if (sockFamily == AF_INET) {
    if (!IN6_IS_ADDR_V4MAPPED(&a6)) return 0;  // IPv6 proper: unreachable from an IPv4 socket
    out->v4.sin_family = AF_INET;
    out->v4.sin_port = htons(port);
    std::memcpy(&out->v4.sin_addr, &a6.s6_addr[12], 4);
    return sizeof(sockaddr_in);
  }
  out->v6.sin6_family = AF_INET6;
  out->v6.sin6_port = htons(port);
  out->v6.sin6_addr = a6;
  out->v6.sin6_scope_id = ZoneIndex(zone);
  return sizeof(sockaddr_in6);
}

// A received source as JS reads it: IPv4 and IPv4-mapped IPv6 are family 4
// (address in ip[0..4)), IPv6 is family 6. Port in host order.
struct CompactAddr {
  uint8_t ip[16];
  uint32_t scope;
  uint16_t port;
  uint8_t family;
};

inline void ToCompact(const SockAddr& a, CompactAddr* c) {
  std::memset(c, 0, sizeof(*c));
  if (a.sa.sa_family == AF_INET) {
    c->family = 4;
    std::memcpy(c->ip, &a.v4.sin_addr, 4);
    c->port = ntohs(a.v4.sin_port);
  } else if (IN6_IS_ADDR_V4MAPPED(&a.v6.sin6_addr)) {
    c->family = 4;
    std::memcpy(c->ip, &a.v6.sin6_addr.s6_addr[12], 4);
    c->port = ntohs(a.v6.sin6_port);
  } else {
    c->family = 6;
    std::memcpy(c->ip, &a.v6.sin6_addr, 16);
    c->port = ntohs(a.v6.sin6_port);
    c->scope = a.v6.sin6_scope_id;
  }
}

// "127.0.0.1" / "::1" for a bound address (no brackets, no port).
inline std::string HostText(const SockAddr& a) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (a.sa.sa_family == AF_INET) {
    inet_ntop(AF_INET, &a.v4.sin_addr, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, &a.v6.sin6_addr, buf, sizeof(buf));
  }
  return buf;
}

inline uint16_t PortOf(const SockAddr& a) {
  return ntohs(a.sa.sa_family == AF_INET ? a.v4.sin_port : a.v6.sin6_port);
}

}  // namespace wraith::udp
