// The agent loop: goal -> model -> one tool call per step -> persisted step -> repeat, until the
// model calls `finish`, a limit is reached, or the task is cancelled.
#pragma once

#include <filesystem>
#include <string>

#include "tandem/agent/agent_memory.h"
#include "tandem/agent/approval.h"
#include "tandem/agent/budget.h"
#include "tandem/agent/context.h"
#include "tandem/agent/model_access.h"
#include "tandem/agent/watchdog.h"
#include "tandem/core/cancellation.h"
#include "tandem/core/clock.h"
#include "tandem/router/policy.h"
#include "tandem/store/task_store.h"
#include "tandem/tools/tools.h"
#include "tandem/tools/tools_config.h"

namespace tandem::agent {

struct RunOptions {
  int max_steps = 30;           // Model turns allowed in total (resume counts earlier steps).
  int max_invalid_answers = 3;  // Consecutive answers without a usable tool call before failing.
  Budget budget;                // USD, tokens, time and tool-call limits; unset: unlimited.
  WatchdogOptions watchdog;     // Loop and no-progress detection.
  // Context window each prompt must fit (ContextWindowFor); 0: unlimited, history never
  // condensed. Not saved with the task: `resume` takes it from the configuration.
  int64_t context_tokens = 0;
  // Route profile of every model call ([[routing.profiles]] name); "": the default routing.
  std::string route_profile;
};

// The options a task was last run with (saved in its settings), for `resume`.
RunOptions StoredRunOptions(const store::TaskRecord& task);
// Saves `options` in the task's settings (its wall time so far is kept), for a run elsewhere
// (a worker) to read back with StoredRunOptions. The caller saves the task.
void StoreRunOptions(store::TaskRecord& task, const RunOptions& options);

struct TaskOutcome {
  std::string task_id;
  store::TaskStatus status = store::TaskStatus::kFailed;
  std::string stop_reason;         // For people: why the task ended or paused.
  std::string summary;             // The model's finish summary, when it finished.
  int64_t steps = 0;               // Steps recorded in total.
  bool refused_by_policy = false;  // The router refused a call (privacy policy).
  bool handed_over = false;        // Stopped for a machine that may see its sensitive data.
};

// Where a run stands, for live displays (not persisted: events and the ledger are the record).
struct Progress {
  std::string task_id;
  int64_t step = 0;   // Steps recorded so far.
  int max_steps = 0;  // The run's step limit.
  Spend spent;        // Cost and tokens from the ledger, tool calls, wall time of all runs.
  Budget budget;      // Unset limits are unlimited.
};

// Receives every event as it is persisted (terminal rendering, servers). Called on the loop's
// thread; must not block for long.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void OnEvent(const store::EventRecord& event) = 0;
  // True to have model answers streamed to OnModelText (live display); streamed text is not
  // persisted (the answer is, in the step and its action_proposed event).
  virtual bool WantsModelText() const { return false; }
  virtual void OnModelText(int64_t /*step_seq*/, std::string_view /*text*/) {}
  // Before each model call and when the run ends.
  virtual void OnProgress(const Progress& /*progress*/) {}
};

struct ControllerDeps {
  store::TaskStore* store = nullptr;       // Required.
  ModelAccess* models = nullptr;           // Required.
  const tools::Registry* tools = nullptr;  // Required.
  Clock* clock = &SystemClock();
  EventSink* events = nullptr;  // Optional.
  // Feeds the task's taint from its goal and tool results; nullptr: no taint tracking (tests).
  const router::Policy* policy = nullptr;
  const CancellationToken* cancel = nullptr;  // Optional: stops the loop at the next safe point.
  // Decides about calls with an `external` effect the configuration does not grant; nullptr:
  // nobody can approve, such calls are refused and the model is told so.
  Approver* approver = nullptr;
  // Grants ([tools] auto_approve): external tools that run without asking; nullptr: none.
  const tools::ToolsConfig* tools_config = nullptr;
  // Optional: stores observations and summaries, recalls relevant ones into each prompt.
  AgentMemory* memory = nullptr;
  // False on a machine that may not see sensitive data (a cloud worker): once the task's taint
  // is raised, the run stops before its next model call and hands the task back (status
  // pending, TaskOutcome::handed_over) for a machine that may.
  bool may_run_tainted = true;
};

// Runs one task at a time. Not thread-safe; use one Controller per running task.
class Controller {
 public:
  explicit Controller(ControllerDeps deps);

  // Records a new task for `goal` with `workspace` (created if missing), using `id` if given
  // (from NewId) or a new id. Fails with kInvalidArgument for an empty goal, kUnavailable if the
  // workspace cannot be created.
  Result<store::TaskRecord> Create(const std::string& goal, const std::filesystem::path& workspace,
                                   const RunOptions& options, std::string id = "");

  // Runs (or continues) a task from its last committed step. A step whose tool call had started
  // but not been recorded as done is never re-run unless its tool only reads.
  Result<TaskOutcome> Run(const std::string& task_id, const RunOptions& options);

 private:
  class Loop;
  ControllerDeps deps_;
};

// The name of the tool the model calls to end the task.
inline constexpr std::string_view kFinishTool = "finish";

}  // namespace tandem::agent
