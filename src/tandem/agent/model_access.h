// How the agent reaches a model: one call in, the answer plus where it ran and what it cost out.
// The agent never holds a provider client itself; this seam is what the router implements.
#pragma once

#include <memory>
#include <string>

#include "tandem/core/clock.h"
#include "tandem/core/config.h"
#include "tandem/llm/chat_model.h"
#include "tandem/llm/price_catalog.h"
#include "tandem/store/task_store.h"

namespace tandem::agent {

// Who is asking, so the call can be routed, attributed and recorded.
struct CallContext {
  std::string task_id;
  int64_t step_seq = 0;
  const CancellationToken* cancel = nullptr;
};

struct ModelAnswer {
  llm::ChatResponse response;
  std::string provider;
  Zone zone = Zone::kLocal;
  std::optional<double> cost_usd;  // nullopt when the model has no known price.
  int64_t latency_ms = 0;
};

class ModelAccess {
 public:
  virtual ~ModelAccess() = default;
  // Sends the request to a model allowed for this call; records a ledger row for every attempt.
  virtual Result<ModelAnswer> Call(const llm::ChatRequest& request, const CallContext& context) = 0;
};

// Sends every call to one configured provider and records each call in the ledger.
// Thread-safe if the model is.
class SingleProviderAccess final : public ModelAccess {
 public:
  SingleProviderAccess(std::unique_ptr<llm::ChatModel> model, ProviderConfig provider,
                       const llm::PriceCatalog* prices, store::TaskStore* store, Clock* clock);
  Result<ModelAnswer> Call(const llm::ChatRequest& request, const CallContext& context) override;

 private:
  std::unique_ptr<llm::ChatModel> model_;
  ProviderConfig provider_;
  const llm::PriceCatalog* prices_;  // Not owned; may be null (costs unknown).
  store::TaskStore* store_;          // Not owned.
  Clock* clock_;                     // Not owned.
};

}  // namespace tandem::agent
