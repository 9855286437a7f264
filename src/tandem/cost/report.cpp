#include "tandem/cost/report.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "tandem/cost/format.h"

namespace tandem::cost {
namespace {

using nlohmann::json;

std::string_view CheaperName(LocalCheaper side) {
  switch (side) {
    case LocalCheaper::kAbove:
      return "above";
    case LocalCheaper::kBelow:
      return "below";
    case LocalCheaper::kAlways:
      return "always";
    case LocalCheaper::kNever:
      return "never";
  }
  return "";
}

json OptionalNumber(const std::optional<double>& value) {
  return value ? json(*value) : json(nullptr);
}

json CrossingJson(const Crossing& crossing) {
  return {{"value", OptionalNumber(crossing.at)},
          {"local_cheaper", CheaperName(crossing.local_cheaper)}};
}

json OptionJson(const Option& option) {
  json breakdown = json::array();
  for (const CostItem& item : option.breakdown) {
    breakdown.push_back({{"item", item.item}, {"usd", item.usd}});
  }
  return {{"kind", OptionKindName(option.kind)},
          {"name", option.name},
          {"detail", option.detail},
          {"monthly_usd", option.monthly_usd},
          {"usd_per_million_tokens", option.usd_per_million_tokens},
          {"throughput_tokens_per_s", OptionalNumber(option.throughput_tokens_per_s)},
          {"throughput_source", option.throughput_source},
          {"latency_s", OptionalNumber(option.latency_s)},
          {"capacity_tokens_per_month", OptionalNumber(option.capacity_tokens_per_month)},
          {"meets_workload", option.meets_workload},
          {"privacy_ok", option.privacy_ok},
          {"breakdown", breakdown},
          {"notes", option.notes}};
}

json WorkloadJson(const Plan& plan) {
  const Workload& w = plan.workload;
  return {{"source", w.source},
          {"tokens_per_month", w.tokens_per_month},
          {"output_share", w.output_share},
          {"hours_per_day", w.hours_per_day},
          {"sensitive_share", w.sensitive_share},
          {"model_size", w.model_size},
          {"prompt_tokens_per_call", w.prompt_tokens_per_call},
          {"output_tokens_per_call", w.output_tokens_per_call}};
}

std::string Cell(std::string text, size_t width) {
  if (text.size() > width) text = text.substr(0, width - 1) + "~";
  return fmt::format("{:<{}}", text, width);
}

std::string ThroughputCell(const Option& option) {
  if (!option.throughput_tokens_per_s) return "-";
  return fmt::format("{:.0f} ({})", *option.throughput_tokens_per_s, option.throughput_source);
}

std::string LatencyCell(const Option& option) {
  return option.latency_s ? fmt::format("{:.1f} s", *option.latency_s) : "-";
}

}  // namespace

std::string RenderJson(const Plan& plan) {
  json options = json::array();
  for (const Option& option : plan.options)
    options.push_back(OptionJson(option));
  json break_even = json::array();
  const std::string& local = plan.options.front().name;
  for (const BreakEven& be : plan.break_evens) {
    break_even.push_back({{"local", local},
                          {"kind", OptionKindName(be.kind)},
                          {"name", be.name},
                          {"hours_per_day", CrossingJson(be.hours_per_day)},
                          {"tokens_per_month", CrossingJson(be.tokens_per_month)}});
  }
  json root = {{"catalog_as_of", plan.catalog_as_of},
               {"spot_discount", plan.spot_discount},
               {"workload", WorkloadJson(plan)},
               {"options", options},
               {"break_even", break_even},
               {"recommendation",
                {{"kind", OptionKindName(plan.recommendation.kind)},
                 {"name", plan.recommendation.name},
                 {"monthly_usd", plan.recommendation.monthly_usd},
                 {"reasons", plan.recommendation.reasons}}}};
  return root.dump(2);
}

std::string RenderTable(const Plan& plan) {
  const Workload& w = plan.workload;
  std::string out = fmt::format(
      "Workload ({}): {} tokens/month ({:.0f}% output), {} h/day, {:.0f}% sensitive, model "
      "size {}\nCatalog as of {}; spot discount {:.0f}%; throughput per stream, latency per "
      "call of {} prompt + {} output tokens\n\n",
      w.source, FormatTokens(w.tokens_per_month), w.output_share * 100,
      FormatNumber(w.hours_per_day), w.sensitive_share * 100, w.model_size, plan.catalog_as_of,
      plan.spot_discount * 100, FormatNumber(w.prompt_tokens_per_call),
      FormatNumber(w.output_tokens_per_call));
  out += fmt::format("  {}{}{:>11}{:>13}  {}{:>9}\n", Cell("KIND", 17), Cell("NAME", 46), "$/MONTH",
                     "$/M TOKENS", Cell("TOKENS/S", 17), "LATENCY");
  std::vector<std::string> footnotes;
  bool any_flagged = false;
  for (const Option& option : plan.options) {
    bool flagged = !option.meets_workload || !option.privacy_ok;
    any_flagged = any_flagged || flagged;
    out += fmt::format("{} {}{}{:>11}{:>13}  {}{:>9}\n", flagged ? "x" : " ",
                       Cell(std::string(OptionKindName(option.kind)), 17), Cell(option.name, 46),
                       FormatUsd(option.monthly_usd), FormatUsd(option.usd_per_million_tokens),
                       Cell(ThroughputCell(option), 17), LatencyCell(option));
    for (const std::string& note : option.notes) {
      footnotes.push_back(fmt::format("{} {}: {}", OptionKindName(option.kind), option.name, note));
    }
  }
  if (!footnotes.empty()) {
    out += any_flagged ? "\nNotes (x: cannot carry the workload, or would send sensitive work out "
                         "of the local zone)\n"
                       : "\nNotes\n";
    for (const std::string& note : footnotes)
      out += "  - " + note + "\n";
  }
  out += fmt::format("\nBreak-even of local {}:\n", plan.options.front().name);
  for (const BreakEven& be : plan.break_evens) {
    out += fmt::format("  against {} {}: {} (at {} tokens/month); {} (at {} h/day)\n",
                       OptionKindName(be.kind), be.name,
                       DescribeCrossing(be.hours_per_day, Axis::kHoursPerDay),
                       FormatTokens(w.tokens_per_month),
                       DescribeCrossing(be.tokens_per_month, Axis::kTokensPerMonth),
                       FormatNumber(w.hours_per_day));
  }
  out += fmt::format("\nRecommendation: {} ({})\n", plan.recommendation.name,
                     OptionKindName(plan.recommendation.kind));
  for (const std::string& reason : plan.recommendation.reasons)
    out += "  - " + reason + "\n";
  return out;
}

}  // namespace tandem::cost
