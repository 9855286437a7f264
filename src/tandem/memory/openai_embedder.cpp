#include "tandem/memory/openai_embedder.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <nlohmann/json.hpp>

#include "tandem/core/config_reader.h"
#include "tandem/llm/http_transport.h"
#include "tandem/llm/openai_protocol.h"
#include "tandem/llm/provider_error.h"

namespace tandem::memory {

Result<std::vector<std::vector<float>>> OpenAiEmbedder::Embed(
    const std::vector<std::string>& texts) {
  std::vector<std::vector<float>> out;
  out.reserve(texts.size());
  size_t batch = std::max<size_t>(options_.max_batch, 1);
  for (size_t start = 0; start < texts.size(); start += batch) {
    std::vector<std::string> part(
        texts.begin() + static_cast<std::ptrdiff_t>(start),
        texts.begin() + static_cast<std::ptrdiff_t>(std::min(texts.size(), start + batch)));
    auto vectors = EmbedBatch(part);
    if (!vectors) return vectors;
    for (std::vector<float>& vector : *vectors)
      out.push_back(std::move(vector));
  }
  for (const std::vector<float>& vector : out) {
    if (vector.size() != out.front().size()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "{} returned vectors of differing dimensions ({} and {})", options_.base_url,
                       out.front().size(), vector.size());
    }
  }
  return out;
}

Result<std::vector<std::vector<float>>> OpenAiEmbedder::EmbedBatch(
    const std::vector<std::string>& texts) const {
  llm::HttpRequest http;
  http.url = options_.base_url + "/embeddings";
  http.headers = {"Content-Type: application/json"};
  if (!options_.api_key.empty())
    http.headers.push_back("Authorization: Bearer " + options_.api_key);
  http.body = nlohmann::json{{"model", options_.model}, {"input", texts}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  http.connect_timeout = options_.connect_timeout;
  http.total_timeout = options_.total_timeout;
  Result<llm::HttpResponse> response = llm::PerformHttp(http);
  if (!response) {
    return std::unexpected(std::move(response.error()).WithContext("computing embeddings"));
  }
  if (response->status != 200) {
    return std::unexpected(
        llm::MakeProviderError(llm::ClassifyHttpError(response->status, response->body),
                               fmt::format("{} answered HTTP {}: {}", http.url, response->status,
                                           llm::ExtractErrorMessage(response->body))));
  }
  nlohmann::json body = nlohmann::json::parse(response->body, nullptr, false);
  if (!body.is_object() || !body.contains("data") || !body["data"].is_array()) {
    return MakeError(ErrorCode::kInvalidArgument, "{}: answer has no 'data' array", http.url);
  }
  const nlohmann::json& data = body["data"];
  if (data.size() != texts.size()) {
    return MakeError(ErrorCode::kInvalidArgument, "{}: {} vectors for {} inputs", http.url,
                     data.size(), texts.size());
  }
  std::vector<std::vector<float>> out(texts.size());
  std::vector<bool> seen(texts.size(), false);
  for (size_t i = 0; i < data.size(); ++i) {
    const nlohmann::json& item = data[i];
    if (!item.is_object() || !item.contains("embedding") || !item["embedding"].is_array() ||
        item["embedding"].empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "{}: data[{}] has no embedding array", http.url,
                       i);
    }
    size_t index = i;
    if (item.contains("index")) {
      if (!item["index"].is_number_unsigned() || item["index"].get<size_t>() >= texts.size()) {
        return MakeError(ErrorCode::kInvalidArgument, "{}: data[{}] has a bad index", http.url, i);
      }
      index = item["index"].get<size_t>();
    }
    if (seen[index]) {
      return MakeError(ErrorCode::kInvalidArgument, "{}: index {} repeated", http.url, index);
    }
    seen[index] = true;
    for (const nlohmann::json& x : item["embedding"]) {
      if (!x.is_number()) {
        return MakeError(ErrorCode::kInvalidArgument, "{}: data[{}] holds a non-number", http.url,
                         i);
      }
      out[index].push_back(x.get<float>());
    }
  }
  return out;
}

Result<std::unique_ptr<llm::Embedder>> MakeConfiguredEmbedder(const Config& config) {
  if (!config.document) return std::unique_ptr<llm::Embedder>();
  const toml::table* section = (*config.document)["memory"].as_table();
  if (section == nullptr) return std::unique_ptr<llm::Embedder>();
  ConfigReader reader(*section, "memory");
  if (Status known = reader.CheckKnownKeys(
          {"embedder", "embedding_model", "agent", "recall_count", "recall_bytes"});
      !known) {
    return std::unexpected(known.error());
  }
  auto name = reader.String("embedder");
  if (!name) return std::unexpected(name.error());
  auto model = reader.String("embedding_model");
  if (!model) return std::unexpected(model.error());
  if (!name->has_value() || (*name)->empty()) return std::unique_ptr<llm::Embedder>();
  const ProviderConfig* provider = config.FindProvider(**name);
  if (provider == nullptr) {
    return std::unexpected(
        reader.ErrorAt("embedder", fmt::format("no provider named '{}'", **name)));
  }
  if (provider->kind != "openai") {
    return std::unexpected(reader.ErrorAt(
        "embedder", fmt::format("provider '{}' has kind '{}'; embeddings need kind 'openai'",
                                provider->name, provider->kind)));
  }
  if (provider->zone != Zone::kLocal) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "memory embedder '{}' is in the cloud zone: memory text may only be embedded "
                     "by a local provider",
                     provider->name);
  }
  return MakeProviderEmbedder(config, *provider, model->value_or(provider->model));
}

Result<std::unique_ptr<llm::Embedder>> MakeProviderEmbedder(const Config& config,
                                                            const ProviderConfig& provider,
                                                            const std::string& model) {
  if (provider.kind != "openai") {
    return MakeError(ErrorCode::kInvalidArgument,
                     "provider '{}' has kind '{}'; embeddings need kind 'openai'", provider.name,
                     provider.kind);
  }
  if (Status key = CheckProviderKeys(config, provider); !key) return std::unexpected(key.error());
  OpenAiEmbedderOptions options;
  options.base_url = provider.base_url;
  options.model = model;
  if (!provider.api_key_env.empty()) options.api_key = *config.secrets.Get(provider.api_key_env);
  options.connect_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(provider.timeout_connect_s * 1000));
  options.total_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(provider.timeout_total_s * 1000));
  return std::unique_ptr<llm::Embedder>(std::make_unique<OpenAiEmbedder>(std::move(options)));
}

std::filesystem::path MemoryDirectory(const Config& config) {
  return config.home / "memory";
}

}  // namespace tandem::memory
