// `tandem plan`: the deployment advisor. Parses flags, loads the catalogs and the workload,
// converts the model price catalog into API offers, and prints what src/tandem/cost computes.
#include <fmt/format.h>

#include <fstream>

#include "cli.h"
#include "tandem/core/clock.h"
#include "tandem/cost/cost.h"
#include "tandem/llm/price_catalog.h"
#include "tandem/store/task_store.h"

namespace tandem::cli {
namespace {

struct PlanFlags {
  std::string workload_file;
  std::string instance;
  std::string local_profile;
  std::string model_size;
  std::vector<std::string> api_models;
  std::optional<double> hours_per_day;
  std::optional<double> tokens_per_month;
  std::optional<double> sensitive_share;
  std::optional<double> spot_discount;
  bool json = false;
  std::string chart;
  int from_ledger_days = 0;  // 0: do not read the ledger.
};

// Pay-per-token offers from the model price catalog. Entries without a completion price are
// embedding models (the catalog's entries do not carry their mode) and cannot run an agent.
std::vector<cost::ApiOffer> ApiOffers(const llm::PriceCatalog& prices) {
  std::vector<cost::ApiOffer> offers;
  for (const auto& [name, price] : prices.models()) {
    if (price.output_cost_per_token <= 0) continue;
    offers.push_back({.name = name,
                      .provider = price.provider,
                      .input_usd_per_token = price.input_cost_per_token,
                      .output_usd_per_token = price.output_cost_per_token,
                      .max_input_tokens = price.max_input_tokens,
                      .max_output_tokens = price.max_output_tokens,
                      .supports_tools = price.supports_tools});
  }
  return offers;
}

template <typename Map>
Status CheckFlagName(std::string_view flag, const std::string& value, const Map& valid) {
  if (value.empty() || valid.contains(value)) return {};
  return MakeError(ErrorCode::kInvalidArgument, "{}: unknown name \"{}\" (valid: {})", flag, value,
                   cost::JoinKeys(valid));
}

// Checks the names given on the command line against the catalogs (exit code 2 when wrong).
Status CheckFlagNames(const PlanFlags& flags, const cost::InstanceCatalog& catalog,
                      const std::vector<cost::ApiOffer>& apis) {
  if (Status s = CheckFlagName("--instance", flags.instance, catalog.instances()); !s) return s;
  if (Status s = CheckFlagName("--local", flags.local_profile, catalog.local_profiles()); !s) {
    return s;
  }
  std::vector<std::string> sizes = catalog.ModelSizes();
  if (!flags.model_size.empty() &&
      std::find(sizes.begin(), sizes.end(), flags.model_size) == sizes.end()) {
    return MakeError(ErrorCode::kInvalidArgument, "--model-size: unknown size \"{}\" (valid: {})",
                     flags.model_size, fmt::join(sizes, ", "));
  }
  for (const std::string& model : flags.api_models) {
    bool known = std::any_of(apis.begin(), apis.end(),
                             [&](const cost::ApiOffer& api) { return api.name == model; });
    if (!known) {
      std::string valid;
      for (const cost::ApiOffer& api : apis)
        valid += (valid.empty() ? "" : ", ") + api.name;
      return MakeError(ErrorCode::kInvalidArgument, "--api: unknown model \"{}\" (valid: {})",
                       model, valid);
    }
  }
  return {};
}

// Applies the flags on `workload`; fails naming the flag whose value is out of range.
Status ApplyFlags(const PlanFlags& flags, cost::Workload& workload) {
  struct Numeric {
    const char* flag;
    const std::optional<double>& value;
    double& field;
  };
  for (const Numeric& n :
       {Numeric{"--hours-per-day", flags.hours_per_day, workload.hours_per_day},
        Numeric{"--tokens-per-month", flags.tokens_per_month, workload.tokens_per_month},
        Numeric{"--sensitive-share", flags.sensitive_share, workload.sensitive_share}}) {
    if (!n.value) continue;
    n.field = *n.value;
    if (Status valid = cost::ValidateWorkload(workload); !valid) {
      return std::unexpected(std::move(valid.error()).WithContext(n.flag));
    }
  }
  if (flags.spot_discount) {
    workload.spot_discount = flags.spot_discount;
    if (Status valid = cost::ValidateWorkload(workload); !valid) {
      return std::unexpected(std::move(valid.error()).WithContext("--spot-discount"));
    }
  }
  if (!flags.instance.empty()) workload.instance = flags.instance;
  if (!flags.local_profile.empty()) workload.local_profile = flags.local_profile;
  if (!flags.model_size.empty()) workload.model_size = flags.model_size;
  if (!flags.api_models.empty()) workload.api_models = flags.api_models;
  bool from_flags = flags.hours_per_day || flags.tokens_per_month || flags.sensitive_share;
  if (from_flags) workload.source += " + flags";
  return {};
}

int RunPlan(const PlanFlags& flags, CommandState& state) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return state.exit_code;
  Result<cost::InstanceCatalog> catalog = cost::InstanceCatalog::Load(*config);
  if (!catalog) return ReportError(catalog.error(), kExitConfig);
  Result<llm::PriceCatalog> prices = llm::PriceCatalog::Load(*config);
  if (!prices) return ReportError(prices.error(), kExitConfig);
  std::vector<cost::ApiOffer> apis = ApiOffers(*prices);
  if (Status names = CheckFlagNames(flags, *catalog, apis); !names) {
    return ReportError(names.error(), kExitUsage);
  }
  Result<cost::Workload> workload = cost::WorkloadFromConfig(*config);
  if (workload && !flags.workload_file.empty()) {
    workload = cost::LoadWorkloadFile(flags.workload_file, *workload);
  }
  if (!workload) return ReportError(workload.error(), kExitConfig);
  if (flags.from_ledger_days > 0) {
    std::unique_ptr<store::TaskStore> store = OpenStoreOrReport(*config, state);
    if (!store) return state.exit_code;
    cost::LedgerUsageSource ledger(store.get(), ToUnixMillis(SystemClock().Now()));
    Result<std::vector<cost::DailyUsage>> usage = ledger.UsageByDay(flags.from_ledger_days);
    if (!usage) return ReportError(usage.error(), kExitTaskFailed);
    workload = cost::WorkloadFromUsage(*usage, *workload);
    if (!workload) return ReportError(workload.error(), kExitTaskFailed);
  }
  if (Status applied = ApplyFlags(flags, *workload); !applied) {
    return ReportError(applied.error(), kExitUsage);
  }
  Result<cost::Plan> plan = cost::MakePlan(*catalog, *workload, apis);
  if (!plan) return ReportError(plan.error(), kExitConfig);
  fmt::print("{}", flags.json ? cost::RenderJson(*plan) + "\n" : cost::RenderTable(*plan));
  if (!flags.chart.empty()) {
    std::ofstream out(flags.chart, std::ios::binary | std::ios::trunc);
    out << cost::RenderChartSvg(*plan);
    if (!out.flush()) {
      return ReportError(
          Error(ErrorCode::kUnavailable, fmt::format("cannot write the chart to {}", flags.chart)),
          kExitTaskFailed);
    }
    fmt::print(flags.json ? stderr : stdout, "\nChart written to {}\n", flags.chart);
  }
  return kExitOk;
}

}  // namespace

void AddPlanCommands(CLI::App& app, CommandState& state) {
  CLI::App* plan = app.add_subcommand(
      "plan", "Deployment advisor: local vs cloud vs spot vs API vs hybrid, monthly cost");
  // Shared with the callback, which runs after this function returns.
  auto flags = std::make_shared<PlanFlags>();
  plan->add_option("--workload", flags->workload_file, "Workload file (TOML with [workload])")
      ->check(CLI::ExistingFile);
  plan->add_option("--instance", flags->instance,
                   "Cloud instance to price (default: cheapest "
                   "that carries the workload)");
  plan->add_option("--local", flags->local_profile, "Local hardware profile to price");
  plan->add_option("--model-size", flags->model_size, "Model size, e.g. 8b, 14b, 70b");
  plan->add_option("--api", flags->api_models, "API model to list besides the cheapest (repeat)");
  plan->add_option("--hours-per-day", flags->hours_per_day, "Hours per day the deployment is up");
  plan->add_option("--tokens-per-month", flags->tokens_per_month,
                   "Prompt + completion tokens per month");
  plan->add_option("--sensitive-share", flags->sensitive_share,
                   "Share of tokens (0-1) that must stay local");
  plan->add_option("--spot-discount", flags->spot_discount,
                   "Spot discount off on-demand (0-1; catalog default otherwise)");
  plan->add_option("--from-ledger", flags->from_ledger_days,
                   "Take tokens per month and the sensitive share from the last N days of the "
                   "usage ledger")
      ->check(CLI::Range(1, 3650));
  plan->add_flag("--json", flags->json, "Print JSON only");
  plan->add_option("--chart", flags->chart, "Write an SVG chart of cost against hours per day");
  plan->callback([&state, flags] { state.exit_code = RunPlan(*flags, state); });
}

}  // namespace tandem::cli
