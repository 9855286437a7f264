// Schedule: cost of finding the next due time (schedule::NextDue, DST-aware, day-skipping search)
// against a naive peer measured in the same run: step minute by minute, converting each instant
// to local time and testing the fields.
#include <benchmark/benchmark.h>
#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include "tandem/schedule/cron.h"

namespace {

using tandem::schedule::CronExpr;
using tandem::schedule::TimePoint;

const char* const kExpressions[] = {"*/15 * * * *", "0 8 * * MON", "30 2 1 * *"};

TimePoint Start() {
  return cctz::convert(cctz::civil_second(2026, 11, 25, 10, 10, 0), cctz::utc_time_zone());
}

bool Matches(const CronExpr& cron, const cctz::civil_minute& local) {
  cctz::civil_day day(local);
  int weekday = (static_cast<int>(cctz::get_weekday(day)) + 1) % 7;  // cctz: monday = 0.
  bool dom = cron.days[static_cast<size_t>(local.day())];
  bool dow = cron.weekdays[static_cast<size_t>(weekday)];
  bool day_ok = cron.days_restricted && cron.weekdays_restricted ? dom || dow : dom && dow;
  return day_ok && cron.months[static_cast<size_t>(local.month())] &&
         cron.hours[static_cast<size_t>(local.hour())] &&
         cron.minutes[static_cast<size_t>(local.minute())];
}

// The peer: no DST rules, just the first minute whose local time matches.
TimePoint NaiveNext(const CronExpr& cron, const cctz::time_zone& zone, TimePoint after) {
  auto t = std::chrono::time_point_cast<std::chrono::minutes>(after) + std::chrono::minutes(1);
  for (int i = 0; i < 5 * 366 * 24 * 60; ++i, t += std::chrono::minutes(1)) {
    if (Matches(cron, cctz::civil_minute(cctz::convert(t, zone)))) return t;
  }
  return after;
}

void BM_NextDue(benchmark::State& state) {
  auto cron = tandem::schedule::ParseCron(kExpressions[state.range(0)]);
  auto zone = tandem::schedule::TimeZone::Load("Europe/Berlin");
  TimePoint cursor = Start();
  for (auto _ : state) {
    cursor = *tandem::schedule::NextDue(*cron, *zone, cursor);
    benchmark::DoNotOptimize(cursor);
  }
  state.SetLabel(kExpressions[state.range(0)]);
}
BENCHMARK(BM_NextDue)->DenseRange(0, 2);

void BM_NaiveNextPeer(benchmark::State& state) {
  auto cron = tandem::schedule::ParseCron(kExpressions[state.range(0)]);
  cctz::time_zone zone;
  cctz::load_time_zone("Europe/Berlin", &zone);
  TimePoint cursor = Start();
  for (auto _ : state) {
    cursor = NaiveNext(*cron, zone, cursor);
    benchmark::DoNotOptimize(cursor);
  }
  state.SetLabel(kExpressions[state.range(0)]);
}
BENCHMARK(BM_NaiveNextPeer)->DenseRange(0, 2);

}  // namespace

BENCHMARK_MAIN();
