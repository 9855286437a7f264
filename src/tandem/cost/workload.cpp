#include "tandem/cost/workload.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "tandem/core/config_reader.h"
#include "tandem/cost/planner.h"

namespace tandem::cost {
namespace {

Status OutOfRange(std::string_view field, double value, std::string_view range) {
  return MakeError(ErrorCode::kInvalidArgument, "workload: {} = {} is out of range ({})", field,
                   value, range);
}

}  // namespace

Status ValidateWorkload(const Workload& w) {
  // TOML and the command line both accept inf and nan; no field may hold them.
  for (auto [name, value] :
       {std::pair{"tokens_per_month", w.tokens_per_month},
        std::pair{"output_share", w.output_share}, std::pair{"hours_per_day", w.hours_per_day},
        std::pair{"sensitive_share", w.sensitive_share},
        std::pair{"prompt_tokens_per_call", w.prompt_tokens_per_call},
        std::pair{"output_tokens_per_call", w.output_tokens_per_call},
        std::pair{"spot_discount", w.spot_discount.value_or(0)}}) {
    if (!std::isfinite(value)) return OutOfRange(name, value, "must be a finite number");
  }
  if (!(w.tokens_per_month > 0)) {
    return OutOfRange("tokens_per_month", w.tokens_per_month, "must be greater than 0");
  }
  if (!(w.hours_per_day > 0 && w.hours_per_day <= 24)) {
    return OutOfRange("hours_per_day", w.hours_per_day, "greater than 0 and at most 24");
  }
  for (auto [name, value] : {std::pair{"output_share", w.output_share},
                             std::pair{"sensitive_share", w.sensitive_share}}) {
    if (!(value >= 0 && value <= 1)) return OutOfRange(name, value, "between 0 and 1");
  }
  for (auto [name, value] : {std::pair{"prompt_tokens_per_call", w.prompt_tokens_per_call},
                             std::pair{"output_tokens_per_call", w.output_tokens_per_call}}) {
    if (!(value >= 0)) return OutOfRange(name, value, "must not be negative");
  }
  if (w.spot_discount && !(*w.spot_discount >= 0 && *w.spot_discount < 1)) {
    return OutOfRange("spot_discount", *w.spot_discount, "at least 0 and below 1");
  }
  return {};
}

Status ApplyWorkloadTable(const toml::table& table, std::string_view key_prefix, Workload& w) {
  ConfigReader reader(table, std::string(key_prefix));
  if (Status known = reader.CheckKnownKeys(
          {"tokens_per_month", "output_share", "hours_per_day", "sensitive_share", "model_size",
           "prompt_tokens_per_call", "output_tokens_per_call", "instance", "local_profile",
           "api_models", "spot_discount",
           // Read by LoadCloudReference (usage_summary.h), not by the planner.
           "reference_cloud_model"});
      !known) {
    return known;
  }
  for (auto [key, field] :
       {std::pair{"tokens_per_month", &w.tokens_per_month},
        std::pair{"output_share", &w.output_share}, std::pair{"hours_per_day", &w.hours_per_day},
        std::pair{"sensitive_share", &w.sensitive_share},
        std::pair{"prompt_tokens_per_call", &w.prompt_tokens_per_call},
        std::pair{"output_tokens_per_call", &w.output_tokens_per_call}}) {
    auto value = reader.Number(key);
    if (!value) return std::unexpected(value.error());
    if (!*value) continue;
    double previous = *field;
    *field = **value;
    // Range errors are reported at the key's file and line, not just by name.
    if (Status valid = ValidateWorkload(w); !valid) {
      *field = previous;
      return std::unexpected(reader.ErrorAt(key, valid.error().message()));
    }
  }
  auto discount = reader.Number("spot_discount");
  if (!discount) return std::unexpected(discount.error());
  if (*discount) {
    if (!(**discount >= 0 && **discount < 1)) {
      return std::unexpected(reader.ErrorAt(
          "spot_discount", fmt::format("must be at least 0 and below 1 (got {})", **discount)));
    }
    w.spot_discount = **discount;
  }
  for (auto [key, field] :
       {std::pair{"model_size", &w.model_size}, std::pair{"instance", &w.instance},
        std::pair{"local_profile", &w.local_profile}}) {
    auto value = reader.String(key);
    if (!value) return std::unexpected(value.error());
    if (*value) *field = **value;
  }
  auto models = reader.StringArray("api_models");
  if (!models) return std::unexpected(models.error());
  if (*models) w.api_models = **models;
  return {};
}

Result<Workload> LoadWorkloadFile(const std::filesystem::path& path, Workload base) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(ErrorCode::kNotFound, "workload file {} cannot be read", path.string());
  }
  std::ostringstream text;
  text << in.rdbuf();
  toml::table root;
  try {
    root = toml::parse(text.str(), path.string());
  } catch (const toml::parse_error& e) {
    return MakeError(ErrorCode::kInvalidArgument, "{}:{}:{}: {}", path.string(),
                     e.source().begin.line, e.source().begin.column, e.description());
  }
  ConfigReader reader(root, "");
  if (Status known = reader.CheckKnownKeys({"workload"}); !known) {
    return std::unexpected(known.error());
  }
  const toml::table* table = reader.Table("workload");
  if (!table) {
    return MakeError(ErrorCode::kInvalidArgument, "{}: expected a [workload] table", path.string());
  }
  if (Status applied = ApplyWorkloadTable(*table, "workload", base); !applied) {
    return std::unexpected(applied.error());
  }
  base.source = path.string();
  return base;
}

Result<Workload> WorkloadFromConfig(const Config& config) {
  Workload workload;
  if (!config.document) return workload;
  const toml::node* node = config.document->get("cost");
  if (!node) return workload;
  if (!node->is_table()) {
    return std::unexpected(ConfigReader(*config.document, "").ErrorAt("cost", "expected a table"));
  }
  if (Status applied = ApplyWorkloadTable(*node->as_table(), "cost", workload); !applied) {
    return std::unexpected(applied.error());
  }
  workload.source = config.source.empty() ? "defaults" : config.source.string() + " [cost]";
  return workload;
}

Result<Workload> WorkloadFromUsage(const std::vector<DailyUsage>& usage, Workload base) {
  std::set<std::string> days;
  double total = 0;
  double output = 0;
  double sensitive = 0;
  for (const DailyUsage& day : usage) {
    double tokens = day.prompt_tokens + day.completion_tokens;
    if (!(day.prompt_tokens >= 0 && day.completion_tokens >= 0)) {
      return MakeError(ErrorCode::kInvalidArgument, "usage of {}: negative token count", day.day);
    }
    days.insert(day.day);
    total += tokens;
    output += day.completion_tokens;
    // Work recorded in the cloud zone was by construction not sensitive; sensitive work that
    // ran locally is what a plan must keep local.
    if (day.sensitive) sensitive += tokens;
  }
  if (!(total > 0)) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "the usage ledger holds no tokens yet: give a workload file or flags");
  }
  base.tokens_per_month = total / static_cast<double>(days.size()) * kDaysPerMonth;
  base.output_share = output / total;
  base.sensitive_share = sensitive / total;
  base.source = fmt::format("usage ledger ({} days)", days.size());
  return base;
}

}  // namespace tandem::cost
