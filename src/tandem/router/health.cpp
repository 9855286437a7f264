#include "tandem/router/health.h"

#include <fmt/format.h>

namespace tandem::router {

ProviderHealth::ProviderHealth(HealthConfig config, Clock& clock)
    : config_(config), clock_(clock) {}

bool ProviderHealth::AvailableLocked(const Breaker& breaker) const {
  if (!breaker.open) return true;
  return clock_.Monotonic() >= breaker.open_until && !breaker.trial_in_flight;
}

bool ProviderHealth::IsAvailable(const std::string& provider) const {
  std::lock_guard lock(mu_);
  auto it = breakers_.find(provider);
  return it == breakers_.end() || AvailableLocked(it->second);
}

bool ProviderHealth::Admit(const std::string& provider) {
  std::lock_guard lock(mu_);
  Breaker& breaker = breakers_[provider];
  if (!AvailableLocked(breaker)) return false;
  if (breaker.open) breaker.trial_in_flight = true;  // Half-open: this call is the trial.
  return true;
}

void ProviderHealth::RecordSuccess(const std::string& provider) {
  std::lock_guard lock(mu_);
  Breaker& breaker = breakers_[provider];
  breaker = Breaker{.last_error = std::move(breaker.last_error)};
}

void ProviderHealth::RecordFailure(const std::string& provider, std::string_view error) {
  std::lock_guard lock(mu_);
  Breaker& breaker = breakers_[provider];
  ++breaker.consecutive_failures;
  breaker.last_error = error.empty() ? "failed" : std::string(error);
  breaker.trial_in_flight = false;
  if (breaker.open || breaker.consecutive_failures >= config_.failure_threshold) {
    breaker.open = true;
    breaker.open_until =
        clock_.Monotonic() + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::duration<double>(config_.cooldown_s));
  }
}

std::optional<std::chrono::milliseconds> ProviderHealth::TimeUntilAvailable(
    const std::string& provider) const {
  std::lock_guard lock(mu_);
  auto it = breakers_.find(provider);
  if (it == breakers_.end() || !it->second.open) return std::chrono::milliseconds(0);
  if (it->second.trial_in_flight) return std::nullopt;
  auto left = it->second.open_until - clock_.Monotonic();
  if (left.count() <= 0) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(left);
}

std::string ProviderHealth::LastError(const std::string& provider) const {
  std::lock_guard lock(mu_);
  auto it = breakers_.find(provider);
  return it == breakers_.end() ? "" : it->second.last_error;
}

std::string ProviderHealth::Describe(const std::string& provider) const {
  std::lock_guard lock(mu_);
  auto it = breakers_.find(provider);
  if (it == breakers_.end() || !it->second.open) return "closed";
  if (it->second.trial_in_flight) return "half-open (trial in flight)";
  auto left =
      std::chrono::duration_cast<std::chrono::seconds>(it->second.open_until - clock_.Monotonic());
  if (left.count() <= 0) return "half-open (next call is a trial)";
  return fmt::format("open (retry in {}s)", left.count());
}

}  // namespace tandem::router
