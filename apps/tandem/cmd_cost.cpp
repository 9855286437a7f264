// `tandem cost report`: what model calls cost, from the usage ledger.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "tandem/cost/ledger_report.h"
#include "tandem/cost/usage_summary.h"
#include "tandem/store/task_store.h"

namespace tandem::cli {
namespace {

struct CostFlags {
  std::string task_id;
  std::string by = "task";
  bool json = false;
};

nlohmann::ordered_json TotalsJson(const cost::LedgerTotals& totals) {
  return {{"calls", totals.calls},
          {"failed_calls", totals.failed_calls},
          {"prompt_tokens", totals.prompt_tokens},
          {"completion_tokens", totals.completion_tokens},
          {"estimated_calls", totals.estimated_calls},
          {"unpriced_calls", totals.unpriced_calls},
          {"cost_usd", totals.cost_usd},
          {"latency_ms", totals.latency_ms}};
}

int RunReport(const CostFlags& flags, CommandState& state) {
  Result<cost::LedgerGrouping> grouping = cost::ParseLedgerGrouping(flags.by);
  if (!grouping) return ReportError(grouping.error(), kExitUsage);
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return state.exit_code;
  std::unique_ptr<store::TaskStore> store = OpenStoreOrReport(*config, state);
  if (!store) return state.exit_code;
  Result<llm::PriceCatalog> prices = llm::PriceCatalog::Load(*config);
  if (!prices) return ReportError(prices.error(), kExitConfig);
  Result<std::optional<cost::CloudReference>> reference = LoadCloudReference(*config, *prices);
  if (!reference) return ReportError(reference.error(), kExitConfig);
  auto rows = store->ListLedger({.task_id = flags.task_id});
  if (!rows) return ReportError(rows.error(), kExitTaskFailed);
  cost::LedgerReport report = cost::BuildLedgerReport(*rows, *grouping);
  std::optional<cost::CloudComparison> cloud;
  if (*reference) cloud = cost::CompareWithAllCloud(*rows, **reference);
  if (flags.json) {
    nlohmann::ordered_json out = {{"by", flags.by}, {"groups", nlohmann::ordered_json::array()}};
    for (const auto& [key, totals] : report.groups) {
      nlohmann::ordered_json group = TotalsJson(totals);
      group["key"] = key;
      out["groups"].push_back(std::move(group));
    }
    out["total"] = TotalsJson(report.total);
    out["all_cloud"] = nullptr;
    if (cloud) {
      out["all_cloud"] = {{"reference_model", (*reference)->model},
                          {"all_cloud_usd", cloud->all_cloud_usd},
                          {"savings_usd", cloud->savings_usd}};
    }
    fmt::print("{}\n", out.dump(2));
    return kExitOk;
  }
  fmt::print("{:<28} {:>6} {:>12} {:>12} {:>12}\n", flags.by, "calls", "prompt", "completion",
             "cost USD");
  auto line = [](const std::string& key, const cost::LedgerTotals& t) {
    fmt::print("{:<28} {:>6} {:>12} {:>12} {:>12.6f}{}\n", key, t.calls, t.prompt_tokens,
               t.completion_tokens, t.cost_usd,
               t.unpriced_calls > 0 ? fmt::format("  ({} unpriced)", t.unpriced_calls) : "");
  };
  for (const auto& [key, totals] : report.groups)
    line(key, totals);
  line("total", report.total);
  if (cloud) {
    fmt::print("all in the cloud on {}: {:.6f} USD; saved {:.6f} USD\n", (*reference)->model,
               cloud->all_cloud_usd, cloud->savings_usd);
  }
  if (report.total.estimated_calls > 0) {
    fmt::print("{} call(s) had usage estimated (the provider reported none)\n",
               report.total.estimated_calls);
  }
  return kExitOk;
}

}  // namespace

Result<std::optional<cost::CloudReference>> LoadCloudReference(const Config& config,
                                                               const llm::PriceCatalog& prices) {
  return cost::LoadCloudReference(
      config, [&prices](std::string_view model) -> std::optional<cost::TokenPrices> {
        std::optional<llm::ModelPrice> price = prices.Find(model);
        if (!price) return std::nullopt;
        return cost::TokenPrices{price->input_cost_per_token, price->output_cost_per_token};
      });
}

void AddCostCommands(CLI::App& app, CommandState& state) {
  // Shared with the callback, which runs after this function returns.
  auto flags = std::make_shared<CostFlags>();
  CLI::App* cost = app.add_subcommand("cost", "What model calls cost, from the usage ledger");
  cost->require_subcommand(1);
  CLI::App* report = cost->add_subcommand("report", "Totals of tokens and USD by group");
  report->add_option("--task", flags->task_id, "Only this task's calls");
  report->add_option("--by", flags->by, "task|provider|zone|day|model")
      ->check(CLI::IsMember({"task", "provider", "zone", "day", "model"}));
  report->add_flag("--json", flags->json, "Print JSON");
  report->callback([&state, flags] { state.exit_code = RunReport(*flags, state); });
}

}  // namespace tandem::cli
