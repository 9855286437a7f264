#include "tandem/agent/model_access.h"

#include <spdlog/spdlog.h>

namespace tandem::agent {
namespace {

// What every ledger row records: the task and step, when, how long, and which provider answered
// in which zone (none when the call failed).
store::LedgerRow LedgerRowFor(const CallContext& context, int64_t latency_ms, int64_t now_ms,
                              std::string provider_name, const ProviderConfig* provider) {
  return {.task_id = context.task_id,
          .step_seq = context.step_seq,
          .provider = std::move(provider_name),
          .zone = provider ? std::string(ZoneName(provider->zone)) : "",
          .latency_ms = latency_ms,
          .created_at_ms = now_ms};
}

}  // namespace

GatewayModelAccess::GatewayModelAccess(router::Gateway* gateway, const Config* config,
                                       const llm::PriceCatalog* prices, store::TaskStore* store,
                                       Clock* clock)
    : gateway_(gateway), config_(config), prices_(prices), store_(store), clock_(clock) {}

Result<ModelAnswer> GatewayModelAccess::Call(const llm::ChatRequest& request,
                                             const CallContext& context) {
  auto started = clock_->Monotonic();
  router::CallContext route{.task_id = context.task_id,
                            .taint = context.taint,
                            .escalate = context.escalate,
                            .profile = context.profile};
  Result<router::GatewayResponse> answer = gateway_->Chat(
      route, request,
      {.cancel = context.cancel, .stream = context.stream, .on_text = context.on_text});
  int64_t latency_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_->Monotonic() - started).count();
  const ProviderConfig* provider =
      answer ? config_->FindProvider(answer->decision.provider()) : nullptr;
  store::LedgerRow row =
      LedgerRowFor(context, latency_ms, ToUnixMillis(clock_->Now()),
                   answer ? answer->decision.provider() : std::string(), provider);
  if (answer) {
    const llm::ChatResponse& response = answer->response;
    // Priced by the configured model name: servers often answer with a dated variant.
    row.model = provider && !provider->model.empty() ? provider->model : response.model;
    row.prompt_tokens = response.usage.prompt_tokens;
    row.completion_tokens = response.usage.completion_tokens;
    row.cached_prompt_tokens = response.usage.cached_prompt_tokens;
    row.estimated = response.usage.estimated;
    row.time_to_first_token_ms = response.time_to_first_token_ms;
    if (prices_ != nullptr) row.cost_usd = prices_->Cost(row.model, response.usage);
    // A local endpoint sends no per-token bill (its hardware is costed by `tandem plan`).
    if (!row.cost_usd && provider && provider->zone == Zone::kLocal) row.cost_usd = 0.0;
    row.outcome = "ok";
  } else {
    row.outcome = std::string(ErrorCodeName(answer.error().code()));
  }
  if (Result<int64_t> saved = store_->AppendLedger(row); !saved) {
    return std::unexpected(std::move(saved.error()).WithContext("recording the model call"));
  }
  if (!answer) return std::unexpected(answer.error());
  return ModelAnswer{std::move(answer->response), row.provider,
                     provider ? provider->zone : Zone::kLocal, row.cost_usd, latency_ms};
}

Result<EmbedAnswer> ModelAccess::Embed(const std::vector<std::string>&, const CallContext&) {
  return MakeError(ErrorCode::kFailedPrecondition, "this model access has no embedder");
}

Result<EmbedAnswer> GatewayModelAccess::Embed(const std::vector<std::string>& texts,
                                              const CallContext& context) {
  auto started = clock_->Monotonic();
  Result<router::EmbedResponse> answer = gateway_->Embed(
      {.task_id = context.task_id, .taint = context.taint, .profile = context.profile}, texts);
  int64_t latency_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_->Monotonic() - started).count();
  const ProviderConfig* provider =
      answer ? config_->FindProvider(answer->decision.provider()) : nullptr;
  store::LedgerRow row =
      LedgerRowFor(context, latency_ms, ToUnixMillis(clock_->Now()),
                   answer ? answer->decision.provider() : std::string(), provider);
  if (answer) {
    row.model = answer->model;
    row.prompt_tokens = answer->tokens;
    row.estimated = true;  // The embeddings client does not report usage.
    llm::Usage usage{.prompt_tokens = answer->tokens, .estimated = true};
    if (prices_ != nullptr) row.cost_usd = prices_->Cost(row.model, usage);
    if (!row.cost_usd && provider && provider->zone == Zone::kLocal) row.cost_usd = 0.0;
    row.outcome = "ok";
  } else {
    row.outcome = std::string(ErrorCodeName(answer.error().code()));
  }
  if (Result<int64_t> saved = store_->AppendLedger(row); !saved) {
    return std::unexpected(std::move(saved.error()).WithContext("recording the embeddings call"));
  }
  if (!answer) return std::unexpected(answer.error());
  return EmbedAnswer{std::move(answer->vectors),
                     row.provider,
                     row.model,
                     provider ? provider->zone : Zone::kLocal,
                     answer->tokens,
                     row.cost_usd};
}

void StoreAuditSink::Record(const router::AuditRecord& record) {
  nlohmann::json payload = router::AuditRecordToJson(record);
  if (worker_) payload["worker"] = {{"name", worker_->name}, {"zone", worker_->zone}};
  Result<int64_t> saved = store_->AppendAudit({.task_id = record.task_id,
                                               .kind = "route_decision",
                                               .payload = payload.dump(),
                                               .created_at_ms = record.time_unix_ms});
  if (!saved) spdlog::error("audit record not saved: {}", saved.error().message());
}

}  // namespace tandem::agent
