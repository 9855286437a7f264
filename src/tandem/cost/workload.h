// What the deployment has to carry: tokens per month, active hours, the sensitive share, the
// model size and call shape. From a TOML file, command-line flags, or the usage ledger through
// the UsageSource seam.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tandem/core/config.h"
#include "tandem/core/error.h"

namespace toml {
inline namespace v3 {
class table;
}
}  // namespace toml

namespace tandem::cost {

struct Workload {
  double tokens_per_month = 10'000'000;  // Prompt + completion tokens; must be > 0.
  double output_share = 0.2;             // Share of those tokens that are completions, [0, 1].
  double hours_per_day = 24;             // Hours a machine or instance is up, (0, 24].
  double sensitive_share = 0;            // Share of tokens that must stay local, [0, 1].
  std::string model_size = "8b";         // Key of the catalog's throughput tables.
  double prompt_tokens_per_call = 2000;  // Shapes latency and API capability (context).
  double output_tokens_per_call = 400;
  std::string instance;                 // Cloud instance to price; empty: cheapest capable one.
  std::string local_profile;            // Local profile to price; empty: cheapest capable one.
  std::vector<std::string> api_models;  // APIs always listed besides the cheapest capable one.
  std::optional<double> spot_discount;  // Overrides the catalog's default discount.
  std::string source = "defaults";      // Where the figures came from, for the report.
};

// Checks every field's range; fails naming the field and the value.
Status ValidateWorkload(const Workload& workload);

// Applies the keys of a [workload]-shaped table (file or config [cost] section) on `workload`.
// Fails naming the file, line and key of the first bad or unknown value.
Status ApplyWorkloadTable(const toml::table& table, std::string_view key_prefix,
                          Workload& workload);

// Reads a workload file: a TOML file with a [workload] table. Starts from `base`.
Result<Workload> LoadWorkloadFile(const std::filesystem::path& path, Workload base = {});

// Planner defaults from the configuration's [cost] section (same keys as a workload file).
Result<Workload> WorkloadFromConfig(const Config& config);

// One day of recorded model usage in one privacy zone.
struct DailyUsage {
  std::string day;  // "2025-06-01".
  Zone zone = Zone::kLocal;
  bool sensitive = false;  // Calls made for tainted (sensitive) work.
  double prompt_tokens = 0;
  double completion_tokens = 0;
};

// The seam to the usage ledger: the store module implements it over its ledger rows. Tests and
// callers without a store pass an in-memory list.
class UsageSource {
 public:
  virtual ~UsageSource() = default;
  // Usage of the last `days` days, any order; an empty list when nothing was recorded.
  virtual Result<std::vector<DailyUsage>> UsageByDay(int days) = 0;
};

// A workload from recorded usage: tokens scaled to an average month (30.42 days) over the days
// that appear, output and sensitive shares from the totals. Other fields come from `base`.
// Fails with kFailedPrecondition when the usage holds no tokens.
Result<Workload> WorkloadFromUsage(const std::vector<DailyUsage>& usage, Workload base);

}  // namespace tandem::cost
