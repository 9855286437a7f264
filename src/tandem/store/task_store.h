// TaskStore: durable state of tasks, behind one interface with two backends: SQLite (the default,
// one file under $TANDEM_HOME) and PostgreSQL (shared by several processes and machines).
// Every method commits before returning, so a crash after it returns loses nothing (inside a
// Batch: once the batch commits).
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/store/records.h"
#include "tandem/store/schedule_store.h"
#include "tandem/store/work_queue_store.h"

namespace tandem {
struct Config;
}

namespace tandem::store {

struct LedgerFilter {
  std::string task_id;   // Empty: all tasks.
  int64_t since_ms = 0;  // Only rows created at or after this Unix time in ms; 0: all.
};

// What a task's model calls used, summed over its ledger rows.
struct LedgerTotals {
  double cost_usd = 0;  // Rows without a known price count 0.
  int64_t tokens = 0;   // Prompt and completion.
};

// The interface every backend implements with the same behaviour (tests/store runs one suite
// against each). Thread-safe: every method of every backend runs under mu_, which a Batch holds
// for its whole life.
class TaskStore : public ScheduleStore, public WorkQueueStore {
 public:
  // Makes the writes the calling thread sends through the store until Commit one transaction:
  // one commit instead of one per write, which is most of what a step costs. Other threads
  // wait for the store meanwhile, so a batch must never span a model call, a tool run or a
  // person's answer. A batch begun inside another joins it (only the outermost commits); a batch
  // destroyed without Commit rolls back, and so does the outermost one after it.
  //
  //   Result<TaskStore::Batch> batch = store.BeginBatch();
  //   ... store.SaveStep(step); store.AppendEvent(event); ...
  //   if (Status committed = batch->Commit(); !committed) return committed;
  class Batch {
   public:
    Batch(Batch&& other) noexcept
        : store_(std::exchange(other.store_, nullptr)), lock_(std::move(other.lock_)) {}
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    ~Batch();
    // Ends the batch; later calls do nothing and succeed.
    Status Commit();

   private:
    friend class TaskStore;
    Batch(TaskStore* store, std::unique_lock<std::recursive_mutex> lock)
        : store_(store), lock_(std::move(lock)) {}
    TaskStore* store_;  // Null once ended.
    std::unique_lock<std::recursive_mutex> lock_;
  };

  // Opens (creating if needed) the SQLite database at `path` and applies pending migrations.
  // Fails with kFailedPrecondition for a database written by a newer Tandem, kDataLoss for a
  // file that is not a Tandem database, kUnavailable when it cannot be opened.
  static Result<std::unique_ptr<TaskStore>> Open(const std::filesystem::path& path);
  // The schema version this build writes (the same number for every backend).
  static int SchemaVersion();

  TaskStore() = default;
  ~TaskStore() override = default;
  TaskStore(const TaskStore&) = delete;
  TaskStore& operator=(const TaskStore&) = delete;

  virtual Status CreateTask(const TaskRecord& task) = 0;
  // Updates status, stop reason, taint and updated_at of an existing task.
  virtual Status UpdateTask(const TaskRecord& task) = 0;
  virtual Result<std::optional<TaskRecord>> GetTask(std::string_view id) = 0;
  // Newest first.
  virtual Result<std::vector<TaskRecord>> ListTasks(int limit = 100) = 0;
  // Tasks whose parent is `parent_id`, oldest first.
  virtual Result<std::vector<TaskRecord>> ListChildTasks(std::string_view parent_id) = 0;

  // Inserts or replaces the step (task_id, seq). Fails with kAlreadyExists when its
  // idempotency key belongs to another step.
  virtual Status SaveStep(const StepRecord& step) = 0;
  virtual Result<std::vector<StepRecord>> ListSteps(std::string_view task_id) = 0;
  // The step that used `idempotency_key`, if any.
  virtual Result<std::optional<StepRecord>> FindStepByKey(std::string_view idempotency_key) = 0;

  // Appends an event and returns its id.
  virtual Result<int64_t> AppendEvent(const EventRecord& event) = 0;
  virtual Result<std::vector<EventRecord>> ListEvents(std::string_view task_id,
                                                      int64_t after_id = 0) = 0;

  virtual Status SaveArtifact(const ArtifactRecord& artifact) = 0;
  virtual Result<std::vector<ArtifactRecord>> ListArtifacts(std::string_view task_id) = 0;

  virtual Result<int64_t> AppendAudit(const AuditRecord& record) = 0;
  virtual Result<std::vector<AuditRecord>> ListAudit(std::string_view task_id) = 0;
  // Every task's records, newest first: at most `limit`, with ids below `before_id` when it is
  // positive (the id of the last record of the previous page).
  virtual Result<std::vector<AuditRecord>> ListAuditPage(int limit, int64_t before_id = 0) = 0;

  // Inserts or replaces the task's one summary of its older steps.
  virtual Status SaveContextSummary(const ContextSummary& summary) = 0;
  // The task's summary, or nullopt when its history was never condensed.
  virtual Result<std::optional<ContextSummary>> GetContextSummary(std::string_view task_id) = 0;

  virtual Result<int64_t> AppendLedger(const LedgerRow& row) = 0;
  virtual Result<std::vector<LedgerRow>> ListLedger(const LedgerFilter& filter = {}) = 0;
  // Summed in SQL over the task's rows (the agent checks its budget at every step).
  virtual Result<LedgerTotals> SumLedger(std::string_view task_id) = 0;

  // Users, API tokens, sessions and task visibility for the server.
  // CreateUser fails with kAlreadyExists for a taken name.
  virtual Status CreateUser(const UserRecord& user) = 0;
  virtual Result<std::optional<UserRecord>> GetUser(std::string_view name) = 0;
  virtual Result<std::vector<UserRecord>> ListUsers() = 0;
  virtual Status SaveApiToken(const ApiTokenRecord& token) = 0;
  // The token's row, if a token with this hash exists.
  virtual Result<std::optional<ApiTokenRecord>> FindApiToken(std::string_view token_hash) = 0;
  virtual Status SaveSession(const SessionRecord& session) = 0;
  // The session with this hash, if it exists (expired ones too: the caller checks).
  virtual Result<std::optional<SessionRecord>> FindSession(std::string_view token_hash) = 0;
  virtual Status DeleteSession(std::string_view token_hash) = 0;
  virtual Status SetTaskAccess(const TaskAccess& access) = 0;
  // nullopt for tasks created outside the server.
  virtual Result<std::optional<TaskAccess>> GetTaskAccess(std::string_view task_id) = 0;

  // Counts of tasks, steps, model calls and routing decisions.
  virtual Result<StoreTotals> Totals() = 0;

  Result<Batch> BeginBatch();

 protected:
  // A backend's transaction, run under mu_ by BeginBatch and the end of the outermost Batch.
  virtual Status BeginTransaction() = 0;
  // Rolls back when the commit fails.
  virtual Status CommitTransaction() = 0;
  virtual void RollbackTransaction() = 0;

  // Recursive: a thread in a Batch holds it while calling the methods, which take it again.
  std::recursive_mutex mu_;

 private:
  Status EndBatch(bool commit);

  int batch_depth_ = 0;           // GUARDED_BY(mu_)
  bool batch_abandoned_ = false;  // GUARDED_BY(mu_): an inner batch ended without Commit.
};

// Opens the store at `location`: a PostgreSQL URL, or else the path of a SQLite file (relative
// paths are taken from `home`; empty means home/tandem.db). Errors name the location, never a
// password in it.
Result<std::unique_ptr<TaskStore>> OpenTaskStore(std::string_view location,
                                                 const std::filesystem::path& home);

// Opens the store the configuration selects with its top-level `store` key (see OpenTaskStore
// above; absent means home/tandem.db). Fails with kInvalidArgument for a `store` that is not a
// string.
Result<std::unique_ptr<TaskStore>> OpenTaskStore(const Config& config);

}  // namespace tandem::store
