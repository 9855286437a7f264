#include "tandem/schedule/cron.h"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <span>
#include <vector>

namespace tandem::schedule {
namespace {

struct Field {
  std::string_view name;
  int min, max;
  std::span<const std::string_view> names;  // names[i] stands for min + i.
};

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED",
                                                       "THU", "FRI", "SAT"};

constexpr std::array<Field, 5> kFields = {{
    {"minute", 0, 59, {}},
    {"hour", 0, 23, {}},
    {"day-of-month", 1, 31, {}},
    {"month", 1, 12, kMonthNames},
    {"day-of-week", 0, 7, kDayNames},  // 7 is Sunday too.
}};

Error BadToken(const Field& field, std::string_view token, std::string_view why) {
  return Error(ErrorCode::kInvalidArgument,
               fmt::format("cron {} field: bad token '{}' ({})", field.name, token, why));
}

// A number or (where the field has them) a name; nullopt when it is neither.
std::optional<int> ParseValue(const Field& field, std::string_view text) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int value = 0;
    for (char c : text)
      value = value * 10 + (c - '0');
    return value;
  }
  for (size_t i = 0; i < field.names.size(); ++i) {
    std::string_view name = field.names[i];
    if (text.size() == name.size() &&
        std::equal(text.begin(), text.end(), name.begin(), [](char a, char b) {
          return std::toupper(static_cast<unsigned char>(a)) == b;
        })) {
      return field.min + static_cast<int>(i);
    }
  }
  return std::nullopt;
}

// Parses one comma-separated item of `field` into `out` (indexed by value).
Status ParseItem(const Field& field, std::string_view item, std::vector<bool>& out) {
  std::string_view range = item;
  int step = 1;
  bool has_step = false;
  if (size_t slash = item.find('/'); slash != std::string_view::npos) {
    std::optional<int> parsed = ParseValue({field.name, 0, 0, {}}, item.substr(slash + 1));
    if (!parsed || *parsed < 1 || *parsed > field.max) {
      return std::unexpected(BadToken(field, item, fmt::format("step must be 1-{}", field.max)));
    }
    step = *parsed;
    has_step = true;
    range = item.substr(0, slash);
  }
  std::string allowed = field.names.empty()
                            ? fmt::format("allowed {}-{}", field.min, field.max)
                            : fmt::format("allowed {}-{} or {}-{}", field.min, field.max,
                                          field.names.front(), field.names.back());
  int low = field.min;
  int high = field.max;
  if (range != "*") {
    size_t dash = range.find('-');
    std::optional<int> first = ParseValue(field, range.substr(0, dash));
    if (!first || *first < field.min || *first > field.max) {
      return std::unexpected(BadToken(field, item, allowed));
    }
    low = *first;
    high = has_step ? field.max : low;  // "5/15" means 5-max/15.
    if (dash != std::string_view::npos) {
      std::optional<int> last = ParseValue(field, range.substr(dash + 1));
      if (!last || *last < field.min || *last > field.max) {
        return std::unexpected(BadToken(field, item, allowed));
      }
      if (*last < low) {
        return std::unexpected(BadToken(field, item, "range runs backwards"));
      }
      high = *last;
    }
  }
  for (int v = low; v <= high; v += step)
    out[static_cast<size_t>(v)] = true;
  return {};
}

Result<std::vector<bool>> ParseField(const Field& field, std::string_view text) {
  std::vector<bool> values(static_cast<size_t>(field.max) + 1, false);
  size_t pos = 0;
  while (true) {
    size_t comma = text.find(',', pos);
    std::string_view item =
        text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (item.empty()) return std::unexpected(BadToken(field, text, "empty list item"));
    if (Status parsed = ParseItem(field, item, values); !parsed) {
      return std::unexpected(parsed.error());
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return values;
}

template <size_t N>
void CopyBits(const std::vector<bool>& values, std::bitset<N>& bits) {
  for (size_t i = 0; i < N && i < values.size(); ++i)
    bits[i] = values[i];
}

std::string_view Expand(std::string_view text) {
  struct Macro {
    std::string_view name, expansion;
  };
  constexpr Macro kMacros[] = {{"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},
                               {"@midnight", "0 0 * * *"}, {"@weekly", "0 0 * * 0"},
                               {"@monthly", "0 0 1 * *"},  {"@yearly", "0 0 1 1 *"},
                               {"@annually", "0 0 1 1 *"}};
  for (const Macro& macro : kMacros) {
    if (text == macro.name) return macro.expansion;
  }
  return {};
}

bool ValidZoneName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' ||
      name.find("..") != std::string_view::npos) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '/' || c == '_' || c == '-' ||
           c == '+';
  });
}

int WeekdayIndex(cctz::weekday day) {
  switch (day) {
    case cctz::weekday::sunday:
      return 0;
    case cctz::weekday::monday:
      return 1;
    case cctz::weekday::tuesday:
      return 2;
    case cctz::weekday::wednesday:
      return 3;
    case cctz::weekday::thursday:
      return 4;
    case cctz::weekday::friday:
      return 5;
    case cctz::weekday::saturday:
      return 6;
  }
  return 0;
}

bool DayMatches(const CronExpr& cron, const cctz::civil_day& day) {
  if (!cron.months[static_cast<size_t>(day.month())]) return false;
  bool dom = cron.days[static_cast<size_t>(day.day())];
  bool dow = cron.weekdays[static_cast<size_t>(WeekdayIndex(cctz::get_weekday(day)))];
  if (cron.days_restricted && cron.weekdays_restricted) return dom || dow;
  return dom && dow;
}

// Offsets of one zone never move by more than this at a transition (the largest DST shift in
// use is two hours); it bounds the local times whose instants can straddle a given instant.
constexpr cctz::diff_t kMaxShiftMinutes = 3 * 60;
constexpr int kSearchDays = 5 * 366 + 2;

}  // namespace

Result<CronExpr> ParseCron(std::string_view text) {
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ')
    text.remove_suffix(1);
  if (!text.empty() && text.front() == '@') {
    std::string_view expanded = Expand(text);
    if (expanded.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "cron: unknown shortcut '{}' (@hourly, @daily, @weekly, @monthly, @yearly)",
                       text);
    }
    text = expanded;
  }
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos < text.size()) {
    if (text[pos] == ' ' || text[pos] == '\t') {
      ++pos;
      continue;
    }
    size_t end = text.find_first_of(" \t", pos);
    if (end == std::string_view::npos) end = text.size();
    parts.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  if (parts.size() != kFields.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "cron: expected 5 fields (minute hour day-of-month month day-of-week), got {}",
                     parts.size());
  }
  CronExpr cron;
  std::array<std::vector<bool>, 5> values;
  for (size_t i = 0; i < kFields.size(); ++i) {
    Result<std::vector<bool>> field = ParseField(kFields[i], parts[i]);
    if (!field) return std::unexpected(field.error());
    values[i] = std::move(*field);
  }
  CopyBits(values[0], cron.minutes);
  CopyBits(values[1], cron.hours);
  CopyBits(values[2], cron.days);
  CopyBits(values[3], cron.months);
  if (values[4][7]) values[4][0] = true;
  CopyBits(values[4], cron.weekdays);
  cron.hours_wildcard = parts[1].front() == '*';
  cron.days_restricted = parts[2].front() != '*';
  cron.weekdays_restricted = parts[4].front() != '*';
  return cron;
}

struct TimeZone::Impl {
  cctz::time_zone zone;
};

Result<TimeZone> TimeZone::Load(std::string_view name) {
  cctz::time_zone zone;
  if (!ValidZoneName(name) || !cctz::load_time_zone(std::string(name), &zone)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "unknown time zone '{}' (use an IANA name such as Europe/Berlin or UTC)",
                     name);
  }
  return TimeZone(std::string(name), std::make_shared<const Impl>(Impl{zone}));
}

std::string TimeZone::Format(TimePoint time) const {
  return cctz::format("%Y-%m-%d %H:%M", time, impl_->zone);
}

std::optional<TimePoint> NextDue(const CronExpr& cron, const TimeZone& zone, TimePoint after) {
  const cctz::time_zone& tz = zone.impl_->zone;
  auto after_s = std::chrono::time_point_cast<cctz::seconds>(after);
  if (after_s > after) after_s -= cctz::seconds(1);  // Floor: NextDue is strictly later.
  // Local times before this map to instants before `after`; start there so the second pass
  // of a repeated hour is not missed.
  cctz::civil_minute start = cctz::civil_minute(cctz::convert(after_s, tz)) - kMaxShiftMinutes;
  std::optional<cctz::time_point<cctz::seconds>> best;
  cctz::civil_minute best_local;
  cctz::civil_day first_day(start);
  for (cctz::civil_day day = first_day; day - first_day <= kSearchDays; ++day) {
    if (best && cctz::civil_minute(day) > best_local + kMaxShiftMinutes) break;
    if (!DayMatches(cron, day)) continue;
    for (int h = 0; h < 24; ++h) {
      if (!cron.hours[static_cast<size_t>(h)]) continue;
      for (int m = 0; m < 60; ++m) {
        if (!cron.minutes[static_cast<size_t>(m)]) continue;
        cctz::civil_minute local(day.year(), day.month(), day.day(), h, m);
        if (local < start) continue;
        if (best && local > best_local + kMaxShiftMinutes) break;
        cctz::time_zone::civil_lookup found = tz.lookup(cctz::civil_second(local));
        std::array<cctz::time_point<cctz::seconds>, 2> candidates = {found.pre, found.pre};
        size_t n = 1;
        if (found.kind == cctz::time_zone::civil_lookup::SKIPPED) {
          candidates[0] = found.trans;
        } else if (found.kind == cctz::time_zone::civil_lookup::REPEATED && cron.hours_wildcard) {
          candidates[1] = found.post;
          n = 2;
        }
        for (size_t i = 0; i < n; ++i) {
          if (candidates[i] > after_s && (!best || candidates[i] < *best)) {
            best = candidates[i];
            best_local = local;
          }
        }
      }
    }
  }
  if (!best) return std::nullopt;
  return std::chrono::time_point_cast<TimePoint::duration>(*best);
}

}  // namespace tandem::schedule
