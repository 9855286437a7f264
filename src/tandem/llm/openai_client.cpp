#include "tandem/llm/openai_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "tandem/core/config_reader.h"
#include "tandem/llm/http_transport.h"
#include "tandem/llm/openai_protocol.h"
#include "tandem/llm/provider_error.h"
#include "tandem/llm/sse_parser.h"
#include "tandem/llm/stream_assembler.h"
#include "tandem/llm/token_estimate.h"
#include "tandem/llm/tool_emulation.h"

namespace tandem::llm {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

std::string TrimSlashes(std::string url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  return url;
}

HttpRequest BaseRequest(const OpenAiClientOptions& options, std::string path,
                        const CancellationToken* cancel) {
  HttpRequest http;
  http.url = options.base_url + path;
  http.headers = {"Content-Type: application/json"};
  if (!options.api_key.empty()) http.headers.push_back("Authorization: Bearer " + options.api_key);
  http.connect_timeout = options.connect_timeout;
  http.first_byte_timeout = options.first_byte_timeout;
  http.idle_timeout = options.idle_timeout;
  http.total_timeout = options.total_timeout;
  http.max_response_bytes = options.max_response_bytes;
  http.cancel = cancel;
  return http;
}

// Transport failures become provider errors: timeouts, network faults, cancellation.
Error FromTransport(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kDeadlineExceeded:
      return MakeProviderError(ProviderErrorKind::kTimeout, error.message());
    case ErrorCode::kCancelled:
      return MakeProviderError(ProviderErrorKind::kCancelled, error.message());
    case ErrorCode::kInvalidArgument:
      return MakeProviderError(ProviderErrorKind::kInvalidResponse, error.message());
    default:
      return MakeProviderError(ProviderErrorKind::kNetwork, error.message());
  }
}

// Retry-After in seconds (integer or fraction) or retry-after-ms; 0 when absent or unparseable.
milliseconds RetryAfter(const HttpResponse& response) {
  if (auto it = response.headers.find("retry-after-ms"); it != response.headers.end()) {
    char* end = nullptr;
    double ms = std::strtod(it->second.c_str(), &end);
    if (end != it->second.c_str() && ms > 0) return milliseconds(static_cast<int64_t>(ms));
  }
  if (auto it = response.headers.find("retry-after"); it != response.headers.end()) {
    char* end = nullptr;
    double seconds = std::strtod(it->second.c_str(), &end);
    if (end != it->second.c_str() && seconds > 0) {
      return milliseconds(static_cast<int64_t>(seconds * 1000));
    }
  }
  return milliseconds(0);
}

Error HttpError(const OpenAiClientOptions& options, const HttpResponse& response) {
  ProviderErrorKind kind = ClassifyHttpError(response.status, response.body);
  return MakeProviderError(
      kind, fmt::format("{} answered HTTP {} ({}): {}", options.base_url, response.status,
                        ProviderErrorKindName(kind), ExtractErrorMessage(response.body)));
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    size_t length = byte < 0x80           ? 1
                    : (byte >> 5) == 0x6  ? 2
                    : (byte >> 4) == 0xE  ? 3
                    : (byte >> 3) == 0x1E ? 4
                                          : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += length;
  }
  return true;
}

// Drops what the endpoint cannot take: tools become a JSON answer (tool_emulation.h);
// json_schema falls back to json_object, then to text.
ChatRequest FitToCapabilities(ChatRequest request, const Capabilities& caps) {
  if (!caps.tools) request = EmulateTools(std::move(request), caps.json_schema);
  ResponseFormat& format = request.response_format;
  if (format.kind == ResponseFormat::Kind::kJsonSchema && !caps.json_schema) {
    format.kind =
        caps.json_object ? ResponseFormat::Kind::kJsonObject : ResponseFormat::Kind::kText;
  }
  if (format.kind == ResponseFormat::Kind::kJsonObject && !caps.json_object) {
    format.kind = ResponseFormat::Kind::kText;
  }
  return request;
}

int64_t ElapsedMs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

OpenAiClient::OpenAiClient(OpenAiClientOptions options)
    : options_(std::move(options)),
      jitter_(options_.jitter_seed != 0 ? options_.jitter_seed : std::random_device{}()) {
  options_.base_url = TrimSlashes(options_.base_url);
  options_.max_concurrency = std::max(1, options_.max_concurrency);
}

void OpenAiClient::AcquireSlot() {
  std::unique_lock lock(mu_);
  slot_free_.wait(lock, [this] { return in_flight_ < options_.max_concurrency; });
  ++in_flight_;
}

void OpenAiClient::ReleaseSlot() {
  {
    std::lock_guard lock(mu_);
    --in_flight_;
  }
  slot_free_.notify_one();
}

milliseconds OpenAiClient::Backoff(int attempt, milliseconds retry_after) {
  const RetryPolicy& policy = options_.retry;
  double base = static_cast<double>(policy.initial_backoff.count()) *
                std::pow(policy.multiplier, static_cast<double>(attempt - 1));
  double factor;
  {
    std::lock_guard lock(mu_);
    factor = std::uniform_real_distribution<double>(1 - policy.jitter, 1 + policy.jitter)(jitter_);
  }
  auto wait = milliseconds(static_cast<int64_t>(base * factor));
  wait = std::max(wait, retry_after);  // The server knows best when it can take us again.
  return std::min(wait, policy.max_backoff);
}

Result<ChatResponse> OpenAiClient::Chat(const ChatRequest& request, const CallOptions& options) {
  ChatRequest fitted = FitToCapabilities(request, options_.capabilities);
  auto started = options_.clock->Monotonic();
  for (int attempt = 1;; ++attempt) {
    milliseconds retry_after{0};
    AcquireSlot();
    Result<ChatResponse> response = ChatOnce(fitted, options, &retry_after);
    ReleaseSlot();
    if (response) {
      if (!options_.capabilities.tools) {
        RecoverToolCall(*response, request.tools, request.messages.size());
      }
      return response;
    }
    std::optional<ProviderErrorKind> kind = ProviderErrorKindOf(response.error());
    bool cancelled = options.cancel != nullptr && options.cancel->IsCancelled();
    if (!kind || !IsRetryable(*kind) || cancelled || attempt >= options_.retry.max_attempts) {
      if (attempt > 1) {
        return std::unexpected(
            std::move(response.error()).WithContext(fmt::format("after {} attempts", attempt)));
      }
      return response;
    }
    milliseconds wait = Backoff(attempt, retry_after);
    auto spent = std::chrono::duration_cast<milliseconds>(options_.clock->Monotonic() - started);
    if (spent + wait > options_.retry.max_total) {
      return std::unexpected(
          std::move(response.error())
              .WithContext(fmt::format("gave up retrying after {} ms", spent.count())));
    }
    options_.clock->SleepFor(wait);
  }
}

Result<ChatResponse> OpenAiClient::ChatOnce(const ChatRequest& request, const CallOptions& options,
                                            milliseconds* retry_after) {
  bool stream = options.stream && options_.capabilities.streaming;
  json body = ChatRequestToJson(request, options_.model);
  if (stream) {
    body["stream"] = true;
    if (options_.capabilities.stream_usage) body["stream_options"] = {{"include_usage", true}};
  }
  HttpRequest http = BaseRequest(options_, "/chat/completions", options.cancel);
  http.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  auto started = std::chrono::steady_clock::now();

  SseParser parser;
  StreamAssembler assembler;
  std::optional<Error> stream_error;
  bool done = false;
  int64_t first_token_ms = -1;
  auto on_event = [&](const SseEvent& event) {
    if (stream_error || done) return;
    if (event.data == "[DONE]") {
      done = true;
      return;
    }
    if (!IsValidUtf8(event.data)) {
      stream_error =
          MakeProviderError(ProviderErrorKind::kInvalidResponse, "stream chunk is not valid UTF-8");
      return;
    }
    Result<std::string> text = assembler.Add(event.data);
    if (!text) {
      stream_error = text.error();
      return;
    }
    if (!text->empty()) {
      if (first_token_ms < 0) first_token_ms = ElapsedMs(started);
      if (options.on_text) options.on_text(*text);
    }
  };
  if (stream) {
    http.headers.push_back("Accept: text/event-stream");
    http.on_body = [&](std::string_view bytes) {
      parser.Feed(bytes, on_event);
      return !stream_error.has_value();
    };
  }
  Result<HttpResponse> response = PerformHttp(http);
  if (stream_error) return std::unexpected(*stream_error);
  if (!response) return std::unexpected(FromTransport(response.error()));
  if (response->status < 200 || response->status >= 300) {
    *retry_after = RetryAfter(*response);
    return std::unexpected(HttpError(options_, *response));
  }
  if (!stream) {
    if (!IsValidUtf8(response->body)) {
      return std::unexpected(
          MakeProviderError(ProviderErrorKind::kInvalidResponse, "answer is not valid UTF-8"));
    }
    Result<ChatResponse> parsed = ParseChatResponse(response->body);
    if (!parsed) {
      return std::unexpected(MakeProviderError(
          ProviderErrorKind::kInvalidResponse,
          fmt::format("answer from {}: {}", options_.base_url, parsed.error().message())));
    }
    if (parsed->model.empty()) parsed->model = options_.model;
    if (parsed->usage.estimated) parsed->usage = EstimateUsage(request, parsed->message);
    parsed->time_to_first_token_ms = ElapsedMs(started);
    return parsed;
  }
  parser.Finish();
  if (stream_error) return std::unexpected(*stream_error);
  if (!done && assembler.Finish()->finish_reason.empty()) {
    return std::unexpected(
        MakeProviderError(ProviderErrorKind::kNetwork,
                          fmt::format("stream from {} ended before it was complete ({} chunks)",
                                      options_.base_url, assembler.chunks())));
  }
  Result<ChatResponse> assembled = assembler.Finish();
  if (!assembled) return assembled;
  if (assembled->model.empty()) assembled->model = options_.model;
  if (!assembler.usage_reported()) assembled->usage = EstimateUsage(request, assembled->message);
  assembled->time_to_first_token_ms = first_token_ms >= 0 ? first_token_ms : ElapsedMs(started);
  return assembled;
}

Result<std::vector<std::string>> OpenAiClient::ListModels(const CancellationToken* cancel) {
  HttpRequest http = BaseRequest(options_, "/models", cancel);
  http.method = "GET";
  Result<HttpResponse> response = PerformHttp(http);
  if (!response) return std::unexpected(FromTransport(response.error()));
  if (response->status != 200) return std::unexpected(HttpError(options_, *response));
  json root = json::parse(response->body, nullptr, false);
  if (root.is_discarded() || !root.is_object() || !root.contains("data") ||
      !root["data"].is_array()) {
    return std::unexpected(MakeProviderError(ProviderErrorKind::kInvalidResponse,
                                             "GET /models: expected {\"data\": [...]}"));
  }
  std::vector<std::string> ids;
  for (const json& model : root["data"]) {
    if (model.is_object() && model.contains("id") && model["id"].is_string()) {
      ids.push_back(model["id"].get<std::string>());
    }
  }
  return ids;
}

Result<OpenAiClientOptions> ClientOptionsFor(const Config& config, const ProviderConfig& provider) {
  if (Status key = CheckProviderKeys(config, provider); !key) return std::unexpected(key.error());
  OpenAiClientOptions options;
  options.base_url = provider.base_url;
  options.model = provider.model;
  if (!provider.api_key_env.empty()) options.api_key = *config.secrets.Get(provider.api_key_env);
  options.max_concurrency = provider.max_concurrency;
  options.connect_timeout = milliseconds(static_cast<int64_t>(provider.timeout_connect_s * 1000));
  options.first_byte_timeout =
      milliseconds(static_cast<int64_t>(provider.timeout_first_byte_s * 1000));
  options.idle_timeout = milliseconds(static_cast<int64_t>(provider.timeout_idle_s * 1000));
  options.total_timeout = milliseconds(static_cast<int64_t>(provider.timeout_total_s * 1000));
  if (!config.document) return options;
  const toml::array* providers = config.document->get_as<toml::array>("providers");
  for (size_t i = 0; providers != nullptr && i < providers->size(); ++i) {
    const toml::table* entry = providers->get(i)->as_table();
    if (entry == nullptr || entry->get_as<std::string>("name") == nullptr ||
        entry->get_as<std::string>("name")->get() != provider.name) {
      continue;
    }
    const toml::table* caps = entry->get_as<toml::table>("capabilities");
    if (caps == nullptr) break;
    ConfigReader reader(*caps, fmt::format("providers[{}].capabilities", i));
    if (Status known = reader.CheckKnownKeys(
            {"tools", "json_schema", "json_object", "streaming", "stream_usage"});
        !known) {
      return std::unexpected(known.error());
    }
    Capabilities& c = options.capabilities;
    for (auto [key, field] :
         {std::pair{"tools", &c.tools}, std::pair{"json_schema", &c.json_schema},
          std::pair{"json_object", &c.json_object}, std::pair{"streaming", &c.streaming},
          std::pair{"stream_usage", &c.stream_usage}}) {
      auto value = reader.Boolean(key);
      if (!value) return std::unexpected(value.error());
      if (*value) *field = **value;
    }
  }
  return options;
}

Result<std::unique_ptr<OpenAiClient>> MakeOpenAiClient(const Config& config,
                                                       const ProviderConfig& provider) {
  Result<OpenAiClientOptions> options = ClientOptionsFor(config, provider);
  if (!options) return std::unexpected(options.error());
  return std::make_unique<OpenAiClient>(std::move(*options));
}

}  // namespace tandem::llm
