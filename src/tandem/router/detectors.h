// Sensitive-data detectors: hand-written scanners over UTF-8 bytes that report what kind of
// entity was found and where (byte offsets), never the value itself.
//
//   Result<Scanner> scanner = Scanner::Create({.keywords = {"confidential", "机密"}});
//   for (const Finding& f : scanner->Scan(text)) Log(EntityTypeName(f.type), f.start, f.end);
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/error.h"

namespace tandem::router {

// What a detector found. Names (EntityTypeName) are stable: they appear in configuration,
// audit records and `tandem route explain --json`.
enum class EntityType : uint8_t {
  kEmail,            // "email"
  kPhone,            // "phone": +CC international, China mobile, US formats.
  kPaymentCard,      // "payment_card": 13-19 digits passing Luhn.
  kIban,             // "iban": passing the ISO 13616 mod-97 check.
  kChinaResidentId,  // "cn_resident_id": 18 characters, ISO 7064 MOD 11-2, valid birth date.
  kUsSsn,            // "us_ssn": AAA-GG-SSSS outside the never-issued ranges.
  kIpAddress,        // "ip_address": IPv4 dotted quad or IPv6.
  kPrivateKey,       // "private_key": a PEM "PRIVATE KEY" block.
  kCloudAccessKey,   // "cloud_access_key": AWS access key id (AKIA..., ASIA...).
  kBearerToken,      // "bearer_token": "Bearer <token>".
  kJwt,              // "jwt": three base64url segments, header and payload JSON objects.
  kPassword,         // "password": in a URL (scheme://user:pass@host) or assigned to a name.
  kSecret,           // "secret": a high-entropy value assigned to a key-like name.
  kKeyword,          // "keyword": a configured sensitive word.
  kPattern,          // "pattern": a configured regular expression matched.
};
inline constexpr int kEntityTypeCount = 15;

std::string_view EntityTypeName(EntityType type);
std::optional<EntityType> ParseEntityType(std::string_view name);

// One detected entity: its kind and the byte range [start, end) in the scanned text.
// `part` numbers the scanned texts of a multi-part payload (message index); 0 for one text.
struct Finding {
  EntityType type = EntityType::kEmail;
  size_t start = 0;
  size_t end = 0;
  uint32_t part = 0;
  bool operator==(const Finding&) const = default;
};

struct ScannerOptions {
  // Sensitive words, matched anywhere (also inside longer words), case-insensitively for Latin,
  // Greek and Cyrillic letters; other scripts (Chinese...) match exactly.
  std::vector<std::string> keywords = {};
  // ECMAScript regular expressions, matched within each line. Character classes work on
  // bytes, not code points: UTF-8 literals match, `.` matches one byte.
  std::vector<std::string> patterns = {};
  // Entity types not to report (e.g. kIpAddress for infrastructure-heavy workloads).
  std::vector<EntityType> disabled = {};
};

class ScannerImpl;

// Finds entities in text. Immutable after Create; thread-safe to use from many threads.
class Scanner {
 public:
  // Fails with kInvalidArgument naming a bad pattern or an empty keyword.
  static Result<Scanner> Create(ScannerOptions options = {});
  ~Scanner();
  Scanner(Scanner&&) noexcept;
  Scanner& operator=(Scanner&&) noexcept;

  // Every finding in `text`, ordered by start offset. Malformed UTF-8 is scanned as bytes.
  std::vector<Finding> Scan(std::string_view text) const;
  // Appends the findings of `text` to `out` with `part` set.
  void ScanInto(std::string_view text, uint32_t part, std::vector<Finding>& out) const;

 private:
  explicit Scanner(std::unique_ptr<ScannerImpl> impl);
  std::unique_ptr<ScannerImpl> impl_;
};

// Check-digit algorithms, exposed for tests and for the masking of partial values.
bool LuhnValid(std::string_view digits);               // Digits only.
bool IbanValid(std::string_view compact);              // Letters and digits, no spaces.
bool ChinaResidentIdValid(std::string_view eighteen);  // 17 digits + digit or X.

}  // namespace tandem::router
