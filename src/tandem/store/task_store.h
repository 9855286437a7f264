// TaskStore: durable state of tasks on SQLite (WAL, foreign keys, versioned migrations).
// Every method commits before returning, so a crash after it returns loses nothing (inside a
// Batch: once the batch commits).
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/core/sqlite.h"
#include "tandem/core/wal_checkpointer.h"
#include "tandem/store/records.h"
#include "tandem/store/schedule_store.h"

struct sqlite3;

namespace tandem::store {

struct LedgerFilter {
  std::string task_id;  // Empty: all tasks.
};

// What a task's model calls used, summed over its ledger rows.
struct LedgerTotals {
  double cost_usd = 0;  // Rows without a known price count 0.
  int64_t tokens = 0;   // Prompt and completion.
};

// Thread-safe: one connection guarded by mu_.
class TaskStore final : public ScheduleStore {
 public:
  // Makes the writes the calling thread sends through the store until Commit one transaction:
  // one WAL commit instead of one per write, which is most of what a step costs. Other threads
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

  // Opens (creating if needed) the database at `path` and applies pending migrations.
  // Fails with kFailedPrecondition for a database written by a newer Tandem, kDataLoss for a
  // file that is not a Tandem database, kUnavailable when it cannot be opened.
  static Result<std::unique_ptr<TaskStore>> Open(const std::filesystem::path& path);
  ~TaskStore() override;
  TaskStore(const TaskStore&) = delete;
  TaskStore& operator=(const TaskStore&) = delete;

  // The schema version this build writes.
  static int SchemaVersion();

  Status CreateTask(const TaskRecord& task);
  // Updates status, stop reason, taint and updated_at of an existing task.
  Status UpdateTask(const TaskRecord& task);
  Result<std::optional<TaskRecord>> GetTask(std::string_view id);
  // Newest first.
  Result<std::vector<TaskRecord>> ListTasks(int limit = 100);
  // Tasks whose parent is `parent_id`, oldest first.
  Result<std::vector<TaskRecord>> ListChildTasks(std::string_view parent_id);

  // Inserts or replaces the step (task_id, seq). Fails with kAlreadyExists when its
  // idempotency key belongs to another step.
  Status SaveStep(const StepRecord& step);
  Result<std::vector<StepRecord>> ListSteps(std::string_view task_id);
  // The step that used `idempotency_key`, if any.
  Result<std::optional<StepRecord>> FindStepByKey(std::string_view idempotency_key);

  // Appends an event and returns its id.
  Result<int64_t> AppendEvent(const EventRecord& event);
  Result<std::vector<EventRecord>> ListEvents(std::string_view task_id, int64_t after_id = 0);

  Status SaveArtifact(const ArtifactRecord& artifact);
  Result<std::vector<ArtifactRecord>> ListArtifacts(std::string_view task_id);

  Result<int64_t> AppendAudit(const AuditRecord& record);
  Result<std::vector<AuditRecord>> ListAudit(std::string_view task_id);

  // Inserts or replaces the task's one summary of its older steps.
  Status SaveContextSummary(const ContextSummary& summary);
  // The task's summary, or nullopt when its history was never condensed.
  Result<std::optional<ContextSummary>> GetContextSummary(std::string_view task_id);

  Result<int64_t> AppendLedger(const LedgerRow& row);
  Result<std::vector<LedgerRow>> ListLedger(const LedgerFilter& filter = {});
  // Summed in SQL over the task's rows (the agent checks its budget at every step).
  Result<LedgerTotals> SumLedger(std::string_view task_id);

  // Users, API tokens, sessions and task visibility for the server (task_store_auth.cpp).
  // CreateUser fails with kAlreadyExists for a taken name.
  Status CreateUser(const UserRecord& user);
  Result<std::optional<UserRecord>> GetUser(std::string_view name);
  Result<std::vector<UserRecord>> ListUsers();
  Status SaveApiToken(const ApiTokenRecord& token);
  // The token's row, if a token with this hash exists.
  Result<std::optional<ApiTokenRecord>> FindApiToken(std::string_view token_hash);
  Status SaveSession(const SessionRecord& session);
  // The session with this hash, if it exists (expired ones too: the caller checks).
  Result<std::optional<SessionRecord>> FindSession(std::string_view token_hash);
  Status DeleteSession(std::string_view token_hash);
  Status SetTaskAccess(const TaskAccess& access);
  // nullopt for tasks created outside the server.
  Result<std::optional<TaskAccess>> GetTaskAccess(std::string_view task_id);

  // Counts of tasks, steps, model calls and routing decisions.
  Result<StoreTotals> Totals();

  Result<Batch> BeginBatch();

  // ScheduleStore (schedule_store.cpp).
  Status CreateSchedule(const ScheduleRecord& schedule) override;
  Result<std::optional<ScheduleRecord>> GetSchedule(std::string_view id) override;
  Result<std::vector<ScheduleRecord>> ListSchedules() override;
  Status DeleteSchedule(std::string_view id) override;
  Status SaveScheduleProgress(std::string_view id, const ScheduleProgress& progress,
                              std::span<const ScheduleRunRecord> runs,
                              int64_t updated_at_ms) override;
  Result<std::vector<ScheduleRunRecord>> ListScheduleRuns(std::string_view schedule_id,
                                                          int limit = 50) override;

 private:
  explicit TaskStore(sqlite3* db);
  Status Migrate();
  Status EndBatch(bool commit);

  // Recursive: a thread in a Batch holds it while calling the methods, which take it again.
  std::recursive_mutex mu_;
  int batch_depth_ = 0;           // GUARDED_BY(mu_)
  bool batch_abandoned_ = false;  // GUARDED_BY(mu_): an inner batch ended without Commit.
  sqlite3* db_;                   // GUARDED_BY(mu_)
  std::unique_ptr<sqlite::StatementCache> statements_;  // GUARDED_BY(mu_)
  // Destroyed after db_ is closed (its hook is on db_).
  std::unique_ptr<sqlite::WalCheckpointer> checkpointer_;
};

}  // namespace tandem::store
