// The agent's use of memory (docs/memory.md): each step's observation and each finished task's
// summary are stored with their task, step, tool and taint label; before each model call the
// most relevant memories of other tasks are recalled into the prompt, and a recalled memory
// labelled sensitive taints the recalling task so the router keeps it local.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/config.h"
#include "tandem/memory/memory.h"
#include "tandem/router/policy.h"
#include "tandem/router/taint.h"
#include "tandem/store/records.h"

namespace tandem::agent {

inline constexpr std::string_view kObservationsCollection = "task-observations";
inline constexpr std::string_view kSummariesCollection = "task-summaries";
// Taint labels stored in each memory's "taint" metadata.
inline constexpr std::string_view kTaintSensitive = "sensitive";
inline constexpr std::string_view kTaintNone = "none";

struct AgentMemoryOptions {
  bool enabled = false;       // `[memory] agent = true`: the agent stores and recalls.
  size_t recall_count = 3;    // Memories inserted before each model call; more costs tokens.
  size_t recall_bytes = 600;  // Each recalled text is clipped to this many bytes.
};

// Reads `agent`, `recall_count` and `recall_bytes` from the `[memory]` section. Fails with
// kInvalidArgument (file:line:key) on a bad value.
Result<AgentMemoryOptions> ReadAgentMemoryOptions(const Config& config);

// What a recall found.
struct Recollection {
  std::vector<std::string> texts;  // For the prompt, most relevant first.
  bool raised_taint = false;       // The task's taint grew (a sensitive memory was recalled).
};

// Not thread-safe; one per running loop. The store must outlive this object.
class AgentMemory {
 public:
  AgentMemory(memory::MemoryStore* store, AgentMemoryOptions options, const router::Policy* policy);

  // Stores the step's observation (upsert by "task:seq"). `taint` is the task's taint after the
  // step: once a task is tainted, all its later observations are labelled sensitive.
  Status RememberStep(const store::TaskRecord& task, const store::StepRecord& step,
                      const router::TaintState& taint);
  // Stores the finished task's summary (upsert by task id).
  Status RememberSummary(const store::TaskRecord& task, std::string_view summary, int64_t steps,
                         const router::TaintState& taint);

  // Up to recall_count memories of other tasks relevant to the goal and the latest observation
  // (full text alone without an embedder). A recalled memory labelled sensitive, or whose text
  // the policy finds sensitive, adds a kMemoryRecall mark to `taint`. An empty memory or no match
  // is an empty result, not an error.
  Result<Recollection> Recall(const store::TaskRecord& task, std::string_view latest_observation,
                              router::TaintState& taint);

 private:
  Status EnsureCollections();

  memory::MemoryStore* store_;
  AgentMemoryOptions options_;
  const router::Policy* policy_;  // May be null: labels alone decide.
  bool collections_ready_ = false;
};

}  // namespace tandem::agent
