// Reports over the usage ledger (one row per model call): totals grouped by task, provider,
// zone or day, and the ledger as a UsageSource for the deployment planner.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/cost/workload.h"
#include "tandem/store/task_store.h"

namespace tandem::cost {

enum class LedgerGrouping { kTask, kProvider, kZone, kDay, kModel };
// Parses "task", "provider", "zone", "day" or "model".
Result<LedgerGrouping> ParseLedgerGrouping(std::string_view name);

struct LedgerTotals {
  int64_t calls = 0;
  int64_t failed_calls = 0;  // Outcome other than "ok".
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t estimated_calls = 0;  // Usage estimated, not reported by the provider.
  int64_t unpriced_calls = 0;   // Model not in the price catalog: cost unknown, not zero.
  double cost_usd = 0;          // Sum over priced calls.
  int64_t latency_ms = 0;       // Sum of call latencies.
};

struct LedgerReport {
  LedgerGrouping grouping = LedgerGrouping::kTask;
  // Key: task id, provider, zone, "YYYY-MM-DD" or model.
  std::map<std::string, LedgerTotals> groups;
  LedgerTotals total;  // Exactly the sum of the rows.
};

// Adds one row to `totals` (a call, its tokens, its cost when priced).
void AddToTotals(LedgerTotals& totals, const store::LedgerRow& row);

// Aggregates rows (UTC days).
LedgerReport BuildLedgerReport(const std::vector<store::LedgerRow>& rows, LedgerGrouping grouping);

// "YYYY-MM-DD" (UTC) of a Unix time in milliseconds.
std::string UtcDay(int64_t unix_ms);

// Usage by day and zone from the ledger; calls of tasks whose taint is set count as sensitive.
// Thread-safe if the store is.
class LedgerUsageSource final : public UsageSource {
 public:
  LedgerUsageSource(store::TaskStore* store, int64_t now_unix_ms)
      : store_(store), now_unix_ms_(now_unix_ms) {}
  Result<std::vector<DailyUsage>> UsageByDay(int days) override;

 private:
  store::TaskStore* store_;  // Not owned.
  int64_t now_unix_ms_;
};

}  // namespace tandem::cost
