#include "tandem/cost/catalog.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cmath>
#include <cstdlib>
#include <set>
#include <tuple>

#include "tandem/core/config_reader.h"

namespace tandem::embedded {
extern const std::string_view kInstancesToml;
}

namespace tandem::cost {
namespace {

// What a numeric catalog field may hold.
enum class Bound {
  kNonNegative,  // >= 0 (prices, power, overheads).
  kPositive,     // > 0 (lifetimes, throughput, hourly prices of an instance).
  kShare,        // in (0, 1] (utilisation).
  kDiscount,     // in [0, 1) (spot discount).
};

std::string_view Describe(Bound bound) {
  switch (bound) {
    case Bound::kNonNegative:
      return "must not be negative";
    case Bound::kPositive:
      return "must be greater than zero";
    case Bound::kShare:
      return "must be greater than 0 and at most 1";
    case Bound::kDiscount:
      return "must be at least 0 and below 1";
  }
  return "";
}

bool InBound(double value, Bound bound) {
  if (!std::isfinite(value)) return false;  // TOML allows inf and nan.
  switch (bound) {
    case Bound::kNonNegative:
      return value >= 0;
    case Bound::kPositive:
      return value > 0;
    case Bound::kShare:
      return value > 0 && value <= 1;
    case Bound::kDiscount:
      return value >= 0 && value < 1;
  }
  return false;
}

// Reads `key` into `out` when present; fails naming the key and the value when out of bound.
Status ReadNumber(const ConfigReader& reader, std::string_view key, Bound bound, double& out) {
  auto value = reader.Number(key);
  if (!value) return std::unexpected(value.error());
  if (!*value) return {};
  if (!InBound(**value, bound)) {
    return std::unexpected(
        reader.ErrorAt(key, fmt::format("{} (got {})", Describe(bound), **value)));
  }
  out = **value;
  return {};
}

Status ReadString(const ConfigReader& reader, std::string_view key, std::string& out) {
  auto value = reader.String(key);
  if (!value) return std::unexpected(value.error());
  if (*value) out = **value;
  return {};
}

// Fails at the first of `keys` missing from a table that defines a new entry.
Status RequireKeys(const toml::table& table, const ConfigReader& reader,
                   std::initializer_list<std::string_view> keys, std::string_view what) {
  for (std::string_view key : keys) {
    if (!table.contains(key)) {
      return std::unexpected(reader.ErrorAt(key, fmt::format("a new {} needs '{}'", what, key)));
    }
  }
  return {};
}

std::string EntryPrefix(std::string_view prefix, std::string_view table, std::string_view name) {
  std::string inner = fmt::format("{}.\"{}\"", table, name);
  return prefix.empty() ? inner : fmt::format("{}.{}", prefix, inner);
}

std::string TablePrefix(std::string_view prefix, std::string_view table) {
  return prefix.empty() ? std::string(table) : fmt::format("{}.{}", prefix, table);
}

// Calls `apply(name, entry_table, entry_prefix)` for each entry of the table `key` of `root`.
template <typename Apply>
Status ForEachEntry(const toml::table& root, std::string_view prefix, std::string_view key,
                    Apply apply) {
  const toml::node* node = root.get(key);
  if (!node) return {};
  ConfigReader parent(root, std::string(prefix));
  const toml::table* entries = node->as_table();
  if (!entries) return std::unexpected(parent.ErrorAt(key, "expected a table of named entries"));
  for (const auto& [name_key, entry] : *entries) {
    std::string name(name_key.str());
    const toml::table* table = entry.as_table();
    if (!table) {
      return std::unexpected(
          ConfigReader(*entries, TablePrefix(prefix, key)).ErrorAt(name, "expected a table"));
    }
    if (Status status = apply(name, *table, EntryPrefix(prefix, key, name)); !status) {
      return status;
    }
  }
  return {};
}

Status ApplyInstance(const toml::table& table, const std::string& prefix, bool is_new,
                     CloudInstance& instance) {
  ConfigReader reader(table, prefix);
  if (Status known = reader.CheckKnownKeys(
          {"provider", "region", "gpu", "gpu_count", "gpu_memory_gb", "usd_per_hour", "hardware"});
      !known) {
    return known;
  }
  if (is_new) {
    if (Status required = RequireKeys(table, reader, {"usd_per_hour", "hardware"}, "instance");
        !required) {
      return required;
    }
  }
  for (auto [key, field] :
       {std::pair{"provider", &instance.provider}, std::pair{"region", &instance.region},
        std::pair{"gpu", &instance.gpu}, std::pair{"hardware", &instance.hardware}}) {
    if (Status status = ReadString(reader, key, *field); !status) return status;
  }
  auto gpu_count = reader.Integer("gpu_count");
  if (!gpu_count) return std::unexpected(gpu_count.error());
  if (*gpu_count) {
    if (**gpu_count < 1 || **gpu_count > 1024) {
      return std::unexpected(reader.ErrorAt(
          "gpu_count", fmt::format("must be between 1 and 1024 (got {})", **gpu_count)));
    }
    instance.gpu_count = static_cast<int>(**gpu_count);
  }
  for (auto [key, bound, field] :
       {std::tuple{"gpu_memory_gb", Bound::kNonNegative, &instance.gpu_memory_gb},
        std::tuple{"usd_per_hour", Bound::kPositive, &instance.usd_per_hour}}) {
    if (Status status = ReadNumber(reader, key, bound, *field); !status) return status;
  }
  return {};
}

Status ApplyLocal(const toml::table& table, const std::string& prefix, bool is_new,
                  LocalProfile& local) {
  ConfigReader reader(table, prefix);
  if (Status known =
          reader.CheckKnownKeys({"description", "hardware", "purchase_usd", "lifetime_years",
                                 "power_load_w", "power_idle_w", "electricity_usd_per_kwh",
                                 "utilisation", "operations_usd_per_month", "source"});
      !known) {
    return known;
  }
  if (is_new) {
    if (Status required = RequireKeys(table, reader,
                                      {"hardware", "purchase_usd", "lifetime_years", "power_load_w",
                                       "electricity_usd_per_kwh"},
                                      "local profile");
        !required) {
      return required;
    }
  }
  for (auto [key, field] :
       {std::pair{"description", &local.description}, std::pair{"hardware", &local.hardware}}) {
    if (Status status = ReadString(reader, key, *field); !status) return status;
  }
  for (auto [key, bound, field] :
       {std::tuple{"purchase_usd", Bound::kNonNegative, &local.purchase_usd},
        std::tuple{"lifetime_years", Bound::kPositive, &local.lifetime_years},
        std::tuple{"power_load_w", Bound::kNonNegative, &local.power_load_w},
        std::tuple{"power_idle_w", Bound::kNonNegative, &local.power_idle_w},
        std::tuple{"electricity_usd_per_kwh", Bound::kNonNegative, &local.electricity_usd_per_kwh},
        std::tuple{"utilisation", Bound::kShare, &local.utilisation},
        std::tuple{"operations_usd_per_month", Bound::kNonNegative,
                   &local.operations_usd_per_month}}) {
    if (Status status = ReadNumber(reader, key, bound, *field); !status) return status;
  }
  return {};
}

Status ApplyHardware(const toml::table& table, const std::string& prefix,
                     HardwareProfile& hardware) {
  ConfigReader reader(table, prefix);
  for (const auto& [size_key, node] : table) {
    std::string key(size_key.str());
    if (key == "memory_bandwidth_gbps" || key == "fp16_tflops") {
      double& field = key == "fp16_tflops" ? hardware.fp16_tflops : hardware.memory_bandwidth_gbps;
      if (Status status = ReadNumber(reader, key, Bound::kNonNegative, field); !status) {
        return status;
      }
      continue;
    }
    if (key == "measured") {
      auto measured = reader.Boolean(key);
      if (!measured) return std::unexpected(measured.error());
      hardware.measured = **measured;
      continue;
    }
    const toml::table* size_table = node.as_table();
    if (!size_table) {
      return std::unexpected(reader.ErrorAt(
          key,
          "expected a model size table such as { decode_tokens_per_s = 40, "
          "prefill_tokens_per_s = 1500 }, or memory_bandwidth_gbps, fp16_tflops, measured"));
    }
    ConfigReader size_reader(*size_table, reader.FullKey(fmt::format("\"{}\"", key)));
    if (Status known = size_reader.CheckKnownKeys({"decode_tokens_per_s", "prefill_tokens_per_s"});
        !known) {
      return known;
    }
    auto existing = hardware.by_model_size.find(key);
    if (existing == hardware.by_model_size.end()) {
      if (Status required =
              RequireKeys(*size_table, size_reader, {"decode_tokens_per_s", "prefill_tokens_per_s"},
                          "model size");
          !required) {
        return required;
      }
    }
    Throughput throughput =
        existing == hardware.by_model_size.end() ? Throughput{} : existing->second;
    for (auto [field_key, field] :
         {std::pair{"decode_tokens_per_s", &throughput.decode_tokens_per_s},
          std::pair{"prefill_tokens_per_s", &throughput.prefill_tokens_per_s}}) {
      if (Status status = ReadNumber(size_reader, field_key, Bound::kPositive, *field); !status) {
        return status;
      }
    }
    hardware.by_model_size[key] = throughput;
  }
  return {};
}

Status ApplySpot(const toml::table& table, const std::string& prefix, SpotModel& spot) {
  ConfigReader reader(table, prefix);
  if (Status known = reader.CheckKnownKeys({"discount_min", "discount_max", "default_discount",
                                            "interruption_notice_s", "interruptions_per_day",
                                            "restart_overhead_minutes", "source"});
      !known) {
    return known;
  }
  for (auto [key, bound, field] :
       {std::tuple{"discount_min", Bound::kDiscount, &spot.discount_min},
        std::tuple{"discount_max", Bound::kDiscount, &spot.discount_max},
        std::tuple{"default_discount", Bound::kDiscount, &spot.default_discount},
        std::tuple{"interruption_notice_s", Bound::kNonNegative, &spot.interruption_notice_s},
        std::tuple{"interruptions_per_day", Bound::kNonNegative, &spot.interruptions_per_day},
        std::tuple{"restart_overhead_minutes", Bound::kNonNegative,
                   &spot.restart_overhead_minutes}}) {
    if (Status status = ReadNumber(reader, key, bound, *field); !status) return status;
  }
  if (spot.discount_min > spot.discount_max) {
    return std::unexpected(reader.ErrorAt(
        "discount_min",
        fmt::format("{} is above discount_max ({})", spot.discount_min, spot.discount_max)));
  }
  return {};
}

Status ApplyApi(const toml::table& table, const std::string& prefix, ApiSpeed& api) {
  ConfigReader reader(table, prefix);
  if (Status known =
          reader.CheckKnownKeys({"decode_tokens_per_s", "first_token_s", "source", "size_class"});
      !known) {
    return known;
  }
  if (Status status =
          ReadNumber(reader, "decode_tokens_per_s", Bound::kPositive, api.decode_tokens_per_s);
      !status) {
    return status;
  }
  if (Status status = ReadNumber(reader, "first_token_s", Bound::kNonNegative, api.first_token_s);
      !status) {
    return status;
  }
  const toml::node* classes = table.get("size_class");
  if (!classes) return {};
  if (!classes->is_table())
    return std::unexpected(reader.ErrorAt("size_class", "expected a table"));
  ConfigReader class_reader(*classes->as_table(), reader.FullKey("size_class"));
  for (const auto& [model_key, node] : *classes->as_table()) {
    std::string model(model_key.str());
    double billions = 0;
    if (Status status = ReadNumber(class_reader, model, Bound::kPositive, billions); !status) {
      return status;
    }
    api.size_class_b[model] = billions;
  }
  return {};
}

// A sub-table of `root` that must be a table when present.
Result<const toml::table*> OptionalTable(const toml::table& root, std::string_view prefix,
                                         std::string_view key) {
  const toml::node* node = root.get(key);
  if (!node) return nullptr;
  if (!node->is_table()) {
    return std::unexpected(
        ConfigReader(root, std::string(prefix)).ErrorAt(key, "expected a table"));
  }
  return node->as_table();
}

}  // namespace

std::optional<double> ModelSizeBillions(std::string_view model_size) {
  if (model_size.size() < 2 || (model_size.back() != 'b' && model_size.back() != 'B')) {
    return std::nullopt;
  }
  std::string digits(model_size.substr(0, model_size.size() - 1));
  char* end = nullptr;
  double value = std::strtod(digits.c_str(), &end);
  if (end != digits.c_str() + digits.size() || !std::isfinite(value) || value <= 0) {
    return std::nullopt;
  }
  return value;
}

Status InstanceCatalog::ApplyOverrides(const toml::table& root, std::string_view prefix) {
  ConfigReader reader(root, std::string(prefix));
  if (Status known = reader.CheckKnownKeys(
          {"meta", "models", "instances", "spot", "local", "throughput", "api"});
      !known) {
    return known;
  }
  // Hardware first, so instances and local profiles can name a profile added here.
  if (Status status = ForEachEntry(
          root, prefix, "throughput",
          [&](const std::string& name, const toml::table& table, const std::string& entry_prefix) {
            return ApplyHardware(table, entry_prefix, hardware_[name]);
          });
      !status) {
    return status;
  }
  if (Status status = ForEachEntry(
          root, prefix, "instances",
          [&](const std::string& name, const toml::table& table, const std::string& entry_prefix) {
            bool is_new = !instances_.contains(name);
            CloudInstance& instance = instances_[name];
            if (Status applied = ApplyInstance(table, entry_prefix, is_new, instance); !applied) {
              return applied;
            }
            return CheckHardware(table, entry_prefix, instance.hardware);
          });
      !status) {
    return status;
  }
  if (Status status = ForEachEntry(
          root, prefix, "local",
          [&](const std::string& name, const toml::table& table, const std::string& entry_prefix) {
            bool is_new = !local_.contains(name);
            LocalProfile& local = local_[name];
            if (Status applied = ApplyLocal(table, entry_prefix, is_new, local); !applied) {
              return applied;
            }
            return CheckHardware(table, entry_prefix, local.hardware);
          });
      !status) {
    return status;
  }
  Result<const toml::table*> spot = OptionalTable(root, prefix, "spot");
  if (!spot) return std::unexpected(spot.error());
  if (*spot) {
    if (Status status = ApplySpot(**spot, TablePrefix(prefix, "spot"), spot_); !status) {
      return status;
    }
  }
  Result<const toml::table*> api = OptionalTable(root, prefix, "api");
  if (!api) return std::unexpected(api.error());
  if (*api) return ApplyApi(**api, TablePrefix(prefix, "api"), api_);
  return {};
}

Status InstanceCatalog::CheckHardware(const toml::table& table, const std::string& prefix,
                                      const std::string& hardware) const {
  if (hardware_.contains(hardware)) return {};
  return std::unexpected(
      ConfigReader(table, prefix)
          .ErrorAt("hardware", fmt::format("unknown hardware profile \"{}\" (valid: {})", hardware,
                                           JoinKeys(hardware_))));
}

Result<InstanceCatalog> InstanceCatalog::FromToml(std::string_view text,
                                                  std::string_view source_name) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    return MakeError(ErrorCode::kInvalidArgument, "{}:{}:{}: {}", source_name,
                     e.source().begin.line, e.source().begin.column, e.description());
  }
  InstanceCatalog catalog;
  if (const toml::table* meta = root["meta"].as_table()) {
    ConfigReader reader(*meta, "meta");
    auto as_of = reader.String("as_of");
    auto sources = reader.StringArray("sources");
    if (!as_of) return std::unexpected(as_of.error());
    if (!sources) return std::unexpected(sources.error());
    catalog.as_of_ = as_of->value_or("");
    catalog.sources_ = sources->value_or(std::vector<std::string>{});
  }
  if (Status status = catalog.ApplyOverrides(root, ""); !status) {
    return std::unexpected(status.error());
  }
  if (catalog.instances_.empty() || catalog.local_.empty() || catalog.hardware_.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "{}: a catalog needs at least one entry in [instances], [local] and "
                     "[throughput]",
                     source_name);
  }
  return catalog;
}

Result<InstanceCatalog> InstanceCatalog::Load(const Config& config) {
  Result<InstanceCatalog> catalog = FromToml(embedded::kInstancesToml, "instances.toml");
  if (!catalog) {
    return std::unexpected(std::move(catalog.error()).WithContext("shipped catalog"));
  }
  if (!config.document) return catalog;
  Result<const toml::table*> section = OptionalTable(*config.document, "", "catalog");
  if (!section) return std::unexpected(section.error());
  if (!*section) return catalog;
  if (Status status = catalog->ApplyOverrides(**section, "catalog"); !status) {
    return std::unexpected(status.error());
  }
  return catalog;
}

Result<CloudInstance> InstanceCatalog::Instance(std::string_view name) const {
  auto it = instances_.find(name);
  if (it == instances_.end()) {
    return MakeError(ErrorCode::kNotFound, "unknown instance \"{}\" (valid: {})", name,
                     JoinKeys(instances_));
  }
  return it->second;
}

Result<LocalProfile> InstanceCatalog::Local(std::string_view name) const {
  auto it = local_.find(name);
  if (it == local_.end()) {
    return MakeError(ErrorCode::kNotFound, "unknown local profile \"{}\" (valid: {})", name,
                     JoinKeys(local_));
  }
  return it->second;
}

Result<HardwareProfile> InstanceCatalog::Hardware(std::string_view name) const {
  auto it = hardware_.find(name);
  if (it == hardware_.end()) {
    return MakeError(ErrorCode::kNotFound, "unknown hardware profile \"{}\" (valid: {})", name,
                     JoinKeys(hardware_));
  }
  return it->second;
}

std::optional<Throughput> InstanceCatalog::ThroughputFor(std::string_view hardware,
                                                         std::string_view model_size) const {
  auto profile = hardware_.find(hardware);
  if (profile == hardware_.end()) return std::nullopt;
  auto size = profile->second.by_model_size.find(model_size);
  if (size == profile->second.by_model_size.end()) return std::nullopt;
  return size->second;
}

std::vector<std::string> InstanceCatalog::ModelSizes() const {
  std::set<std::string> sizes;
  for (const auto& [name, profile] : hardware_) {
    for (const auto& [size, throughput] : profile.by_model_size)
      sizes.insert(size);
  }
  return {sizes.begin(), sizes.end()};
}

void InstanceCatalog::SetHardware(std::string name, HardwareProfile profile) {
  hardware_[std::move(name)] = std::move(profile);
}

}  // namespace tandem::cost
