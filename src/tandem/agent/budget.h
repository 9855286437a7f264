// Task budgets: USD, tokens, wall time and tool calls (steps are RunOptions::max_steps).
// A warning at 80% of any limit, a clean, resumable stop at 100%.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace tandem::agent {

struct Budget {
  std::optional<double> usd;          // Model cost from the ledger.
  std::optional<int64_t> tokens;      // Prompt + completion tokens from the ledger.
  std::optional<double> seconds;      // Wall time of all runs of the task.
  std::optional<int64_t> tool_calls;  // Tool calls that ran.
};

struct Spend {
  double usd = 0;
  int64_t tokens = 0;
  double seconds = 0;
  int64_t tool_calls = 0;
};

nlohmann::json BudgetToJson(const Budget& budget);
Budget BudgetFromJson(const nlohmann::json& json);
nlohmann::json SpendToJson(const Spend& spend);

// The first exhausted limit ("USD 0.0104 of 0.0100"), or nullopt.
std::optional<std::string> ExhaustedLimit(const Budget& budget, const Spend& spend);
// Limits at or above `fraction` of their value, e.g. {"usd"} at 0.8.
std::vector<std::string> LimitsAbove(const Budget& budget, const Spend& spend, double fraction);

}  // namespace tandem::agent
