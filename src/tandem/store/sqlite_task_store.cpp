#include "tandem/store/sqlite_task_store.h"

#include <sqlite3.h>

#include <array>
#include <limits>

#include "tandem/core/sqlite.h"
#include "tandem/store/rows.h"

namespace tandem::store {
namespace {

using internal::Collect;
using sqlite::Statement;

// Migration i takes the schema from version i to i + 1. Never edit a released entry: append.
constexpr std::array<std::string_view, 6> kMigrations = {
    R"sql(
CREATE TABLE tasks (
  id TEXT PRIMARY KEY,
  parent_id TEXT REFERENCES tasks(id),
  goal TEXT NOT NULL,
  status TEXT NOT NULL,
  stop_reason TEXT NOT NULL DEFAULT '',
  workspace TEXT NOT NULL DEFAULT '',
  taint TEXT NOT NULL DEFAULT '',
  settings TEXT NOT NULL DEFAULT '{}',
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE TABLE steps (
  task_id TEXT NOT NULL REFERENCES tasks(id),
  seq INTEGER NOT NULL,
  status TEXT NOT NULL,
  thoughts TEXT NOT NULL DEFAULT '',
  model_message TEXT NOT NULL DEFAULT '',
  tool_name TEXT NOT NULL DEFAULT '',
  tool_arguments TEXT NOT NULL DEFAULT '',
  tool_call_id TEXT NOT NULL DEFAULT '',
  idempotency_key TEXT UNIQUE,
  result TEXT NOT NULL DEFAULT '',
  result_is_error INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  cost_usd REAL NOT NULL DEFAULT 0,
  provider TEXT NOT NULL DEFAULT '',
  zone TEXT NOT NULL DEFAULT '',
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  PRIMARY KEY (task_id, seq)
);
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL REFERENCES tasks(id),
  type TEXT NOT NULL,
  payload TEXT NOT NULL DEFAULT '{}',
  created_at_ms INTEGER NOT NULL
);
CREATE INDEX events_by_task ON events(task_id, id);
CREATE TABLE artifacts (
  task_id TEXT NOT NULL REFERENCES tasks(id),
  path TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  step_seq INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (task_id, path)
);
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL DEFAULT '',
  step_seq INTEGER NOT NULL DEFAULT 0,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
);
CREATE INDEX audit_by_task ON audit(task_id, id);
CREATE TABLE ledger (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL DEFAULT '',
  step_seq INTEGER NOT NULL DEFAULT 0,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  zone TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cached_prompt_tokens INTEGER NOT NULL DEFAULT 0,
  estimated INTEGER NOT NULL DEFAULT 0,
  cost_usd REAL,
  time_to_first_token_ms INTEGER NOT NULL DEFAULT 0,
  latency_ms INTEGER NOT NULL DEFAULT 0,
  outcome TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
);
CREATE INDEX ledger_by_task ON ledger(task_id);
)sql",
    R"sql(
ALTER TABLE steps ADD COLUMN approval TEXT NOT NULL DEFAULT '';
)sql",
    // 3: server users, tokens, sessions.
    R"sql(
CREATE TABLE users (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL
);
CREATE TABLE api_tokens (
  token_hash TEXT PRIMARY KEY,
  user_name TEXT NOT NULL REFERENCES users(name),
  created_at_ms INTEGER NOT NULL
);
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_name TEXT NOT NULL REFERENCES users(name),
  csrf_token TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL
);
CREATE TABLE task_access (
  task_id TEXT PRIMARY KEY REFERENCES tasks(id),
  owner TEXT NOT NULL,
  shared INTEGER NOT NULL DEFAULT 0
);
)sql",
    // 4: context summaries.
    R"sql(
CREATE TABLE context_summaries (
  task_id TEXT PRIMARY KEY REFERENCES tasks(id),
  through_seq INTEGER NOT NULL,
  summary TEXT NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
)sql",
    // 5: schedules and their history.
    R"sql(
CREATE TABLE schedules (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  cron TEXT NOT NULL,
  timezone TEXT NOT NULL,
  goal TEXT NOT NULL,
  budget TEXT NOT NULL DEFAULT '{}',
  owner TEXT NOT NULL DEFAULT '',
  shared INTEGER NOT NULL DEFAULT 0,
  missed TEXT NOT NULL,
  overlap TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  next_run_ms INTEGER NOT NULL,
  queued_due_ms INTEGER NOT NULL DEFAULT 0,
  last_task_id TEXT NOT NULL DEFAULT '',
  last_run_ms INTEGER NOT NULL DEFAULT 0,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE TABLE schedule_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  schedule_id TEXT NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
  due_ms INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  task_id TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX schedule_runs_by_schedule ON schedule_runs(schedule_id, id);
)sql",
    // 6: the work queue of `tandem worker` processes, and the workers.
    R"sql(
CREATE TABLE task_queue (
  task_id TEXT PRIMARY KEY REFERENCES tasks(id),
  placement TEXT NOT NULL,
  lease_owner TEXT NOT NULL DEFAULT '',
  lease_expires_ms INTEGER NOT NULL DEFAULT 0,
  enqueued_at_ms INTEGER NOT NULL,
  claims INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX task_queue_by_age ON task_queue(enqueued_at_ms, task_id);
CREATE INDEX task_queue_by_owner ON task_queue(lease_owner);
CREATE TABLE workers (
  name TEXT PRIMARY KEY,
  zone TEXT NOT NULL,
  capacity INTEGER NOT NULL,
  host TEXT NOT NULL DEFAULT '',
  pid INTEGER NOT NULL DEFAULT 0,
  started_at_ms INTEGER NOT NULL,
  heartbeat_ms INTEGER NOT NULL,
  stopped INTEGER NOT NULL DEFAULT 0
);
)sql"};

TaskRecord ReadTask(const Statement& s) {
  TaskRecord t;
  t.id = s.Text(0);
  t.parent_id = s.Text(1);
  t.goal = s.Text(2);
  t.status = ParseTaskStatus(s.Text(3)).value_or(TaskStatus::kFailed);
  t.stop_reason = s.Text(4);
  t.workspace = s.Text(5);
  t.taint = s.Text(6);
  t.settings = s.Text(7);
  t.created_at_ms = s.Int(8);
  t.updated_at_ms = s.Int(9);
  return t;
}
constexpr std::string_view kTaskColumns =
    "id, coalesce(parent_id, ''), goal, status, stop_reason, workspace, taint, settings, "
    "created_at_ms, updated_at_ms";

StepRecord ReadStep(const Statement& s) {
  StepRecord r;
  r.task_id = s.Text(0);
  r.seq = s.Int(1);
  r.status = ParseStepStatus(s.Text(2)).value_or(StepStatus::kProposed);
  r.thoughts = s.Text(3);
  r.model_message = s.Text(4);
  r.tool_name = s.Text(5);
  r.tool_arguments = s.Text(6);
  r.tool_call_id = s.Text(7);
  r.idempotency_key = s.Text(8);
  r.result = s.Text(9);
  r.result_is_error = s.Int(10) != 0;
  r.prompt_tokens = s.Int(11);
  r.completion_tokens = s.Int(12);
  r.cost_usd = s.Double(13);
  r.provider = s.Text(14);
  r.zone = s.Text(15);
  r.created_at_ms = s.Int(16);
  r.updated_at_ms = s.Int(17);
  r.approval = s.Text(18);
  return r;
}
constexpr std::string_view kStepColumns =
    "task_id, seq, status, thoughts, model_message, tool_name, tool_arguments, tool_call_id, "
    "coalesce(idempotency_key, ''), result, result_is_error, prompt_tokens, completion_tokens, "
    "cost_usd, provider, zone, created_at_ms, updated_at_ms, approval";

}  // namespace

int SqliteTaskStore::SchemaVersion() {
  return static_cast<int>(kMigrations.size());
}

SqliteTaskStore::SqliteTaskStore(sqlite3* db)
    : db_(db), statements_(std::make_unique<sqlite::StatementCache>(db)) {}

SqliteTaskStore::~SqliteTaskStore() {
  statements_.reset();  // Finalized before the connection closes.
  sqlite::Close(db_);
}

Status SqliteTaskStore::BeginTransaction() {
  return sqlite::Exec(db_, "BEGIN IMMEDIATE");
}

Status SqliteTaskStore::CommitTransaction() {
  Status committed = sqlite::Exec(db_, "COMMIT");
  if (!committed) RollbackTransaction();
  return committed;
}

void SqliteTaskStore::RollbackTransaction() {
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Result<std::unique_ptr<SqliteTaskStore>> SqliteTaskStore::Open(const std::filesystem::path& path) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  Result<sqlite3*> db = sqlite::Open(path);
  if (!db) return std::unexpected(std::move(db.error()).WithContext("opening task store"));
  std::unique_ptr<SqliteTaskStore> store(new SqliteTaskStore(*db));
  if (Status migrated = store->Migrate(); !migrated) {
    return std::unexpected(
        std::move(migrated.error()).WithContext(fmt::format("task store {}", path.string())));
  }
  auto checkpointer = sqlite::WalCheckpointer::Start(store->db_, path);
  if (!checkpointer) return std::unexpected(std::move(checkpointer.error()));
  store->checkpointer_ = std::move(*checkpointer);
  return store;
}

Status SqliteTaskStore::Migrate() {
  std::lock_guard lock(mu_);
  Result<sqlite::Transaction> tx = sqlite::Transaction::Begin(db_);
  if (!tx) {
    Error error = tx.error();
    if (error.code() == ErrorCode::kDataLoss) {
      return MakeError(ErrorCode::kDataLoss, "not a Tandem database ({})", error.message());
    }
    return std::unexpected(error);
  }
  Result<Statement> version = Statement::Prepare(db_, "PRAGMA user_version");
  if (!version) return std::unexpected(version.error());
  Result<bool> row = version->Step();
  if (!row) return std::unexpected(row.error());
  int64_t current = version->Int(0);
  if (current > SchemaVersion()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "database schema version {} is newer than this Tandem supports ({}); "
                     "upgrade Tandem or use another TANDEM_HOME",
                     current, SchemaVersion());
  }
  for (int64_t v = current; v < SchemaVersion(); ++v) {
    if (Status status = sqlite::Exec(db_, kMigrations[static_cast<size_t>(v)]); !status) {
      return std::unexpected(
          std::move(status.error()).WithContext(fmt::format("migration to version {}", v + 1)));
    }
  }
  if (current != SchemaVersion()) {
    if (Status status = sqlite::Exec(db_, fmt::format("PRAGMA user_version = {}", SchemaVersion()));
        !status) {
      return status;
    }
  }
  return tx->Commit();
}

Status SqliteTaskStore::CreateTask(const TaskRecord& task) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "INSERT INTO tasks (id, parent_id, goal, status, stop_reason, workspace, taint, settings, "
      "created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, task.id);
  if (task.parent_id.empty()) {
    s->BindNull(2);
  } else {
    s->Bind(2, task.parent_id);
  }
  s->Bind(3, task.goal)
      .Bind(4, TaskStatusName(task.status))
      .Bind(5, task.stop_reason)
      .Bind(6, task.workspace)
      .Bind(7, task.taint)
      .Bind(8, task.settings.empty() ? std::string_view("{}") : std::string_view(task.settings))
      .Bind(9, task.created_at_ms)
      .Bind(10, task.updated_at_ms);
  return s->Run();
}

Status SqliteTaskStore::UpdateTask(const TaskRecord& task) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "UPDATE tasks SET status = ?, stop_reason = ?, taint = ?, settings = ?, updated_at_ms = ? "
      "WHERE id = ?");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, TaskStatusName(task.status))
      .Bind(2, task.stop_reason)
      .Bind(3, task.taint)
      .Bind(4, task.settings.empty() ? std::string_view("{}") : std::string_view(task.settings))
      .Bind(5, task.updated_at_ms)
      .Bind(6, task.id);
  if (Status status = s->Run(); !status) return status;
  if (sqlite3_changes(db_) == 0) return MakeError(ErrorCode::kNotFound, "no task {}", task.id);
  return {};
}

Result<std::optional<TaskRecord>> SqliteTaskStore::GetTask(std::string_view id) {
  std::lock_guard lock(mu_);
  Result<Statement> s =
      statements_->Prepare(fmt::format("SELECT {} FROM tasks WHERE id = ?", kTaskColumns));
  if (!s) return std::unexpected(s.error());
  s->Bind(1, id);
  Result<std::vector<TaskRecord>> rows = Collect<TaskRecord>(std::move(s), ReadTask);
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<TaskRecord>();
  return std::optional<TaskRecord>(std::move(rows->front()));
}

Result<std::vector<TaskRecord>> SqliteTaskStore::ListTasks(int limit) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      fmt::format("SELECT {} FROM tasks ORDER BY id DESC LIMIT ?", kTaskColumns));
  if (s) s->Bind(1, static_cast<int64_t>(limit));
  return Collect<TaskRecord>(std::move(s), ReadTask);
}

Result<std::vector<TaskRecord>> SqliteTaskStore::ListChildTasks(std::string_view parent_id) {
  std::lock_guard lock(mu_);
  Result<Statement> s = Statement::Prepare(
      db_, fmt::format("SELECT {} FROM tasks WHERE parent_id = ? ORDER BY id", kTaskColumns));
  if (s) s->Bind(1, parent_id);
  return Collect<TaskRecord>(std::move(s), ReadTask);
}

Status SqliteTaskStore::SaveStep(const StepRecord& step) {
  std::lock_guard lock(mu_);
  // An upsert, not INSERT OR REPLACE: a clash on idempotency_key must fail, never delete the
  // step that owns the key.
  Result<Statement> s = statements_->Prepare(
      "INSERT INTO steps (task_id, seq, status, thoughts, model_message, tool_name, "
      "tool_arguments, tool_call_id, idempotency_key, result, result_is_error, prompt_tokens, "
      "completion_tokens, cost_usd, provider, zone, created_at_ms, updated_at_ms, approval) VALUES "
      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (task_id, seq) DO UPDATE SET status = excluded.status, "
      "thoughts = excluded.thoughts, model_message = excluded.model_message, "
      "tool_name = excluded.tool_name, tool_arguments = excluded.tool_arguments, "
      "tool_call_id = excluded.tool_call_id, idempotency_key = excluded.idempotency_key, "
      "result = excluded.result, result_is_error = excluded.result_is_error, "
      "prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens, "
      "cost_usd = excluded.cost_usd, provider = excluded.provider, zone = excluded.zone, "
      "updated_at_ms = excluded.updated_at_ms, approval = excluded.approval");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, step.task_id)
      .Bind(2, step.seq)
      .Bind(3, StepStatusName(step.status))
      .Bind(4, step.thoughts)
      .Bind(5, step.model_message)
      .Bind(6, step.tool_name)
      .Bind(7, step.tool_arguments)
      .Bind(8, step.tool_call_id);
  if (step.idempotency_key.empty()) {
    s->BindNull(9);
  } else {
    s->Bind(9, step.idempotency_key);
  }
  s->Bind(10, step.result)
      .Bind(11, static_cast<int64_t>(step.result_is_error))
      .Bind(12, step.prompt_tokens)
      .Bind(13, step.completion_tokens)
      .Bind(14, step.cost_usd)
      .Bind(15, step.provider)
      .Bind(16, step.zone)
      .Bind(17, step.created_at_ms)
      .Bind(18, step.updated_at_ms)
      .Bind(19, step.approval);
  return s->Run();
}

Result<std::vector<StepRecord>> SqliteTaskStore::ListSteps(std::string_view task_id) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      fmt::format("SELECT {} FROM steps WHERE task_id = ? ORDER BY seq", kStepColumns));
  if (s) s->Bind(1, task_id);
  return Collect<StepRecord>(std::move(s), ReadStep);
}

Result<std::optional<StepRecord>> SqliteTaskStore::FindStepByKey(std::string_view idempotency_key) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      fmt::format("SELECT {} FROM steps WHERE idempotency_key = ?", kStepColumns));
  if (s) s->Bind(1, idempotency_key);
  Result<std::vector<StepRecord>> rows = Collect<StepRecord>(std::move(s), ReadStep);
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<StepRecord>();
  return std::optional<StepRecord>(std::move(rows->front()));
}

Result<int64_t> SqliteTaskStore::AppendEvent(const EventRecord& event) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "INSERT INTO events (task_id, type, payload, created_at_ms) VALUES (?, ?, ?, ?)");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, event.task_id).Bind(2, event.type).Bind(3, event.payload).Bind(4, event.created_at_ms);
  if (Status status = s->Run(); !status) return std::unexpected(status.error());
  return sqlite3_last_insert_rowid(db_);
}

Result<std::vector<EventRecord>> SqliteTaskStore::ListEvents(std::string_view task_id,
                                                             int64_t after_id) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "SELECT id, task_id, type, payload, created_at_ms FROM events WHERE task_id = ? AND id > ? "
      "ORDER BY id");
  if (s) s->Bind(1, task_id).Bind(2, after_id);
  return Collect<EventRecord>(std::move(s), [](const Statement& r) {
    return EventRecord{r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4)};
  });
}

Status SqliteTaskStore::SaveArtifact(const ArtifactRecord& artifact) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "INSERT OR REPLACE INTO artifacts (task_id, path, size_bytes, step_seq, created_at_ms) "
      "VALUES (?, ?, ?, ?, ?)");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, artifact.task_id)
      .Bind(2, artifact.path)
      .Bind(3, artifact.size_bytes)
      .Bind(4, artifact.step_seq)
      .Bind(5, artifact.created_at_ms);
  return s->Run();
}

Result<std::vector<ArtifactRecord>> SqliteTaskStore::ListArtifacts(std::string_view task_id) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "SELECT task_id, path, size_bytes, step_seq, created_at_ms FROM artifacts "
      "WHERE task_id = ? ORDER BY path");
  if (s) s->Bind(1, task_id);
  return Collect<ArtifactRecord>(std::move(s), [](const Statement& r) {
    return ArtifactRecord{r.Text(0), r.Text(1), r.Int(2), r.Int(3), r.Int(4)};
  });
}

Result<int64_t> SqliteTaskStore::AppendAudit(const AuditRecord& record) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "INSERT INTO audit (task_id, step_seq, kind, payload, created_at_ms) "
      "VALUES (?, ?, ?, ?, ?)");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, record.task_id)
      .Bind(2, record.step_seq)
      .Bind(3, record.kind)
      .Bind(4, record.payload)
      .Bind(5, record.created_at_ms);
  if (Status status = s->Run(); !status) return std::unexpected(status.error());
  return sqlite3_last_insert_rowid(db_);
}

namespace {

AuditRecord ReadAudit(const Statement& r) {
  return AuditRecord{r.Int(0), r.Text(1), r.Int(2), r.Text(3), r.Text(4), r.Int(5)};
}

}  // namespace

Result<std::vector<AuditRecord>> SqliteTaskStore::ListAudit(std::string_view task_id) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "SELECT id, task_id, step_seq, kind, payload, created_at_ms FROM audit WHERE task_id = ? "
      "ORDER BY id");
  if (s) s->Bind(1, task_id);
  return Collect<AuditRecord>(std::move(s), ReadAudit);
}

Result<std::vector<AuditRecord>> SqliteTaskStore::ListAuditPage(int limit, int64_t before_id) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "SELECT id, task_id, step_seq, kind, payload, created_at_ms FROM audit WHERE id < ? "
      "ORDER BY id DESC LIMIT ?");
  if (s)
    s->Bind(1, before_id > 0 ? before_id : std::numeric_limits<int64_t>::max())
        .Bind(2, int64_t{limit});
  return Collect<AuditRecord>(std::move(s), ReadAudit);
}

Result<int64_t> SqliteTaskStore::AppendLedger(const LedgerRow& row) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "INSERT INTO ledger (task_id, step_seq, provider, model, zone, prompt_tokens, "
      "completion_tokens, cached_prompt_tokens, estimated, cost_usd, time_to_first_token_ms, "
      "latency_ms, outcome, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, row.task_id)
      .Bind(2, row.step_seq)
      .Bind(3, row.provider)
      .Bind(4, row.model)
      .Bind(5, row.zone)
      .Bind(6, row.prompt_tokens)
      .Bind(7, row.completion_tokens)
      .Bind(8, row.cached_prompt_tokens)
      .Bind(9, static_cast<int64_t>(row.estimated))
      .Bind(10, row.cost_usd)
      .Bind(11, row.time_to_first_token_ms)
      .Bind(12, row.latency_ms)
      .Bind(13, row.outcome)
      .Bind(14, row.created_at_ms);
  if (Status status = s->Run(); !status) return std::unexpected(status.error());
  return sqlite3_last_insert_rowid(db_);
}

Result<LedgerTotals> SqliteTaskStore::SumLedger(std::string_view task_id) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "SELECT COALESCE(SUM(cost_usd), 0), COALESCE(SUM(prompt_tokens + completion_tokens), 0) "
      "FROM ledger WHERE task_id = ?");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, task_id);
  Result<bool> row = s->Step();
  if (!row) return std::unexpected(row.error());
  return LedgerTotals{.cost_usd = s->Double(0), .tokens = s->Int(1)};
}

Result<std::vector<LedgerRow>> SqliteTaskStore::ListLedger(const LedgerFilter& filter) {
  std::lock_guard lock(mu_);
  constexpr std::string_view kColumns =
      "SELECT id, task_id, step_seq, provider, model, zone, prompt_tokens, completion_tokens, "
      "cached_prompt_tokens, estimated, cost_usd, time_to_first_token_ms, latency_ms, outcome, "
      "created_at_ms FROM ledger";
  // Separate statements, so that a task's rows come through ledger_by_task.
  std::string where = filter.task_id.empty() ? "" : " WHERE task_id = ?";
  if (filter.since_ms > 0)
    where += where.empty() ? " WHERE created_at_ms >= ?" : " AND created_at_ms >= ?";
  Result<Statement> s = statements_->Prepare(fmt::format("{}{} ORDER BY id", kColumns, where));
  int index = 1;
  if (s && !filter.task_id.empty()) s->Bind(index++, filter.task_id);
  if (s && filter.since_ms > 0) s->Bind(index, filter.since_ms);
  return Collect<LedgerRow>(std::move(s), [](const Statement& r) {
    LedgerRow row;
    row.id = r.Int(0);
    row.task_id = r.Text(1);
    row.step_seq = r.Int(2);
    row.provider = r.Text(3);
    row.model = r.Text(4);
    row.zone = r.Text(5);
    row.prompt_tokens = r.Int(6);
    row.completion_tokens = r.Int(7);
    row.cached_prompt_tokens = r.Int(8);
    row.estimated = r.Int(9) != 0;
    if (!r.IsNull(10)) row.cost_usd = r.Double(10);
    row.time_to_first_token_ms = r.Int(11);
    row.latency_ms = r.Int(12);
    row.outcome = r.Text(13);
    row.created_at_ms = r.Int(14);
    return row;
  });
}

Status SqliteTaskStore::SaveContextSummary(const ContextSummary& summary) {
  std::lock_guard lock(mu_);
  Result<Statement> s = Statement::Prepare(
      db_,
      "INSERT INTO context_summaries (task_id, through_seq, summary, updated_at_ms) "
      "VALUES (?, ?, ?, ?) ON CONFLICT (task_id) DO UPDATE SET through_seq = "
      "excluded.through_seq, summary = excluded.summary, updated_at_ms = excluded.updated_at_ms");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, summary.task_id)
      .Bind(2, summary.through_seq)
      .Bind(3, summary.summary)
      .Bind(4, summary.updated_at_ms);
  return s->Run();
}

Result<std::optional<ContextSummary>> SqliteTaskStore::GetContextSummary(std::string_view task_id) {
  std::lock_guard lock(mu_);
  Result<Statement> s = Statement::Prepare(
      db_,
      "SELECT task_id, through_seq, summary, updated_at_ms FROM context_summaries "
      "WHERE task_id = ?");
  if (s) s->Bind(1, task_id);
  Result<std::vector<ContextSummary>> rows =
      Collect<ContextSummary>(std::move(s), [](const Statement& r) {
        return ContextSummary{r.Text(0), r.Int(1), r.Text(2), r.Int(3)};
      });
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<ContextSummary>();
  return std::optional<ContextSummary>(std::move(rows->front()));
}

}  // namespace tandem::store
