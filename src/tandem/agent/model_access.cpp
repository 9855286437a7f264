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

Result<store::LedgerRow> GatewayModelAccess::RecordCall(
    const CallContext& context, std::chrono::steady_clock::time_point started,
    const std::string& provider_name, const ProviderConfig* provider, const Error* error,
    std::string_view what, const std::function<llm::Usage(store::LedgerRow&)>& describe) {
  int64_t latency_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_->Monotonic() - started).count();
  store::LedgerRow row =
      LedgerRowFor(context, latency_ms, ToUnixMillis(clock_->Now()), provider_name, provider);
  if (error) {
    row.outcome = std::string(ErrorCodeName(error->code()));
  } else {
    llm::Usage usage = describe(row);
    if (prices_ != nullptr) row.cost_usd = prices_->Cost(row.model, usage);
    // A local endpoint sends no per-token bill (its hardware is costed by `tandem plan`).
    if (!row.cost_usd && provider && provider->zone == Zone::kLocal) row.cost_usd = 0.0;
    row.outcome = "ok";
  }
  if (Result<int64_t> saved = store_->AppendLedger(row); !saved) {
    return std::unexpected(std::move(saved.error()).WithContext(fmt::format("recording {}", what)));
  }
  return row;
}

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
  const ProviderConfig* provider =
      answer ? config_->FindProvider(answer->decision.provider()) : nullptr;
  Result<store::LedgerRow> row = RecordCall(
      context, started, answer ? answer->decision.provider() : std::string(), provider,
      answer ? nullptr : &answer.error(), "the model call", [&](store::LedgerRow& entry) {
        const llm::ChatResponse& response = answer->response;
        // Priced by the configured model name: servers often answer with a dated variant.
        entry.model = provider && !provider->model.empty() ? provider->model : response.model;
        entry.prompt_tokens = response.usage.prompt_tokens;
        entry.completion_tokens = response.usage.completion_tokens;
        entry.cached_prompt_tokens = response.usage.cached_prompt_tokens;
        entry.estimated = response.usage.estimated;
        entry.time_to_first_token_ms = response.time_to_first_token_ms;
        return response.usage;
      });
  if (!row) return std::unexpected(std::move(row.error()));
  if (!answer) return std::unexpected(answer.error());
  return ModelAnswer{std::move(answer->response), row->provider,
                     provider ? provider->zone : Zone::kLocal, row->cost_usd, row->latency_ms};
}

Result<EmbedAnswer> ModelAccess::Embed(const std::vector<std::string>&, const CallContext&) {
  return MakeError(ErrorCode::kFailedPrecondition, "this model access has no embedder");
}

Result<EmbedAnswer> GatewayModelAccess::Embed(const std::vector<std::string>& texts,
                                              const CallContext& context) {
  auto started = clock_->Monotonic();
  Result<router::EmbedResponse> answer = gateway_->Embed(
      {.task_id = context.task_id, .taint = context.taint, .profile = context.profile}, texts);
  const ProviderConfig* provider =
      answer ? config_->FindProvider(answer->decision.provider()) : nullptr;
  Result<store::LedgerRow> row = RecordCall(
      context, started, answer ? answer->decision.provider() : std::string(), provider,
      answer ? nullptr : &answer.error(), "the embeddings call", [&](store::LedgerRow& entry) {
        entry.model = answer->model;
        entry.prompt_tokens = answer->tokens;
        entry.estimated = true;  // The embeddings client does not report usage.
        return llm::Usage{.prompt_tokens = answer->tokens, .estimated = true};
      });
  if (!row) return std::unexpected(std::move(row.error()));
  if (!answer) return std::unexpected(answer.error());
  return EmbedAnswer{std::move(answer->vectors),
                     row->provider,
                     row->model,
                     provider ? provider->zone : Zone::kLocal,
                     answer->tokens,
                     row->cost_usd};
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
