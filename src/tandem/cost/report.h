// Renderings of a Plan: a text table for people, JSON for programs, an SVG chart for browsers.
#pragma once

#include <string>

#include "tandem/cost/planner.h"

namespace tandem::cost {

// The options side by side, the break-even points and the recommendation with its reasons.
std::string RenderTable(const Plan& plan);

// {"options": [{"kind", "name", "monthly_usd", "usd_per_million_tokens", ...}],
//  "break_even": [...], "recommendation": {"kind", "name", "reasons"}, "workload": {...}}.
std::string RenderJson(const Plan& plan);

// A standalone SVG: monthly cost of each option against hours per day (0-24) at the
// workload's tokens per month, break-even points of local against each cloud option marked.
std::string RenderChartSvg(const Plan& plan);

}  // namespace tandem::cost
