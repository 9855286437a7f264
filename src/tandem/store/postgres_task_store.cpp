#include "tandem/store/postgres_task_store.h"

#include <array>
#include <limits>

#include "tandem/core/clock.h"
#include "tandem/core/pg_connection.h"
#include "tandem/core/pg_rows.h"
#include "tandem/store/rows.h"

namespace tandem::store {
namespace {

using internal::First;
using pg::Collect;
using pg::Done;
using pg::Params;
using pg::ReturnedId;
using pg::Rows;

// Migration i takes the schema from version i to i + 1, mirroring sqlite_task_store.cpp entry
// for entry (the two lists must stay the same length). Never edit a released entry: append.
// Ids and other sorted keys use the "C" collation, so that ORDER BY matches SQLite's byte order
// whatever the database's locale.
constexpr std::array<std::string_view, 6> kMigrations = {
    R"sql(
CREATE TABLE tasks (
  id TEXT COLLATE "C" PRIMARY KEY,
  parent_id TEXT COLLATE "C" REFERENCES tasks(id),
  goal TEXT NOT NULL,
  status TEXT NOT NULL,
  stop_reason TEXT NOT NULL DEFAULT '',
  workspace TEXT NOT NULL DEFAULT '',
  taint TEXT NOT NULL DEFAULT '',
  settings TEXT NOT NULL DEFAULT '{}',
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
CREATE INDEX tasks_by_parent ON tasks(parent_id);
CREATE TABLE steps (
  task_id TEXT COLLATE "C" NOT NULL REFERENCES tasks(id),
  seq BIGINT NOT NULL,
  status TEXT NOT NULL,
  thoughts TEXT NOT NULL DEFAULT '',
  model_message TEXT NOT NULL DEFAULT '',
  tool_name TEXT NOT NULL DEFAULT '',
  tool_arguments TEXT NOT NULL DEFAULT '',
  tool_call_id TEXT NOT NULL DEFAULT '',
  idempotency_key TEXT COLLATE "C" UNIQUE,
  result TEXT NOT NULL DEFAULT '',
  result_is_error BOOLEAN NOT NULL DEFAULT false,
  prompt_tokens BIGINT NOT NULL DEFAULT 0,
  completion_tokens BIGINT NOT NULL DEFAULT 0,
  cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
  provider TEXT NOT NULL DEFAULT '',
  zone TEXT NOT NULL DEFAULT '',
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (task_id, seq)
);
CREATE TABLE events (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id TEXT COLLATE "C" NOT NULL REFERENCES tasks(id),
  type TEXT NOT NULL,
  payload TEXT NOT NULL DEFAULT '{}',
  created_at_ms BIGINT NOT NULL
);
CREATE INDEX events_by_task ON events(task_id, id);
CREATE TABLE artifacts (
  task_id TEXT COLLATE "C" NOT NULL REFERENCES tasks(id),
  path TEXT COLLATE "C" NOT NULL,
  size_bytes BIGINT NOT NULL,
  step_seq BIGINT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  PRIMARY KEY (task_id, path)
);
CREATE TABLE audit (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id TEXT COLLATE "C" NOT NULL DEFAULT '',
  step_seq BIGINT NOT NULL DEFAULT 0,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL
);
CREATE INDEX audit_by_task ON audit(task_id, id);
CREATE TABLE ledger (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id TEXT COLLATE "C" NOT NULL DEFAULT '',
  step_seq BIGINT NOT NULL DEFAULT 0,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  zone TEXT NOT NULL,
  prompt_tokens BIGINT NOT NULL,
  completion_tokens BIGINT NOT NULL,
  cached_prompt_tokens BIGINT NOT NULL DEFAULT 0,
  estimated BOOLEAN NOT NULL DEFAULT false,
  cost_usd DOUBLE PRECISION,
  time_to_first_token_ms BIGINT NOT NULL DEFAULT 0,
  latency_ms BIGINT NOT NULL DEFAULT 0,
  outcome TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL
);
CREATE INDEX ledger_by_task ON ledger(task_id);
-- Payloads are JSON text as written (like SQLite's); this reads one, or NULL when it is not JSON
-- (SQLite's json_valid + json_extract).
CREATE FUNCTION tandem_try_jsonb(text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN $1::jsonb;
EXCEPTION WHEN others THEN
  RETURN NULL;
END
$$;
)sql",
    R"sql(
ALTER TABLE steps ADD COLUMN approval TEXT NOT NULL DEFAULT '';
)sql",
    // 3: server users, tokens, sessions.
    R"sql(
CREATE TABLE users (
  name TEXT COLLATE "C" PRIMARY KEY,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL
);
CREATE TABLE api_tokens (
  token_hash TEXT COLLATE "C" PRIMARY KEY,
  user_name TEXT COLLATE "C" NOT NULL REFERENCES users(name),
  created_at_ms BIGINT NOT NULL
);
CREATE TABLE sessions (
  token_hash TEXT COLLATE "C" PRIMARY KEY,
  user_name TEXT COLLATE "C" NOT NULL REFERENCES users(name),
  csrf_token TEXT NOT NULL,
  expires_at_ms BIGINT NOT NULL,
  created_at_ms BIGINT NOT NULL
);
CREATE TABLE task_access (
  task_id TEXT COLLATE "C" PRIMARY KEY REFERENCES tasks(id),
  owner TEXT NOT NULL,
  shared BOOLEAN NOT NULL DEFAULT false
);
)sql",
    // 4: context summaries.
    R"sql(
CREATE TABLE context_summaries (
  task_id TEXT COLLATE "C" PRIMARY KEY REFERENCES tasks(id),
  through_seq BIGINT NOT NULL,
  summary TEXT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
)sql",
    // 5: schedules and their history.
    R"sql(
CREATE TABLE schedules (
  id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  cron TEXT NOT NULL,
  timezone TEXT NOT NULL,
  goal TEXT NOT NULL,
  budget TEXT NOT NULL DEFAULT '{}',
  owner TEXT NOT NULL DEFAULT '',
  shared BOOLEAN NOT NULL DEFAULT false,
  missed TEXT NOT NULL,
  overlap TEXT NOT NULL,
  enabled BOOLEAN NOT NULL DEFAULT true,
  next_run_ms BIGINT NOT NULL,
  queued_due_ms BIGINT NOT NULL DEFAULT 0,
  last_task_id TEXT NOT NULL DEFAULT '',
  last_run_ms BIGINT NOT NULL DEFAULT 0,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
CREATE TABLE schedule_runs (
  id BIGSERIAL PRIMARY KEY,
  schedule_id TEXT COLLATE "C" NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
  due_ms BIGINT NOT NULL,
  time_ms BIGINT NOT NULL,
  task_id TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX schedule_runs_by_schedule ON schedule_runs(schedule_id, id);
)sql",
    // 6: the work queue of `tandem worker` processes, and the workers.
    R"sql(
CREATE TABLE task_queue (
  task_id TEXT COLLATE "C" PRIMARY KEY REFERENCES tasks(id),
  placement TEXT NOT NULL,
  lease_owner TEXT COLLATE "C" NOT NULL DEFAULT '',
  lease_expires_ms BIGINT NOT NULL DEFAULT 0,
  enqueued_at_ms BIGINT NOT NULL,
  claims BIGINT NOT NULL DEFAULT 0,
  cancel_requested BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX task_queue_by_age ON task_queue(enqueued_at_ms, task_id);
CREATE INDEX task_queue_by_owner ON task_queue(lease_owner);
CREATE TABLE workers (
  name TEXT COLLATE "C" PRIMARY KEY,
  zone TEXT NOT NULL,
  capacity BIGINT NOT NULL,
  host TEXT NOT NULL DEFAULT '',
  pid BIGINT NOT NULL DEFAULT 0,
  started_at_ms BIGINT NOT NULL,
  heartbeat_ms BIGINT NOT NULL,
  stopped BOOLEAN NOT NULL DEFAULT FALSE
);
)sql"};

// Any fixed number: every Tandem process migrating this database takes the same lock.
constexpr int64_t kMigrationLock = 0x74616e64656d;  // "tandem"

std::string_view SettingsOrEmptyObject(const TaskRecord& task) {
  return task.settings.empty() ? std::string_view("{}") : std::string_view(task.settings);
}

TaskRecord ReadTask(const Rows& r, int i) {
  TaskRecord t;
  t.id = r.Text(i, 0);
  t.parent_id = r.Text(i, 1);
  t.goal = r.Text(i, 2);
  t.status = ParseTaskStatus(r.Text(i, 3)).value_or(TaskStatus::kFailed);
  t.stop_reason = r.Text(i, 4);
  t.workspace = r.Text(i, 5);
  t.taint = r.Text(i, 6);
  t.settings = r.Text(i, 7);
  t.created_at_ms = r.Int(i, 8);
  t.updated_at_ms = r.Int(i, 9);
  return t;
}
constexpr std::string_view kTaskColumns =
    "id, coalesce(parent_id, ''), goal, status, stop_reason, workspace, taint, settings, "
    "created_at_ms, updated_at_ms";

StepRecord ReadStep(const Rows& r, int i) {
  StepRecord s;
  s.task_id = r.Text(i, 0);
  s.seq = r.Int(i, 1);
  s.status = ParseStepStatus(r.Text(i, 2)).value_or(StepStatus::kProposed);
  s.thoughts = r.Text(i, 3);
  s.model_message = r.Text(i, 4);
  s.tool_name = r.Text(i, 5);
  s.tool_arguments = r.Text(i, 6);
  s.tool_call_id = r.Text(i, 7);
  s.idempotency_key = r.Text(i, 8);
  s.result = r.Text(i, 9);
  s.result_is_error = r.Bool(i, 10);
  s.prompt_tokens = r.Int(i, 11);
  s.completion_tokens = r.Int(i, 12);
  s.cost_usd = r.Double(i, 13);
  s.provider = r.Text(i, 14);
  s.zone = r.Text(i, 15);
  s.created_at_ms = r.Int(i, 16);
  s.updated_at_ms = r.Int(i, 17);
  s.approval = r.Text(i, 18);
  return s;
}
constexpr std::string_view kStepColumns =
    "task_id, seq, status, thoughts, model_message, tool_name, tool_arguments, tool_call_id, "
    "coalesce(idempotency_key, ''), result, result_is_error, prompt_tokens, completion_tokens, "
    "cost_usd, provider, zone, created_at_ms, updated_at_ms, approval";

LedgerRow ReadLedger(const Rows& r, int i) {
  LedgerRow row;
  row.id = r.Int(i, 0);
  row.task_id = r.Text(i, 1);
  row.step_seq = r.Int(i, 2);
  row.provider = r.Text(i, 3);
  row.model = r.Text(i, 4);
  row.zone = r.Text(i, 5);
  row.prompt_tokens = r.Int(i, 6);
  row.completion_tokens = r.Int(i, 7);
  row.cached_prompt_tokens = r.Int(i, 8);
  row.estimated = r.Bool(i, 9);
  if (!r.IsNull(i, 10)) row.cost_usd = r.Double(i, 10);
  row.time_to_first_token_ms = r.Int(i, 11);
  row.latency_ms = r.Int(i, 12);
  row.outcome = r.Text(i, 13);
  row.created_at_ms = r.Int(i, 14);
  return row;
}
constexpr std::string_view kLedgerColumns =
    "SELECT id, task_id, step_seq, provider, model, zone, prompt_tokens, completion_tokens, "
    "cached_prompt_tokens, estimated, cost_usd, time_to_first_token_ms, latency_ms, outcome, "
    "created_at_ms FROM ledger";

}  // namespace

int PostgresTaskStore::SchemaVersion() {
  return static_cast<int>(kMigrations.size());
}

PostgresTaskStore::PostgresTaskStore(std::unique_ptr<pg::Connection> connection, std::string url)
    : db_(std::move(connection)), url_(std::move(url)) {}

PostgresTaskStore::~PostgresTaskStore() = default;

Result<std::unique_ptr<PostgresTaskStore>> PostgresTaskStore::Open(std::string_view url) {
  Result<std::unique_ptr<pg::Connection>> connection = pg::Connection::Open(url);
  if (!connection) {
    return std::unexpected(std::move(connection.error()).WithContext("opening task store"));
  }
  std::string redacted = (*connection)->redacted_url();
  std::unique_ptr<PostgresTaskStore> store(
      new PostgresTaskStore(std::move(*connection), std::string(url)));
  if (Status migrated = store->Migrate(); !migrated) {
    return std::unexpected(
        std::move(migrated.error()).WithContext(fmt::format("task store {}", redacted)));
  }
  return store;
}

Status PostgresTaskStore::BeginTransaction() {
  return db_->Exec("BEGIN");
}

Status PostgresTaskStore::CommitTransaction() {
  Result<Rows> rows = db_->ExecText("COMMIT");
  if (!rows) {
    RollbackTransaction();
    return std::unexpected(rows.error());
  }
  // A write that failed inside the batch aborted the transaction: COMMIT then answers ROLLBACK.
  if (std::string_view(PQcmdStatus(const_cast<PGresult*>(rows->result()))) != "COMMIT") {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "write batch rolled back: a write inside it failed");
  }
  return {};
}

void PostgresTaskStore::RollbackTransaction() {
  (void)db_->Exec("ROLLBACK");
}

Status PostgresTaskStore::Migrate() {
  std::lock_guard lock(mu_);
  Result<pg::Transaction> tx = pg::Transaction::Begin(*db_);
  if (!tx) return std::unexpected(tx.error());
  // Two processes opening a fresh database at once: the second waits, then sees the first's
  // migrations.
  if (Status locked =
          Done(db_->Run("SELECT pg_advisory_xact_lock($1)", Params().Add(kMigrationLock)));
      !locked) {
    return locked;
  }
  if (Status created =
          db_->Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                    "applied_at_ms BIGINT NOT NULL)");
      !created) {
    return created;
  }
  Result<Rows> version = db_->Run("SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!version) return std::unexpected(version.error());
  int64_t current = version->Int(0, 0);
  if (current > SchemaVersion()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "database schema version {} is newer than this Tandem supports ({}); "
                     "upgrade Tandem or use another database",
                     current, SchemaVersion());
  }
  for (int64_t v = current; v < SchemaVersion(); ++v) {
    Status applied = db_->Exec(kMigrations[static_cast<size_t>(v)]);
    if (applied) {
      applied =
          Done(db_->Run("INSERT INTO schema_migrations (version, applied_at_ms) VALUES ($1, $2)",
                        Params().Add(v + 1).Add(ToUnixMillis(std::chrono::system_clock::now()))));
    }
    if (!applied) {
      return std::unexpected(
          std::move(applied.error()).WithContext(fmt::format("migration to version {}", v + 1)));
    }
  }
  return tx->Commit();
}

Status PostgresTaskStore::CreateTask(const TaskRecord& task) {
  std::lock_guard lock(mu_);
  return Done(db_->Run(
      "INSERT INTO tasks (id, parent_id, goal, status, stop_reason, workspace, taint, settings, "
      "created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
      Params()
          .Add(task.id)
          .AddOrNull(task.parent_id)
          .Add(task.goal)
          .Add(TaskStatusName(task.status))
          .Add(task.stop_reason)
          .Add(task.workspace)
          .Add(task.taint)
          .Add(SettingsOrEmptyObject(task))
          .Add(task.created_at_ms)
          .Add(task.updated_at_ms)));
}

Status PostgresTaskStore::UpdateTask(const TaskRecord& task) {
  std::lock_guard lock(mu_);
  Result<Rows> rows = db_->Run(
      "UPDATE tasks SET status = $1, stop_reason = $2, taint = $3, settings = $4, "
      "updated_at_ms = $5 WHERE id = $6",
      Params()
          .Add(TaskStatusName(task.status))
          .Add(task.stop_reason)
          .Add(task.taint)
          .Add(SettingsOrEmptyObject(task))
          .Add(task.updated_at_ms)
          .Add(task.id));
  if (!rows) return std::unexpected(rows.error());
  if (rows->affected() == 0) return MakeError(ErrorCode::kNotFound, "no task {}", task.id);
  return {};
}

Result<std::optional<TaskRecord>> PostgresTaskStore::GetTask(std::string_view id) {
  std::lock_guard lock(mu_);
  return First(Collect<TaskRecord>(
      db_->Run(fmt::format("SELECT {} FROM tasks WHERE id = $1", kTaskColumns), Params().Add(id)),
      ReadTask));
}

Result<std::vector<TaskRecord>> PostgresTaskStore::ListTasks(int limit) {
  std::lock_guard lock(mu_);
  return Collect<TaskRecord>(
      db_->Run(fmt::format("SELECT {} FROM tasks ORDER BY id DESC LIMIT $1", kTaskColumns),
               Params().Add(int64_t{limit})),
      ReadTask);
}

Result<std::vector<TaskRecord>> PostgresTaskStore::ListChildTasks(std::string_view parent_id) {
  std::lock_guard lock(mu_);
  return Collect<TaskRecord>(
      db_->Run(fmt::format("SELECT {} FROM tasks WHERE parent_id = $1 ORDER BY id", kTaskColumns),
               Params().Add(parent_id)),
      ReadTask);
}

Status PostgresTaskStore::SaveStep(const StepRecord& step) {
  std::lock_guard lock(mu_);
  // An upsert on (task_id, seq): a clash on idempotency_key fails instead.
  return Done(db_->Run(
      "INSERT INTO steps (task_id, seq, status, thoughts, model_message, tool_name, "
      "tool_arguments, tool_call_id, idempotency_key, result, result_is_error, prompt_tokens, "
      "completion_tokens, cost_usd, provider, zone, created_at_ms, updated_at_ms, approval) VALUES "
      "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) "
      "ON CONFLICT (task_id, seq) DO UPDATE SET status = excluded.status, "
      "thoughts = excluded.thoughts, model_message = excluded.model_message, "
      "tool_name = excluded.tool_name, tool_arguments = excluded.tool_arguments, "
      "tool_call_id = excluded.tool_call_id, idempotency_key = excluded.idempotency_key, "
      "result = excluded.result, result_is_error = excluded.result_is_error, "
      "prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens, "
      "cost_usd = excluded.cost_usd, provider = excluded.provider, zone = excluded.zone, "
      "updated_at_ms = excluded.updated_at_ms, approval = excluded.approval",
      Params()
          .Add(step.task_id)
          .Add(step.seq)
          .Add(StepStatusName(step.status))
          .Add(step.thoughts)
          .Add(step.model_message)
          .Add(step.tool_name)
          .Add(step.tool_arguments)
          .Add(step.tool_call_id)
          .AddOrNull(step.idempotency_key)
          .Add(step.result)
          .Add(step.result_is_error)
          .Add(step.prompt_tokens)
          .Add(step.completion_tokens)
          .Add(step.cost_usd)
          .Add(step.provider)
          .Add(step.zone)
          .Add(step.created_at_ms)
          .Add(step.updated_at_ms)
          .Add(step.approval)));
}

Result<std::vector<StepRecord>> PostgresTaskStore::ListSteps(std::string_view task_id) {
  std::lock_guard lock(mu_);
  return Collect<StepRecord>(
      db_->Run(fmt::format("SELECT {} FROM steps WHERE task_id = $1 ORDER BY seq", kStepColumns),
               Params().Add(task_id)),
      ReadStep);
}

Result<std::optional<StepRecord>> PostgresTaskStore::FindStepByKey(
    std::string_view idempotency_key) {
  std::lock_guard lock(mu_);
  return First(Collect<StepRecord>(
      db_->Run(fmt::format("SELECT {} FROM steps WHERE idempotency_key = $1", kStepColumns),
               Params().Add(idempotency_key)),
      ReadStep));
}

Result<int64_t> PostgresTaskStore::AppendEvent(const EventRecord& event) {
  std::lock_guard lock(mu_);
  return ReturnedId(db_->Run(
      "INSERT INTO events (task_id, type, payload, created_at_ms) VALUES ($1, $2, $3, $4) "
      "RETURNING id",
      Params().Add(event.task_id).Add(event.type).Add(event.payload).Add(event.created_at_ms)));
}

Result<std::vector<EventRecord>> PostgresTaskStore::ListEvents(std::string_view task_id,
                                                               int64_t after_id) {
  std::lock_guard lock(mu_);
  return Collect<EventRecord>(
      db_->Run("SELECT id, task_id, type, payload, created_at_ms FROM events "
               "WHERE task_id = $1 AND id > $2 ORDER BY id",
               Params().Add(task_id).Add(after_id)),
      [](const Rows& r, int i) {
        return EventRecord{r.Int(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3), r.Int(i, 4)};
      });
}

Status PostgresTaskStore::SaveArtifact(const ArtifactRecord& artifact) {
  std::lock_guard lock(mu_);
  return Done(
      db_->Run("INSERT INTO artifacts (task_id, path, size_bytes, step_seq, created_at_ms) "
               "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (task_id, path) DO UPDATE SET "
               "size_bytes = excluded.size_bytes, step_seq = excluded.step_seq, "
               "created_at_ms = excluded.created_at_ms",
               Params()
                   .Add(artifact.task_id)
                   .Add(artifact.path)
                   .Add(artifact.size_bytes)
                   .Add(artifact.step_seq)
                   .Add(artifact.created_at_ms)));
}

Result<std::vector<ArtifactRecord>> PostgresTaskStore::ListArtifacts(std::string_view task_id) {
  std::lock_guard lock(mu_);
  return Collect<ArtifactRecord>(
      db_->Run("SELECT task_id, path, size_bytes, step_seq, created_at_ms FROM artifacts "
               "WHERE task_id = $1 ORDER BY path",
               Params().Add(task_id)),
      [](const Rows& r, int i) {
        return ArtifactRecord{r.Text(i, 0), r.Text(i, 1), r.Int(i, 2), r.Int(i, 3), r.Int(i, 4)};
      });
}

Result<int64_t> PostgresTaskStore::AppendAudit(const AuditRecord& record) {
  std::lock_guard lock(mu_);
  return ReturnedId(
      db_->Run("INSERT INTO audit (task_id, step_seq, kind, payload, created_at_ms) "
               "VALUES ($1, $2, $3, $4, $5) RETURNING id",
               Params()
                   .Add(record.task_id)
                   .Add(record.step_seq)
                   .Add(record.kind)
                   .Add(record.payload)
                   .Add(record.created_at_ms)));
}

namespace {

AuditRecord ReadAudit(const Rows& r, int i) {
  return AuditRecord{r.Int(i, 0),  r.Text(i, 1), r.Int(i, 2),
                     r.Text(i, 3), r.Text(i, 4), r.Int(i, 5)};
}

}  // namespace

Result<std::vector<AuditRecord>> PostgresTaskStore::ListAudit(std::string_view task_id) {
  std::lock_guard lock(mu_);
  return Collect<AuditRecord>(
      db_->Run("SELECT id, task_id, step_seq, kind, payload, created_at_ms FROM audit "
               "WHERE task_id = $1 ORDER BY id",
               Params().Add(task_id)),
      ReadAudit);
}

Result<std::vector<AuditRecord>> PostgresTaskStore::ListAuditPage(int limit, int64_t before_id) {
  std::lock_guard lock(mu_);
  return Collect<AuditRecord>(
      db_->Run("SELECT id, task_id, step_seq, kind, payload, created_at_ms FROM audit "
               "WHERE id < $1 ORDER BY id DESC LIMIT $2",
               Params()
                   .Add(before_id > 0 ? before_id : std::numeric_limits<int64_t>::max())
                   .Add(int64_t{limit})),
      ReadAudit);
}

Result<int64_t> PostgresTaskStore::AppendLedger(const LedgerRow& row) {
  std::lock_guard lock(mu_);
  return ReturnedId(db_->Run(
      "INSERT INTO ledger (task_id, step_seq, provider, model, zone, prompt_tokens, "
      "completion_tokens, cached_prompt_tokens, estimated, cost_usd, time_to_first_token_ms, "
      "latency_ms, outcome, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
      "$11, $12, $13, $14) RETURNING id",
      Params()
          .Add(row.task_id)
          .Add(row.step_seq)
          .Add(row.provider)
          .Add(row.model)
          .Add(row.zone)
          .Add(row.prompt_tokens)
          .Add(row.completion_tokens)
          .Add(row.cached_prompt_tokens)
          .Add(row.estimated)
          .Add(row.cost_usd)
          .Add(row.time_to_first_token_ms)
          .Add(row.latency_ms)
          .Add(row.outcome)
          .Add(row.created_at_ms)));
}

Result<std::vector<LedgerRow>> PostgresTaskStore::ListLedger(const LedgerFilter& filter) {
  std::lock_guard lock(mu_);
  std::string where;
  Params params;
  if (!filter.task_id.empty()) {
    where = " WHERE task_id = $1";
    params.Add(filter.task_id);
  }
  if (filter.since_ms > 0) {
    where += fmt::format(" {} created_at_ms >= ${}", where.empty() ? "WHERE" : "AND",
                         params.values().size() + 1);
    params.Add(filter.since_ms);
  }
  return Collect<LedgerRow>(
      db_->Run(fmt::format("{}{} ORDER BY id", kLedgerColumns, where), params), ReadLedger);
}

Result<LedgerTotals> PostgresTaskStore::SumLedger(std::string_view task_id) {
  std::lock_guard lock(mu_);
  Result<Rows> rows = db_->Run(
      "SELECT coalesce(sum(cost_usd), 0), coalesce(sum(prompt_tokens + completion_tokens), 0) "
      "FROM ledger WHERE task_id = $1",
      Params().Add(task_id));
  if (!rows) return std::unexpected(rows.error());
  return LedgerTotals{.cost_usd = rows->Double(0, 0), .tokens = rows->Int(0, 1)};
}

Status PostgresTaskStore::SaveContextSummary(const ContextSummary& summary) {
  std::lock_guard lock(mu_);
  return Done(db_->Run(
      "INSERT INTO context_summaries (task_id, through_seq, summary, updated_at_ms) "
      "VALUES ($1, $2, $3, $4) ON CONFLICT (task_id) DO UPDATE SET through_seq = "
      "excluded.through_seq, summary = excluded.summary, updated_at_ms = excluded.updated_at_ms",
      Params()
          .Add(summary.task_id)
          .Add(summary.through_seq)
          .Add(summary.summary)
          .Add(summary.updated_at_ms)));
}

Result<std::optional<ContextSummary>> PostgresTaskStore::GetContextSummary(
    std::string_view task_id) {
  std::lock_guard lock(mu_);
  return First(Collect<ContextSummary>(
      db_->Run("SELECT task_id, through_seq, summary, updated_at_ms FROM context_summaries "
               "WHERE task_id = $1",
               Params().Add(task_id)),
      [](const Rows& r, int i) {
        return ContextSummary{r.Text(i, 0), r.Int(i, 1), r.Text(i, 2), r.Int(i, 3)};
      }));
}

// Server tables.

namespace {
UserRecord ReadUser(const Rows& r, int i) {
  return {.name = r.Text(i, 0),
          .role = r.Text(i, 1),
          .password_hash = r.Text(i, 2),
          .created_at_ms = r.Int(i, 3)};
}
}  // namespace

Status PostgresTaskStore::CreateUser(const UserRecord& user) {
  std::lock_guard lock(mu_);
  Status status = Done(db_->Run(
      "INSERT INTO users (name, role, password_hash, created_at_ms) VALUES ($1, $2, $3, $4)",
      Params().Add(user.name).Add(user.role).Add(user.password_hash).Add(user.created_at_ms)));
  if (!status && status.error().code() == ErrorCode::kAlreadyExists) {
    return MakeError(ErrorCode::kAlreadyExists, "user {} already exists", user.name);
  }
  return status;
}

Result<std::optional<UserRecord>> PostgresTaskStore::GetUser(std::string_view name) {
  std::lock_guard lock(mu_);
  return First(Collect<UserRecord>(
      db_->Run("SELECT name, role, password_hash, created_at_ms FROM users WHERE name = $1",
               Params().Add(name)),
      ReadUser));
}

Result<std::vector<UserRecord>> PostgresTaskStore::ListUsers() {
  std::lock_guard lock(mu_);
  return Collect<UserRecord>(
      db_->Run("SELECT name, role, password_hash, created_at_ms FROM users ORDER BY name"),
      ReadUser);
}

Status PostgresTaskStore::SaveApiToken(const ApiTokenRecord& token) {
  std::lock_guard lock(mu_);
  return Done(
      db_->Run("INSERT INTO api_tokens (token_hash, user_name, created_at_ms) VALUES ($1, $2, $3)",
               Params().Add(token.token_hash).Add(token.user_name).Add(token.created_at_ms)));
}

Result<std::optional<ApiTokenRecord>> PostgresTaskStore::FindApiToken(std::string_view token_hash) {
  std::lock_guard lock(mu_);
  return First(Collect<ApiTokenRecord>(
      db_->Run("SELECT token_hash, user_name, created_at_ms FROM api_tokens WHERE token_hash = $1",
               Params().Add(token_hash)),
      [](const Rows& r, int i) {
        return ApiTokenRecord{
            .token_hash = r.Text(i, 0), .user_name = r.Text(i, 1), .created_at_ms = r.Int(i, 2)};
      }));
}

Status PostgresTaskStore::SaveSession(const SessionRecord& session) {
  std::lock_guard lock(mu_);
  return Done(db_->Run(
      "INSERT INTO sessions (token_hash, user_name, csrf_token, expires_at_ms, created_at_ms) "
      "VALUES ($1, $2, $3, $4, $5)",
      Params()
          .Add(session.token_hash)
          .Add(session.user_name)
          .Add(session.csrf_token)
          .Add(session.expires_at_ms)
          .Add(session.created_at_ms)));
}

Result<std::optional<SessionRecord>> PostgresTaskStore::FindSession(std::string_view token_hash) {
  std::lock_guard lock(mu_);
  return First(Collect<SessionRecord>(
      db_->Run("SELECT token_hash, user_name, csrf_token, expires_at_ms, created_at_ms "
               "FROM sessions WHERE token_hash = $1",
               Params().Add(token_hash)),
      [](const Rows& r, int i) {
        return SessionRecord{.token_hash = r.Text(i, 0),
                             .user_name = r.Text(i, 1),
                             .csrf_token = r.Text(i, 2),
                             .expires_at_ms = r.Int(i, 3),
                             .created_at_ms = r.Int(i, 4)};
      }));
}

Status PostgresTaskStore::DeleteSession(std::string_view token_hash) {
  std::lock_guard lock(mu_);
  return Done(db_->Run("DELETE FROM sessions WHERE token_hash = $1", Params().Add(token_hash)));
}

Status PostgresTaskStore::SetTaskAccess(const TaskAccess& access) {
  std::lock_guard lock(mu_);
  return Done(db_->Run(
      "INSERT INTO task_access (task_id, owner, shared) VALUES ($1, $2, $3) "
      "ON CONFLICT (task_id) DO UPDATE SET owner = excluded.owner, shared = excluded.shared",
      Params().Add(access.task_id).Add(access.owner).Add(access.shared)));
}

Result<std::optional<TaskAccess>> PostgresTaskStore::GetTaskAccess(std::string_view task_id) {
  std::lock_guard lock(mu_);
  return First(Collect<TaskAccess>(
      db_->Run("SELECT task_id, owner, shared FROM task_access WHERE task_id = $1",
               Params().Add(task_id)),
      [](const Rows& r, int i) {
        return TaskAccess{.task_id = r.Text(i, 0), .owner = r.Text(i, 1), .shared = r.Bool(i, 2)};
      }));
}

Result<StoreTotals> PostgresTaskStore::Totals() {
  std::lock_guard lock(mu_);
  StoreTotals totals;
  struct Query {
    std::vector<StoreTotals::Count>* out;
    std::string_view sql;
    int n_labels;
  };
  const Query queries[] = {
      {&totals.tasks_by_status, "SELECT status, count(*), 0.0 FROM tasks GROUP BY 1", 1},
      {&totals.steps_by_status, "SELECT status, count(*), 0.0 FROM steps GROUP BY 1", 1},
      {&totals.model_calls,
       "SELECT zone, provider, outcome, count(*), coalesce(sum(cost_usd), 0.0) FROM ledger "
       "GROUP BY 1, 2, 3",
       3},
      {&totals.route_decisions,
       "SELECT coalesce(tandem_try_jsonb(payload) ->> 'route', ''), "
       "coalesce(tandem_try_jsonb(payload) ->> 'reason', ''), count(*), 0.0 FROM audit "
       "WHERE kind = 'route_decision' AND tandem_try_jsonb(payload) IS NOT NULL GROUP BY 1, 2",
       2},
  };
  for (const Query& query : queries) {
    int n_labels = query.n_labels;
    Result<std::vector<StoreTotals::Count>> rows =
        Collect<StoreTotals::Count>(db_->Run(query.sql), [n_labels](const Rows& r, int i) {
          StoreTotals::Count count;
          for (int c = 0; c < n_labels; ++c)
            count.labels.push_back(r.Text(i, c));
          count.count = r.Int(i, n_labels);
          count.sum = r.Double(i, n_labels + 1);
          return count;
        });
    if (!rows) return std::unexpected(std::move(rows.error()).WithContext("reading totals"));
    *query.out = std::move(*rows);
  }
  return totals;
}

namespace {

constexpr std::string_view kScheduleColumns =
    "id, name, cron, timezone, goal, budget, owner, shared, missed, overlap, enabled, "
    "next_run_ms, queued_due_ms, last_task_id, last_run_ms, created_at_ms, updated_at_ms";

ScheduleRecord ReadSchedule(const Rows& r, int i) {
  return {.id = r.Text(i, 0),
          .name = r.Text(i, 1),
          .cron = r.Text(i, 2),
          .timezone = r.Text(i, 3),
          .goal = r.Text(i, 4),
          .budget = r.Text(i, 5),
          .owner = r.Text(i, 6),
          .shared = r.Bool(i, 7),
          .missed = r.Text(i, 8),
          .overlap = r.Text(i, 9),
          .enabled = r.Bool(i, 10),
          .next_run_ms = r.Int(i, 11),
          .queued_due_ms = r.Int(i, 12),
          .last_task_id = r.Text(i, 13),
          .last_run_ms = r.Int(i, 14),
          .created_at_ms = r.Int(i, 15),
          .updated_at_ms = r.Int(i, 16)};
}

ScheduleRunRecord ReadScheduleRun(const Rows& r, int i) {
  return {.id = r.Int(i, 0),
          .schedule_id = r.Text(i, 1),
          .due_ms = r.Int(i, 2),
          .time_ms = r.Int(i, 3),
          .task_id = r.Text(i, 4),
          .outcome = r.Text(i, 5),
          .detail = r.Text(i, 6)};
}

}  // namespace

Status PostgresTaskStore::CreateSchedule(const ScheduleRecord& schedule) {
  std::lock_guard lock(mu_);
  Status status = Done(db_->Run(
      fmt::format("INSERT INTO schedules ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
                  "$11, $12, $13, $14, $15, $16, $17)",
                  kScheduleColumns),
      Params()
          .Add(schedule.id)
          .Add(schedule.name)
          .Add(schedule.cron)
          .Add(schedule.timezone)
          .Add(schedule.goal)
          .Add(schedule.budget.empty() ? std::string_view("{}") : std::string_view(schedule.budget))
          .Add(schedule.owner)
          .Add(schedule.shared)
          .Add(schedule.missed)
          .Add(schedule.overlap)
          .Add(schedule.enabled)
          .Add(schedule.next_run_ms)
          .Add(schedule.queued_due_ms)
          .Add(schedule.last_task_id)
          .Add(schedule.last_run_ms)
          .Add(schedule.created_at_ms)
          .Add(schedule.updated_at_ms)));
  if (!status && status.error().code() == ErrorCode::kAlreadyExists) {
    return MakeError(ErrorCode::kAlreadyExists, "schedule {} already exists", schedule.id);
  }
  return status;
}

Result<std::optional<ScheduleRecord>> PostgresTaskStore::GetSchedule(std::string_view id) {
  std::lock_guard lock(mu_);
  return First(Collect<ScheduleRecord>(
      db_->Run(fmt::format("SELECT {} FROM schedules WHERE id = $1", kScheduleColumns),
               Params().Add(id)),
      ReadSchedule));
}

Result<std::vector<ScheduleRecord>> PostgresTaskStore::ListSchedules() {
  std::lock_guard lock(mu_);
  return Collect<ScheduleRecord>(
      db_->Run(
          fmt::format("SELECT {} FROM schedules ORDER BY created_at_ms, id", kScheduleColumns)),
      ReadSchedule);
}

Status PostgresTaskStore::DeleteSchedule(std::string_view id) {
  std::lock_guard lock(mu_);
  // The history goes with it (ON DELETE CASCADE).
  Result<Rows> deleted = db_->Run("DELETE FROM schedules WHERE id = $1", Params().Add(id));
  if (!deleted) return std::unexpected(deleted.error());
  if (deleted->affected() == 0) return MakeError(ErrorCode::kNotFound, "no schedule {}", id);
  return {};
}

Status PostgresTaskStore::SaveScheduleProgress(std::string_view id,
                                               const ScheduleProgress& progress,
                                               std::span<const ScheduleRunRecord> runs,
                                               int64_t updated_at_ms) {
  std::lock_guard lock(mu_);
  Result<Batch> batch = BeginBatch();  // Joins a batch this thread has open.
  if (!batch) return std::unexpected(batch.error());
  Result<Rows> updated = db_->Run(
      "UPDATE schedules SET next_run_ms = $1, queued_due_ms = $2, last_task_id = $3, "
      "last_run_ms = $4, updated_at_ms = $5 WHERE id = $6",
      Params()
          .Add(progress.next_run_ms)
          .Add(progress.queued_due_ms)
          .Add(progress.last_task_id)
          .Add(progress.last_run_ms)
          .Add(updated_at_ms)
          .Add(id));
  if (!updated) return std::unexpected(updated.error());
  if (updated->affected() == 0) return MakeError(ErrorCode::kNotFound, "no schedule {}", id);
  for (const ScheduleRunRecord& run : runs) {
    Status inserted = Done(db_->Run(
        "INSERT INTO schedule_runs (schedule_id, due_ms, time_ms, task_id, outcome, detail) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        Params()
            .Add(id)
            .Add(run.due_ms)
            .Add(run.time_ms)
            .Add(run.task_id)
            .Add(run.outcome)
            .Add(run.detail)));
    if (!inserted) return inserted;
  }
  return batch->Commit();
}

Result<std::vector<ScheduleRunRecord>> PostgresTaskStore::ListScheduleRuns(
    std::string_view schedule_id, int limit) {
  std::lock_guard lock(mu_);
  return Collect<ScheduleRunRecord>(
      db_->Run("SELECT id, schedule_id, due_ms, time_ms, task_id, outcome, detail FROM "
               "schedule_runs WHERE schedule_id = $1 ORDER BY id DESC LIMIT $2",
               Params().Add(schedule_id).Add(int64_t{limit})),
      ReadScheduleRun);
}

}  // namespace tandem::store
