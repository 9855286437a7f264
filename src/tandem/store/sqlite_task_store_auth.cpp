// SqliteTaskStore's server tables: users, API tokens, sessions, task visibility, and totals for
// monitoring. Schema in sqlite_task_store.cpp's migration 3.
#include <sqlite3.h>

#include "tandem/core/sqlite.h"
#include "tandem/store/rows.h"
#include "tandem/store/sqlite_task_store.h"

namespace tandem::store {
namespace {

using internal::Collect;
using internal::First;
using sqlite::Statement;

UserRecord ReadUser(const Statement& s) {
  return {
      .name = s.Text(0), .role = s.Text(1), .password_hash = s.Text(2), .created_at_ms = s.Int(3)};
}

// Rows of (label..., count, sum) from a GROUP BY query with `n_labels` label columns.
Result<std::vector<StoreTotals::Count>> Counts(sqlite3* db, std::string_view sql, int n_labels) {
  return Collect<StoreTotals::Count>(Statement::Prepare(db, sql), [n_labels](const Statement& s) {
    StoreTotals::Count count;
    for (int i = 0; i < n_labels; ++i)
      count.labels.push_back(s.Text(i));
    count.count = s.Int(n_labels);
    count.sum = s.Double(n_labels + 1);
    return count;
  });
}

}  // namespace

Status SqliteTaskStore::CreateUser(const UserRecord& user) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "INSERT INTO users (name, role, password_hash, created_at_ms) VALUES (?, ?, ?, ?)");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, user.name).Bind(2, user.role).Bind(3, user.password_hash).Bind(4, user.created_at_ms);
  Status status = s->Run();
  if (!status && status.error().code() == ErrorCode::kAlreadyExists) {
    return MakeError(ErrorCode::kAlreadyExists, "user {} already exists", user.name);
  }
  return status;
}

Result<std::optional<UserRecord>> SqliteTaskStore::GetUser(std::string_view name) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "SELECT name, role, password_hash, created_at_ms FROM users WHERE name = ?");
  if (s) s->Bind(1, name);
  return First(Collect<UserRecord>(std::move(s), ReadUser));
}

Result<std::vector<UserRecord>> SqliteTaskStore::ListUsers() {
  std::lock_guard lock(mu_);
  return Collect<UserRecord>(
      statements_->Prepare(
          "SELECT name, role, password_hash, created_at_ms FROM users ORDER BY name"),
      ReadUser);
}

Status SqliteTaskStore::SaveApiToken(const ApiTokenRecord& token) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "INSERT INTO api_tokens (token_hash, user_name, created_at_ms) VALUES (?, ?, ?)");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, token.token_hash).Bind(2, token.user_name).Bind(3, token.created_at_ms);
  return s->Run();
}

Result<std::optional<ApiTokenRecord>> SqliteTaskStore::FindApiToken(std::string_view token_hash) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "SELECT token_hash, user_name, created_at_ms FROM api_tokens WHERE token_hash = ?");
  if (s) s->Bind(1, token_hash);
  return First(Collect<ApiTokenRecord>(std::move(s), [](const Statement& row) {
    return ApiTokenRecord{
        .token_hash = row.Text(0), .user_name = row.Text(1), .created_at_ms = row.Int(2)};
  }));
}

Status SqliteTaskStore::SaveSession(const SessionRecord& session) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "INSERT INTO sessions (token_hash, user_name, csrf_token, expires_at_ms, created_at_ms) "
      "VALUES (?, ?, ?, ?, ?)");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, session.token_hash)
      .Bind(2, session.user_name)
      .Bind(3, session.csrf_token)
      .Bind(4, session.expires_at_ms)
      .Bind(5, session.created_at_ms);
  return s->Run();
}

Result<std::optional<SessionRecord>> SqliteTaskStore::FindSession(std::string_view token_hash) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "SELECT token_hash, user_name, csrf_token, expires_at_ms, created_at_ms FROM sessions "
      "WHERE token_hash = ?");
  if (s) s->Bind(1, token_hash);
  return First(Collect<SessionRecord>(std::move(s), [](const Statement& row) {
    return SessionRecord{.token_hash = row.Text(0),
                         .user_name = row.Text(1),
                         .csrf_token = row.Text(2),
                         .expires_at_ms = row.Int(3),
                         .created_at_ms = row.Int(4)};
  }));
}

Status SqliteTaskStore::DeleteSession(std::string_view token_hash) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare("DELETE FROM sessions WHERE token_hash = ?");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, token_hash);
  return s->Run();
}

Status SqliteTaskStore::SetTaskAccess(const TaskAccess& access) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "INSERT INTO task_access (task_id, owner, shared) VALUES (?, ?, ?) "
      "ON CONFLICT (task_id) DO UPDATE SET owner = excluded.owner, shared = excluded.shared");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, access.task_id).Bind(2, access.owner).Bind(3, int64_t{access.shared ? 1 : 0});
  return s->Run();
}

Result<std::optional<TaskAccess>> SqliteTaskStore::GetTaskAccess(std::string_view task_id) {
  std::lock_guard lock(mu_);
  Result<Statement> s =
      statements_->Prepare("SELECT task_id, owner, shared FROM task_access WHERE task_id = ?");
  if (s) s->Bind(1, task_id);
  return First(Collect<TaskAccess>(std::move(s), [](const Statement& row) {
    return TaskAccess{.task_id = row.Text(0), .owner = row.Text(1), .shared = row.Int(2) != 0};
  }));
}

Result<StoreTotals> SqliteTaskStore::Totals() {
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
       "SELECT coalesce(json_extract(payload, '$.route'), ''), "
       "coalesce(json_extract(payload, '$.reason'), ''), count(*), 0.0 FROM audit "
       "WHERE kind = 'route_decision' AND json_valid(payload) GROUP BY 1, 2",
       2},
  };
  for (const Query& query : queries) {
    Result<std::vector<StoreTotals::Count>> rows = Counts(db_, query.sql, query.n_labels);
    if (!rows) return std::unexpected(std::move(rows.error()).WithContext("reading totals"));
    *query.out = std::move(*rows);
  }
  return totals;
}

}  // namespace tandem::store
