// Number formatting shared by the planner's reasons and the reports.
#pragma once

#include <string>

namespace tandem::cost {

// "$2,234" (whole dollars from 100 up), "$12.50" below 100, "$0.0150" below 1.
std::string FormatUsd(double usd);
// "12.5M", "730k", "1.2B", "950".
std::string FormatTokens(double tokens);
// Shortest plain form: 24 -> "24", 0.5 -> "0.5", 0.8048 -> "0.8048".
std::string FormatNumber(double value);

}  // namespace tandem::cost
