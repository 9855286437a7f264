// Credential detectors. Each looks for a rare anchor with memmem/memchr ("-----BEGIN", "://",
// "eyJ", "earer ", 'A', '=' and ':') and validates the bytes around it.
#include <array>
#include <cstring>

#include "tandem/router/scan_internal.h"

namespace tandem::router::internal {
namespace {

constexpr size_t npos = std::string_view::npos;

size_t FindFrom(std::string_view text, size_t from, std::string_view needle) {
  if (from >= text.size()) return npos;
  const void* hit = memmem(text.data() + from, text.size() - from, needle.data(), needle.size());
  return hit ? static_cast<size_t>(static_cast<const char*>(hit) - text.data()) : npos;
}

size_t NextByte(std::string_view text, size_t from, char c) {
  if (from >= text.size()) return npos;
  const void* hit = std::memchr(text.data() + from, c, text.size() - from);
  return hit ? static_cast<size_t>(static_cast<const char*>(hit) - text.data()) : npos;
}

bool IsBase64Url(unsigned char c) {
  return IsAlnum(c) || c == '-' || c == '_';
}
bool IsTokenByte(unsigned char c) {
  return IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

// Number of character classes (lower, upper, digit, other) present.
int CharClasses(std::string_view value) {
  bool lower = false, upper = false, digit = false, other = false;
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    lower = lower || IsLower(c);
    upper = upper || IsUpper(c);
    digit = digit || IsDigit(c);
    other = other || !IsAlnum(c);
  }
  return int{lower} + int{upper} + int{digit} + int{other};
}

// Template values such as "${DB_PASSWORD}", "<token>", "****", "your_api_key_here".
bool IsPlaceholder(std::string_view value) {
  if (value.empty()) return true;
  char first = value.front();
  if (first == '$' || first == '{' || first == '<' || first == '%' || first == '*') return true;
  if (value.find_first_not_of(first) == npos) return true;
  if (value.find("xxxx") != npos || value.find("XXXX") != npos) return true;
  if (value.size() >= 4 && (value.substr(0, 4) == "your" || value.substr(0, 4) == "YOUR")) {
    return true;
  }
  return false;
}

void DetectPrivateKeys(std::string_view text, Emitter& emit) {
  constexpr std::string_view kBegin = "-----BEGIN ";
  for (size_t h = FindFrom(text, 0, kBegin); h != npos; h = FindFrom(text, h + 1, kBegin)) {
    size_t label_end = FindFrom(text, h + kBegin.size(), "-----");
    if (label_end == npos || label_end - h > 80) continue;
    std::string_view label = text.substr(h + kBegin.size(), label_end - h - kBegin.size());
    if (label.find("PRIVATE KEY") == npos) continue;
    size_t end = text.size();  // A block cut short is still a private key.
    if (size_t footer = FindFrom(text, label_end + 5, "-----END "); footer != npos) {
      size_t close = FindFrom(text, footer + 9, "-----");
      end = close != npos && close - footer < 90 ? close + 5 : footer + 9;
    }
    emit.Add(EntityType::kPrivateKey, h, end);
    h = end - 1;
  }
}

void DetectCloudAccessKeys(std::string_view text, Emitter& emit) {
  static constexpr std::array<std::string_view, 10> kPrefixes = {
      "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "ABIA", "ACCA"};
  for (size_t h = NextByte(text, 0, 'A'); h != npos; h = NextByte(text, h + 1, 'A')) {
    if (h + 20 > text.size() || !IsUpper(At(text, h + 1)) || IsWordByte(Before(text, h))) continue;
    std::string_view prefix = text.substr(h, 4);
    bool known = false;
    for (std::string_view p : kPrefixes)
      known = known || p == prefix;
    if (!known) continue;
    bool body = true;
    for (size_t k = h + 4; k < h + 20; ++k)
      body = body && (IsUpper(At(text, k)) || IsDigit(At(text, k)));
    if (!body || IsWordByte(ByteOr0(text, h + 20))) continue;
    emit.Add(EntityType::kCloudAccessKey, h, h + 20);
    h += 19;
  }
}

void DetectBearerTokens(std::string_view text, Emitter& emit) {
  for (size_t h = FindFrom(text, 0, "earer "); h != npos; h = FindFrom(text, h + 1, "earer ")) {
    if (h == 0 || (text[h - 1] != 'B' && text[h - 1] != 'b') || IsWordByte(Before(text, h - 1))) {
      continue;
    }
    size_t start = h + 6;
    while (start < text.size() && text[start] == ' ')
      ++start;
    size_t end = start;
    while (end < text.size() && IsTokenByte(At(text, end)))
      ++end;
    while (end < text.size() && text[end] == '=')
      ++end;
    std::string_view token = text.substr(start, end - start);
    if (token.size() < 16 || CharClasses(token) < 2 || IsPlaceholder(token)) continue;
    emit.Add(EntityType::kBearerToken, start, end);
    h = end - 1;
  }
}

// Length of a base64url run at `i`.
size_t Base64UrlRun(std::string_view text, size_t i) {
  size_t j = i;
  while (j < text.size() && IsBase64Url(At(text, j)))
    ++j;
  return j - i;
}

void DetectJwts(std::string_view text, Emitter& emit) {
  // "eyJ" is base64url for '{"': JWT header and payload are JSON objects.
  // Anchored on the rare 'J' of "eyJ" (memchr is much faster than a substring search).
  for (size_t j = NextByte(text, 0, 'J'); j != npos; j = NextByte(text, j + 1, 'J')) {
    if (j < 2 || text[j - 2] != 'e' || text[j - 1] != 'y') continue;
    size_t h = j - 2;
    if (IsBase64Url(Before(text, h)) || Before(text, h) == '.') continue;
    size_t header = Base64UrlRun(text, h);
    size_t dot1 = h + header;
    if (header < 10 || ByteOr0(text, dot1) != '.') continue;
    if (text.substr(dot1 + 1, 3) != "eyJ") continue;
    size_t payload = Base64UrlRun(text, dot1 + 1);
    size_t dot2 = dot1 + 1 + payload;
    if (payload < 10 || ByteOr0(text, dot2) != '.') continue;
    size_t end = dot2 + 1 + Base64UrlRun(text, dot2 + 1);
    if (ByteOr0(text, end) == '.') continue;  // Not three segments.
    emit.Add(EntityType::kJwt, h, end);
    j = end - 1;
  }
}

// Checks for "scheme://user:password@host" whose "://" starts at `h`.
void CheckUrlPassword(std::string_view text, size_t h, Emitter& emit) {
  size_t scheme = h;
  while (scheme > 0 && (IsAlnum(At(text, scheme - 1)) || At(text, scheme - 1) == '+' ||
                        At(text, scheme - 1) == '.' || At(text, scheme - 1) == '-')) {
    --scheme;
  }
  if (h - scheme < 2 || !IsAlpha(At(text, scheme))) return;
  size_t authority = h + 3;
  size_t end = authority;
  size_t at = npos;
  while (end < text.size() && end - authority < 512) {
    unsigned char c = At(text, end);
    if (c == '/' || c == '?' || c == '#' || IsSpace(c) || c == '"' || c == '\'' || c == '<' ||
        c == '>') {
      break;
    }
    if (c == '@') at = end;
    ++end;
  }
  if (at == npos) return;
  size_t colon = text.substr(authority, at - authority).find(':');
  if (colon == npos) return;
  size_t start = authority + colon + 1;
  if (start >= at || IsPlaceholder(text.substr(start, at - start))) return;
  emit.Add(EntityType::kPassword, start, at);
}

enum class KeyKind { kNone, kPassword, kSecret };

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

KeyKind ClassifyKey(std::string_view key) {
  std::array<char, 64> buffer{};
  size_t n = std::min(key.size(), buffer.size());
  for (size_t i = 0; i < n; ++i) {
    char c = key[i];
    buffer[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : (c == '-' ? '_' : c);
  }
  std::string_view k(buffer.data(), n);
  static constexpr std::string_view kPasswordSuffixes[] = {"password", "passwd", "passphrase",
                                                           "pwd"};
  static constexpr std::string_view kSecretParts[] = {
      "secret",     "token",       "apikey",     "api_key",     "accesskey",
      "access_key", "private_key", "credential", "signing_key", "auth_key"};
  for (std::string_view suffix : kPasswordSuffixes) {
    if (EndsWith(k, suffix)) return KeyKind::kPassword;
  }
  if (k == "pass" || k == "pw" || EndsWith(k, "_pass") || EndsWith(k, ".pass")) {
    return KeyKind::kPassword;
  }
  for (std::string_view part : kSecretParts) {
    if (k.find(part) != npos) return KeyKind::kSecret;
  }
  if (k == "key" || EndsWith(k, "_key") || EndsWith(k, ".key")) return KeyKind::kSecret;
  return KeyKind::kNone;
}

bool IsKeyByte(unsigned char c) {
  return IsWordByte(c) || c == '.' || c == '-';
}

// Checks an assignment whose operator ('=' or ':') is at `p`.
void CheckAssignment(std::string_view text, size_t p, Emitter& emit) {
  unsigned char op = At(text, p);
  unsigned char next = ByteOr0(text, p + 1);
  if (op == '=' && (next == '=' || next == '>' || Before(text, p) == '=' ||
                    Before(text, p) == '!' || Before(text, p) == '<' || Before(text, p) == '>')) {
    return;
  }
  if (op == ':' && (next == '/' || next == ':' || Before(text, p) == ':')) return;
  size_t key_end = p;
  for (int k = 0; k < 2 && key_end > 0 && At(text, key_end - 1) == ' '; ++k)
    --key_end;
  if (key_end > 0 && (At(text, key_end - 1) == '"' || At(text, key_end - 1) == '\'')) --key_end;
  size_t key_start = key_end;
  while (key_start > 0 && key_end - key_start < 64 && IsKeyByte(At(text, key_start - 1))) {
    --key_start;
  }
  if (key_start == key_end) return;
  KeyKind kind = ClassifyKey(text.substr(key_start, key_end - key_start));
  if (kind == KeyKind::kNone) return;
  size_t v = p + 1;
  for (int k = 0; k < 3 && v < text.size() && (At(text, v) == ' ' || At(text, v) == '\t'); ++k)
    ++v;
  unsigned char quote = ByteOr0(text, v);
  bool quoted = quote == '"' || quote == '\'';
  if (quoted) ++v;
  size_t end = v;
  while (end < text.size() && end - v < 512) {
    unsigned char c = At(text, end);
    if (quoted ? (c == quote || c == '\n')
               : (IsSpace(c) || c == ',' || c == ';' || c == '}' || c == ')' || c == ']' ||
                  c == '&' || c == '"' || c == '\'' || c == '<' || c == '>')) {
      break;
    }
    ++end;
  }
  std::string_view value = text.substr(v, end - v);
  if (IsPlaceholder(value) || CharClasses(value) < 2) return;
  if (kind == KeyKind::kPassword && value.size() >= 6) {
    emit.Add(EntityType::kPassword, v, end);
  } else if (kind == KeyKind::kSecret && value.size() >= 16 && EntropyBitsPerByte(value) >= 3.0) {
    emit.Add(EntityType::kSecret, v, end);
  }
}

// One pass per operator byte: key = value / key: value assignments, and URLs with passwords
// (anchored on the ':' of "://").
void DetectAssignmentsAndUrls(std::string_view text, Emitter& emit) {
  const bool passwords = emit.Enabled(EntityType::kPassword);
  const bool assignments = passwords || emit.Enabled(EntityType::kSecret);
  for (char op : {'=', ':'}) {
    for (size_t p = NextByte(text, 0, op); p != npos; p = NextByte(text, p + 1, op)) {
      if (op == ':' && passwords && ByteOr0(text, p + 1) == '/' && ByteOr0(text, p + 2) == '/') {
        CheckUrlPassword(text, p, emit);
      } else if (assignments) {
        CheckAssignment(text, p, emit);
      }
    }
  }
}

}  // namespace

void DetectSecrets(std::string_view text, Emitter& emit) {
  if (emit.Enabled(EntityType::kPrivateKey)) DetectPrivateKeys(text, emit);
  if (emit.Enabled(EntityType::kCloudAccessKey)) DetectCloudAccessKeys(text, emit);
  if (emit.Enabled(EntityType::kBearerToken)) DetectBearerTokens(text, emit);
  if (emit.Enabled(EntityType::kJwt)) DetectJwts(text, emit);
  DetectAssignmentsAndUrls(text, emit);
}

}  // namespace tandem::router::internal
