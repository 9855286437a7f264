#include "tandem/router/gateway.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tandem/llm/openai_client.h"
#include "tandem/llm/token_estimate.h"
#include "tandem/router/masking.h"

namespace tandem::router {
namespace {

// Errors after which another allowed provider may be tried: the provider, not the request,
// is the problem.
bool TryNextProvider(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kRateLimited:
    case ErrorCode::kDeadlineExceeded:
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kInternal:
      return true;
    default:
      return false;
  }
}

// Failures that count against a provider's health (an auth error is configuration, not health).
bool CountsAsFailure(ErrorCode code) {
  return code == ErrorCode::kUnavailable || code == ErrorCode::kRateLimited ||
         code == ErrorCode::kDeadlineExceeded || code == ErrorCode::kInternal;
}

}  // namespace

Result<std::unique_ptr<llm::ChatModel>> DefaultModelFactory(const Config& config,
                                                            const ProviderConfig& provider) {
  if (provider.kind == "openai") {
    Result<std::unique_ptr<llm::OpenAiClient>> client = llm::MakeOpenAiClient(config, provider);
    if (!client) return std::unexpected(client.error());
    return std::unique_ptr<llm::ChatModel>(std::move(*client));
  }
  // Extension point: the embedded engine supplies its own ModelFactory for kind "engine".
  return MakeError(ErrorCode::kFailedPrecondition,
                   "provider '{}': kind '{}' needs the embedded engine, which this build does not "
                   "provide to the gateway",
                   provider.name, provider.kind);
}

Gateway::Gateway(std::unique_ptr<Policy> policy, std::vector<ProviderConfig> providers,
                 std::map<std::string, std::unique_ptr<llm::ChatModel>> models,
                 GatewayOptions options, Clock& clock)
    : policy_(std::move(policy)),
      providers_(std::move(providers)),
      models_(std::move(models)),
      options_(std::move(options)),
      clock_(clock),
      health_(policy_->config().health, clock) {}

Result<std::unique_ptr<Gateway>> Gateway::Create(const Config& config, GatewayOptions options) {
  Result<std::unique_ptr<Policy>> policy = Policy::Create(config);
  if (!policy) return std::unexpected(policy.error());
  std::map<std::string, std::unique_ptr<llm::ChatModel>> models;
  if (options.connect) {
    ModelFactory factory = options.model_factory ? options.model_factory : DefaultModelFactory;
    for (const ProviderConfig& provider : config.providers) {
      Result<std::unique_ptr<llm::ChatModel>> model = factory(config, provider);
      if (!model) {
        return std::unexpected(
            std::move(model.error()).WithContext(fmt::format("provider '{}'", provider.name)));
      }
      models.emplace(provider.name, std::move(*model));
    }
  }
  std::map<std::string, std::unique_ptr<llm::Embedder>> embedders;
  if (options.connect && options.embedder_factory) {
    for (const auto& [name, model] : (*policy)->config().embedding_models) {
      const ProviderConfig& provider = *config.FindProvider(name);
      Result<std::unique_ptr<llm::Embedder>> embedder =
          options.embedder_factory(config, provider, model);
      if (!embedder) {
        return std::unexpected(
            std::move(embedder.error())
                .WithContext(fmt::format("embedder of provider '{}'", provider.name)));
      }
      if (*embedder) embedders.emplace(provider.name, std::move(*embedder));
    }
  }
  Clock& clock = options.clock ? *options.clock : SystemClock();
  auto gateway = std::unique_ptr<Gateway>(new Gateway(
      std::move(*policy), config.providers, std::move(models), std::move(options), clock));
  gateway->embedders_ = std::move(embedders);
  return gateway;
}

const ProviderConfig* Gateway::FindProvider(const std::string& name) const {
  for (const ProviderConfig& p : providers_) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

Decision Gateway::Decide(const CallContext& context, const llm::ChatRequest& request) const {
  Decision decision = policy_->Decide(context, request);
  for (const std::string& name : decision.candidates_) {
    if (!health_.IsAvailable(name)) continue;
    decision.provider_ = name;
    decision.route_ = FindProvider(name)->zone == Zone::kCloud ? Route::kCloud : Route::kLocal;
    break;
  }
  return decision;
}

Result<GatewayResponse> Gateway::Chat(const CallContext& context, const llm::ChatRequest& request,
                                      const llm::CallOptions& options) {
  return SendVerified(Decide(context, request), context, request, options);
}

void Gateway::Audit(const CallContext& context, const Decision& decision,
                    const std::vector<std::string>& attempted, std::string outcome,
                    std::chrono::steady_clock::time_point started) const {
  if (!options_.audit) return;
  AuditRecord record;
  record.time_unix_ms = ToUnixMillis(clock_.Now());
  record.task_id = context.task_id;
  record.route = RouteName(decision.route());
  record.provider = decision.provider();
  record.attempted = attempted;
  record.findings = decision.findings();
  record.rules = decision.rules();
  record.reason = decision.reason();
  record.masked = decision.masked();
  record.strong = decision.strong();
  record.escalation_reasons = decision.escalation_reasons();
  record.outcome = std::move(outcome);
  record.latency_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Monotonic() - started).count();
  record.payload_fingerprint = decision.fingerprint();
  options_.audit->Record(record);
}

std::optional<std::chrono::milliseconds> Gateway::NextAvailability(const Decision& decision) const {
  std::optional<std::chrono::milliseconds> best;
  for (const std::string& name : decision.candidates()) {
    std::optional<std::chrono::milliseconds> left = health_.TimeUntilAvailable(name);
    if (left && left->count() > 0 && (!best || *left < *best)) best = left;
  }
  return best;
}

std::optional<Result<GatewayResponse>> Gateway::TryCandidates(
    Decision& decision, const CallContext& context, const llm::ChatRequest& outbound,
    const Masker& masker, const llm::CallOptions& options, std::vector<std::string>& attempted,
    std::vector<std::string>& states, std::chrono::steady_clock::time_point started) {
  for (const std::string& name : decision.candidates()) {
    const ProviderConfig* provider = FindProvider(name);
    // Candidates come only from zones the policy allowed; this re-check keeps the privacy
    // guarantee independent of candidate ordering code.
    if (!provider || (provider->zone == Zone::kCloud && decision.sensitive())) {
      return MakeError(ErrorCode::kInternal, "routing invariant violated for provider '{}'", name);
    }
    if (!health_.Admit(name)) {
      states.push_back(fmt::format("{} ({})", name, health_.Describe(name)));
      continue;
    }
    attempted.push_back(name);
    Result<llm::ChatResponse> answer = models_.at(name)->Chat(outbound, options);
    if (answer) {
      health_.RecordSuccess(name);
      decision.provider_ = name;
      decision.route_ = provider->zone == Zone::kCloud ? Route::kCloud : Route::kLocal;
      if (decision.masked()) masker.Restore(answer->message);
      Audit(context, decision, attempted, "ok", started);
      return GatewayResponse{std::move(*answer), std::move(decision)};
    }
    ErrorCode code = answer.error().code();
    if (CountsAsFailure(code)) health_.RecordFailure(name, ErrorCodeName(code));
    if (!TryNextProvider(code)) {
      decision.provider_ = name;
      Audit(context, decision, attempted, fmt::format("error:{}", ErrorCodeName(code)), started);
      return std::unexpected(
          std::move(answer.error()).WithContext(fmt::format("provider '{}'", name)));
    }
    states.push_back(fmt::format("{} (failed: {})", name, answer.error().message()));
  }
  return std::nullopt;
}

Result<GatewayResponse> Gateway::Send(Decision decision, const CallContext& context,
                                      const llm::ChatRequest& request,
                                      const llm::CallOptions& options) {
  if (decision.fingerprint() != PayloadFingerprint(request)) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "the routing decision was made for a different payload");
  }
  return SendVerified(std::move(decision), context, request, options);
}

Result<GatewayResponse> Gateway::SendVerified(Decision decision, const CallContext& context,
                                              const llm::ChatRequest& request,
                                              const llm::CallOptions& options) {
  const auto started = clock_.Monotonic();
  if (context.taint && context.taint->tainted() && !decision.sensitive()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "the task became tainted after this routing decision; decide again");
  }
  if (decision.refused()) {
    Audit(context, decision, {}, "refused", started);
    return MakeError(ErrorCode::kPermissionDenied, "refused by routing policy: {}",
                     decision.reason());
  }
  if (!options_.connect) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "this gateway was created without model clients (explain only)");
  }
  Masker masker;
  const llm::ChatRequest* outbound = &request;
  llm::ChatRequest masked;
  if (decision.masked()) {
    masked = masker.Mask(request, decision.findings());
    outbound = &masked;
  }
  std::vector<std::string> attempted;
  std::vector<std::string> states;
  auto waited = std::chrono::milliseconds(0);
  while (true) {
    states.clear();
    std::optional<Result<GatewayResponse>> result =
        TryCandidates(decision, context, *outbound, masker, options, attempted, states, started);
    if (result) return std::move(*result);
    // Fail closed, unless a cooldown in the allowed zones ends within the wait budget.
    std::optional<std::chrono::milliseconds> next = NextAvailability(decision);
    if (!next || waited + *next > options_.max_wait) break;
    if (options.cancel && options.cancel->IsCancelled()) break;
    clock_.SleepFor(*next);
    waited += *next;
  }
  Audit(context, decision, attempted, "unavailable", started);
  std::string zones =
      decision.sensitive() ? "the local zone (the payload is sensitive)" : "the allowed zones";
  return MakeError(ErrorCode::kUnavailable,
                   "no healthy provider in {}: {}; not falling back outside the policy", zones,
                   fmt::join(states, "; "));
}

Result<EmbedResponse> Gateway::Embed(const CallContext& context,
                                     const std::vector<std::string>& texts) {
  const auto started = clock_.Monotonic();
  llm::ChatRequest request;
  int64_t tokens = 0;
  for (const std::string& text : texts) {
    request.messages.push_back(llm::Message::User(text));
    tokens += llm::EstimateTokens(text);
  }
  Decision decision = Decide(context, request);
  decision.rules_.emplace_back("embeddings");
  if (decision.refused()) {
    Audit(context, decision, {}, "refused", started);
    return MakeError(ErrorCode::kPermissionDenied, "refused by routing policy: {}",
                     decision.reason());
  }
  if (!options_.connect) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "this gateway was created without model clients (explain only)");
  }
  // Embeddings of masked text would describe the placeholders: any finding keeps them local.
  const bool local_only = decision.sensitive() || !decision.findings().empty();
  decision.masked_ = false;
  std::vector<std::string> attempted;
  std::vector<std::string> states;
  for (const std::string& name : decision.candidates()) {
    const ProviderConfig* provider = FindProvider(name);
    if (!provider) continue;
    if (provider->zone == Zone::kCloud && local_only) {
      states.push_back(fmt::format("{} (cloud zone; the text has findings)", name));
      continue;
    }
    auto embedder = embedders_.find(name);
    if (embedder == embedders_.end()) {
      states.push_back(fmt::format("{} (no embedding_model)", name));
      continue;
    }
    if (!health_.Admit(name)) {
      states.push_back(fmt::format("{} ({})", name, health_.Describe(name)));
      continue;
    }
    attempted.push_back(name);
    Result<std::vector<std::vector<float>>> vectors = embedder->second->Embed(texts);
    if (vectors) {
      health_.RecordSuccess(name);
      decision.provider_ = name;
      decision.route_ = provider->zone == Zone::kCloud ? Route::kCloud : Route::kLocal;
      Audit(context, decision, attempted, "ok", started);
      return EmbedResponse{std::move(*vectors), embedder->second->model_name(), tokens,
                           std::move(decision)};
    }
    ErrorCode code = vectors.error().code();
    if (CountsAsFailure(code)) health_.RecordFailure(name);
    if (!TryNextProvider(code)) {
      decision.provider_ = name;
      Audit(context, decision, attempted, fmt::format("error:{}", ErrorCodeName(code)), started);
      return std::unexpected(
          std::move(vectors.error()).WithContext(fmt::format("provider '{}'", name)));
    }
    states.push_back(fmt::format("{} (failed: {})", name, vectors.error().message()));
  }
  Audit(context, decision, attempted, "unavailable", started);
  return MakeError(ErrorCode::kUnavailable,
                   "no provider in {} can embed this text: {}; not falling back outside the policy",
                   local_only ? "the local zone (the text has findings)" : "the allowed zones",
                   states.empty() ? std::string("none is configured")
                                  : fmt::format("{}", fmt::join(states, "; ")));
}

}  // namespace tandem::router
