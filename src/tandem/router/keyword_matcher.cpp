#include "tandem/router/keyword_matcher.h"

#include <fmt/format.h>

namespace tandem::router::internal {
namespace {

// Decodes one UTF-8 code point at `i`, advancing `i`. Invalid bytes decode as themselves
// (one byte each), so malformed text is still scanned.
char32_t Decode(std::string_view s, size_t& i) {
  unsigned char c = At(s, i);
  auto cont = [&](size_t k) { return k < s.size() && (At(s, k) & 0xC0) == 0x80; };
  if (c < 0x80) {
    ++i;
    return c;
  }
  if ((c & 0xE0) == 0xC0 && cont(i + 1)) {
    char32_t cp = ((c & 0x1Fu) << 6) | (At(s, i + 1) & 0x3Fu);
    i += 2;
    return cp;
  }
  if ((c & 0xF0) == 0xE0 && cont(i + 1) && cont(i + 2)) {
    char32_t cp = ((c & 0x0Fu) << 12) | ((At(s, i + 1) & 0x3Fu) << 6) | (At(s, i + 2) & 0x3Fu);
    i += 3;
    return cp;
  }
  if ((c & 0xF8) == 0xF0 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
    char32_t cp = ((c & 0x07u) << 18) | ((At(s, i + 1) & 0x3Fu) << 12) |
                  ((At(s, i + 2) & 0x3Fu) << 6) | (At(s, i + 3) & 0x3Fu);
    i += 4;
    return cp;
  }
  ++i;
  return 0xDC00 + c;  // A lone surrogate value stands for an invalid byte.
}

unsigned char LeadByte(char32_t cp) {
  if (cp < 0x80) return static_cast<unsigned char>(cp);
  if (cp < 0x800) return static_cast<unsigned char>(0xC0 | (cp >> 6));
  if (cp < 0x10000) return static_cast<unsigned char>(0xE0 | (cp >> 12));
  return static_cast<unsigned char>(0xF0 | (cp >> 18));
}

// Upper-case code points that fold to `lower` (the inverse of FoldCase for its ranges).
std::vector<char32_t> UpperVariants(char32_t lower) {
  std::vector<char32_t> out;
  for (char32_t cp = 0x41; cp < 0x530; ++cp) {
    if (cp != lower && FoldCase(cp) == lower) out.push_back(cp);
  }
  return out;
}

std::string Encode(char32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return out;
}

// The code point and the upper-case ones that fold to it.
std::vector<char32_t> Variants(char32_t folded) {
  std::vector<char32_t> out = UpperVariants(folded);
  out.push_back(folded);
  return out;
}

bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    char32_t cp = Decode(s, i);
    if (cp >= 0xDC80 && cp <= 0xDCFF) return false;
  }
  return true;
}

}  // namespace

char32_t FoldCase(char32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp < 0xC0) return cp;
  if (cp <= 0xDE && cp != 0xD7) return cp + 32;  // Latin-1 letters
  if (cp >= 0x100 && cp <= 0x17F && cp != 0x130 && cp != 0x131 && cp != 0x138 && cp != 0x149 &&
      cp != 0x17F) {
    // Latin Extended-A pairs: even/odd up to U+0137, odd/even from U+0139 to U+0148, even/odd
    // from U+014A; U+0178 (Ÿ) and U+0179..U+017E are handled below.
    if (cp <= 0x137) return cp | 1u;
    if (cp >= 0x139 && cp <= 0x148) return (cp % 2 == 1) ? cp + 1 : cp;
    if (cp >= 0x14A && cp <= 0x177) return cp | 1u;
    if (cp == 0x178) return 0xFF;
    if (cp >= 0x179 && cp <= 0x17E) return (cp % 2 == 1) ? cp + 1 : cp;
    return cp;
  }
  if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) return cp + 32;  // Greek capitals
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;                 // Cyrillic А-Я
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;                 // Cyrillic Ѐ-Џ
  return cp;
}

Result<KeywordMatcher> KeywordMatcher::Create(const std::vector<std::string>& keywords) {
  KeywordMatcher matcher;
  if (keywords.size() > 65535) {
    return MakeError(ErrorCode::kInvalidArgument, "at most 65535 keywords are supported");
  }
  for (const std::string& keyword : keywords) {
    if (keyword.empty()) return MakeError(ErrorCode::kInvalidArgument, "a keyword is empty");
    if (!ValidUtf8(keyword)) {
      return MakeError(ErrorCode::kInvalidArgument, "keyword '{}' is not valid UTF-8", keyword);
    }
    std::u32string folded;
    for (size_t i = 0; i < keyword.size();)
      folded.push_back(FoldCase(Decode(keyword, i)));
    auto index = static_cast<uint16_t>(matcher.keywords_.size());
    // Two-byte prefilter: every spelling of the first one or two characters.
    for (char32_t first : Variants(folded[0])) {
      std::string head = Encode(first);
      auto b0 = static_cast<unsigned char>(head[0]);
      if (head.size() >= 2) {
        matcher.AddPair(b0, static_cast<unsigned char>(head[1]));
      } else if (folded.size() == 1) {
        for (int b1 = 0; b1 < 256; ++b1)
          matcher.AddPair(b0, static_cast<unsigned char>(b1));
      } else {
        for (char32_t second : Variants(folded[1])) {
          matcher.AddPair(b0, static_cast<unsigned char>(Encode(second)[0]));
        }
      }
    }
    matcher.by_first_byte_[LeadByte(folded[0])].push_back(index);
    for (char32_t upper : UpperVariants(folded[0])) {
      auto& list = matcher.by_first_byte_[LeadByte(upper)];
      if (list.empty() || list.back() != index) list.push_back(index);
    }
    matcher.keywords_.push_back(std::move(folded));
  }
  return matcher;
}

void KeywordMatcher::MatchAt(std::string_view text, size_t i, Emitter& emit) const {
  for (uint16_t index : by_first_byte_[At(text, i)]) {
    const std::u32string& keyword = keywords_[index];
    size_t j = i;
    size_t k = 0;
    while (k < keyword.size() && j < text.size() && FoldCase(Decode(text, j)) == keyword[k])
      ++k;
    if (k == keyword.size()) emit.Add(EntityType::kKeyword, i, j);
  }
}

void KeywordMatcher::Find(std::string_view text, Emitter& emit) const {
  if (keywords_.empty() || text.empty()) return;
  const size_t n = text.size();
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const uint64_t* bits = first_pairs_.data();
  for (size_t i = 0; i + 1 < n; ++i) {
    uint32_t pair = (uint32_t{bytes[i]} << 8) | bytes[i + 1];
    if ((bits[pair >> 6] >> (pair & 63)) & 1) MatchAt(text, i, emit);
  }
  // The last byte pairs with 0; one-byte keywords mark every (b0, any) pair.
  if (HasPair(bytes[n - 1], 0)) MatchAt(text, n - 1, emit);
}

Result<PatternMatcher> PatternMatcher::Create(const std::vector<std::string>& patterns) {
  PatternMatcher matcher;
  for (const std::string& pattern : patterns) {
    if (pattern.empty()) return MakeError(ErrorCode::kInvalidArgument, "a pattern is empty");
    try {
      matcher.regexes_.push_back(std::make_shared<const std::regex>(
          pattern, std::regex::ECMAScript | std::regex::optimize));
    } catch (const std::regex_error& e) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "pattern '{}' is not a valid regular "
                       "expression: {}",
                       pattern, e.what());
    }
  }
  return matcher;
}

void PatternMatcher::Find(std::string_view text, Emitter& emit) const {
  // Matching runs per line and per window of at most kWindow bytes: libstdc++'s matcher
  // recurses per character and would exhaust the stack on very long inputs.
  constexpr size_t kWindow = 4096;
  for (const auto& regex : regexes_) {
    size_t line_start = 0;
    while (line_start < text.size()) {
      size_t line_end = text.find('\n', line_start);
      if (line_end == std::string_view::npos) line_end = text.size();
      for (size_t w = line_start; w < line_end; w += kWindow) {
        size_t w_end = std::min(line_end, w + kWindow);
        const char* begin = text.data() + w;
        const char* end = text.data() + w_end;
        try {
          for (std::cregex_iterator it(begin, end, *regex), last; it != last; ++it) {
            if (it->length(0) == 0) continue;
            size_t start = w + static_cast<size_t>(it->position(0));
            emit.Add(EntityType::kPattern, start, start + static_cast<size_t>(it->length(0)));
          }
        } catch (const std::regex_error&) {
          // Too complex to evaluate: fail closed and treat the whole window as a match.
          emit.Add(EntityType::kPattern, w, w_end);
        }
      }
      line_start = line_end + 1;
    }
  }
}

}  // namespace tandem::router::internal
