// The only path from Tandem to a model. The gateway owns the clients built from [[providers]],
// classifies each call with the Policy, picks an allowed healthy provider, calls it, and never
// falls back across the privacy boundary: when no allowed provider is healthy it fails closed.
//
//   auto gateway = Gateway::Create(config, {.audit = &task_store_sink});
//   Result<GatewayResponse> answer = (*gateway)->Chat({.task_id = id, .taint = &taint}, request);
//   if (!answer) ...  // kPermissionDenied: refused by policy; kUnavailable: no healthy provider.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "tandem/core/clock.h"
#include "tandem/core/config.h"
#include "tandem/core/error.h"
#include "tandem/llm/chat_model.h"
#include "tandem/router/audit.h"
#include "tandem/router/decision.h"
#include "tandem/router/health.h"
#include "tandem/router/policy.h"

namespace tandem::router {

class Masker;

// Builds the client of one provider. The default builds kind "openai" with
// llm::MakeOpenAiClient and rejects kind "engine"; the embedded engine plugs in here.
using ModelFactory = std::function<Result<std::unique_ptr<llm::ChatModel>>(
    const Config& config, const ProviderConfig& provider)>;

// The default factory described above.
Result<std::unique_ptr<llm::ChatModel>> DefaultModelFactory(const Config& config,
                                                            const ProviderConfig& provider);

// Builds the embedder of a provider whose `embedding_model` is set, for `model`. The router
// cannot use the memory module's HTTP embedder, so the caller (the CLI) plugs it in here.
using EmbedderFactory = std::function<Result<std::unique_ptr<llm::Embedder>>(
    const Config& config, const ProviderConfig& provider, const std::string& model)>;

struct GatewayOptions {
  Clock* clock = nullptr;           // Health timing and audit times; nullptr: SystemClock().
  AuditSink* audit = nullptr;       // Receives one record per Chat; not owned; may be nullptr.
  ModelFactory model_factory = {};  // Empty: DefaultModelFactory.
  // false builds no clients (`route explain`): Decide works, Chat fails kFailedPrecondition.
  bool connect = true;
  // When every allowed provider's circuit is open, wait (Clock::SleepFor) up to this long for
  // the first cooldown to end and try again, instead of failing at once. Zero: fail at once.
  std::chrono::milliseconds max_wait{0};
  // Empty: no provider serves embeddings (Embed fails kUnavailable).
  EmbedderFactory embedder_factory = {};
};

struct GatewayResponse {
  llm::ChatResponse response;  // Masked values already restored.
  Decision decision;           // provider() is the one that answered.
};

struct EmbedResponse {
  std::vector<std::vector<float>> vectors;  // One per text, in order.
  std::string model;                        // The embedding model that answered.
  int64_t tokens = 0;                       // Estimated input tokens.
  Decision decision;                        // provider() is the one that answered.
};

// Thread-safe: clients are thread-safe ChatModels, health has its own lock, the rest is
// immutable after Create.
class Gateway {
 public:
  // Fails naming the provider whose client cannot be built (missing key, engine unavailable)
  // or the bad [routing] key.
  static Result<std::unique_ptr<Gateway>> Create(const Config& config, GatewayOptions options = {});

  // The decision for `request` now: Policy::Decide, with the first candidate whose circuit is
  // not open as the provider. This is what `tandem route explain` prints.
  Decision Decide(const CallContext& context, const llm::ChatRequest& request) const;

  // Decide, then send under that decision (its payload check is skipped: it is this request's).
  Result<GatewayResponse> Chat(const CallContext& context, const llm::ChatRequest& request,
                               const llm::CallOptions& options = {});

  // Sends `request` under `decision`, trying its candidates in order (all in allowed zones).
  // Errors: kPermissionDenied (refused by policy), kFailedPrecondition (decision made for a
  // different payload, or before the task became tainted), kUnavailable (fail closed: no allowed
  // provider is healthy; the message names each and its state), or a provider's non-retryable
  // error (kInvalidArgument, kCancelled, ...).
  Result<GatewayResponse> Send(Decision decision, const CallContext& context,
                               const llm::ChatRequest& request,
                               const llm::CallOptions& options = {});

  // Embeds `texts` under the policy (texts scanned as user messages, the profile applies) with
  // the first allowed healthy candidate that has an embedder. Texts with any finding are only
  // embedded in the local zone (masked text would embed placeholders). Errors as Send's.
  Result<EmbedResponse> Embed(const CallContext& context, const std::vector<std::string>& texts);
  // True when `provider` has an embedder.
  bool CanEmbed(const std::string& provider) const { return embedders_.contains(provider); }

  const Policy& policy() const { return *policy_; }
  ProviderHealth& health() { return health_; }

 private:
  Gateway(std::unique_ptr<Policy> policy, std::vector<ProviderConfig> providers,
          std::map<std::string, std::unique_ptr<llm::ChatModel>> models, GatewayOptions options,
          Clock& clock);
  const ProviderConfig* FindProvider(const std::string& name) const;
  // Send for a decision known to be made for `request` (Chat's own): hashing the whole payload
  // again would only repeat what Decide just did.
  Result<GatewayResponse> SendVerified(Decision decision, const CallContext& context,
                                       const llm::ChatRequest& request,
                                       const llm::CallOptions& options);
  // Tries the decision's candidates once; nullopt when none answered, with `states` saying why.
  std::optional<Result<GatewayResponse>> TryCandidates(
      Decision& decision, const CallContext& context, const llm::ChatRequest& outbound,
      const Masker& masker, const llm::CallOptions& options, std::vector<std::string>& attempted,
      std::vector<std::string>& states, std::chrono::steady_clock::time_point started);
  // The shortest cooldown left among the decision's candidates, if any will reopen.
  std::optional<std::chrono::milliseconds> NextAvailability(const Decision& decision) const;
  void Audit(const CallContext& context, const Decision& decision,
             const std::vector<std::string>& attempted, std::string outcome,
             std::chrono::steady_clock::time_point started) const;

  std::unique_ptr<Policy> policy_;
  std::vector<ProviderConfig> providers_;
  std::map<std::string, std::unique_ptr<llm::ChatModel>> models_;    // By provider name.
  std::map<std::string, std::unique_ptr<llm::Embedder>> embedders_;  // By provider name.
  GatewayOptions options_;
  Clock& clock_;
  ProviderHealth health_;
};

}  // namespace tandem::router
