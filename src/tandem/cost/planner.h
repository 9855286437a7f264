// The deployment planner: prices a workload on a local workstation, a cloud instance on demand
// and on spot, pay-per-token APIs and a hybrid, finds where local breaks even with each cloud
// option, and recommends one with its reasons. Formulas: docs/cost-model.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/cost/catalog.h"
#include "tandem/cost/workload.h"

namespace tandem::cost {

inline constexpr double kHoursPerMonth = 730;                 // Average month, 24 h/day.
inline constexpr double kDaysPerMonth = kHoursPerMonth / 24;  // 30.4167.

enum class OptionKind { kLocal, kCloudOnDemand, kCloudSpot, kApi, kHybrid };
// "local", "cloud_on_demand", "cloud_spot", "api", "hybrid".
std::string_view OptionKindName(OptionKind kind);

// A pay-per-token model as the planner sees it (the CLI converts the price catalog's entries).
struct ApiOffer {
  std::string name;      // Model name, e.g. "gpt-4o-mini".
  std::string provider;  // Who sells it.
  double input_usd_per_token = 0;
  double output_usd_per_token = 0;
  int64_t max_input_tokens = 0;  // 0 when unknown (then assumed large enough).
  int64_t max_output_tokens = 0;
  bool supports_tools = true;
};

// A monthly cost as an affine function of one variable x (hours per day, or tokens per month).
struct LinearCost {
  double fixed_usd = 0;
  double usd_per_unit = 0;
  double At(double x) const { return fixed_usd + usd_per_unit * x; }
};

struct CostItem {
  std::string item;  // "amortised purchase", "energy", "instance hours"...
  double usd = 0;
};

struct Option {
  OptionKind kind = OptionKind::kLocal;
  std::string name;    // Profile, instance or model name; "A + B" for the hybrid.
  std::string detail;  // Hardware and region, or provider.
  double monthly_usd = 0;
  double usd_per_million_tokens = 0;
  std::optional<double>
      throughput_tokens_per_s;      // One stream's decode speed; none if it cannot run.
  std::optional<double> latency_s;  // One call of the workload's shape.
  std::string throughput_source;    // "catalog", "measured" or "estimate".
  std::optional<double> capacity_tokens_per_month;  // nullopt: unbounded (APIs).
  bool meets_workload = true;  // Enough capacity (and the model fits) for its share of tokens.
  bool privacy_ok = true;      // May carry the workload's sensitive share.
  LinearCost vs_hours;         // Monthly cost against hours per day at the workload's tokens.
  LinearCost vs_tokens;        // Monthly cost against tokens per month at the workload's hours.
  std::vector<CostItem> breakdown;
  std::vector<std::string> notes;  // Why it cannot carry the workload, assumptions.
};

// Where local stops or starts being cheaper than one cloud option along one axis.
enum class LocalCheaper { kAbove, kBelow, kAlways, kNever };
struct Crossing {
  std::optional<double> at;  // The break-even value when it lies inside the range searched.
  LocalCheaper local_cheaper = LocalCheaper::kNever;
};

struct BreakEven {
  OptionKind kind = OptionKind::kCloudOnDemand;  // The option local is compared with.
  std::string name;
  Crossing hours_per_day;     // At the workload's tokens per month, over (0, 24].
  Crossing tokens_per_month;  // At the workload's hours per day, over (0, the lower capacity).
};

struct Recommendation {
  OptionKind kind = OptionKind::kLocal;
  std::string name;
  double monthly_usd = 0;
  std::vector<std::string> reasons;
};

struct Plan {
  Workload workload;
  std::string catalog_as_of;
  double spot_discount = 0;
  std::vector<Option> options;  // local, cloud_on_demand, cloud_spot, api..., hybrid.
  std::vector<BreakEven> break_evens;
  Recommendation recommendation;
};

// Prices `workload` on every option. Fails with kNotFound naming an unknown instance, local
// profile, model size or API model and listing the valid ones; kInvalidArgument for a workload
// value out of range. `apis` may be empty (then no api option and no API break-even).
Result<Plan> MakePlan(const InstanceCatalog& catalog, const Workload& workload,
                      const std::vector<ApiOffer>& apis);

// The formulas, public for tests and the chart. Each returns the cost of carrying
// `tokens_per_month` in `hours_per_day`, as an affine function of the named axis.
LinearCost LocalCostVsHours(const LocalProfile& local, const Throughput& throughput,
                            const Workload& workload, double tokens_per_month);
LinearCost LocalCostVsTokens(const LocalProfile& local, const Throughput& throughput,
                             const Workload& workload);
LinearCost OnDemandCostVsHours(const CloudInstance& instance);
LinearCost SpotCostVsHours(const CloudInstance& instance, const SpotModel& spot, double discount);
LinearCost ApiCostVsTokens(const ApiOffer& api, double output_share);

// Seconds of generation per token of the workload's mix (prompt at prefill speed, completion
// at decode speed).
double SecondsPerToken(const Throughput& throughput, double output_share);

enum class Axis { kHoursPerDay, kTokensPerMonth };
// "cheaper above 5.2 h/day", "cheaper below 120M tokens/month", "never cheaper up to 24 h/day"...
std::string DescribeCrossing(const Crossing& crossing, Axis axis);

// Solves local(x) = other(x) over (lo, hi) and says on which side local is cheaper.
Crossing SolveBreakEven(const LinearCost& local, const LinearCost& other, double lo, double hi);

}  // namespace tandem::cost
