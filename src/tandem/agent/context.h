// The conversation the model sees at each step, kept inside its context window: when the history
// no longer fits (leaving room for the answer), older steps are condensed by a model call into a
// summary that is persisted and then only extended, on later steps and after `resume`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tandem/agent/model_access.h"
#include "tandem/agent/prompt.h"
#include "tandem/core/clock.h"
#include "tandem/core/config.h"
#include "tandem/llm/price_catalog.h"
#include "tandem/store/task_store.h"

namespace tandem::agent {

// Used when neither the configuration nor the catalog knows the window: small enough for most
// local servers' default context, so condensing starts early rather than the call failing.
inline constexpr int64_t kDefaultContextTokens = 16384;

// The context window to plan for: `[agent] context_tokens` when set, else the smallest
// max_input_tokens the catalog gives for a configured provider's model (any of them may be
// routed to), else kDefaultContextTokens. `prices` may be null.
int64_t ContextWindowFor(const Config& config, const llm::PriceCatalog* prices);

struct BuiltContext {
  // The request to send: the builder's own, valid until its next Build.
  const llm::ChatRequest* request = nullptr;
  int64_t estimated_tokens = 0;  // Of the messages and tool specifications.
  bool summarised = false;       // This call condensed more steps (one model call).
  int64_t summary_through_seq = 0;
};

// Builds each step's conversation for one task. Not thread-safe; one per running loop.
class ContextBuilder {
 public:
  // `window_tokens` 0: unlimited (never condenses). None owned; all must outlive this object.
  ContextBuilder(store::TaskStore* store, ModelAccess* models, Clock* clock, int64_t window_tokens);

  // The request for the next model call: the conversation and `tools`. Between calls `steps` is
  // expected to grow at its end (the loop's record of the task): then only the new steps'
  // messages are added to the last request; anything else rebuilds it whole. When it would not
  // fit, condenses the oldest steps
  // not yet in the summary (the newest that fit in half the room are kept verbatim) with one
  // call to `models` under `call` (same routing and taint as the step), and saves the summary
  // before returning. Fails when the stored summary cannot be read or saved, or the summary
  // call fails.
  Result<BuiltContext> Build(const store::TaskRecord& task,
                             const std::vector<store::StepRecord>& steps,
                             const std::vector<llm::ToolSpec>& tools, const std::string& note,
                             std::vector<std::string> recalled, const CallContext& call);

  // Scales later estimates by what the provider reported for the last call's prompt, so counts
  // follow the model's own tokenizer. Estimated usage is ignored.
  void Calibrate(const llm::Usage& usage);

  // Tokens kept free for the model's answer.
  int64_t answer_reserve() const;

 private:
  int64_t Estimate(const std::vector<llm::Message>& messages,
                   const std::vector<llm::ToolSpec>& tools) const;
  // Brings request_ to what BuildMessages would give, appending to the last one when only new
  // done steps came since.
  void Assemble(const store::TaskRecord& task, const std::vector<store::StepRecord>& steps,
                const std::vector<llm::ToolSpec>& tools, const std::string& note,
                const PromptExtras& extras);
  Result<std::string> Summarise(const store::TaskRecord& task,
                                const std::vector<const store::StepRecord*>& steps,
                                const CallContext& call);

  store::TaskStore* store_;
  ModelAccess* models_;
  Clock* clock_;
  int64_t window_tokens_;
  bool loaded_ = false;
  store::ContextSummary summary_;
  double scale_ = 1.0;  // Provider tokens per estimated token, from the last reported call.
  int64_t last_estimate_ = 0;

  // The last request and what it was assembled from (reused only when all but the steps match).
  llm::ChatRequest request_;
  bool assembled_ = false;
  std::string assembled_task_;
  int64_t assembled_through_seq_ = 0;
  const std::vector<llm::ToolSpec>* assembled_tools_ = nullptr;
  size_t steps_seen_ = 0;      // Leading steps already in request_ (all done).
  int64_t last_seen_seq_ = 0;  // The seq of the last of them.
  size_t tail_messages_ = 0;   // Recalled memories and note at its end.
};

}  // namespace tandem::agent
