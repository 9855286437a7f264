// Unicode helpers for the tokenizers: general categories, white space, UTF-8 decoding that keeps
// byte offsets (so invalid bytes survive), and the byte-to-character map of byte-level BPE.
//
//   std::vector<DecodedChar> chars = DecodeUtf8("héllo");
//   bool letter = GetCategory(chars[1].cp) == UnicodeCategory::kLetter;
//
// Everything here is a pure function of immutable tables and is thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::engine {

// The general-category group of a code point (the first letter of its Unicode category).
enum class UnicodeCategory : uint8_t {
  kUndefined,  // unassigned code points
  kLetter,
  kNumber,
  kPunctuation,
  kAccentMark,
  kSymbol,
  kSeparator,
  kControl,
};

UnicodeCategory GetCategory(uint32_t cp);
// The White_Space property (tab to carriage return, space, NEL, NBSP, the Zs spaces, ...).
bool IsWhitespace(uint32_t cp);

// One decoded character: its code point and where its bytes lie in the input. An invalid byte
// decodes to U+FFFD with a length of 1.
struct DecodedChar {
  uint32_t cp = 0;
  uint32_t offset = 0;
  uint32_t length = 0;
};
std::vector<DecodedChar> DecodeUtf8(std::string_view text);
void AppendUtf8(uint32_t cp, std::string& out);
// Length of the UTF-8 sequence a lead byte announces (1 for invalid lead bytes).
size_t Utf8SequenceLength(uint8_t lead);

// Byte-level BPE's reversible byte <-> printable character map.
const std::string& ByteToBpeChar(uint8_t byte);
// Decodes text made of mapped characters back into bytes; false if a character is not mapped.
bool BpeCharsToBytes(std::string_view text, std::string& out);

namespace unicode_internal {
struct CategoryRun {
  uint32_t first;
  UnicodeCategory category;
};
}  // namespace unicode_internal

}  // namespace tandem::engine
