#include "tandem/router/detectors.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <cmath>

#include "tandem/router/keyword_matcher.h"
#include "tandem/router/scan_internal.h"

namespace tandem::router {
namespace {

constexpr std::array<std::string_view, kEntityTypeCount> kEntityNames = {
    "email",
    "phone",
    "payment_card",
    "iban",
    "cn_resident_id",
    "us_ssn",
    "ip_address",
    "private_key",
    "cloud_access_key",
    "bearer_token",
    "jwt",
    "password",
    "secret",
    "keyword",
    "pattern",
};

bool LeapYear(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && LeapYear(year) ? 29 : kDays[month - 1];
}

int Digits(std::string_view s, size_t at, size_t count) {
  int value = 0;
  for (size_t i = at; i < at + count; ++i)
    value = value * 10 + (s[i] - '0');
  return value;
}

}  // namespace

std::string_view EntityTypeName(EntityType type) {
  return kEntityNames[static_cast<size_t>(type)];
}

std::optional<EntityType> ParseEntityType(std::string_view name) {
  for (size_t i = 0; i < kEntityNames.size(); ++i) {
    if (kEntityNames[i] == name) return static_cast<EntityType>(i);
  }
  return std::nullopt;
}

bool LuhnValid(std::string_view digits) {
  if (digits.empty()) return false;
  int sum = 0;
  bool twice = false;
  for (size_t i = digits.size(); i-- > 0;) {
    if (!internal::IsDigit(static_cast<unsigned char>(digits[i]))) return false;
    int d = digits[i] - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

bool IbanValid(std::string_view compact) {
  using internal::IsDigit;
  using internal::IsUpper;
  auto byte = [&](size_t i) { return static_cast<unsigned char>(compact[i]); };
  if (compact.size() < 15 || compact.size() > 34) return false;
  if (!IsUpper(byte(0)) || !IsUpper(byte(1)) || !IsDigit(byte(2)) || !IsDigit(byte(3))) {
    return false;
  }
  // ISO 13616: move the first four characters to the end, letters become 10..35, mod 97 == 1.
  int remainder = 0;
  for (size_t k = 0; k < compact.size(); ++k) {
    unsigned char c = byte((k + 4) % compact.size());
    if (IsDigit(c)) {
      remainder = (remainder * 10 + (c - '0')) % 97;
    } else if (IsUpper(c)) {
      remainder = (remainder * 100 + (c - 'A' + 10)) % 97;
    } else {
      return false;
    }
  }
  return remainder == 1;
}

bool ChinaResidentIdValid(std::string_view id) {
  if (id.size() != 18) return false;
  for (size_t i = 0; i < 17; ++i) {
    if (!internal::IsDigit(static_cast<unsigned char>(id[i]))) return false;
  }
  // Region codes start 1-8 (11 Beijing ... 82 Macao).
  if (id[0] < '1' || id[0] > '8') return false;
  int year = Digits(id, 6, 4);
  int month = Digits(id, 10, 2);
  int day = Digits(id, 12, 2);
  if (year < 1900 || year > 2099 || month < 1 || month > 12) return false;
  if (day < 1 || day > DaysInMonth(year, month)) return false;
  // ISO 7064 MOD 11-2 check character.
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static constexpr char kCheck[] = "10X98765432";
  int sum = 0;
  for (size_t i = 0; i < 17; ++i)
    sum += (id[i] - '0') * kWeights[i];
  char last = id[17] == 'x' ? 'X' : id[17];
  return kCheck[sum % 11] == last;
}

namespace internal {

double EntropyBitsPerByte(std::string_view value) {
  if (value.empty()) return 0;
  std::array<uint16_t, 256> counts{};
  for (char c : value)
    ++counts[static_cast<unsigned char>(c)];
  double bits = 0;
  const double n = static_cast<double>(value.size());
  for (uint16_t count : counts) {
    if (count == 0) continue;
    double p = count / n;
    bits -= p * std::log2(p);
  }
  return bits;
}

}  // namespace internal

class ScannerImpl {
 public:
  std::bitset<kEntityTypeCount> disabled;
  internal::KeywordMatcher keywords;
  internal::PatternMatcher patterns;
};

Scanner::Scanner(std::unique_ptr<ScannerImpl> impl) : impl_(std::move(impl)) {}
Scanner::~Scanner() = default;
Scanner::Scanner(Scanner&&) noexcept = default;
Scanner& Scanner::operator=(Scanner&&) noexcept = default;

Result<Scanner> Scanner::Create(ScannerOptions options) {
  auto impl = std::make_unique<ScannerImpl>();
  for (EntityType type : options.disabled)
    impl->disabled.set(static_cast<size_t>(type));
  Result<internal::KeywordMatcher> keywords = internal::KeywordMatcher::Create(options.keywords);
  if (!keywords) return std::unexpected(keywords.error());
  impl->keywords = std::move(*keywords);
  Result<internal::PatternMatcher> patterns = internal::PatternMatcher::Create(options.patterns);
  if (!patterns) return std::unexpected(patterns.error());
  impl->patterns = std::move(*patterns);
  return Scanner(std::move(impl));
}

std::vector<Finding> Scanner::Scan(std::string_view text) const {
  std::vector<Finding> out;
  ScanInto(text, 0, out);
  return out;
}

void Scanner::ScanInto(std::string_view text, uint32_t part, std::vector<Finding>& out) const {
  size_t first = out.size();
  internal::Emitter emit(out, part, impl_->disabled);
  internal::DetectNumbers(text, emit);
  if (emit.Enabled(EntityType::kEmail)) internal::DetectEmails(text, emit);
  if (emit.Enabled(EntityType::kIpAddress)) internal::DetectIpv6(text, emit);
  internal::DetectSecrets(text, emit);
  if (emit.Enabled(EntityType::kKeyword)) impl_->keywords.Find(text, emit);
  if (emit.Enabled(EntityType::kPattern)) impl_->patterns.Find(text, emit);
  std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
            [](const Finding& a, const Finding& b) {
              return a.start != b.start ? a.start < b.start : a.end < b.end;
            });
}

}  // namespace tandem::router
