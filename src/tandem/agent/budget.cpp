#include "tandem/agent/budget.h"

#include <fmt/format.h>

namespace tandem::agent {
namespace {

struct Limit {
  const char* name;
  std::optional<double> limit;
  double spent;
  const char* format;
};

std::vector<Limit> Limits(const Budget& budget, const Spend& spend) {
  auto as_double = [](std::optional<int64_t> v) -> std::optional<double> {
    if (!v) return std::nullopt;
    return static_cast<double>(*v);
  };
  return {{"usd", budget.usd, spend.usd, "USD {:.4f} of {:.4f}"},
          {"tokens", as_double(budget.tokens), static_cast<double>(spend.tokens),
           "{:.0f} of {:.0f} tokens"},
          {"seconds", budget.seconds, spend.seconds, "{:.0f} s of {:.0f} s"},
          {"tool_calls", as_double(budget.tool_calls), static_cast<double>(spend.tool_calls),
           "{:.0f} of {:.0f} tool calls"}};
}

}  // namespace

nlohmann::json BudgetToJson(const Budget& budget) {
  nlohmann::json out = nlohmann::json::object();
  if (budget.usd) out["usd"] = *budget.usd;
  if (budget.tokens) out["tokens"] = *budget.tokens;
  if (budget.seconds) out["seconds"] = *budget.seconds;
  if (budget.tool_calls) out["tool_calls"] = *budget.tool_calls;
  return out;
}

Budget BudgetFromJson(const nlohmann::json& json) {
  Budget budget;
  if (!json.is_object()) return budget;
  if (json.contains("usd") && json["usd"].is_number()) budget.usd = json["usd"].get<double>();
  if (json.contains("tokens") && json["tokens"].is_number_integer()) {
    budget.tokens = json["tokens"].get<int64_t>();
  }
  if (json.contains("seconds") && json["seconds"].is_number()) {
    budget.seconds = json["seconds"].get<double>();
  }
  if (json.contains("tool_calls") && json["tool_calls"].is_number_integer()) {
    budget.tool_calls = json["tool_calls"].get<int64_t>();
  }
  return budget;
}

nlohmann::json SpendToJson(const Spend& spend) {
  return {{"usd", spend.usd},
          {"tokens", spend.tokens},
          {"seconds", spend.seconds},
          {"tool_calls", spend.tool_calls}};
}

std::optional<std::string> ExhaustedLimit(const Budget& budget, const Spend& spend) {
  for (const Limit& l : Limits(budget, spend)) {
    if (l.limit && l.spent >= *l.limit) {
      return fmt::format(fmt::runtime(l.format), l.spent, *l.limit);
    }
  }
  return std::nullopt;
}

std::vector<std::string> LimitsAbove(const Budget& budget, const Spend& spend, double fraction) {
  std::vector<std::string> names;
  for (const Limit& l : Limits(budget, spend)) {
    if (l.limit && l.spent >= fraction * *l.limit) names.push_back(l.name);
  }
  return names;
}

}  // namespace tandem::agent
