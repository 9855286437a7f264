// Read views for the web UI: cost over the ledger (/api/cost), the routing audit log
// (/api/audit, admins only) and the providers with their health (/api/providers).
#include <fmt/format.h>

#include <charconv>
#include <limits>
#include <map>

#include "tandem/core/clock.h"
#include "tandem/cost/usage_summary.h"
#include "tandem/server/server_impl.h"

namespace tandem::server {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr int64_t kProviderWindowMs = int64_t{24} * 3600 * 1000;

// The integer query parameter `name` in [min, max], `fallback` when absent; nullopt after
// filling a 400 that names the parameter.
std::optional<int64_t> IntParam(const httplib::Request& req, httplib::Response& res,
                                const std::string& name, int64_t fallback, int64_t min,
                                int64_t max) {
  if (!req.has_param(name)) return fallback;
  std::string text = req.get_param_value(name);
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    SendError(res, 400, "invalid_argument",
              fmt::format("query parameter '{}' must be an integer in [{}, {}] (got '{}')", name,
                          min, max, text));
    return std::nullopt;
  }
  return value;
}

ordered_json GroupsJson(const cost::LedgerReport& report, const char* key) {
  ordered_json out = ordered_json::array();
  for (const auto& [name, totals] : report.groups) {
    out.push_back({{key, name},
                   {"calls", totals.calls},
                   {"tokens", totals.prompt_tokens + totals.completion_tokens},
                   {"cost_usd", totals.cost_usd}});
  }
  return out;
}

ordered_json CostJson(const cost::UsageSummary& summary) {
  ordered_json by_day = ordered_json::array();
  for (const cost::DayUsage& day : summary.by_day) {
    by_day.push_back({{"day", day.day},
                      {"local_usd", day.local.cost_usd},
                      {"cloud_usd", day.cloud.cost_usd},
                      {"calls", day.local.calls + day.cloud.calls}});
  }
  auto optional_usd = [&](double cost::CloudComparison::*field) {
    return summary.comparison ? ordered_json((*summary.comparison).*field) : ordered_json();
  };
  return {
      {"currency", "USD"},
      {"days", summary.days},
      {"total",
       {{"calls", summary.total.calls},
        {"tokens_in", summary.total.prompt_tokens},
        {"tokens_out", summary.total.completion_tokens},
        {"cost_usd", summary.total.cost_usd},
        {"unpriced_calls", summary.total.unpriced_calls}}},
      {"by_day", std::move(by_day)},
      {"by_zone", GroupsJson(summary.by_zone, "zone")},
      {"by_provider", GroupsJson(summary.by_provider, "provider")},
      {"by_model", GroupsJson(summary.by_model, "model")},
      {"local_share", {{"calls", summary.local_call_share}, {"tokens", summary.local_token_share}}},
      {"reference_model",
       summary.reference ? ordered_json(summary.reference->model) : ordered_json()},
      {"all_cloud_usd", optional_usd(&cost::CloudComparison::all_cloud_usd)},
      {"savings_usd", optional_usd(&cost::CloudComparison::savings_usd)}};
}

ordered_json NullIfEmpty(const std::string& text) {
  return text.empty() ? ordered_json() : ordered_json(text);
}

// One audit record for the UI: the routing fields on top, the rest of the payload as detail.
ordered_json AuditEntryJson(const store::AuditRecord& record) {
  json payload = json::parse(record.payload, nullptr, false);
  if (!payload.is_object()) payload = json::object();
  auto take = [&payload](const char* key) {
    std::string value =
        payload.contains(key) && payload[key].is_string() ? payload[key].get<std::string>() : "";
    payload.erase(key);
    return value;
  };
  std::string route = take("route");
  std::string provider = take("provider");
  std::string reason = take("reason");
  payload.erase("task_id");
  payload.erase("time_unix_ms");
  if (!route.empty() && route != "local" && route != "cloud") payload["route"] = route;  // "deny".
  bool zoned = route == "local" || route == "cloud";
  return {{"id", record.id},
          {"time_ms", record.created_at_ms},
          {"task_id", NullIfEmpty(record.task_id)},
          {"kind", record.kind},
          {"zone", zoned ? ordered_json(route) : ordered_json()},
          {"provider", NullIfEmpty(provider)},
          {"reason", NullIfEmpty(reason)},
          {"detail", payload}};
}

}  // namespace

void Server::Impl::AddViewRoutes() {
  auto bind = [this](auto method) {
    return [this, method](const httplib::Request& req, httplib::Response& res,
                          const Principal& who) { (this->*method)(req, res, who); };
  };
  Route("GET", "/api/cost", "/api/cost", Access::kViewer, bind(&Impl::CostView));
  Route("GET", "/api/audit", "/api/audit", Access::kAdmin, bind(&Impl::AuditView));
  Route("GET", "/api/providers", "/api/providers", Access::kViewer, bind(&Impl::ProvidersView));
}

void Server::Impl::CostView(const httplib::Request& req, httplib::Response& res,
                            const Principal& who) {
  std::optional<int64_t> days = IntParam(req, res, "days", 30, 1, 366);
  if (!days) return;
  int64_t now = ToUnixMillis(SystemClock().Now());
  Result<std::vector<store::LedgerRow>> rows =
      deps_.store->ListLedger({.since_ms = cost::WindowStartMs(now, static_cast<int>(*days))});
  if (!rows) return SendError(res, rows.error());
  if (who.role != Role::kAdmin) {
    // Calls outside any task (or of tasks started outside the server) are admins' only.
    std::map<std::string, bool> visible;
    std::erase_if(*rows, [&](const store::LedgerRow& row) {
      auto it = visible.find(row.task_id);
      if (it == visible.end()) {
        it = visible.emplace(row.task_id, !row.task_id.empty() && CanSee(who, row.task_id)).first;
      }
      return !it->second;
    });
  }
  cost::UsageSummary summary =
      cost::SummarizeUsage(*rows, now, static_cast<int>(*days), deps_.cloud_reference);
  SendJson(res, 200, CostJson(summary));
}

void Server::Impl::AuditView(const httplib::Request& req, httplib::Response& res,
                             const Principal&) {
  std::optional<int64_t> limit = IntParam(req, res, "limit", 100, 1, 1000);
  if (!limit) return;
  std::optional<int64_t> before =
      IntParam(req, res, "before", 0, 1, std::numeric_limits<int64_t>::max());
  if (!before) return;
  // One more than asked tells whether another page exists.
  Result<std::vector<store::AuditRecord>> records =
      deps_.store->ListAuditPage(static_cast<int>(*limit) + 1, *before);
  if (!records) return SendError(res, records.error());
  bool more = static_cast<int64_t>(records->size()) > *limit;
  if (more) records->pop_back();
  ordered_json entries = ordered_json::array();
  for (const store::AuditRecord& record : *records)
    entries.push_back(AuditEntryJson(record));
  SendJson(res, 200,
           {{"entries", std::move(entries)},
            {"next_before", more ? ordered_json(records->back().id) : ordered_json()}});
}

void Server::Impl::ProvidersView(const httplib::Request&, httplib::Response& res,
                                 const Principal&) {
  int64_t now = ToUnixMillis(SystemClock().Now());
  Result<std::vector<store::LedgerRow>> rows =
      deps_.store->ListLedger({.since_ms = now - kProviderWindowMs});
  if (!rows) return SendError(res, rows.error());
  std::map<std::string, cost::ProviderCalls> calls = cost::ProviderLatencies(*rows);
  ordered_json out = ordered_json::array();
  if (deps_.config == nullptr) return SendJson(res, 200, out);
  for (const ProviderConfig& provider : deps_.config->providers) {
    const router::ProviderHealth* health = deps_.health;
    cost::ProviderCalls seen =
        calls.contains(provider.name) ? calls[provider.name] : cost::ProviderCalls{};
    out.push_back({{"name", provider.name},
                   {"zone", ZoneName(provider.zone)},
                   {"kind", provider.kind},
                   {"model", provider.model},
                   {"healthy", health == nullptr || health->IsAvailable(provider.name)},
                   {"state", health != nullptr ? health->Describe(provider.name) : "closed"},
                   {"last_error", NullIfEmpty(health != nullptr ? health->LastError(provider.name)
                                                                : std::string())},
                   {"calls", seen.calls},
                   {"p50_ms", seen.calls > 0 ? ordered_json(seen.p50_ms) : ordered_json()},
                   {"p99_ms", seen.calls > 0 ? ordered_json(seen.p99_ms) : ordered_json()}});
  }
  SendJson(res, 200, out);
}

}  // namespace tandem::server
