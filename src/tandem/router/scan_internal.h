// Internals of the Scanner: byte classes and the per-family detector functions. Each detector
// appends findings for one text through an Emitter; none stores or returns the matched values.
#pragma once

#include <bitset>
#include <string_view>
#include <vector>

#include "tandem/router/detectors.h"

namespace tandem::router::internal {

inline bool IsDigit(unsigned char c) {
  return c >= '0' && c <= '9';
}
inline bool IsUpper(unsigned char c) {
  return c >= 'A' && c <= 'Z';
}
inline bool IsLower(unsigned char c) {
  return c >= 'a' && c <= 'z';
}
inline bool IsAlpha(unsigned char c) {
  return IsUpper(c) || IsLower(c);
}
inline bool IsAlnum(unsigned char c) {
  return IsDigit(c) || IsAlpha(c);
}
inline bool IsWordByte(unsigned char c) {
  return IsAlnum(c) || c == '_';
}
inline bool IsHex(unsigned char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
inline bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
inline unsigned char At(std::string_view text, size_t i) {
  return static_cast<unsigned char>(text[i]);
}
// The byte before `i`, or 0 at the start of the text.
inline unsigned char Before(std::string_view text, size_t i) {
  return i == 0 ? 0 : static_cast<unsigned char>(text[i - 1]);
}
// The byte at `i`, or 0 past the end.
inline unsigned char ByteOr0(std::string_view text, size_t i) {
  return i < text.size() ? static_cast<unsigned char>(text[i]) : 0;
}

// Collects findings of one text, dropping disabled entity types.
class Emitter {
 public:
  Emitter(std::vector<Finding>& out, uint32_t part, const std::bitset<kEntityTypeCount>& disabled)
      : out_(out), part_(part), disabled_(disabled) {}
  void Add(EntityType type, size_t start, size_t end) {
    if (!disabled_.test(static_cast<size_t>(type))) out_.push_back({type, start, end, part_});
  }
  bool Enabled(EntityType type) const { return !disabled_.test(static_cast<size_t>(type)); }

 private:
  std::vector<Finding>& out_;
  uint32_t part_;
  const std::bitset<kEntityTypeCount>& disabled_;
};

// Card numbers, phone numbers, SSNs, China resident ids, IPv4 addresses and IBANs.
void DetectNumbers(std::string_view text, Emitter& emit);
// E-mail addresses.
void DetectEmails(std::string_view text, Emitter& emit);
// IPv6 addresses.
void DetectIpv6(std::string_view text, Emitter& emit);
// Private keys, cloud access keys, bearer tokens, JWTs, passwords and key-like secrets.
void DetectSecrets(std::string_view text, Emitter& emit);

// Shannon entropy of `value` in bits per byte.
double EntropyBitsPerByte(std::string_view value);

}  // namespace tandem::router::internal
