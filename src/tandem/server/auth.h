// Users, passwords, API tokens and browser sessions for the server. Passwords are hashed with
// Argon2id (libsodium); tokens and session cookies are random and only their hashes are stored.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "tandem/core/clock.h"
#include "tandem/core/error.h"
#include "tandem/store/task_store.h"

namespace tandem::server {

enum class Role { kViewer, kMember, kAdmin };
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

struct AuthOptions {
  // Argon2id cost. Interactive limits (~64 MiB, a fraction of a second) by default; tests use
  // the minimum so they stay fast.
  unsigned long long pwhash_opslimit = 0;       // 0: crypto_pwhash_OPSLIMIT_INTERACTIVE.
  size_t pwhash_memlimit = 0;                   // 0: crypto_pwhash_MEMLIMIT_INTERACTIVE.
  int64_t session_ttl_ms = 12LL * 3600 * 1000;  // How long a sign-in lasts.
  int max_failed_logins = 5;  // Failures per user name before sign-in is refused for a while.
  int64_t lockout_ms = 15LL * 60 * 1000;  // How long that refusal lasts.
  int64_t failed_login_delay_ms = 500;    // Added to every failed sign-in (slows guessing).
};

// Who is making a request.
struct Principal {
  std::string user;
  Role role = Role::kViewer;
  bool via_cookie = false;  // Cookie sessions need a CSRF token on state-changing requests.
  std::string csrf_token;   // The session's token (cookie sessions only).
};

struct LoginResult {
  enum class Outcome { kOk, kRejected, kLockedOut };
  Outcome outcome = Outcome::kRejected;
  Principal principal;
  std::string session_token;  // The cookie value (kOk only).
};

// Hashes `password` with Argon2id; returns the libsodium string form.
Result<std::string> HashPassword(std::string_view password, const AuthOptions& options = {});
// True when `password` matches `hash` (constant-time in the password).
bool VerifyPassword(std::string_view password, const std::string& hash);
// 32 random bytes as hex with a "tdm_" prefix.
std::string NewSecret();
// Hex BLAKE2b-256 of `secret` (what the store keeps).
std::string HashSecret(std::string_view secret);

// Creates a user; fails with kInvalidArgument for an empty name or a password shorter than 8
// characters, kAlreadyExists for a taken name.
Status AddUser(store::TaskStore& store, std::string_view name, Role role, std::string_view password,
               const AuthOptions& options = {}, Clock& clock = SystemClock());
// Issues a new API token for an existing user and returns it (shown once; only its hash is kept).
Result<std::string> IssueApiToken(store::TaskStore& store, std::string_view user,
                                  Clock& clock = SystemClock());

// Checks credentials. Thread-safe (failure counts are guarded by mu_).
class Authenticator {
 public:
  // `store` is not owned and must outlive this object.
  Authenticator(store::TaskStore* store, AuthOptions options, Clock* clock = &SystemClock());

  // Signs in with a password. Takes the same time whether the user exists or not; every failure
  // waits failed_login_delay_ms; after max_failed_logins failures the name is locked out.
  Result<LoginResult> Login(std::string_view user, std::string_view password);
  // The principal for a bearer token or a session cookie value; nullopt when unknown/expired.
  Result<std::optional<Principal>> FromApiToken(std::string_view token);
  Result<std::optional<Principal>> FromSession(std::string_view session_token);
  Status Logout(std::string_view session_token);

 private:
  struct Failures {
    int count = 0;
    int64_t locked_until_ms = 0;
  };
  Result<std::optional<Principal>> PrincipalFor(const std::string& user_name);

  store::TaskStore* store_;
  AuthOptions options_;
  Clock* clock_;
  std::string dummy_hash_;  // Verified against for unknown users, so timing does not tell.
  std::mutex mu_;
  std::map<std::string, Failures, std::less<>> failures_;  // GUARDED_BY(mu_)
};

}  // namespace tandem::server
