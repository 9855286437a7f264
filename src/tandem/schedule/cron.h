// Cron expressions read in an IANA time zone: parsing and the next due time, DST included.
#pragma once

#include <bitset>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tandem/core/error.h"

namespace tandem::schedule {

// A parsed 5-field expression: minute hour day-of-month month day-of-week. Immutable.
struct CronExpr {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;     // 1..31.
  std::bitset<13> months;   // 1..12.
  std::bitset<7> weekdays;  // 0 = Sunday.
  // Fields that did not start with '*'. When both day fields are restricted, a day matches if
  // either does (the usual cron rule); otherwise both must.
  bool days_restricted = false;
  bool weekdays_restricted = false;
  // The hour field started with '*': in a repeated (fall-back) hour such jobs run in both
  // passes, as interval jobs should; fixed-hour jobs run once, in the first pass.
  bool hours_wildcard = false;
};

// Parses "m h dom mon dow" (each field: *, N, A-B, lists, /step; names JAN-DEC and SUN-SAT,
// 7 = Sunday) or @hourly, @daily (@midnight), @weekly, @monthly, @yearly (@annually).
// Fails with kInvalidArgument naming the field and the bad token.
Result<CronExpr> ParseCron(std::string_view text);

using TimePoint = std::chrono::system_clock::time_point;

// A loaded IANA time zone (shared, immutable, cheap to copy).
class TimeZone {
 public:
  // Reads `name` (e.g. "Europe/Berlin", "UTC") from the system zoneinfo. Fails with
  // kInvalidArgument for an unknown or malformed name.
  static Result<TimeZone> Load(std::string_view name);
  const std::string& name() const { return name_; }
  // "YYYY-MM-DD HH:MM" in this zone.
  std::string Format(TimePoint time) const;

 private:
  friend std::optional<TimePoint> NextDue(const CronExpr&, const TimeZone&, TimePoint);
  struct Impl;
  TimeZone(std::string name, std::shared_ptr<const Impl> impl)
      : name_(std::move(name)), impl_(std::move(impl)) {}
  std::string name_;
  std::shared_ptr<const Impl> impl_;  // Shared: copies of a zone share the loaded rules.
};

// The first due time strictly after `after`, whole minutes. A local time skipped by a DST jump
// runs at the jump (02:30 on a spring-forward day runs at 03:00); a repeated local time runs
// once, at its first occurrence (unless the hour field is '*'). nullopt when the expression
// never matches within five years (e.g. "0 0 30 2 *").
std::optional<TimePoint> NextDue(const CronExpr& cron, const TimeZone& zone, TimePoint after);

}  // namespace tandem::schedule
