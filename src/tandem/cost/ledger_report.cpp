#include "tandem/cost/ledger_report.h"

#include <fmt/format.h>

#include <chrono>
#include <set>

namespace tandem::cost {

Result<LedgerGrouping> ParseLedgerGrouping(std::string_view name) {
  if (name == "task") return LedgerGrouping::kTask;
  if (name == "provider") return LedgerGrouping::kProvider;
  if (name == "zone") return LedgerGrouping::kZone;
  if (name == "day") return LedgerGrouping::kDay;
  if (name == "model") return LedgerGrouping::kModel;
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown grouping '{}' (expected task, provider, zone, day or model)", name);
}

std::string UtcDay(int64_t unix_ms) {
  std::chrono::sys_days day = std::chrono::floor<std::chrono::days>(
      std::chrono::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(unix_ms)));
  std::chrono::year_month_day ymd(day);
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

void AddToTotals(LedgerTotals& totals, const store::LedgerRow& row) {
  ++totals.calls;
  if (row.outcome != "ok") ++totals.failed_calls;
  totals.prompt_tokens += row.prompt_tokens;
  totals.completion_tokens += row.completion_tokens;
  if (row.estimated) ++totals.estimated_calls;
  if (row.cost_usd) {
    totals.cost_usd += *row.cost_usd;
  } else if (row.outcome == "ok") {
    ++totals.unpriced_calls;
  }
  totals.latency_ms += row.latency_ms;
}

namespace {

std::string GroupKey(const store::LedgerRow& row, LedgerGrouping grouping) {
  switch (grouping) {
    case LedgerGrouping::kTask:
      return row.task_id.empty() ? "(no task)" : row.task_id;
    case LedgerGrouping::kProvider:
      return row.provider.empty() ? "(none)" : row.provider;
    case LedgerGrouping::kZone:
      return row.zone.empty() ? "(none)" : row.zone;
    case LedgerGrouping::kDay:
      return UtcDay(row.created_at_ms);
    case LedgerGrouping::kModel:
      return row.model.empty() ? "(none)" : row.model;
  }
  return "";
}

}  // namespace

LedgerReport BuildLedgerReport(const std::vector<store::LedgerRow>& rows, LedgerGrouping grouping) {
  LedgerReport report;
  report.grouping = grouping;
  for (const store::LedgerRow& row : rows) {
    AddToTotals(report.groups[GroupKey(row, grouping)], row);
    AddToTotals(report.total, row);
  }
  return report;
}

Result<std::vector<DailyUsage>> LedgerUsageSource::UsageByDay(int days) {
  Result<std::vector<store::LedgerRow>> rows = store_->ListLedger();
  if (!rows) return std::unexpected(rows.error());
  int64_t since = now_unix_ms_ - int64_t{days} * 24 * 3600 * 1000;
  std::map<std::string, bool> sensitive_task;  // Task id -> tainted.
  std::map<std::tuple<std::string, Zone, bool>, DailyUsage> by_key;
  for (const store::LedgerRow& row : *rows) {
    if (row.created_at_ms < since || row.outcome != "ok") continue;
    auto known = sensitive_task.find(row.task_id);
    if (known == sensitive_task.end()) {
      Result<std::optional<store::TaskRecord>> task = store_->GetTask(row.task_id);
      if (!task) return std::unexpected(task.error());
      bool tainted = *task && !(*task)->taint.empty() && (*task)->taint != "[]";
      known = sensitive_task.emplace(row.task_id, tainted).first;
    }
    Zone zone = ParseZone(row.zone).value_or(Zone::kLocal);
    DailyUsage& usage = by_key[{UtcDay(row.created_at_ms), zone, known->second}];
    usage.day = UtcDay(row.created_at_ms);
    usage.zone = zone;
    usage.sensitive = known->second;
    usage.prompt_tokens += static_cast<double>(row.prompt_tokens);
    usage.completion_tokens += static_cast<double>(row.completion_tokens);
  }
  std::vector<DailyUsage> out;
  for (auto& [key, usage] : by_key)
    out.push_back(std::move(usage));
  return out;
}

}  // namespace tandem::cost
