#include "tandem/cost/format.h"

#include <fmt/format.h>

#include <cmath>

namespace tandem::cost {

std::string FormatUsd(double usd) {
  if (!std::isfinite(usd)) return "n/a";
  std::string sign = usd < 0 ? "-" : "";
  double value = std::fabs(usd);
  if (value < 1) return fmt::format("{}${:.4f}", sign, value);
  if (value < 100) return fmt::format("{}${:.2f}", sign, value);
  std::string digits = fmt::format("{:.0f}", value);
  std::string grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  return sign + "$" + grouped;
}

std::string FormatTokens(double tokens) {
  if (!std::isfinite(tokens)) return "unlimited";
  double value = std::fabs(tokens);
  if (value >= 1e9) return fmt::format("{:.3g}B", tokens / 1e9);
  if (value >= 1e6) return fmt::format("{:.3g}M", tokens / 1e6);
  if (value >= 1e3) return fmt::format("{:.3g}k", tokens / 1e3);
  return fmt::format("{:.0f}", tokens);
}

std::string FormatNumber(double value) {
  return fmt::format("{}", value);
}

}  // namespace tandem::cost
