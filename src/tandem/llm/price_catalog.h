// Per-model token prices and context limits, from the dated catalog data/catalog/model_prices.json
// (compiled into the binary), overridable in configuration ([catalog.models."NAME"]).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tandem/core/config.h"
#include "tandem/core/error.h"
#include "tandem/llm/types.h"

namespace tandem::llm {

struct ModelPrice {
  std::string provider;                    // Who sells it ("openai", "deepseek", ...).
  double input_cost_per_token = 0;         // USD per prompt token.
  double output_cost_per_token = 0;        // USD per completion token.
  double cache_read_input_token_cost = 0;  // USD per cached prompt token (0: same as input).
  int64_t max_input_tokens = 0;            // Context limit; 0 when unknown.
  int64_t max_output_tokens = 0;
  bool supports_tools = true;
  bool supports_json_schema = false;
};

// Immutable after loading; thread-safe to read.
class PriceCatalog {
 public:
  // Parses catalog JSON (the shipped file's format). Fails naming the model and field.
  static Result<PriceCatalog> FromJson(std::string_view text, std::string_view source_name);
  // The catalog compiled into Tandem, then overrides from config's [catalog.models."NAME"]
  // (same field names as the JSON). Fails naming the file, line and key of a bad override.
  static Result<PriceCatalog> Load(const Config& config);

  // nullopt for an unknown model: callers report it instead of pricing at zero.
  std::optional<ModelPrice> Find(std::string_view model) const;
  // USD cost of `usage` for `model`; nullopt when the model is unknown.
  std::optional<double> Cost(std::string_view model, const Usage& usage) const;

  const std::string& as_of() const { return as_of_; }
  const std::vector<std::string>& sources() const { return sources_; }
  const std::map<std::string, ModelPrice, std::less<>>& models() const { return models_; }

 private:
  std::string as_of_;
  std::vector<std::string> sources_;
  std::map<std::string, ModelPrice, std::less<>> models_;
};

}  // namespace tandem::llm
