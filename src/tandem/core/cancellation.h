// Cooperative cancellation: long operations poll a token at safe points and stop cleanly.
#pragma once

#include <atomic>
#include <memory>

namespace tandem {

// A flag that any thread (or a signal handler) may set; readers stop at their next safe point.
// Thread-safe and async-signal-safe to Cancel().
class CancellationToken {
 public:
  void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool IsCancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> cancelled_{false};
};

// Routes SIGINT and SIGTERM to `token` for the lifetime of the guard (the previous handlers are
// restored afterwards). A second signal while cancelling restores the default action, so a
// third Ctrl-C always terminates. Only one guard may be alive at a time.
class SignalCancellation {
 public:
  explicit SignalCancellation(CancellationToken& token);
  ~SignalCancellation();
  SignalCancellation(const SignalCancellation&) = delete;
  SignalCancellation& operator=(const SignalCancellation&) = delete;

  // The signal that triggered cancellation, or 0.
  static int ReceivedSignal();
};

}  // namespace tandem
