#include "tandem/llm/price_catalog.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "tandem/core/config_reader.h"

namespace tandem::embedded {
extern const std::string_view kModelPricesJson;
}

namespace tandem::llm {
namespace {

using nlohmann::json;

Result<double> NonNegative(const json& entry, const char* key, double fallback,
                           const std::string& where) {
  auto it = entry.find(key);
  if (it == entry.end()) return fallback;
  if (!it->is_number() || it->get<double>() < 0) {
    return MakeError(ErrorCode::kInvalidArgument, "{}: {} should be a non-negative number", where,
                     key);
  }
  return it->get<double>();
}

Result<ModelPrice> ParseEntry(const json& entry, const std::string& where) {
  if (!entry.is_object()) return MakeError(ErrorCode::kInvalidArgument, "{}: not an object", where);
  ModelPrice price;
  if (auto provider = entry.find("provider"); provider != entry.end() && provider->is_string()) {
    price.provider = provider->get<std::string>();
  }
  auto input = NonNegative(entry, "input_cost_per_token", -1, where);
  auto output = NonNegative(entry, "output_cost_per_token", -1, where);
  if (!input) return std::unexpected(input.error());
  if (!output) return std::unexpected(output.error());
  if (*input < 0 || *output < 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "{}: input_cost_per_token and output_cost_per_token are required", where);
  }
  price.input_cost_per_token = *input;
  price.output_cost_per_token = *output;
  auto cached = NonNegative(entry, "cache_read_input_token_cost", *input, where);
  auto max_in = NonNegative(entry, "max_input_tokens", 0, where);
  auto max_out = NonNegative(entry, "max_output_tokens", 0, where);
  for (auto* r : {&cached, &max_in, &max_out}) {
    if (!*r) return std::unexpected(r->error());
  }
  price.cache_read_input_token_cost = *cached;
  price.max_input_tokens = static_cast<int64_t>(*max_in);
  price.max_output_tokens = static_cast<int64_t>(*max_out);
  price.supports_tools = entry.value("supports_tools", true);
  price.supports_json_schema = entry.value("supports_json_schema", false);
  return price;
}

// Applies one [catalog.models."NAME"] table on top of `price` (or a fresh entry).
Result<ModelPrice> ApplyOverride(const toml::table& table, std::optional<ModelPrice> base,
                                 std::string key_prefix) {
  ConfigReader reader(table, std::move(key_prefix));
  if (Status known = reader.CheckKnownKeys({"provider", "mode", "input_cost_per_token",
                                            "output_cost_per_token", "cache_read_input_token_cost",
                                            "max_input_tokens", "max_output_tokens",
                                            "supports_tools", "supports_json_schema"});
      !known)
    return std::unexpected(known.error());
  ModelPrice price = base.value_or(ModelPrice{});
  for (auto [key, field] :
       {std::pair{"input_cost_per_token", &price.input_cost_per_token},
        std::pair{"output_cost_per_token", &price.output_cost_per_token},
        std::pair{"cache_read_input_token_cost", &price.cache_read_input_token_cost}}) {
    auto value = reader.Number(key);
    if (!value) return std::unexpected(value.error());
    if (*value && **value < 0) return std::unexpected(reader.ErrorAt(key, "must not be negative"));
    if (*value) *field = **value;
  }
  if (!base &&
      (!table.contains("input_cost_per_token") || !table.contains("output_cost_per_token"))) {
    return std::unexpected(reader.ErrorAt(
        "input_cost_per_token",
        "a model not in the shipped catalog needs input_cost_per_token and output_cost_per_token"));
  }
  for (auto [key, field] : {std::pair{"max_input_tokens", &price.max_input_tokens},
                            std::pair{"max_output_tokens", &price.max_output_tokens}}) {
    auto value = reader.Integer(key);
    if (!value) return std::unexpected(value.error());
    if (*value && **value < 0) return std::unexpected(reader.ErrorAt(key, "must not be negative"));
    if (*value) *field = **value;
  }
  auto provider = reader.String("provider");
  if (!provider) return std::unexpected(provider.error());
  if (*provider) price.provider = **provider;
  for (auto [key, field] : {std::pair{"supports_tools", &price.supports_tools},
                            std::pair{"supports_json_schema", &price.supports_json_schema}}) {
    auto value = reader.Boolean(key);
    if (!value) return std::unexpected(value.error());
    if (*value) *field = **value;
  }
  return price;
}

}  // namespace

Result<PriceCatalog> PriceCatalog::FromJson(std::string_view text, std::string_view source_name) {
  json root = json::parse(text, nullptr, false);
  if (root.is_discarded() || !root.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "{}: not a JSON object", source_name);
  }
  PriceCatalog catalog;
  for (const auto& [name, entry] : root.items()) {
    if (name == "_meta") {
      catalog.as_of_ = entry.value("as_of", "");
      for (const json& source : entry.value("sources", json::array())) {
        if (source.is_string()) catalog.sources_.push_back(source.get<std::string>());
      }
      continue;
    }
    Result<ModelPrice> price =
        ParseEntry(entry, fmt::format("{}: model \"{}\"", source_name, name));
    if (!price) return std::unexpected(price.error());
    catalog.models_.emplace(name, *price);
  }
  return catalog;
}

namespace {

// Applies each provider's `price` table to the catalog entry of its model.
Status ApplyProviderPrices(const toml::table& root, PriceCatalog& catalog,
                           std::map<std::string, ModelPrice, std::less<>>& models) {
  const toml::array* providers = root.get_as<toml::array>("providers");
  for (size_t i = 0; providers != nullptr && i < providers->size(); ++i) {
    const toml::table* entry = providers->get(i)->as_table();
    const toml::table* price = entry ? entry->get_as<toml::table>("price") : nullptr;
    const toml::value<std::string>* model = entry ? entry->get_as<std::string>("model") : nullptr;
    if (price == nullptr) continue;
    if (model == nullptr) {
      return std::unexpected(ConfigReader(*entry, fmt::format("providers[{}]", i))
                                 .ErrorAt("price", "a price needs the provider's model"));
    }
    Result<ModelPrice> applied =
        ApplyOverride(*price, catalog.Find(model->get()), fmt::format("providers[{}].price", i));
    if (!applied) return std::unexpected(applied.error());
    models[model->get()] = *applied;
  }
  return {};
}

}  // namespace

Result<PriceCatalog> PriceCatalog::Load(const Config& config) {
  Result<PriceCatalog> catalog = FromJson(embedded::kModelPricesJson, "model_prices.json");
  if (!catalog || !config.document) return catalog;
  if (Status prices = ApplyProviderPrices(*config.document, *catalog, catalog->models_); !prices) {
    return std::unexpected(prices.error());
  }
  const toml::table* section = ConfigReader(*config.document, "").Table("catalog");
  const toml::table* models = section ? ConfigReader(*section, "catalog").Table("models") : nullptr;
  if (!models) return catalog;
  for (const auto& [key, node] : *models) {
    std::string name(key.str());
    const toml::table* table = node.as_table();
    if (!table) {
      return std::unexpected(
          ConfigReader(*models, "catalog.models").ErrorAt(name, "expected a table"));
    }
    Result<ModelPrice> price =
        ApplyOverride(*table, catalog->Find(name), fmt::format("catalog.models.\"{}\"", name));
    if (!price) return std::unexpected(price.error());
    catalog->models_[name] = *price;
  }
  return catalog;
}

std::optional<ModelPrice> PriceCatalog::Find(std::string_view model) const {
  auto it = models_.find(model);
  if (it == models_.end()) return std::nullopt;
  return it->second;
}

std::optional<double> PriceCatalog::Cost(std::string_view model, const Usage& usage) const {
  std::optional<ModelPrice> price = Find(model);
  if (!price) return std::nullopt;
  int64_t uncached = usage.prompt_tokens - usage.cached_prompt_tokens;
  return static_cast<double>(uncached) * price->input_cost_per_token +
         static_cast<double>(usage.cached_prompt_tokens) * price->cache_read_input_token_cost +
         static_cast<double>(usage.completion_tokens) * price->output_cost_per_token;
}

}  // namespace tandem::llm
