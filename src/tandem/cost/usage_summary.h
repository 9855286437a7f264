// What recorded model calls cost next to running everything in the cloud: a usage summary over
// ledger rows (by day, zone, provider and model, the local share) priced against a reference
// cloud model, and per-provider call latencies. `tandem cost report` and the server's
// /api/cost and /api/providers views use these, so both show the same numbers.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tandem/core/config.h"
#include "tandem/cost/ledger_report.h"

namespace tandem::cost {

// The cloud model an all-cloud run is priced on.
struct CloudReference {
  std::string model;
  double input_usd_per_token = 0;
  double output_usd_per_token = 0;
};

// A model's token prices (the CLI answers from llm's price catalog: cost does not depend on llm).
struct TokenPrices {
  double input_usd_per_token = 0;
  double output_usd_per_token = 0;
};
using PriceLookup = std::function<std::optional<TokenPrices>(std::string_view model)>;

// `[cost] reference_cloud_model` when set (it must be priced: otherwise fails with
// kInvalidArgument naming the file, line and key), else the model of the first cloud-zone
// [[providers]] entry that is priced, else nullopt (no comparison is possible).
Result<std::optional<CloudReference>> LoadCloudReference(const Config& config,
                                                         const PriceLookup& prices);

// What the rows' tokens cost as recorded and what they would have cost on the reference.
struct CloudComparison {
  double actual_usd = 0;     // Sum of priced rows (unpriced rows are counted in LedgerTotals).
  double all_cloud_usd = 0;  // Prompt and completion tokens of every answered call, at the
                             // reference's prices (cached-prompt discounts not applied).
  double savings_usd = 0;    // all_cloud_usd - actual_usd (negative when routing cost more).
};
CloudComparison CompareWithAllCloud(const std::vector<store::LedgerRow>& rows,
                                    const CloudReference& reference);

struct DayUsage {
  std::string day;  // "YYYY-MM-DD" (UTC).
  LedgerTotals local;
  LedgerTotals cloud;  // Calls without a zone (failed before any provider answered) count here
                       // in neither: they are in the totals only.
};

struct UsageSummary {
  int days = 0;
  LedgerTotals total;
  std::vector<DayUsage> by_day;  // Every day of the window, oldest first, zeros included.
  LedgerReport by_zone, by_provider, by_model;
  double local_call_share = 0;   // Calls in the local zone / all calls with a zone; 0 if none.
  double local_token_share = 0;  // The same over prompt + completion tokens.
  std::optional<CloudReference> reference;
  std::optional<CloudComparison> comparison;  // Set when `reference` is.
};

// The first millisecond of the window of the last `days` UTC days, today included.
int64_t WindowStartMs(int64_t now_unix_ms, int days);

// Summarises `rows` (the caller has kept those it wants: a window, the tasks a user may see).
// `days` >= 1 sets the by_day list ending with now's UTC day.
UsageSummary SummarizeUsage(const std::vector<store::LedgerRow>& rows, int64_t now_unix_ms,
                            int days, const std::optional<CloudReference>& reference);

// Answered calls per provider and their latency percentiles (nearest rank).
struct ProviderCalls {
  int64_t calls = 0;
  int64_t p50_ms = 0;
  int64_t p99_ms = 0;
};
std::map<std::string, ProviderCalls> ProviderLatencies(const std::vector<store::LedgerRow>& rows);

}  // namespace tandem::cost
