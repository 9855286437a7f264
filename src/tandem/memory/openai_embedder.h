// An Embedder that calls an OpenAI-compatible `/v1/embeddings` endpoint, and the `[memory]`
// configuration section that chooses it.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "tandem/core/config.h"
#include "tandem/llm/chat_model.h"

namespace tandem::memory {

struct OpenAiEmbedderOptions {
  std::string base_url;  // Up to and including "/v1"; "/embeddings" is appended.
  std::string model;
  std::string api_key;    // Sent as "Authorization: Bearer"; empty sends no header.
  size_t max_batch = 64;  // Texts per request; larger inputs are split.
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{120'000};
};

// Thread-safe: calls share no mutable state.
class OpenAiEmbedder final : public llm::Embedder {
 public:
  explicit OpenAiEmbedder(OpenAiEmbedderOptions options) : options_(std::move(options)) {}

  // One vector per text, in order. Errors: kUnavailable/kRateLimited/kDeadlineExceeded
  // (retryable), kUnauthenticated, kInvalidArgument (bad request, malformed answer, vectors of
  // differing dimension).
  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) override;
  const std::string& model_name() const override { return options_.model; }

 private:
  Result<std::vector<std::vector<float>>> EmbedBatch(const std::vector<std::string>& texts) const;
  OpenAiEmbedderOptions options_;
};

// The `[memory]` section: `embedder` names a provider (kind "openai") whose `/embeddings`
// endpoint computes vectors; `embedding_model` overrides the provider's model. Returns null when
// no embedder is configured (memory then works on full text alone). Errors: kInvalidArgument
// (unknown key, unknown provider) with file:line; kPermissionDenied for a cloud-zone provider,
// since memory text must not leave the local zone outside the router.
Result<std::unique_ptr<llm::Embedder>> MakeConfiguredEmbedder(const Config& config);

// The HTTP embedder of `provider` (kind "openai") with `model`: the router gateway's embedder
// factory for providers with `embedding_model`. Checks the provider's API key is set.
Result<std::unique_ptr<llm::Embedder>> MakeProviderEmbedder(const Config& config,
                                                            const ProviderConfig& provider,
                                                            const std::string& model);

// The memory directory of a configuration: `home`/memory.
std::filesystem::path MemoryDirectory(const Config& config);

}  // namespace tandem::memory
