// PostgresTaskStore: the TaskStore on a PostgreSQL database (libpq), for several processes and
// machines sharing tasks. Migrations mirror SqliteTaskStore's, version for version, and are
// recorded in the schema_migrations table.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "tandem/store/task_store.h"

namespace tandem::pg {
class Connection;
}

namespace tandem::store {

// Thread-safe: one connection guarded by TaskStore::mu_.
class PostgresTaskStore final : public TaskStore {
 public:
  // Connects to `url` and applies pending migrations (serialised across processes by an
  // advisory lock). Fails with kInvalidArgument for a malformed URL, kUnavailable when the server
  // cannot be reached, kFailedPrecondition for a database written by a newer Tandem; messages
  // name the URL without its password.
  static Result<std::unique_ptr<PostgresTaskStore>> Open(std::string_view url);
  static int SchemaVersion();
  ~PostgresTaskStore() override;

  Status CreateTask(const TaskRecord& task) override;
  Status UpdateTask(const TaskRecord& task) override;
  Result<std::optional<TaskRecord>> GetTask(std::string_view id) override;
  Result<std::vector<TaskRecord>> ListTasks(int limit) override;
  Result<std::vector<TaskRecord>> ListChildTasks(std::string_view parent_id) override;

  Status SaveStep(const StepRecord& step) override;
  Result<std::vector<StepRecord>> ListSteps(std::string_view task_id) override;
  Result<std::optional<StepRecord>> FindStepByKey(std::string_view idempotency_key) override;

  Result<int64_t> AppendEvent(const EventRecord& event) override;
  Result<std::vector<EventRecord>> ListEvents(std::string_view task_id, int64_t after_id) override;

  Status SaveArtifact(const ArtifactRecord& artifact) override;
  Result<std::vector<ArtifactRecord>> ListArtifacts(std::string_view task_id) override;

  Result<int64_t> AppendAudit(const AuditRecord& record) override;
  Result<std::vector<AuditRecord>> ListAudit(std::string_view task_id) override;
  Result<std::vector<AuditRecord>> ListAuditPage(int limit, int64_t before_id = 0) override;

  // ScheduleStore.
  Status CreateSchedule(const ScheduleRecord& schedule) override;
  Result<std::optional<ScheduleRecord>> GetSchedule(std::string_view id) override;
  Result<std::vector<ScheduleRecord>> ListSchedules() override;
  Status DeleteSchedule(std::string_view id) override;
  Status SaveScheduleProgress(std::string_view id, const ScheduleProgress& progress,
                              std::span<const ScheduleRunRecord> runs,
                              int64_t updated_at_ms) override;
  Result<std::vector<ScheduleRunRecord>> ListScheduleRuns(std::string_view schedule_id,
                                                          int limit = 50) override;

  // WorkQueueStore (postgres_work_queue.cpp).
  Status SubmitTask(std::string_view task_id, Placement placement, int64_t now_ms) override;
  Result<std::optional<QueuedTask>> ClaimTask(const ClaimRequest& request) override;
  Result<std::vector<QueuedTask>> RenewLeases(std::string_view worker, int64_t now_ms,
                                              int64_t lease_ms) override;
  Status ReleaseTask(std::string_view task_id, std::string_view worker,
                     Placement placement) override;
  Status CompleteTask(std::string_view task_id, std::string_view worker) override;
  Result<bool> CancelQueuedTask(std::string_view task_id, int64_t now_ms) override;
  Result<std::optional<QueuedTask>> GetQueuedTask(std::string_view task_id) override;
  Result<std::vector<QueuedTask>> ListQueue() override;
  Status SaveWorker(const WorkerRecord& worker) override;
  Result<std::vector<WorkerRecord>> ListWorkers() override;
  Result<std::unique_ptr<WorkSignal>> ListenForWork() override;

  Status SaveContextSummary(const ContextSummary& summary) override;
  Result<std::optional<ContextSummary>> GetContextSummary(std::string_view task_id) override;

  Result<int64_t> AppendLedger(const LedgerRow& row) override;
  Result<std::vector<LedgerRow>> ListLedger(const LedgerFilter& filter) override;
  Result<LedgerTotals> SumLedger(std::string_view task_id) override;

  Status CreateUser(const UserRecord& user) override;
  Result<std::optional<UserRecord>> GetUser(std::string_view name) override;
  Result<std::vector<UserRecord>> ListUsers() override;
  Status SaveApiToken(const ApiTokenRecord& token) override;
  Result<std::optional<ApiTokenRecord>> FindApiToken(std::string_view token_hash) override;
  Status SaveSession(const SessionRecord& session) override;
  Result<std::optional<SessionRecord>> FindSession(std::string_view token_hash) override;
  Status DeleteSession(std::string_view token_hash) override;
  Status SetTaskAccess(const TaskAccess& access) override;
  Result<std::optional<TaskAccess>> GetTaskAccess(std::string_view task_id) override;

  Result<StoreTotals> Totals() override;

 protected:
  Status BeginTransaction() override;
  Status CommitTransaction() override;
  void RollbackTransaction() override;

 private:
  PostgresTaskStore(std::unique_ptr<pg::Connection> connection, std::string url);
  Status Migrate();
  // Wakes workers waiting in ListenForWork (delivered when the current transaction commits).
  Status NotifyWork();

  std::unique_ptr<pg::Connection> db_;  // GUARDED_BY(mu_)
  const std::string url_;               // For the notification connections of ListenForWork.
};

}  // namespace tandem::store
