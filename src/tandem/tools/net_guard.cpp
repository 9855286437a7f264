#include "tandem/tools/net_guard.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>

#include <cstring>

namespace tandem::tools {
namespace {

struct V4Range {
  uint32_t network;
  int prefix;
  const char* reason;
};

constexpr uint32_t Ip(int a, int b, int c, int d) {
  return (static_cast<uint32_t>(a) << 24) | (static_cast<uint32_t>(b) << 16) |
         (static_cast<uint32_t>(c) << 8) | static_cast<uint32_t>(d);
}

// IANA special-purpose IPv4 registry entries that are not globally reachable unicast.
constexpr V4Range kForbiddenV4[] = {
    {Ip(0, 0, 0, 0), 8, "\"this network\" (0.0.0.0/8)"},
    {Ip(10, 0, 0, 0), 8, "private (10.0.0.0/8)"},
    {Ip(100, 64, 0, 0), 10, "carrier-grade NAT (100.64.0.0/10)"},
    {Ip(127, 0, 0, 0), 8, "loopback (127.0.0.0/8)"},
    {Ip(169, 254, 0, 0), 16, "link-local / cloud metadata (169.254.0.0/16)"},
    {Ip(172, 16, 0, 0), 12, "private (172.16.0.0/12)"},
    {Ip(192, 0, 0, 0), 24, "IETF protocol assignments (192.0.0.0/24)"},
    {Ip(192, 0, 2, 0), 24, "documentation (192.0.2.0/24)"},
    {Ip(192, 88, 99, 0), 24, "6to4 relay anycast (192.88.99.0/24)"},
    {Ip(192, 168, 0, 0), 16, "private (192.168.0.0/16)"},
    {Ip(198, 18, 0, 0), 15, "benchmarking (198.18.0.0/15)"},
    {Ip(198, 51, 100, 0), 24, "documentation (198.51.100.0/24)"},
    {Ip(203, 0, 113, 0), 24, "documentation (203.0.113.0/24)"},
    {Ip(224, 0, 0, 0), 4, "multicast (224.0.0.0/4)"},
    {Ip(240, 0, 0, 0), 4, "reserved / broadcast (240.0.0.0/4)"},
};

std::optional<std::string> V4Reason(uint32_t address) {
  for (const V4Range& range : kForbiddenV4) {
    uint32_t mask = range.prefix == 0 ? 0 : ~uint32_t{0} << (32 - range.prefix);
    if ((address & mask) == range.network) return std::string(range.reason);
  }
  return std::nullopt;
}

uint32_t V4At(const uint8_t* bytes) {
  return (static_cast<uint32_t>(bytes[0]) << 24) | (static_cast<uint32_t>(bytes[1]) << 16) |
         (static_cast<uint32_t>(bytes[2]) << 8) | static_cast<uint32_t>(bytes[3]);
}

bool PrefixIs(const uint8_t* bytes, std::initializer_list<uint8_t> prefix) {
  size_t i = 0;
  for (uint8_t b : prefix) {
    if (bytes[i++] != b) return false;
  }
  return true;
}

std::optional<std::string> Embedded(const char* form, uint32_t v4) {
  if (auto reason = V4Reason(v4)) return fmt::format("{} of {}", form, *reason);
  return std::nullopt;
}

std::optional<std::string> V6Reason(const in6_addr& address) {
  const uint8_t* b = address.s6_addr;
  static constexpr uint8_t kZero[16] = {};
  if (std::memcmp(b, kZero, 16) == 0) return "unspecified (::)";
  if (std::memcmp(b, kZero, 15) == 0 && b[15] == 1) return "loopback (::1)";
  if (PrefixIs(b, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff})) {
    return Embedded("IPv4-mapped form", V4At(b + 12)).value_or("");
  }
  if (std::memcmp(b, kZero, 12) == 0) return "IPv4-compatible (::/96, deprecated)";
  if (PrefixIs(b, {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0})) {
    return Embedded("NAT64 form", V4At(b + 12)).value_or("");
  }
  if (PrefixIs(b, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01})) return "local-use NAT64 (64:ff9b:1::/48)";
  if (PrefixIs(b, {0x01, 0, 0, 0, 0, 0, 0, 0})) return "discard-only (100::/64)";
  if (PrefixIs(b, {0x20, 0x01, 0x00, 0x00})) return "Teredo tunnel (2001::/32)";
  if (PrefixIs(b, {0x20, 0x01, 0x0d, 0xb8})) return "documentation (2001:db8::/32)";
  if (PrefixIs(b, {0x20, 0x02})) return Embedded("6to4 form", V4At(b + 2)).value_or("");
  if ((b[0] & 0xfe) == 0xfc) return "unique local (fc00::/7, includes cloud metadata)";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local (fe80::/10)";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "site-local (fec0::/10)";
  if (b[0] == 0xff) return "multicast (ff00::/8)";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> ForbiddenAddressReason(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return V4Reason(ntohl(v4->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    std::optional<std::string> reason = V6Reason(v6->sin6_addr);
    // Embedded forms of public IPv4 addresses come back as "" above: they are allowed.
    if (reason && reason->empty()) return std::nullopt;
    return reason;
  }
  return "not an IP address";
}

std::optional<sockaddr_storage> ParseNumericAddress(std::string_view text) {
  std::string copy(text);
  sockaddr_storage storage{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  if (inet_pton(AF_INET, copy.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    return storage;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET6, copy.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    return storage;
  }
  return std::nullopt;
}

std::string AddressToString(const sockaddr* address) {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (address->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, buffer,
              sizeof(buffer));
  } else if (address->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, buffer,
              sizeof(buffer));
  }
  return buffer;
}

bool HostAllowed(std::string_view host, const std::vector<std::string>& allow_hosts) {
  for (std::string_view entry : allow_hosts) {
    if (entry == host) return true;
    if (entry.starts_with("*.")) {
      std::string_view suffix = entry.substr(1);  // ".example.com"
      if (host.size() > suffix.size() && host.ends_with(suffix)) return true;
    }
  }
  return false;
}

Result<ResolvedHost> ResolveHost(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
  if (rc != 0) {
    return MakeError(rc == EAI_AGAIN ? ErrorCode::kUnavailable : ErrorCode::kNotFound,
                     "cannot resolve host '{}': {}", host, gai_strerror(rc));
  }
  ResolvedHost resolved;
  for (addrinfo* item = list; item; item = item->ai_next) {
    if (item->ai_family != AF_INET && item->ai_family != AF_INET6) continue;
    sockaddr_storage storage{};
    std::memcpy(&storage, item->ai_addr, item->ai_addrlen);
    resolved.addresses.push_back(storage);
  }
  freeaddrinfo(list);
  if (resolved.addresses.empty()) {
    return MakeError(ErrorCode::kNotFound, "host '{}' has no IP addresses", host);
  }
  return resolved;
}

}  // namespace tandem::tools
