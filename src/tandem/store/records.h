// The rows the task store keeps: tasks, steps, events, artifacts, audit records and ledger rows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::store {

enum class TaskStatus {
  kPending,    // Created, not started.
  kRunning,    // A process is (or was, before a crash) working on it.
  kSucceeded,  // The agent called finish.
  kFailed,     // Stopped by an error or the watchdog.
  kStopped,    // Stopped on purpose: cancelled, budget or step limit; resumable.
};
std::string_view TaskStatusName(TaskStatus status);
std::optional<TaskStatus> ParseTaskStatus(std::string_view name);

struct TaskRecord {
  std::string id;
  std::string parent_id;  // Empty for top-level tasks.
  std::string goal;
  TaskStatus status = TaskStatus::kPending;
  std::string stop_reason;  // Why it ended or paused, for people.
  std::string workspace;    // Absolute path of the task's workspace directory.
  std::string taint;        // Sensitivity label ("" or "sensitive"); only ever grows.
  std::string settings;     // JSON: limits and options the task was started with.
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

enum class StepStatus {
  kProposed,  // The model's action is recorded; the tool has not started.
  kRunning,   // The tool call started; its idempotency key is reserved.
  kDone,      // The tool finished; the observation is recorded.
};
std::string_view StepStatusName(StepStatus status);
std::optional<StepStatus> ParseStepStatus(std::string_view name);

struct StepRecord {
  std::string task_id;
  int64_t seq = 0;  // 1-based position in the task.
  StepStatus status = StepStatus::kProposed;
  std::string thoughts;       // The model's reasoning text, if any.
  std::string model_message;  // JSON of the assistant message (content + tool calls).
  std::string tool_name;
  std::string tool_arguments;  // JSON text as the model produced it.
  std::string tool_call_id;
  std::string idempotency_key;  // Unique per tool call; a done key is never run again.
  std::string result;           // Observation text.
  bool result_is_error = false;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double cost_usd = 0;
  std::string provider;
  std::string zone;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  // JSON: the approval decision for this call ({"decision": "granted"|"refused"|"feedback",
  // ...}); empty when the call needed none.
  std::string approval;
};

struct EventRecord {
  int64_t id = 0;  // Assigned by the store, increasing.
  std::string task_id;
  std::string type;     // "task_started", "step_done", ...
  std::string payload;  // JSON.
  int64_t created_at_ms = 0;
};

struct ArtifactRecord {
  std::string task_id;
  std::string path;  // Relative to the task workspace.
  int64_t size_bytes = 0;
  int64_t step_seq = 0;
  int64_t created_at_ms = 0;
};

struct AuditRecord {
  int64_t id = 0;
  std::string task_id;
  int64_t step_seq = 0;
  std::string kind;     // "route_decision", "approval", ...
  std::string payload;  // JSON; never contains detected sensitive values.
  int64_t created_at_ms = 0;
};

// A condensed account of a task's steps 1..through_seq, sent to the model in place of those steps
// once the history no longer fits its context window. Extended, never redone, as steps pass.
struct ContextSummary {
  std::string task_id;
  int64_t through_seq = 0;  // Last step the summary covers.
  std::string summary;
  int64_t updated_at_ms = 0;
};

// One model call.
struct LedgerRow {
  int64_t id = 0;
  std::string task_id;
  int64_t step_seq = 0;
  std::string provider;
  std::string model;
  std::string zone;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_prompt_tokens = 0;
  bool estimated = false;          // Usage estimated because the provider did not report it.
  std::optional<double> cost_usd;  // nullopt when the model has no known price.
  int64_t time_to_first_token_ms = 0;
  int64_t latency_ms = 0;
  std::string outcome;  // "ok" or the error code name.
  int64_t created_at_ms = 0;
};

}  // namespace tandem::store

namespace tandem::store {

// A person who may use the server. Roles: "admin", "member", "viewer".
struct UserRecord {
  std::string name;
  std::string role;
  std::string password_hash;  // Argon2id string (libsodium crypto_pwhash_str format).
  int64_t created_at_ms = 0;
};

// An API token; only its hash is kept, the token itself is shown once.
struct ApiTokenRecord {
  std::string token_hash;  // Hex BLAKE2b of the token.
  std::string user_name;
  int64_t created_at_ms = 0;
};

// A browser session (cookie); only the hash of the cookie value is kept.
struct SessionRecord {
  std::string token_hash;  // Hex BLAKE2b of the cookie value.
  std::string user_name;
  std::string csrf_token;  // Required in X-CSRF-Token on state-changing requests.
  int64_t expires_at_ms = 0;
  int64_t created_at_ms = 0;
};

// Who may see a task started through the server. Tasks without a row (started by the CLI) are
// visible to admins only.
struct TaskAccess {
  std::string task_id;
  std::string owner;    // User name.
  bool shared = false;  // True: every member and viewer sees it; false: its owner and admins.
};

// Totals for monitoring (Prometheus /metrics).
struct StoreTotals {
  struct Count {
    std::vector<std::string> labels;
    int64_t count = 0;
    double sum = 0;  // Cost in USD for model calls; 0 elsewhere.
  };
  std::vector<Count> tasks_by_status;  // labels: status
  std::vector<Count> steps_by_status;  // labels: status
  std::vector<Count> model_calls;      // labels: zone, provider, outcome; sum: cost USD
  std::vector<Count> route_decisions;  // labels: route, reason
};

}  // namespace tandem::store
