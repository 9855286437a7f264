#include "tandem/agent/model_access.h"

#include "tandem/core/clock.h"

namespace tandem::agent {

SingleProviderAccess::SingleProviderAccess(std::unique_ptr<llm::ChatModel> model,
                                           ProviderConfig provider, const llm::PriceCatalog* prices,
                                           store::TaskStore* store, Clock* clock)
    : model_(std::move(model)),
      provider_(std::move(provider)),
      prices_(prices),
      store_(store),
      clock_(clock) {}

Result<ModelAnswer> SingleProviderAccess::Call(const llm::ChatRequest& request,
                                               const CallContext& context) {
  auto started = clock_->Monotonic();
  Result<llm::ChatResponse> response = model_->Chat(request, {.cancel = context.cancel});
  int64_t latency_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_->Monotonic() - started).count();
  store::LedgerRow row{.task_id = context.task_id,
                       .step_seq = context.step_seq,
                       .provider = provider_.name,
                       .model = model_->model_name(),
                       .zone = std::string(ZoneName(provider_.zone)),
                       .latency_ms = latency_ms,
                       .created_at_ms = ToUnixMillis(clock_->Now())};
  ModelAnswer answer;
  if (response) {
    row.prompt_tokens = response->usage.prompt_tokens;
    row.completion_tokens = response->usage.completion_tokens;
    row.cached_prompt_tokens = response->usage.cached_prompt_tokens;
    row.estimated = response->usage.estimated;
    if (prices_ != nullptr) row.cost_usd = prices_->Cost(row.model, response->usage);
    row.outcome = "ok";
  } else {
    row.outcome = std::string(ErrorCodeName(response.error().code()));
  }
  if (Result<int64_t> saved = store_->AppendLedger(row); !saved) {
    return std::unexpected(std::move(saved.error()).WithContext("recording the model call"));
  }
  if (!response) {
    return std::unexpected(
        std::move(response.error()).WithContext(fmt::format("provider '{}'", provider_.name)));
  }
  answer.response = std::move(*response);
  answer.provider = provider_.name;
  answer.zone = provider_.zone;
  answer.cost_usd = row.cost_usd;
  answer.latency_ms = latency_ms;
  return answer;
}

}  // namespace tandem::agent
