// E-mail and IPv6 detectors: each jumps between rare trigger bytes ('@', ':') with memchr and
// validates the surrounding bytes, so ordinary prose costs little more than the memchr itself.
#include <cstring>

#include "tandem/router/scan_internal.h"

namespace tandem::router::internal {
namespace {

bool IsLocalPartByte(unsigned char c) {
  return IsAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

// Finds the next occurrence of `c` at or after `from`; npos when none.
size_t Next(std::string_view text, size_t from, char c) {
  if (from >= text.size()) return std::string_view::npos;
  const void* hit = std::memchr(text.data() + from, c, text.size() - from);
  return hit ? static_cast<size_t>(static_cast<const char*>(hit) - text.data())
             : std::string_view::npos;
}

// The end of a valid domain starting at `s` (labels of letters, digits and inner hyphens, at
// least two, the last alphabetic and 2+ long), or 0.
size_t MatchDomain(std::string_view text, size_t s) {
  size_t i = s;
  size_t labels = 0;
  size_t last_label_start = s;
  size_t end = 0;
  while (i < text.size() && i - s < 253) {
    size_t label_start = i;
    while (i < text.size() && (IsAlnum(At(text, i)) || At(text, i) == '-') &&
           i - label_start < 63) {
      ++i;
    }
    if (i == label_start || At(text, label_start) == '-' || At(text, i - 1) == '-') break;
    ++labels;
    last_label_start = label_start;
    end = i;
    if (i + 1 < text.size() && At(text, i) == '.' && IsAlnum(At(text, i + 1))) {
      ++i;
      continue;
    }
    break;
  }
  if (labels < 2) return 0;
  if (end - last_label_start < 2) return 0;
  for (size_t k = last_label_start; k < end; ++k) {
    if (!IsAlpha(At(text, k))) return 0;
  }
  if (end < text.size() && (IsWordByte(At(text, end)) || At(text, end) == '@')) return 0;
  return end;
}

}  // namespace

void DetectEmails(std::string_view text, Emitter& emit) {
  size_t resume = 0;
  for (size_t at = Next(text, 0, '@'); at != std::string_view::npos; at = Next(text, at + 1, '@')) {
    if (at < resume || at == 0) continue;
    size_t start = at;
    while (start > 0 && IsLocalPartByte(At(text, start - 1)) && at - start < 64)
      --start;
    while (start < at && (At(text, start) == '.' || At(text, start) == '-'))
      ++start;
    if (start == at || At(text, at - 1) == '.') continue;
    size_t end = MatchDomain(text, at + 1);
    if (end == 0) continue;
    emit.Add(EntityType::kEmail, start, end);
    resume = end;
  }
}

void DetectIpv6(std::string_view text, Emitter& emit) {
  size_t resume = 0;
  for (size_t colon = Next(text, 0, ':'); colon != std::string_view::npos;
       colon = Next(text, colon + 1, ':')) {
    if (colon < resume) continue;
    size_t start = colon;
    while (start > 0 && colon - start < 40 &&
           (IsHex(At(text, start - 1)) || At(text, start - 1) == ':')) {
      --start;
    }
    unsigned char before = Before(text, start);
    if (IsWordByte(before) || before == '.' || before == ':') {
      resume = colon + 1;
      continue;
    }
    // Parse groups of 1-4 hex digits separated by ':' with at most one "::", optionally
    // ending in a dotted IPv4 address.
    size_t i = start;
    int groups = 0;
    size_t hex_digits = 0;
    bool compressed = false;
    bool valid = true;
    bool ipv4_tail = false;
    if (i + 1 < text.size() && At(text, i) == ':' && At(text, i + 1) == ':') {
      compressed = true;
      i += 2;
    }
    while (i < text.size()) {
      size_t g = i;
      while (i < text.size() && IsHex(At(text, i)) && i - g < 5)
        ++i;
      if (i == g) break;
      if (i - g > 4) {
        valid = false;
        break;
      }
      if (ByteOr0(text, i) == '.' && (groups <= 6)) {
        // Embedded IPv4 ("::ffff:192.0.2.1"): the group must be decimal.
        size_t j = g;
        int octets = 0;
        while (octets < 4) {
          size_t o = j;
          int value = 0;
          while (j < text.size() && IsDigit(At(text, j)) && j - o < 3)
            value = value * 10 + (At(text, j++) - '0');
          if (j == o || value > 255) break;
          ++octets;
          if (octets < 4 && ByteOr0(text, j) == '.' && IsDigit(ByteOr0(text, j + 1))) {
            ++j;
          } else {
            break;
          }
        }
        if (octets == 4) {
          ipv4_tail = true;
          groups += 2;
          i = j;
        } else {
          valid = false;
        }
        break;
      }
      ++groups;
      hex_digits += i - g;
      if (ByteOr0(text, i) != ':') break;
      if (ByteOr0(text, i + 1) == ':') {
        if (compressed) {
          valid = false;
          break;
        }
        compressed = true;
        i += 2;
        if (!IsHex(ByteOr0(text, i))) break;
        continue;
      }
      if (!IsHex(ByteOr0(text, i + 1))) break;  // Trailing single ':' ends the address.
      ++i;
    }
    size_t end = i;
    resume = end > colon ? end : colon + 1;
    if (!valid || IsWordByte(ByteOr0(text, end))) continue;
    if (ByteOr0(text, end) == ':' && !(compressed && At(text, end - 1) == ':')) continue;
    // Eight groups, or fewer with "::" and at least two groups ("fe80::1"), which excludes
    // times (12:30:45), MAC addresses and C++ scopes.
    // "a::b" in code has too few digits to be taken for an address.
    bool ok = compressed ? (groups >= 2 && groups <= 7 && hex_digits >= 4) : groups == 8;
    if (!ok && !(compressed && ipv4_tail && groups >= 2)) continue;
    emit.Add(EntityType::kIpAddress, start, end);
  }
}

}  // namespace tandem::router::internal
