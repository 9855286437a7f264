#include "tandem/server/auth.h"

#include <fmt/format.h>
#include <sodium.h>

#include <array>
#include <cctype>

namespace tandem::server {
namespace {

std::string ToHex(const unsigned char* data, size_t size) {
  std::string hex(size * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), data, size);
  hex.pop_back();
  return hex;
}

// Sign-in failure counters kept at most (per user name).
constexpr size_t kMaxTrackedNames = 10000;

bool EnsureSodium() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kMember:
      return "member";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role role : {Role::kViewer, Role::kMember, Role::kAdmin}) {
    if (RoleName(role) == name) return role;
  }
  return std::nullopt;
}

Result<std::string> HashPassword(std::string_view password, const AuthOptions& options) {
  if (!EnsureSodium()) return MakeError(ErrorCode::kInternal, "libsodium failed to initialise");
  std::array<char, crypto_pwhash_STRBYTES> out{};
  unsigned long long ops =
      options.pwhash_opslimit != 0 ? options.pwhash_opslimit : crypto_pwhash_OPSLIMIT_INTERACTIVE;
  size_t mem =
      options.pwhash_memlimit != 0 ? options.pwhash_memlimit : crypto_pwhash_MEMLIMIT_INTERACTIVE;
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), ops, mem,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return MakeError(ErrorCode::kUnavailable, "hashing the password ran out of memory");
  }
  return std::string(out.data());
}

bool VerifyPassword(std::string_view password, const std::string& hash) {
  if (!EnsureSodium()) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

std::string NewSecret() {
  EnsureSodium();
  std::array<unsigned char, 32> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  return "tdm_" + ToHex(bytes.data(), bytes.size());
}

std::string HashSecret(std::string_view secret) {
  EnsureSodium();
  std::array<unsigned char, crypto_generichash_BYTES> digest{};
  crypto_generichash(digest.data(), digest.size(),
                     reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), nullptr,
                     0);
  return ToHex(digest.data(), digest.size());
}

Status AddUser(store::TaskStore& store, std::string_view name, Role role, std::string_view password,
               const AuthOptions& options, Clock& clock) {
  if (name.empty() || name.size() > 64) {
    return MakeError(ErrorCode::kInvalidArgument, "a user name needs 1 to 64 characters");
  }
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' ||
              c == '.' || c == '@';
    if (!ok) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "user name '{}' may contain only letters, digits and _ - . @", name);
    }
  }
  if (password.size() < 8) {
    return MakeError(ErrorCode::kInvalidArgument, "the password needs at least 8 characters");
  }
  Result<std::string> hash = HashPassword(password, options);
  if (!hash) return std::unexpected(hash.error());
  return store.CreateUser({.name = std::string(name),
                           .role = std::string(RoleName(role)),
                           .password_hash = std::move(*hash),
                           .created_at_ms = ToUnixMillis(clock.Now())});
}

Result<std::string> IssueApiToken(store::TaskStore& store, std::string_view user, Clock& clock) {
  Result<std::optional<store::UserRecord>> found = store.GetUser(user);
  if (!found) return std::unexpected(found.error());
  if (!*found) return MakeError(ErrorCode::kNotFound, "no user {}", user);
  std::string token = NewSecret();
  Status saved = store.SaveApiToken({.token_hash = HashSecret(token),
                                     .user_name = std::string(user),
                                     .created_at_ms = ToUnixMillis(clock.Now())});
  if (!saved) return std::unexpected(saved.error());
  return token;
}

Authenticator::Authenticator(store::TaskStore* store, AuthOptions options, Clock* clock)
    : store_(store), options_(options), clock_(clock) {
  // A hash of a random password with the same cost as real ones: unknown users pay the same.
  dummy_hash_ = HashPassword(NewSecret(), options_).value_or("");
}

Result<LoginResult> Authenticator::Login(std::string_view user, std::string_view password) {
  int64_t now = ToUnixMillis(clock_->Now());
  {
    std::lock_guard lock(mu_);
    auto it = failures_.find(user);
    if (it != failures_.end() && it->second.locked_until_ms > now) {
      return LoginResult{.outcome = LoginResult::Outcome::kLockedOut};
    }
  }
  Result<std::optional<store::UserRecord>> found = store_->GetUser(user);
  if (!found) return std::unexpected(found.error());
  // Verify even when the user is unknown, against a hash of equal cost.
  const std::string& hash = *found ? (*found)->password_hash : dummy_hash_;
  bool ok = VerifyPassword(password, hash) && found->has_value();
  if (!ok) {
    {
      std::lock_guard lock(mu_);
      if (failures_.size() >= kMaxTrackedNames) {
        // Guessing many names must not grow memory without bound: forget unlocked counts.
        std::erase_if(failures_,
                      [now](const auto& item) { return item.second.locked_until_ms <= now; });
      }
      Failures& failures = failures_[std::string(user)];
      if (++failures.count >= options_.max_failed_logins) {
        failures.locked_until_ms = now + options_.lockout_ms;
        failures.count = 0;
      }
    }
    if (options_.failed_login_delay_ms > 0) {
      clock_->SleepFor(std::chrono::milliseconds(options_.failed_login_delay_ms));
    }
    return LoginResult{.outcome = LoginResult::Outcome::kRejected};
  }
  {
    std::lock_guard lock(mu_);
    failures_.erase(std::string(user));
  }
  std::string session = NewSecret();
  std::string csrf = NewSecret();
  Status saved = store_->SaveSession({.token_hash = HashSecret(session),
                                      .user_name = std::string(user),
                                      .csrf_token = csrf,
                                      .expires_at_ms = now + options_.session_ttl_ms,
                                      .created_at_ms = now});
  if (!saved) return std::unexpected(saved.error());
  Role role = ParseRole((*found)->role).value_or(Role::kViewer);
  return LoginResult{.outcome = LoginResult::Outcome::kOk,
                     .principal = {.user = std::string(user),
                                   .role = role,
                                   .via_cookie = true,
                                   .csrf_token = std::move(csrf)},
                     .session_token = std::move(session)};
}

Result<std::optional<Principal>> Authenticator::PrincipalFor(const std::string& user_name) {
  Result<std::optional<store::UserRecord>> user = store_->GetUser(user_name);
  if (!user) return std::unexpected(user.error());
  if (!*user) return std::optional<Principal>();
  std::optional<Role> role = ParseRole((*user)->role);
  if (!role) return std::optional<Principal>();  // A row edited by hand: no access.
  return std::optional<Principal>(Principal{.user = user_name, .role = *role});
}

Result<std::optional<Principal>> Authenticator::FromApiToken(std::string_view token) {
  Result<std::optional<store::ApiTokenRecord>> found = store_->FindApiToken(HashSecret(token));
  if (!found) return std::unexpected(found.error());
  if (!*found) return std::optional<Principal>();
  return PrincipalFor((*found)->user_name);
}

Result<std::optional<Principal>> Authenticator::FromSession(std::string_view session_token) {
  Result<std::optional<store::SessionRecord>> found =
      store_->FindSession(HashSecret(session_token));
  if (!found) return std::unexpected(found.error());
  if (!*found || (*found)->expires_at_ms <= ToUnixMillis(clock_->Now())) {
    return std::optional<Principal>();
  }
  Result<std::optional<Principal>> principal = PrincipalFor((*found)->user_name);
  if (principal && *principal) {
    (*principal)->via_cookie = true;
    (*principal)->csrf_token = (*found)->csrf_token;
  }
  return principal;
}

Status Authenticator::Logout(std::string_view session_token) {
  return store_->DeleteSession(HashSecret(session_token));
}

}  // namespace tandem::server
