#include "tandem/agent/watchdog.h"

#include <fmt/format.h>

namespace tandem::agent {
namespace {

constexpr size_t kHistory = 8;

std::string Shorten(const std::string& signature) {
  return signature.size() > 120 ? signature.substr(0, 117) + "..." : signature;
}

}  // namespace

WatchdogVerdict Watchdog::Trigger(std::string reason) {
  reason_ = std::move(reason);
  ++recoveries_;
  return recoveries_ > options_.max_recoveries ? WatchdogVerdict::kStop : WatchdogVerdict::kReplan;
}

WatchdogVerdict Watchdog::CheckProposal(const std::string& signature) {
  // The proposal would make the last repeat_limit actions identical.
  size_t needed = static_cast<size_t>(options_.repeat_limit - 1);
  if (needed > 0 && recent_.size() >= needed) {
    bool all_same = true;
    for (size_t i = recent_.size() - needed; i < recent_.size(); ++i) {
      all_same = all_same && recent_[i] == signature;
    }
    if (all_same) {
      return Trigger(fmt::format("the same action was proposed {} times in a row: {}",
                                 options_.repeat_limit, Shorten(signature)));
    }
  }
  // The proposal would complete an A-B-A-B cycle.
  if (recent_.size() >= 3) {
    const std::string& a = recent_[recent_.size() - 3];
    const std::string& b = recent_[recent_.size() - 2];
    if (a != b && recent_.back() == a && signature == b) {
      return Trigger(fmt::format("two actions alternate without progress (A-B-A-B): {} / {}",
                                 Shorten(a), Shorten(b)));
    }
  }
  return WatchdogVerdict::kProceed;
}

WatchdogVerdict Watchdog::RecordResult(const std::string& signature, bool failed) {
  recent_.push_back(signature);
  if (recent_.size() > kHistory) recent_.pop_front();
  failure_streak_ = failed ? failure_streak_ + 1 : 0;
  if (failure_streak_ >= options_.failure_limit) {
    failure_streak_ = 0;
    return Trigger(fmt::format("{} steps in a row failed", options_.failure_limit));
  }
  return WatchdogVerdict::kProceed;
}

}  // namespace tandem::agent
