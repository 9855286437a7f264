// Which network addresses a fetch may connect to. Everything that reaches the host itself, its
// private networks or cloud metadata services is refused unless the host is allowlisted.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/error.h"

namespace tandem::tools {

// Why `address` may not be contacted ("loopback", "private (RFC 1918)", "link-local",
// "carrier-grade NAT", "IPv4-mapped loopback"...), or nullopt if it is a public unicast address.
// Handles AF_INET and AF_INET6 (including mapped, NAT64 and 6to4 forms of IPv4 addresses).
std::optional<std::string> ForbiddenAddressReason(const sockaddr* address);

// Parses a numeric IPv4 or IPv6 address (no brackets); nullopt if it is not one.
std::optional<sockaddr_storage> ParseNumericAddress(std::string_view text);

// "1.2.3.4" or "2001:db8::1" for a sockaddr.
std::string AddressToString(const sockaddr* address);

// True if `host` (lower-case, without brackets) matches an allowlist entry: exact, or
// "*.example.com" for any subdomain of example.com.
bool HostAllowed(std::string_view host, const std::vector<std::string>& allow_hosts);

struct ResolvedHost {
  std::vector<sockaddr_storage> addresses;
};

// Resolves `host` for `port`. kNotFound when the name does not resolve.
Result<ResolvedHost> ResolveHost(const std::string& host, int port);

}  // namespace tandem::tools
