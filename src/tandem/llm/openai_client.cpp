#include "tandem/llm/openai_client.h"

#include <fmt/format.h>

#include "tandem/llm/http_transport.h"
#include "tandem/llm/openai_protocol.h"

namespace tandem::llm {
namespace {

ErrorCode CodeForStatus(long status) {
  if (status == 401 || status == 403) return ErrorCode::kUnauthenticated;
  if (status == 429) return ErrorCode::kRateLimited;
  if (status == 408 || status >= 500) return ErrorCode::kUnavailable;
  return ErrorCode::kInvalidArgument;
}

}  // namespace

OpenAiClient::OpenAiClient(OpenAiClientOptions options) : options_(std::move(options)) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/')
    options_.base_url.pop_back();
}

Result<ChatResponse> OpenAiClient::Chat(const ChatRequest& request, const CallOptions& options) {
  HttpRequest http;
  http.url = options_.base_url + "/chat/completions";
  http.headers = {"Content-Type: application/json", "Accept: application/json"};
  if (!options_.api_key.empty())
    http.headers.push_back("Authorization: Bearer " + options_.api_key);
  http.body = ChatRequestToJson(request, options_.model)
                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  http.connect_timeout = options_.connect_timeout;
  http.total_timeout = options_.total_timeout;
  http.cancel = options.cancel;
  Result<HttpResponse> response = PerformHttp(http);
  if (!response) return std::unexpected(response.error());
  if (response->status != 200) {
    return MakeError(CodeForStatus(response->status), "{} answered HTTP {}: {}", options_.base_url,
                     response->status, ExtractErrorMessage(response->body));
  }
  Result<ChatResponse> parsed = ParseChatResponse(response->body);
  if (!parsed) {
    return std::unexpected(
        std::move(parsed.error()).WithContext(fmt::format("answer from {}", options_.base_url)));
  }
  if (parsed->model.empty()) parsed->model = options_.model;
  return parsed;
}

Result<std::unique_ptr<OpenAiClient>> MakeOpenAiClient(const Config& config,
                                                       const ProviderConfig& provider) {
  if (Status key = CheckProviderKeys(config, provider); !key) return std::unexpected(key.error());
  OpenAiClientOptions options;
  options.base_url = provider.base_url;
  options.model = provider.model;
  if (!provider.api_key_env.empty()) options.api_key = *config.secrets.Get(provider.api_key_env);
  options.connect_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(provider.timeout_connect_s * 1000));
  options.total_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(provider.timeout_total_s * 1000));
  return std::make_unique<OpenAiClient>(std::move(options));
}

}  // namespace tandem::llm
