// Detectors for entities made of digit groups. One forward pass: each run of digits joined by
// single separators is collected once into groups, then classified by shape and check digits.
#include <array>
#include <cstring>
#include <optional>

#include "tandem/router/scan_internal.h"

namespace tandem::router::internal {
namespace {

constexpr size_t kMaxGroups = 8;
constexpr size_t kMaxDigits = 24;

struct Group {
  size_t start;  // Offset of the first digit.
  size_t end;    // One past the last digit.
  size_t size() const { return end - start; }
};

// A run like "+86 138-1234 5678": digit groups and the separator text between them.
struct DigitSpan {
  size_t start = 0;  // Includes a leading '+' or '('.
  size_t end = 0;
  bool plus = false;
  bool paren_area = false;  // "(415) 555-2671"
  // Left uninitialised on purpose (this runs for every number in the text); only the first
  // n_groups / n_digits entries are ever read.
  std::array<Group, kMaxGroups> groups;
  std::array<std::string_view, kMaxGroups> seps;  // seps[k] is between groups k and k+1.
  size_t n_groups = 0;
  std::array<char, kMaxDigits + 1> digits;
  size_t n_digits = 0;
  std::string_view Digits() const { return {digits.data(), n_digits}; }
};

bool IsSeparator(unsigned char c) {
  return c == ' ' || c == '-' || c == '.' || c == ')' || c == '(';
}

// Reads one separator (1-2 bytes such as " ", "-", ") ", " (") followed by a digit at `i`.
size_t SeparatorLength(std::string_view text, size_t i) {
  for (size_t len = 1; len <= 2; ++len) {
    if (i + len >= text.size()) return 0;
    if (!IsSeparator(At(text, i + len - 1))) return 0;
    if (IsDigit(At(text, i + len))) {
      if (len == 2 && At(text, i) == At(text, i + 1)) return 0;  // "  " or "--" joins nothing.
      return len;
    }
  }
  return 0;
}

// Collects the span starting at digit `s`. Returns false when it touches letters (a word such
// as "A1B2", a UUID segment, "12abc"), in which case `span.end` is where scanning resumes.
bool CollectSpan(std::string_view text, size_t s, DigitSpan& span) {
  span.start = s;
  unsigned char prev = Before(text, s);
  if (prev == '+') {
    span.plus = true;
    span.start = s - 1;
  } else if (prev == '(') {
    span.paren_area = true;
    span.start = s - 1;
  }
  size_t i = s;
  while (true) {
    size_t g = i;
    while (i < text.size() && IsDigit(At(text, i)))
      ++i;
    if (span.n_groups > 0 && span.n_digits + (i - g) > kMaxDigits) {
      i = span.groups[span.n_groups - 1].end;  // The span ends before this group.
      break;
    }
    span.groups[span.n_groups++] = {g, i};
    for (size_t k = g; k < i && span.n_digits < kMaxDigits; ++k) {
      span.digits[span.n_digits++] = text[k];
    }
    if (i - g > kMaxDigits) {
      span.n_digits = kMaxDigits + 1;  // One huge run: no entity is that long.
      break;
    }
    size_t sep = SeparatorLength(text, i);
    if (sep == 0 || span.n_groups >= kMaxGroups) break;
    span.seps[span.n_groups - 1] = text.substr(i, sep);
    i += sep;
  }
  span.end = i;
  if (i < text.size() && IsWordByte(At(text, i))) {
    // China resident ids end in X; anything else glued to letters is part of a word.
    bool id_suffix = (At(text, i) == 'X' || At(text, i) == 'x') && span.n_groups == 1 &&
                     span.n_digits == 17 && !IsWordByte(ByteOr0(text, i + 1));
    if (!id_suffix) {
      while (i < text.size() && IsWordByte(At(text, i)))
        ++i;
      span.end = i;
      return false;
    }
  }
  return span.n_digits <= kMaxDigits;
}

int GroupValue(std::string_view text, const Group& g) {
  int value = 0;
  for (size_t k = g.start; k < g.end && k < g.start + 6; ++k)
    value = value * 10 + (text[k] - '0');
  return value;
}

bool AllSeps(const DigitSpan& span, std::string_view sep) {
  for (size_t k = 0; k + 1 < span.n_groups; ++k) {
    if (span.seps[k] != sep) return false;
  }
  return true;
}

bool AnySepContains(const DigitSpan& span, char c) {
  for (size_t k = 0; k + 1 < span.n_groups; ++k) {
    if (span.seps[k].find(c) != std::string_view::npos) return true;
  }
  return false;
}

bool IsIpv4(std::string_view text, const DigitSpan& span) {
  if (span.n_groups != 4 || !AllSeps(span, ".") || span.plus || span.paren_area) return false;
  // "v1.2.3.4" is a version.
  unsigned char prev = Before(text, span.start);
  if (prev == 'v' || prev == 'V' || prev == '.') return false;
  if (ByteOr0(text, span.end) == '.' && IsDigit(ByteOr0(text, span.end + 1))) return false;
  for (size_t k = 0; k < 4; ++k) {
    if (span.groups[k].size() > 3 || GroupValue(text, span.groups[k]) > 255) return false;
  }
  return true;
}

bool AllSameDigit(std::string_view digits) {
  return digits.find_first_not_of(digits[0]) == std::string_view::npos;
}

bool LooksLikeTimestamp(std::string_view d) {
  // YYYYMMDDhhmmss[...]: compact timestamps would otherwise pass Luhn one time in ten.
  if (d.size() < 12) return false;
  int year = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
  int month = (d[4] - '0') * 10 + (d[5] - '0');
  int day = (d[6] - '0') * 10 + (d[7] - '0');
  int hour = (d[8] - '0') * 10 + (d[9] - '0');
  return year >= 1970 && year <= 2099 && month >= 1 && month <= 12 && day >= 1 && day <= 31 &&
         hour <= 23;
}

bool CardGrouping(const DigitSpan& span) {
  if (span.n_groups == 1) return true;
  if (!AllSeps(span, " ") && !AllSeps(span, "-")) return false;
  const auto& g = span.groups;
  if (span.n_groups == 3 && g[0].size() == 4 && g[1].size() == 6 &&
      (g[2].size() == 4 || g[2].size() == 5)) {
    return true;  // 15-digit (4-6-5) and 14-digit (4-6-4) layouts.
  }
  // 4-4-4-1..4 (13-16 digits) and 4-4-4-4-3 (19 digits).
  if (span.n_groups != 4 && span.n_groups != 5) return false;
  for (size_t k = 0; k + 1 < span.n_groups; ++k) {
    if (g[k].size() != 4) return false;
  }
  size_t last = g[span.n_groups - 1].size();
  return span.n_groups == 4 ? last >= 1 && last <= 4 : last == 3;
}

bool IsCard(const DigitSpan& span) {
  std::string_view d = span.Digits();
  if (span.plus || span.paren_area || d.size() < 13 || d.size() > 19) return false;
  if (d[0] < '2' || d[0] > '6' || AllSameDigit(d) || LooksLikeTimestamp(d)) return false;
  return CardGrouping(span) && LuhnValid(d);
}

bool IsSsn(std::string_view text, const DigitSpan& span) {
  if (span.n_groups != 3 || span.plus || span.paren_area) return false;
  if (!AllSeps(span, "-") && !AllSeps(span, " ")) return false;
  const auto& g = span.groups;
  if (g[0].size() != 3 || g[1].size() != 2 || g[2].size() != 4) return false;
  int area = GroupValue(text, g[0]);
  return area != 0 && area != 666 && area < 900 && GroupValue(text, g[1]) != 0 &&
         GroupValue(text, g[2]) != 0;
}

bool IsChinaMobile(std::string_view d) {
  return d.size() == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9';
}

bool IsPhone(std::string_view text, const DigitSpan& span) {
  std::string_view d = span.Digits();
  if (AnySepContains(span, '.') && !(span.n_groups == 3 && AllSeps(span, "."))) return false;
  if (span.plus) {
    // E.164: a country code that does not start with 0, at most 15 digits in all; exact
    // lengths for North America (+1, 11 digits) and China mobiles (+86 1xx, 13 digits) so a
    // number written right after one is not swallowed.
    if (d.size() < 8 || d.size() > 15 || d[0] == '0') return false;
    if (d[0] == '1') return d.size() == 11;
    if (d.substr(0, 3) == "861") return d.size() == 13;
    return true;
  }
  const auto& g = span.groups;
  if (span.n_groups == 1) return IsChinaMobile(d);
  if (span.n_groups == 3 && g[0].size() == 3 && g[1].size() == 4 && g[2].size() == 4 &&
      IsChinaMobile(d)) {
    return true;  // 138 1234 5678
  }
  // North American numbers: [1] NXX NXX XXXX.
  size_t first = 0;
  if (span.n_groups == 4 && g[0].size() == 1 && text[g[0].start] == '1') first = 1;
  if (span.n_groups - first != 3) return false;
  if (g[first].size() != 3 || g[first + 1].size() != 3 || g[first + 2].size() != 4) return false;
  if (span.paren_area && first == 0 && span.seps[0].front() != ')') return false;
  return text[g[first].start] >= '2' && text[g[first + 1].start] >= '2';
}

bool IsChinaId(const DigitSpan& span, std::string_view text) {
  if (span.n_groups != 1 || span.plus || span.paren_area) return false;
  if (span.n_digits == 18) return ChinaResidentIdValid(text.substr(span.groups[0].start, 18));
  if (span.n_digits == 17) return ChinaResidentIdValid(text.substr(span.groups[0].start, 18));
  return false;
}

// IBAN lengths by country (ISO 13616 registry); unknown countries accept 15-34 characters.
int IbanLength(char a, char b) {
  static constexpr struct {
    char code[3];
    int length;
  } kLengths[] = {
      {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
      {"BG", 22}, {"BH", 22}, {"BR", 29}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
      {"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
      {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
      {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IS", 26}, {"IT", 27},
      {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LI", 21}, {"LT", 20}, {"LU", 20},
      {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31},
      {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25},
      {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SE", 24}, {"SI", 19}, {"SK", 24},
      {"SM", 27}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VG", 24}, {"XK", 20},
  };
  for (const auto& entry : kLengths) {
    if (entry.code[0] == a && entry.code[1] == b) return entry.length;
  }
  return 0;
}

// Tries an IBAN whose country code starts at `s` (two capitals, then two check digits),
// written compact or in groups of four separated by single spaces. Returns its end or 0.
size_t MatchIban(std::string_view text, size_t s) {
  if (s + 15 > text.size() || !IsDigit(At(text, s + 2)) || !IsDigit(At(text, s + 3))) return 0;
  int expected = IbanLength(text[s], text[s + 1]);
  std::array<char, 34> compact{};
  size_t n = 0;
  size_t group = 0;
  size_t i = s;
  size_t end = 0;
  while (i < text.size() && n < compact.size()) {
    unsigned char c = At(text, i);
    if (IsUpper(c) || IsDigit(c)) {
      compact[n++] = static_cast<char>(c);
      ++group;
      ++i;
      end = i;
      if (expected != 0 && static_cast<int>(n) == expected) break;
      continue;
    }
    if (c == ' ' && group == 4 && i + 1 < text.size() &&
        (IsUpper(At(text, i + 1)) || IsDigit(At(text, i + 1)))) {
      group = 0;
      ++i;
      continue;
    }
    break;
  }
  if (end < text.size() && IsWordByte(At(text, end))) return 0;
  if (expected != 0 ? static_cast<int>(n) != expected : n < 15) return 0;
  return IbanValid({compact.data(), n}) ? end : 0;
}

// The entity `span` is, if any.
std::optional<EntityType> Classify(std::string_view text, const DigitSpan& span) {
  if (IsIpv4(text, span)) return EntityType::kIpAddress;
  if (IsChinaId(span, text)) return EntityType::kChinaResidentId;
  if (IsSsn(text, span)) return EntityType::kUsSsn;
  if (IsCard(span)) return EntityType::kPaymentCard;
  if (IsPhone(text, span)) return EntityType::kPhone;
  return std::nullopt;
}

// The first `k` groups of `span`.
DigitSpan Prefix(const DigitSpan& span, size_t k) {
  DigitSpan prefix = span;
  prefix.n_groups = k;
  prefix.end = span.groups[k - 1].end;
  prefix.n_digits = 0;
  for (size_t g = 0; g < k; ++g)
    prefix.n_digits += span.groups[g].size();
  return prefix;
}

// Classifies the span starting at digit `s` and returns where scanning resumes.
size_t ClassifyDigits(std::string_view text, size_t s, Emitter& emit) {
  // Fast path: a short number standing alone ("3 boxes", "12:30") is never an entity; every
  // entity has 7+ digits in one run or continues with a separator and another digit.
  size_t run_end = s;
  while (run_end < text.size() && IsDigit(At(text, run_end)))
    ++run_end;
  if (run_end - s < 7 && SeparatorLength(text, run_end) == 0) {
    if (!IsWordByte(ByteOr0(text, run_end))) return run_end;
  }
  DigitSpan span;
  if (!CollectSpan(text, s, span)) return span.end;
  // Numbers written next to each other ("13987654321 078-05-1120") join into one span: try the
  // whole span, then shorter prefixes that end at a space, then restart after the first group.
  for (size_t k = span.n_groups; k >= 1; --k) {
    if (k < span.n_groups && span.seps[k - 1].find(' ') == std::string_view::npos) continue;
    DigitSpan candidate = k == span.n_groups ? span : Prefix(span, k);
    std::optional<EntityType> type = Classify(text, candidate);
    if (!type) continue;
    size_t end = *type == EntityType::kChinaResidentId ? candidate.start + 18 : candidate.end;
    emit.Add(*type, candidate.start, end);
    return end;
  }
  return span.groups[0].end;
}

}  // namespace

void DetectNumbers(std::string_view text, Emitter& emit) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    if (!IsDigit(At(text, i))) {
      ++i;
      continue;
    }
    unsigned char prev = Before(text, i);
    if (IsWordByte(prev)) {
      // Inside a word: maybe an IBAN ("DE89..."), otherwise skip the rest of the word.
      if (i >= 2 && IsUpper(prev) && IsUpper(At(text, i - 2)) && !IsWordByte(Before(text, i - 2))) {
        if (size_t end = MatchIban(text, i - 2); end != 0) {
          emit.Add(EntityType::kIban, i - 2, end);
          i = end;
          continue;
        }
      }
      while (i < n && IsWordByte(At(text, i)))
        ++i;
      continue;
    }
    if (prev == '.' || (prev == '-' && IsWordByte(Before(text, i - 1)))) {
      // "1.2.3" continuation or "ABC-123" identifiers: part of something else.
      while (i < n && (IsWordByte(At(text, i)) || At(text, i) == '.' || At(text, i) == '-'))
        ++i;
      continue;
    }
    i = ClassifyDigits(text, i, emit);
  }
}

}  // namespace tandem::router::internal
