// The only path from Tandem to a model. The gateway owns the clients built from [[providers]],
// classifies each call with the Policy, picks an allowed healthy provider, calls it, and never
// falls back across the privacy boundary: when no allowed provider is healthy it fails closed.
//
//   auto gateway = Gateway::Create(config, {.audit = &task_store_sink});
//   Result<GatewayResponse> answer = (*gateway)->Chat({.task_id = id, .taint = &taint}, request);
//   if (!answer) ...  // kPermissionDenied: refused by policy; kUnavailable: no healthy provider.
#pragma once

#include <functional>
#include <map>
#include <memory>
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

// Builds the client of one provider. The default builds kind "openai" with
// llm::MakeOpenAiClient and rejects kind "engine"; the embedded engine plugs in here.
using ModelFactory = std::function<Result<std::unique_ptr<llm::ChatModel>>(
    const Config& config, const ProviderConfig& provider)>;

// The default factory described above.
Result<std::unique_ptr<llm::ChatModel>> DefaultModelFactory(const Config& config,
                                                            const ProviderConfig& provider);

struct GatewayOptions {
  Clock* clock = nullptr;           // Health timing and audit times; nullptr: SystemClock().
  AuditSink* audit = nullptr;       // Receives one record per Chat; not owned; may be nullptr.
  ModelFactory model_factory = {};  // Empty: DefaultModelFactory.
  // false builds no clients (`route explain`): Decide works, Chat fails kFailedPrecondition.
  bool connect = true;
};

struct GatewayResponse {
  llm::ChatResponse response;  // Masked values already restored.
  Decision decision;           // provider() is the one that answered.
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

  // Decide, then Send.
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

  const Policy& policy() const { return *policy_; }
  ProviderHealth& health() { return health_; }

 private:
  Gateway(std::unique_ptr<Policy> policy, std::vector<ProviderConfig> providers,
          std::map<std::string, std::unique_ptr<llm::ChatModel>> models, GatewayOptions options,
          Clock& clock);
  const ProviderConfig* FindProvider(const std::string& name) const;
  void Audit(const CallContext& context, const Decision& decision,
             const std::vector<std::string>& attempted, std::string outcome,
             std::chrono::steady_clock::time_point started) const;

  std::unique_ptr<Policy> policy_;
  std::vector<ProviderConfig> providers_;
  std::map<std::string, std::unique_ptr<llm::ChatModel>> models_;  // By provider name.
  GatewayOptions options_;
  Clock& clock_;
  ProviderHealth health_;
};

}  // namespace tandem::router
