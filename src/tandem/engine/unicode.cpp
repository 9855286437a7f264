#include "tandem/engine/unicode.h"

#include <algorithm>
#include <array>

namespace tandem::engine {
namespace unicode_internal {
extern const CategoryRun kCategoryRuns[];
extern const int kCategoryRunCount;
}  // namespace unicode_internal

UnicodeCategory GetCategory(uint32_t cp) {
  using unicode_internal::kCategoryRunCount;
  using unicode_internal::kCategoryRuns;
  if (cp > 0x10FFFF) return UnicodeCategory::kUndefined;
  const unicode_internal::CategoryRun* end = kCategoryRuns + kCategoryRunCount;
  const unicode_internal::CategoryRun* it = std::upper_bound(
      kCategoryRuns, end, cp,
      [](uint32_t value, const unicode_internal::CategoryRun& run) { return value < run.first; });
  return (it - 1)->category;
}

bool IsWhitespace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

size_t Utf8SequenceLength(uint8_t lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

std::vector<DecodedChar> DecodeUtf8(std::string_view text) {
  std::vector<DecodedChar> out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto lead = static_cast<uint8_t>(text[i]);
    size_t n = Utf8SequenceLength(lead);
    uint32_t cp = 0xFFFD;
    bool valid = lead < 0x80 || (n > 1 && i + n <= text.size());
    if (lead < 0x80) {
      cp = lead;
    } else if (valid) {
      cp = lead & (0xFF >> (n + 1));
      for (size_t k = 1; k < n && valid; ++k) {
        auto c = static_cast<uint8_t>(text[i + k]);
        valid = (c & 0xC0) == 0x80;
        cp = (cp << 6) | (c & 0x3F);
      }
      // Overlong forms, surrogates and values beyond U+10FFFF are invalid too.
      static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      if (valid && (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) {
        valid = false;
      }
    }
    if (!valid) {
      out.push_back({0xFFFD, static_cast<uint32_t>(i), 1});
      ++i;
      continue;
    }
    out.push_back({cp, static_cast<uint32_t>(i), static_cast<uint32_t>(n)});
    i += n;
  }
  return out;
}

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

namespace {

// Printable bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') map to themselves; the others, in byte order,
// to U+0100 onwards.
struct ByteMap {
  std::array<std::string, 256> to_char;
  std::array<int, 324> from_cp;  // code point (< 0x144) -> byte, or -1
  ByteMap() {
    from_cp.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      uint32_t cp = printable ? static_cast<uint32_t>(b) : next++;
      AppendUtf8(cp, to_char[b]);
      from_cp[cp] = b;
    }
  }
};

const ByteMap& GetByteMap() {
  static const ByteMap map;
  return map;
}

}  // namespace

const std::string& ByteToBpeChar(uint8_t byte) {
  return GetByteMap().to_char[byte];
}

bool BpeCharsToBytes(std::string_view text, std::string& out) {
  const ByteMap& map = GetByteMap();
  bool ok = true;
  for (const DecodedChar& c : DecodeUtf8(text)) {
    if (c.cp < map.from_cp.size() && map.from_cp[c.cp] >= 0 && c.cp != 0xFFFD) {
      out += static_cast<char>(map.from_cp[c.cp]);
    } else {
      out.append(text.substr(c.offset, c.length));
      ok = false;
    }
  }
  return ok;
}

}  // namespace tandem::engine
