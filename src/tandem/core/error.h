// Error values returned across every module boundary, and the Result alias built on them.
//
//   Result<Config> config = LoadConfig(options);
//   if (!config) return std::unexpected(std::move(config.error()).WithContext("starting run"));
#pragma once

#include <fmt/format.h>

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace tandem {

// Chosen by what the caller should do next (retry, wait, give up, fix state, stop).
enum class ErrorCode {
  kInvalidArgument,     // This input is wrong; do not retry it as is.
  kNotFound,            // The named thing does not exist.
  kAlreadyExists,       // Creating something that is already there.
  kFailedPrecondition,  // Fix the system's state first (e.g. newer database version).
  kPermissionDenied,    // Refused by policy or the operating system.
  kUnauthenticated,     // Credentials missing or rejected.
  kUnavailable,         // Transient: retrying later may succeed.
  kRateLimited,         // Wait, then retry.
  kDeadlineExceeded,    // A timeout elapsed.
  kCancelled,           // The user or a signal asked to stop.
  kBudgetExhausted,     // A configured budget ran out; stop cleanly.
  kDataLoss,            // Stored data is corrupt.
  kInternal,            // A bug or an unexpected system failure.
};

// Stable snake_case name of a code, e.g. "invalid_argument".
std::string_view ErrorCodeName(ErrorCode code);

class [[nodiscard]] Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  Error(ErrorCode code, std::string reason, std::string message)
      : code_(code), reason_(std::move(reason)), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  // A finer, machine-readable cause within the code, e.g. "context_length" or "quota" for a
  // provider error; empty when the code says it all.
  const std::string& reason() const { return reason_; }
  // The message with its context chain, outermost first: "loading config: line 3: ...".
  const std::string& message() const { return message_; }

  // Prepends "context: " to the message; use when passing an error up a layer.
  Error WithContext(std::string_view context) &&;
  Error WithContext(std::string_view context) const&;

  // "invalid_argument: message".
  std::string ToString() const;

 private:
  ErrorCode code_;
  std::string reason_;
  std::string message_;
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> MakeError(ErrorCode code, std::string message) {
  return std::unexpected<Error>(std::in_place, code, std::move(message));
}

template <typename... Args>
std::unexpected<Error> MakeError(ErrorCode code, fmt::format_string<Args...> format,
                                 Args&&... args) {
  return MakeError(code, fmt::format(format, std::forward<Args>(args)...));
}

// Adds context to the error of a failed result, leaving a success untouched.
template <typename T>
Result<T> WithContext(Result<T>&& result, std::string_view context) {
  if (result) return std::move(result);
  return std::unexpected(std::move(result.error()).WithContext(context));
}

}  // namespace tandem
