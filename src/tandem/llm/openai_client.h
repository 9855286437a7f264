// A ChatModel that speaks the OpenAI Chat Completions protocol over HTTP: OpenAI and other
// cloud APIs, Ollama /v1, llama.cpp server, vLLM, LM Studio. Streaming and non-streaming,
// typed errors (provider_error.h), one retry loop, timeouts, cancellation, bounded concurrency.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "tandem/core/clock.h"
#include "tandem/core/config.h"
#include "tandem/llm/chat_model.h"

namespace tandem::llm {

// What an endpoint supports; requests are shaped to fit (e.g. json_schema falls back to
// json_object, then to plain text plus the caller's own validation).
struct Capabilities {
  bool tools = true;         // Native tool calling.
  bool json_schema = false;  // response_format {type: json_schema}.
  bool json_object = true;   // response_format {type: json_object}.
  bool streaming = true;     // stream: true.
  bool stream_usage = true;  // stream_options.include_usage.
};

struct RetryPolicy {
  int max_attempts = 4;                            // Including the first.
  std::chrono::milliseconds initial_backoff{500};  // Before the second attempt.
  double multiplier = 2.0;                         // Growth per attempt.
  std::chrono::milliseconds max_backoff{20'000};   // Cap of one wait (Retry-After included).
  std::chrono::milliseconds max_total{90'000};     // No retry starts after this much time.
  double jitter = 0.2;                             // +-20% randomisation of each wait.
};

struct OpenAiClientOptions {
  std::string base_url;  // Up to and including "/v1"; "/chat/completions" is appended.
  std::string model;
  std::string api_key;  // Sent as "Authorization: Bearer"; empty sends no header.
  Capabilities capabilities;
  RetryPolicy retry;
  int max_concurrency = 4;  // Calls beyond this wait for a free slot.
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds first_byte_timeout{120'000};  // Until the first response byte.
  std::chrono::milliseconds idle_timeout{60'000};         // Longest gap inside a stream.
  std::chrono::milliseconds total_timeout{600'000};
  size_t max_response_bytes = 32 << 20;
  Clock* clock = &SystemClock();  // Backoff waits go through it (tests use a fake).
  uint64_t jitter_seed = 0;       // 0: random.
};

// Thread-safe.
class OpenAiClient final : public ChatModel {
 public:
  explicit OpenAiClient(OpenAiClientOptions options);

  // Errors carry a ProviderErrorKind (provider_error.h) in Error::reason() and the provider's
  // own message. Retryable kinds are retried per the RetryPolicy, honouring Retry-After.
  Result<ChatResponse> Chat(const ChatRequest& request, const CallOptions& options) override;
  const std::string& model_name() const override { return options_.model; }

  // GET /models: the model ids the endpoint serves. Used as a health check.
  Result<std::vector<std::string>> ListModels(const CancellationToken* cancel = nullptr);

  const OpenAiClientOptions& options() const { return options_; }

 private:
  struct Attempt;
  Result<ChatResponse> ChatOnce(const ChatRequest& request, const CallOptions& options,
                                std::chrono::milliseconds* retry_after);
  std::chrono::milliseconds Backoff(int attempt, std::chrono::milliseconds retry_after);
  void AcquireSlot();
  void ReleaseSlot();

  OpenAiClientOptions options_;
  std::mutex mu_;
  std::condition_variable slot_free_;
  int in_flight_ = 0;       // GUARDED_BY(mu_)
  std::mt19937_64 jitter_;  // GUARDED_BY(mu_)
};

// Client options for a configured provider (kind "openai"): key from config.secrets, timeouts,
// concurrency and `capabilities` from its [[providers]] entry. Fails with kInvalidArgument when
// the key variable is missing or a capability is not a boolean.
Result<OpenAiClientOptions> ClientOptionsFor(const Config& config, const ProviderConfig& provider);

// A client for a configured provider (kind "openai").
Result<std::unique_ptr<OpenAiClient>> MakeOpenAiClient(const Config& config,
                                                       const ProviderConfig& provider);

}  // namespace tandem::llm
