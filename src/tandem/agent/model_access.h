// How the agent reaches a model: one call in; the answer, where it ran and what it cost out.
// The agent never holds a provider client: the only implementation for real runs goes through
// router::Gateway, which decides the zone and provider of every call.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "tandem/core/clock.h"
#include "tandem/core/config.h"
#include "tandem/llm/chat_model.h"
#include "tandem/llm/price_catalog.h"
#include "tandem/router/gateway.h"
#include "tandem/router/taint.h"
#include "tandem/store/task_store.h"

namespace tandem::agent {

// Who is asking, so the call can be routed, attributed and recorded.
struct CallContext {
  std::string task_id;
  int64_t step_seq = 0;
  const CancellationToken* cancel = nullptr;
  const router::TaintState* taint = nullptr;  // The task's taint; nullptr: untainted.
  bool escalate = false;                      // Ask for a stronger model (watchdog re-plan).
  bool stream = false;                        // Stream the answer to on_text.
  std::function<void(std::string_view)> on_text;
  // A route profile, or a provider's name or model (router::CallContext::profile); "": default.
  std::string profile = {};
};

struct ModelAnswer {
  llm::ChatResponse response;
  std::string provider;
  Zone zone = Zone::kLocal;
  std::optional<double> cost_usd;  // nullopt when the model has no known price.
  int64_t latency_ms = 0;
};

struct EmbedAnswer {
  std::vector<std::vector<float>> vectors;  // One per text, in order.
  std::string provider;
  std::string model;
  Zone zone = Zone::kLocal;
  int64_t tokens = 0;              // Estimated input tokens.
  std::optional<double> cost_usd;  // nullopt when the model has no known price.
};

class ModelAccess {
 public:
  virtual ~ModelAccess() = default;
  // Sends the request to a model the policy allows for this call; records a ledger row.
  virtual Result<ModelAnswer> Call(const llm::ChatRequest& request, const CallContext& context) = 0;
  // Embeds `texts` with a provider the policy allows; records a ledger row. The default has no
  // embedder: kFailedPrecondition.
  virtual Result<EmbedAnswer> Embed(const std::vector<std::string>& texts,
                                    const CallContext& context);
};

// Routes every call through the gateway, prices it from the catalog and records one ledger row
// per call (failed ones too). Thread-safe if the gateway and store are.
class GatewayModelAccess final : public ModelAccess {
 public:
  // None owned; all must outlive this object. `prices` may be null (costs unknown).
  GatewayModelAccess(router::Gateway* gateway, const Config* config,
                     const llm::PriceCatalog* prices, store::TaskStore* store, Clock* clock);
  Result<ModelAnswer> Call(const llm::ChatRequest& request, const CallContext& context) override;
  Result<EmbedAnswer> Embed(const std::vector<std::string>& texts,
                            const CallContext& context) override;

 private:
  // Writes the ledger row of a gateway call begun at `started` that ended with `error`, or
  // answered from `provider_name` (`provider`: its configuration, if any); `describe` fills in
  // an answer's model and token counts and returns the usage to price.
  Result<store::LedgerRow> RecordCall(const CallContext& context,
                                      std::chrono::steady_clock::time_point started,
                                      const std::string& provider_name,
                                      const ProviderConfig* provider, const Error* error,
                                      std::string_view what,
                                      const std::function<llm::Usage(store::LedgerRow&)>& describe);

  router::Gateway* gateway_;
  const Config* config_;
  const llm::PriceCatalog* prices_;
  store::TaskStore* store_;
  Clock* clock_;
};

// Persists the gateway's audit records in the task store (kind "route_decision").
// With a worker's name and zone, each record also says which worker made the call, so the audit
// shows where a task's every model call ran.
class StoreAuditSink final : public router::AuditSink {
 public:
  struct Worker {
    std::string name;
    std::string zone;  // "local" or "cloud".
  };
  explicit StoreAuditSink(store::TaskStore* store, std::optional<Worker> worker = std::nullopt)
      : store_(store), worker_(std::move(worker)) {}
  void Record(const router::AuditRecord& record) override;

 private:
  store::TaskStore* store_;  // Not owned; thread-safe.
  std::optional<Worker> worker_;
};

}  // namespace tandem::agent
