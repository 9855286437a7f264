// Provider health: a circuit breaker per provider. After `failure_threshold` consecutive
// failures a provider is skipped for `cooldown_s`; then one trial call is let through, which
// closes the circuit on success and re-opens it on failure.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "tandem/core/clock.h"
#include "tandem/router/routing_config.h"

namespace tandem::router {

// Thread-safe: every member is guarded by mu_.
class ProviderHealth {
 public:
  // `clock` must outlive this object.
  ProviderHealth(HealthConfig config, Clock& clock);

  // True when a call may be attempted now without changing state (for decisions and explain).
  bool IsAvailable(const std::string& provider) const;
  // True when a call may be attempted now; in the half-open state it admits one trial at a time.
  bool Admit(const std::string& provider);
  void RecordSuccess(const std::string& provider);
  // `error` says what failed (an error code name); provider messages are not kept, since
  // they may echo the prompt.
  void RecordFailure(const std::string& provider, std::string_view error = {});
  // The `error` of the provider's latest failure, "" when it never failed.
  std::string LastError(const std::string& provider) const;

  // How long until `provider` admits a call again: zero when available now, nullopt while a
  // half-open trial is in flight (unknown).
  std::optional<std::chrono::milliseconds> TimeUntilAvailable(const std::string& provider) const;

  // "closed", "open (retry in 12s)" or "half-open (trial in flight)".
  std::string Describe(const std::string& provider) const;

 private:
  struct Breaker {
    int consecutive_failures = 0;
    bool open = false;
    bool trial_in_flight = false;
    std::chrono::steady_clock::time_point open_until{};
    std::string last_error;  // Kept across successes: it is history, not state.
  };
  bool AvailableLocked(const Breaker& breaker) const;

  HealthConfig config_;
  Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, Breaker> breakers_;  // GUARDED_BY(mu_)
};

}  // namespace tandem::router
