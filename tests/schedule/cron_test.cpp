// Cron parsing and due times in IANA time zones, DST transitions included.
#include "tandem/schedule/cron.h"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tandem::schedule {
namespace {

using ::testing::HasSubstr;

TimePoint Utc(int y, int mo, int d, int h, int mi, int s = 0) {
  return cctz::convert(cctz::civil_second(y, mo, d, h, mi, s), cctz::utc_time_zone());
}

TimeZone Zone(std::string_view name) {
  Result<TimeZone> zone = TimeZone::Load(name);
  EXPECT_TRUE(zone) << zone.error().message();
  return *zone;
}

CronExpr Cron(std::string_view text) {
  Result<CronExpr> cron = ParseCron(text);
  EXPECT_TRUE(cron) << text << ": " << cron.error().message();
  return cron.value_or(CronExpr{});
}

std::string ErrorOf(std::string_view text) {
  Result<CronExpr> cron = ParseCron(text);
  EXPECT_FALSE(cron) << text << " should not parse";
  return cron ? "" : cron.error().message();
}

// The next due time as "YYYY-MM-DD HH:MM" UTC, or "never".
std::string Next(std::string_view cron, std::string_view zone, TimePoint after) {
  std::optional<TimePoint> next = NextDue(Cron(cron), Zone(zone), after);
  return next ? Zone("UTC").Format(*next) : "never";
}

TEST(CronParseTest, ReadsListsRangesStepsAndNames) {
  CronExpr cron = Cron("*/15 9-17/4 1,15 jan,JUL-Aug MON-FRI");
  EXPECT_EQ(cron.minutes.count(), 4u);
  EXPECT_TRUE(cron.minutes[0] && cron.minutes[15] && cron.minutes[30] && cron.minutes[45]);
  EXPECT_EQ(cron.hours.count(), 3u);
  EXPECT_TRUE(cron.hours[9] && cron.hours[13] && cron.hours[17]);
  EXPECT_EQ(cron.days.count(), 2u);
  EXPECT_TRUE(cron.days[1] && cron.days[15]);
  EXPECT_EQ(cron.months.count(), 3u);
  EXPECT_TRUE(cron.months[1] && cron.months[7] && cron.months[8]);
  EXPECT_EQ(cron.weekdays.count(), 5u);
  EXPECT_FALSE(cron.weekdays[0]);
  EXPECT_TRUE(cron.days_restricted);
  EXPECT_TRUE(cron.weekdays_restricted);
  EXPECT_FALSE(cron.hours_wildcard);
}

TEST(CronParseTest, StartWithStepRunsToTheFieldEndAndSevenIsSunday) {
  CronExpr cron = Cron("5/20 * * * 7");
  EXPECT_EQ(cron.minutes.count(), 3u);
  EXPECT_TRUE(cron.minutes[5] && cron.minutes[25] && cron.minutes[45]);
  EXPECT_TRUE(cron.weekdays[0]);
  EXPECT_EQ(cron.weekdays.count(), 1u);
  EXPECT_TRUE(cron.hours_wildcard);
  EXPECT_FALSE(cron.days_restricted);
}

TEST(CronParseTest, ShortcutsExpand) {
  EXPECT_EQ(Cron("@hourly").hours.count(), 24u);
  EXPECT_EQ(Cron("@hourly").minutes.count(), 1u);
  EXPECT_EQ(Cron("@daily").hours.count(), 1u);
  CronExpr weekly = Cron("@weekly");
  EXPECT_TRUE(weekly.weekdays[0]);
  EXPECT_EQ(weekly.weekdays.count(), 1u);
  CronExpr monthly = Cron("@monthly");
  EXPECT_TRUE(monthly.days[1]);
  EXPECT_EQ(monthly.days.count(), 1u);
}

TEST(CronParseTest, BadInputNamesTheFieldAndTheToken) {
  EXPECT_THAT(ErrorOf(""), HasSubstr("expected 5 fields"));
  EXPECT_THAT(ErrorOf("* * * *"), HasSubstr("got 4"));
  EXPECT_THAT(ErrorOf("* * * * * *"), HasSubstr("got 6"));
  EXPECT_THAT(ErrorOf("61 * * * *"), HasSubstr("minute field: bad token '61'"));
  EXPECT_THAT(ErrorOf("0 24 * * *"), HasSubstr("hour field: bad token '24'"));
  EXPECT_THAT(ErrorOf("0 0 0 * *"), HasSubstr("day-of-month field: bad token '0'"));
  EXPECT_THAT(ErrorOf("0 0 * FOO *"), HasSubstr("month field: bad token 'FOO'"));
  EXPECT_THAT(ErrorOf("0 0 * * MON-SUN"), HasSubstr("day-of-week field: bad token 'MON-SUN'"));
  EXPECT_THAT(ErrorOf("0 0 * * MON-SUN"), HasSubstr("backwards"));
  EXPECT_THAT(ErrorOf("*/0 * * * *"), HasSubstr("minute field: bad token '*/0'"));
  EXPECT_THAT(ErrorOf("1,,2 * * * *"), HasSubstr("empty list item"));
  EXPECT_THAT(ErrorOf("5- * * * *"), HasSubstr("bad token '5-'"));
  EXPECT_THAT(ErrorOf("-5 * * * *"), HasSubstr("bad token '-5'"));
  EXPECT_THAT(ErrorOf("1.5 * * * *"), HasSubstr("bad token '1.5'"));
  EXPECT_THAT(ErrorOf("0 0 * JAN/x *"), HasSubstr("month field: bad token 'JAN/x'"));
  EXPECT_THAT(ErrorOf("99999999 * * * *"), HasSubstr("bad token '99999999'"));
  EXPECT_THAT(ErrorOf("@reboot"), HasSubstr("unknown shortcut '@reboot'"));
  EXPECT_THAT(ErrorOf(std::string_view("0 \0 * * *", 9)), HasSubstr("hour field"));
}

TEST(TimeZoneTest, UnknownOrMalformedNamesAreRefused) {
  for (std::string_view name : {"Mars/Olympus", "", "../../etc/passwd", "/etc/localtime",
                                "Europe/../../x", "Europe/Berlin\n"}) {
    Result<TimeZone> zone = TimeZone::Load(name);
    ASSERT_FALSE(zone) << name;
    EXPECT_THAT(zone.error().message(), HasSubstr("unknown time zone"));
  }
  EXPECT_TRUE(TimeZone::Load("UTC"));
  EXPECT_TRUE(TimeZone::Load("America/New_York"));
}

TEST(NextDueTest, WeeklyJobInBerlinIsConvertedToUtc) {
  // Wednesday 2026-11-25; Berlin is UTC+1 in winter.
  EXPECT_EQ(Next("0 8 * * MON", "Europe/Berlin", Utc(2026, 11, 25, 12, 0)), "2026-11-30 07:00");
  // In summer, UTC+2.
  EXPECT_EQ(Next("0 8 * * MON", "Europe/Berlin", Utc(2026, 6, 3, 12, 0)), "2026-06-08 06:00");
}

TEST(NextDueTest, IsStrictlyAfterTheGivenTime) {
  EXPECT_EQ(Next("0 * * * *", "UTC", Utc(2026, 1, 1, 10, 0)), "2026-01-01 11:00");
  EXPECT_EQ(Next("0 * * * *", "UTC", Utc(2026, 1, 1, 9, 59, 59)), "2026-01-01 10:00");
  EXPECT_EQ(Next("* * * * *", "UTC", Utc(2026, 12, 31, 23, 59, 30)), "2027-01-01 00:00");
}

TEST(NextDueTest, RestrictedDayFieldsMatchEitherOtherwiseBoth) {
  TimePoint wednesday = Utc(2026, 11, 25, 12, 0);
  EXPECT_EQ(Next("0 0 13 * FRI", "UTC", wednesday), "2026-11-27 00:00");  // A Friday.
  EXPECT_EQ(Next("0 0 13 * *", "UTC", wednesday), "2026-12-13 00:00");
  EXPECT_EQ(Next("0 0 * * FRI", "UTC", wednesday), "2026-11-27 00:00");
  EXPECT_EQ(Next("0 0 */10 * *", "UTC", wednesday), "2026-12-01 00:00");
  EXPECT_EQ(Next("0 0 1-7 * MON", "UTC", Utc(2026, 12, 1, 12, 0)), "2026-12-02 00:00");
}

TEST(NextDueTest, LeapDayAndImpossibleDates) {
  EXPECT_EQ(Next("0 0 29 FEB *", "UTC", Utc(2026, 3, 1, 0, 0)), "2028-02-29 00:00");
  EXPECT_EQ(Next("0 0 30 2 *", "UTC", Utc(2026, 3, 1, 0, 0)), "never");
  EXPECT_EQ(Next("0 0 31 4,6 *", "UTC", Utc(2026, 3, 1, 0, 0)), "never");
}

TEST(NextDueTest, SpringForwardRunsASkippedTimeAtTheJump) {
  // Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC); 02:30 never happens.
  TimeZone berlin = Zone("Europe/Berlin");
  CronExpr cron = Cron("30 2 * * *");
  std::optional<TimePoint> first = NextDue(cron, berlin, Utc(2026, 3, 28, 12, 0));
  ASSERT_TRUE(first);
  EXPECT_EQ(Zone("UTC").Format(*first), "2026-03-29 01:00");
  EXPECT_EQ(berlin.Format(*first), "2026-03-29 03:00");
  std::optional<TimePoint> second = NextDue(cron, berlin, *first);
  ASSERT_TRUE(second);
  EXPECT_EQ(berlin.Format(*second), "2026-03-30 02:30");
  // Several skipped times of one job still run once, at the jump.
  CronExpr every_quarter = Cron("*/15 2 * * *");
  std::optional<TimePoint> jump = NextDue(every_quarter, berlin, Utc(2026, 3, 28, 23, 0));
  ASSERT_TRUE(jump);
  EXPECT_EQ(berlin.Format(*jump), "2026-03-29 03:00");
  std::optional<TimePoint> after_jump = NextDue(every_quarter, berlin, *jump);
  ASSERT_TRUE(after_jump);
  EXPECT_EQ(berlin.Format(*after_jump), "2026-03-30 02:00");
}

TEST(NextDueTest, FallBackRunsAFixedTimeOnce) {
  // New York, 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:30 happens twice
  // (05:30 and 06:30 UTC).
  TimeZone new_york = Zone("America/New_York");
  CronExpr cron = Cron("30 1 * * *");
  std::optional<TimePoint> first = NextDue(cron, new_york, Utc(2026, 10, 31, 12, 0));
  ASSERT_TRUE(first);
  EXPECT_EQ(Zone("UTC").Format(*first), "2026-11-01 05:30");
  std::optional<TimePoint> second = NextDue(cron, new_york, *first);
  ASSERT_TRUE(second);
  EXPECT_EQ(Zone("UTC").Format(*second), "2026-11-02 06:30");
  // Started between the two passes, it waits for the next day.
  EXPECT_EQ(Next("30 1 * * *", "America/New_York", Utc(2026, 11, 1, 6, 0)), "2026-11-02 06:30");
}

TEST(NextDueTest, FallBackRunsHourlyJobsInBothPasses) {
  TimeZone new_york = Zone("America/New_York");
  CronExpr cron = Cron("30 * * * *");
  std::vector<std::string> due;
  TimePoint cursor = Utc(2026, 11, 1, 4, 0);  // 00:00 EDT.
  for (int i = 0; i < 4; ++i) {
    std::optional<TimePoint> next = NextDue(cron, new_york, cursor);
    ASSERT_TRUE(next);
    due.push_back(Zone("UTC").Format(*next));
    cursor = *next;
  }
  EXPECT_THAT(due, ::testing::ElementsAre("2026-11-01 04:30", "2026-11-01 05:30",
                                          "2026-11-01 06:30", "2026-11-01 07:30"));
}

}  // namespace
}  // namespace tandem::schedule
