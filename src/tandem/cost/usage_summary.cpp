#include "tandem/cost/usage_summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "tandem/core/config_reader.h"

namespace tandem::cost {
namespace {

constexpr int64_t kDayMs = int64_t{24} * 3600 * 1000;

std::optional<CloudReference> Priced(const PriceLookup& prices, const std::string& model) {
  std::optional<TokenPrices> price = prices ? prices(model) : std::nullopt;
  if (!price) return std::nullopt;
  return CloudReference{model, price->input_usd_per_token, price->output_usd_per_token};
}

double Share(double part, double whole) {
  return whole > 0 ? part / whole : 0;
}

int64_t NearestRank(const std::vector<int64_t>& sorted, double p) {
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

Result<std::optional<CloudReference>> LoadCloudReference(const Config& config,
                                                         const PriceLookup& prices) {
  const toml::table* section =
      config.document ? ConfigReader(*config.document, "").Table("cost") : nullptr;
  if (section != nullptr) {
    ConfigReader reader(*section, "cost");
    Result<std::optional<std::string>> model = reader.String("reference_cloud_model");
    if (!model) return std::unexpected(model.error());
    if (*model) {
      std::optional<CloudReference> reference = Priced(prices, **model);
      if (!reference) {
        return std::unexpected(
            reader.ErrorAt("reference_cloud_model",
                           fmt::format("model '{}' is not in the price catalog (add it under "
                                       "[catalog.models.\"{}\"])",
                                       **model, **model)));
      }
      return reference;
    }
  }
  for (const ProviderConfig& provider : config.providers) {
    if (provider.zone != Zone::kCloud) continue;
    if (std::optional<CloudReference> reference = Priced(prices, provider.model)) return reference;
  }
  return std::optional<CloudReference>();
}

CloudComparison CompareWithAllCloud(const std::vector<store::LedgerRow>& rows,
                                    const CloudReference& reference) {
  CloudComparison out;
  for (const store::LedgerRow& row : rows) {
    if (row.cost_usd) out.actual_usd += *row.cost_usd;
    if (row.outcome != "ok") continue;
    out.all_cloud_usd +=
        static_cast<double>(row.prompt_tokens) * reference.input_usd_per_token +
        static_cast<double>(row.completion_tokens) * reference.output_usd_per_token;
  }
  out.savings_usd = out.all_cloud_usd - out.actual_usd;
  return out;
}

int64_t WindowStartMs(int64_t now_unix_ms, int days) {
  int64_t today = now_unix_ms - now_unix_ms % kDayMs;
  return today - int64_t{std::max(days, 1) - 1} * kDayMs;
}

UsageSummary SummarizeUsage(const std::vector<store::LedgerRow>& rows, int64_t now_unix_ms,
                            int days, const std::optional<CloudReference>& reference) {
  UsageSummary out;
  out.days = std::max(days, 1);
  out.by_zone = BuildLedgerReport(rows, LedgerGrouping::kZone);
  out.by_provider = BuildLedgerReport(rows, LedgerGrouping::kProvider);
  out.by_model = BuildLedgerReport(rows, LedgerGrouping::kModel);
  out.total = out.by_zone.total;
  int64_t start = WindowStartMs(now_unix_ms, out.days);
  std::map<std::string, size_t> day_index;
  for (int i = 0; i < out.days; ++i) {
    out.by_day.push_back({.day = UtcDay(start + i * kDayMs)});
    day_index[out.by_day.back().day] = out.by_day.size() - 1;
  }
  double local_calls = 0, zoned_calls = 0, local_tokens = 0, zoned_tokens = 0;
  for (const store::LedgerRow& row : rows) {
    std::optional<Zone> zone = ParseZone(row.zone);
    if (!zone) continue;
    double tokens = static_cast<double>(row.prompt_tokens + row.completion_tokens);
    zoned_calls += 1;
    zoned_tokens += tokens;
    if (*zone == Zone::kLocal) {
      local_calls += 1;
      local_tokens += tokens;
    }
    auto day = day_index.find(UtcDay(row.created_at_ms));
    if (day == day_index.end()) continue;  // Outside the window the caller asked for.
    DayUsage& usage = out.by_day[day->second];
    AddToTotals(*zone == Zone::kLocal ? usage.local : usage.cloud, row);
  }
  out.local_call_share = Share(local_calls, zoned_calls);
  out.local_token_share = Share(local_tokens, zoned_tokens);
  out.reference = reference;
  if (reference) out.comparison = CompareWithAllCloud(rows, *reference);
  return out;
}

std::map<std::string, ProviderCalls> ProviderLatencies(const std::vector<store::LedgerRow>& rows) {
  std::map<std::string, std::vector<int64_t>> latencies;
  for (const store::LedgerRow& row : rows) {
    if (row.outcome == "ok" && !row.provider.empty()) {
      latencies[row.provider].push_back(row.latency_ms);
    }
  }
  std::map<std::string, ProviderCalls> out;
  for (auto& [provider, values] : latencies) {
    std::sort(values.begin(), values.end());
    out[provider] = {.calls = static_cast<int64_t>(values.size()),
                     .p50_ms = NearestRank(values, 0.50),
                     .p99_ms = NearestRank(values, 0.99)};
  }
  return out;
}

}  // namespace tandem::cost
