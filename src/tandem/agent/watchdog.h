// Detects an agent that is stuck: the same action repeated, two actions alternating (A-B-A-B),
// or a streak of failed steps. It answers re-plan a bounded number of times, then stop.
#pragma once

#include <deque>
#include <string>

namespace tandem::agent {

struct WatchdogOptions {
  int repeat_limit = 3;    // The same action this many times in a row is a loop.
  int failure_limit = 5;   // This many failed steps in a row is no progress.
  int max_recoveries = 2;  // Re-plans allowed before the task is stopped.
};

enum class WatchdogVerdict {
  kProceed,  // Run the action.
  kReplan,   // Do not run it; tell the model to step back (and allow a stronger model).
  kStop,     // Recoveries exhausted: stop the task with reason().
};

// Not thread-safe: one per running task.
class Watchdog {
 public:
  explicit Watchdog(WatchdogOptions options = {}) : options_(options) {}

  // Called with each proposed action's signature (tool name + canonical arguments) before it
  // runs.
  WatchdogVerdict CheckProposal(const std::string& signature);
  // Called after an action ran, with whether it failed.
  WatchdogVerdict RecordResult(const std::string& signature, bool failed);

  // What was detected, for the model's re-plan note and the stop reason.
  const std::string& reason() const { return reason_; }
  int recoveries() const { return recoveries_; }

 private:
  WatchdogVerdict Trigger(std::string reason);

  WatchdogOptions options_;
  std::deque<std::string> recent_;  // Signatures of the last actions that ran, newest last.
  int failure_streak_ = 0;
  int recoveries_ = 0;
  std::string reason_;
};

}  // namespace tandem::agent
