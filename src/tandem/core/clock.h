// Time as a replaceable dependency, so retries, budgets and timeouts are testable without sleeping.
#pragma once

#include <chrono>

namespace tandem {

// Thread-safe implementations required.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
  virtual std::chrono::steady_clock::time_point Monotonic() const = 0;
  virtual void SleepFor(std::chrono::milliseconds duration) = 0;
};

// The real clock. Thread-safe.
Clock& SystemClock();

// Milliseconds since the Unix epoch of a system time.
int64_t ToUnixMillis(std::chrono::system_clock::time_point time);

}  // namespace tandem
