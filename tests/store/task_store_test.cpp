#include "tandem/store/task_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <limits>
#include <map>
#include <random>
#include <thread>

#include "store_backend.h"
#include "support/temp_dir.h"
#include "tandem/core/config.h"
#include "tandem/core/id.h"
#include "tandem/core/pg_connection.h"
#include "tandem/core/sqlite.h"
#include "tandem/store/postgres_task_store.h"
#include "tandem/store/sqlite_task_store.h"

namespace tandem::store {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TaskRecord MakeTask(std::string goal = "goal") {
  TaskRecord task;
  task.id = NewId();
  task.goal = std::move(goal);
  task.status = TaskStatus::kRunning;
  task.created_at_ms = task.updated_at_ms = 1000;
  return task;
}

// The behaviour every backend must share: each TEST_P runs once per backend (instantiated at the
// end of this file as Sqlite/... and Postgres/...).
class TaskStoreTest : public StoreBackendTest {
 protected:
  // Rows of `table` as another connection sees them: only what has been committed.
  int64_t CommittedRows(const std::string& table) {
    if (GetParam() == Backend::kPostgres) {
      auto reader = pg::Connection::Open(location_);
      if (!reader) return -1;
      auto rows = (*reader)->Run("SELECT count(*) FROM " + table);
      return rows ? rows->Int(0, 0) : -1;
    }
    sqlite3* reader = nullptr;
    EXPECT_EQ(sqlite3_open_v2(location_.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr),
              SQLITE_OK);
    sqlite3_stmt* count = nullptr;
    sqlite3_prepare_v2(reader, ("SELECT count(*) FROM " + table).c_str(), -1, &count, nullptr);
    int64_t rows = sqlite3_step(count) == SQLITE_ROW ? sqlite3_column_int64(count, 0) : -1;
    sqlite3_finalize(count);
    sqlite3_close(reader);
    return rows;
  }
};

// SQLite-only behaviour: files, WAL, PRAGMA user_version, crashes of the writing process.
class SqliteTaskStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = TaskStore::Open(db_path());
    ASSERT_TRUE(opened) << opened.error().message();
    store_ = std::move(*opened);
  }
  std::filesystem::path db_path() const { return dir_.path() / "state/tandem.db"; }

  testing::TempDir dir_;
  std::unique_ptr<TaskStore> store_;
};

TEST_P(TaskStoreTest, TasksRoundTripAndListNewestFirst) {
  TaskRecord first = MakeTask("first");
  TaskRecord second = MakeTask("second");
  ASSERT_TRUE(store_->CreateTask(first));
  ASSERT_TRUE(store_->CreateTask(second));
  auto listed = store_->ListTasks();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].goal, "second");

  first.status = TaskStatus::kSucceeded;
  first.stop_reason = "finished";
  first.taint = "sensitive";
  ASSERT_TRUE(store_->UpdateTask(first));
  auto loaded = store_->GetTask(first.id);
  ASSERT_TRUE(loaded && *loaded);
  EXPECT_EQ((*loaded)->status, TaskStatus::kSucceeded);
  EXPECT_EQ((*loaded)->stop_reason, "finished");
  EXPECT_EQ((*loaded)->taint, "sensitive");
  EXPECT_FALSE(*store_->GetTask("missing"));
}

TEST_P(TaskStoreTest, UpdatingAMissingTaskIsNotFound) {
  Status status = store_->UpdateTask(MakeTask());
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code(), ErrorCode::kNotFound);
}

TEST_P(TaskStoreTest, StepsProgressThroughStatusesAndKeysAreUnique) {
  TaskRecord task = MakeTask();
  ASSERT_TRUE(store_->CreateTask(task));
  StepRecord step{.task_id = task.id,
                  .seq = 1,
                  .tool_name = "write_file",
                  .tool_arguments = R"({"path":"a"})",
                  .idempotency_key = task.id + ":1"};
  ASSERT_TRUE(store_->SaveStep(step));
  step.status = StepStatus::kDone;
  step.result = "wrote 1 byte";
  ASSERT_TRUE(store_->SaveStep(step));
  auto steps = store_->ListSteps(task.id);
  ASSERT_TRUE(steps);
  ASSERT_EQ(steps->size(), 1u);
  EXPECT_EQ((*steps)[0].status, StepStatus::kDone);
  EXPECT_EQ((*steps)[0].result, "wrote 1 byte");

  auto found = store_->FindStepByKey(task.id + ":1");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->seq, 1);

  StepRecord clash = step;
  clash.seq = 2;
  Status status = store_->SaveStep(clash);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code(), ErrorCode::kAlreadyExists);
}

TEST_P(TaskStoreTest, StepsKeepTheirApprovalDecision) {
  TaskRecord task = MakeTask();
  ASSERT_TRUE(store_->CreateTask(task));
  StepRecord step{.task_id = task.id, .seq = 1, .tool_name = "send_email"};
  ASSERT_TRUE(store_->SaveStep(step));
  EXPECT_EQ((*store_->ListSteps(task.id))[0].approval, "");
  step.approval = R"({"decision":"granted","by":"person"})";
  ASSERT_TRUE(store_->SaveStep(step));
  EXPECT_EQ((*store_->ListSteps(task.id))[0].approval, step.approval);
}

TEST_F(SqliteTaskStoreTest, VersionOneDatabaseGainsTheApprovalColumnAndKeepsItsSteps) {
  TaskRecord task = MakeTask();
  ASSERT_TRUE(store_->CreateTask(task));
  ASSERT_TRUE(store_->SaveStep({.task_id = task.id, .seq = 1, .tool_name = "read_file"}));
  store_.reset();
  {  // Back to the version 1 schema, as an older Tandem left it.
    auto db = sqlite::Open(db_path());
    ASSERT_TRUE(db);
    ASSERT_TRUE(sqlite::Exec(*db,
                             "DROP TABLE workers; DROP TABLE task_queue; "
                             "DROP TABLE schedule_runs; DROP TABLE schedules; "
                             "DROP TABLE context_summaries; DROP TABLE task_access; "
                             "DROP TABLE sessions; DROP TABLE api_tokens; DROP TABLE users; "
                             "ALTER TABLE steps DROP COLUMN approval; PRAGMA user_version = 1"));
    sqlite::Close(*db);
  }
  auto reopened = TaskStore::Open(db_path());
  ASSERT_TRUE(reopened) << reopened.error().message();
  auto steps = (*reopened)->ListSteps(task.id);
  ASSERT_TRUE(steps) << steps.error().message();
  ASSERT_EQ(steps->size(), 1u);
  EXPECT_EQ((*steps)[0].tool_name, "read_file");
  EXPECT_EQ((*steps)[0].approval, "");
}

TEST_P(TaskStoreTest, StepsOfAnUnknownTaskViolateForeignKeys) {
  EXPECT_FALSE(store_->SaveStep(StepRecord{.task_id = "nope", .seq = 1}));
}

TEST_P(TaskStoreTest, EventsArtifactsAuditAndLedgerAreKept) {
  TaskRecord task = MakeTask();
  ASSERT_TRUE(store_->CreateTask(task));
  auto e1 = store_->AppendEvent({.task_id = task.id, .type = "task_started", .payload = "{}"});
  auto e2 = store_->AppendEvent({.task_id = task.id, .type = "step_done", .payload = "{}"});
  ASSERT_TRUE(e1 && e2);
  EXPECT_LT(*e1, *e2);
  EXPECT_EQ(store_->ListEvents(task.id, *e1)->size(), 1u);

  ASSERT_TRUE(store_->SaveArtifact({.task_id = task.id, .path = "report.md", .size_bytes = 5}));
  EXPECT_EQ(store_->ListArtifacts(task.id)->at(0).path, "report.md");

  ASSERT_TRUE(store_->AppendAudit(
      {.task_id = task.id, .kind = "route_decision", .payload = R"({"zone":"local"})"}));
  EXPECT_EQ(store_->ListAudit(task.id)->size(), 1u);

  LedgerRow priced{.task_id = task.id,
                   .provider = "cloud",
                   .model = "gpt-4o-mini",
                   .zone = "cloud",
                   .prompt_tokens = 10,
                   .completion_tokens = 5,
                   .cost_usd = 0.25,
                   .outcome = "ok"};
  LedgerRow unpriced = priced;
  unpriced.cost_usd.reset();
  ASSERT_TRUE(store_->AppendLedger(priced));
  ASSERT_TRUE(store_->AppendLedger(unpriced));
  auto rows = store_->ListLedger({.task_id = task.id});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].cost_usd, 0.25);
  EXPECT_FALSE((*rows)[1].cost_usd.has_value());
  EXPECT_EQ(store_->ListLedger()->size(), 2u);

  TaskRecord other = MakeTask("other");
  ASSERT_TRUE(store_->CreateTask(other));
  LedgerRow elsewhere = priced;
  elsewhere.task_id = other.id;
  ASSERT_TRUE(store_->AppendLedger(elsewhere));
  EXPECT_EQ(store_->ListLedger({.task_id = task.id})->size(), 2u);
  EXPECT_EQ(store_->ListLedger()->size(), 3u);
  auto totals = store_->SumLedger(task.id);
  ASSERT_TRUE(totals);
  EXPECT_DOUBLE_EQ(totals->cost_usd, 0.25);  // The unpriced row counts 0.
  EXPECT_EQ(totals->tokens, 30);
  auto none = store_->SumLedger("no-such-task");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->tokens, 0);
}

TEST_P(TaskStoreTest, ContextSummaryIsReplacedNotDuplicated) {
  TaskRecord task = MakeTask();
  ASSERT_TRUE(store_->CreateTask(task));
  auto none = store_->GetContextSummary(task.id);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  ASSERT_TRUE(store_->SaveContextSummary({task.id, 3, "first three steps", 10}));
  ASSERT_TRUE(store_->SaveContextSummary({task.id, 7, "first seven steps", 20}));
  auto summary = store_->GetContextSummary(task.id);
  ASSERT_TRUE(summary && *summary);
  EXPECT_EQ((*summary)->through_seq, 7);
  EXPECT_EQ((*summary)->summary, "first seven steps");
  EXPECT_FALSE(store_->SaveContextSummary({"no-such-task", 1, "x", 1})) << "foreign key";
}

TEST_P(TaskStoreTest, ChildTasksAreListedUnderTheirParent) {
  TaskRecord parent = MakeTask("parent");
  ASSERT_TRUE(store_->CreateTask(parent));
  TaskRecord child = MakeTask("child");
  child.parent_id = parent.id;
  ASSERT_TRUE(store_->CreateTask(child));
  ASSERT_TRUE(store_->CreateTask(MakeTask("unrelated")));
  auto children = store_->ListChildTasks(parent.id);
  ASSERT_TRUE(children);
  ASSERT_EQ(children->size(), 1u);
  EXPECT_EQ((*children)[0].id, child.id);
  EXPECT_EQ((*children)[0].parent_id, parent.id);
  auto none = store_->ListChildTasks(child.id);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(TaskStoreTest, ReopeningKeepsDataAndDoesNotReapplyMigrations) {
  TaskRecord task = MakeTask();
  ASSERT_TRUE(store_->CreateTask(task));
  store_.reset();
  auto reopened = Open();
  ASSERT_TRUE(reopened) << reopened.error().message();
  EXPECT_TRUE(*(*reopened)->GetTask(task.id));
}

TEST_P(TaskStoreTest, ABatchCommitsItsWritesTogether) {
  TaskRecord task = MakeTask();
  ASSERT_TRUE(store_->CreateTask(task));
  auto batch = store_->BeginBatch();
  ASSERT_TRUE(batch) << batch.error().message();
  ASSERT_TRUE(store_->AppendEvent({.task_id = task.id, .type = "a", .payload = "{}"}));
  ASSERT_TRUE(store_->AppendEvent({.task_id = task.id, .type = "b", .payload = "{}"}));
  // The writing thread reads its own writes; others see none of them yet.
  EXPECT_EQ(store_->ListEvents(task.id)->size(), 2u);
  EXPECT_EQ(CommittedRows("events"), 0);
  ASSERT_TRUE(batch->Commit());
  EXPECT_EQ(CommittedRows("events"), 2);
  EXPECT_TRUE(batch->Commit());  // Already ended: nothing to do.
}

TEST_P(TaskStoreTest, ABatchDroppedWithoutCommitRollsBack) {
  TaskRecord task = MakeTask();
  ASSERT_TRUE(store_->CreateTask(task));
  {
    auto batch = store_->BeginBatch();
    ASSERT_TRUE(batch);
    ASSERT_TRUE(store_->AppendEvent({.task_id = task.id, .type = "a", .payload = "{}"}));
  }
  EXPECT_TRUE(store_->ListEvents(task.id)->empty());
  // The store takes writes again after the rollback.
  ASSERT_TRUE(store_->AppendEvent({.task_id = task.id, .type = "b", .payload = "{}"}));
  EXPECT_EQ(CommittedRows("events"), 1);
}

TEST_P(TaskStoreTest, ANestedBatchJoinsTheOuterOne) {
  TaskRecord task = MakeTask();
  ASSERT_TRUE(store_->CreateTask(task));
  auto outer = store_->BeginBatch();
  ASSERT_TRUE(outer);
  {
    auto inner = store_->BeginBatch();
    ASSERT_TRUE(inner);
    ASSERT_TRUE(store_->AppendEvent({.task_id = task.id, .type = "a", .payload = "{}"}));
    ASSERT_TRUE(inner->Commit());
  }
  EXPECT_EQ(CommittedRows("events"), 0);  // Only the outermost commits.
  ASSERT_TRUE(outer->Commit());
  EXPECT_EQ(CommittedRows("events"), 1);
}

TEST_P(TaskStoreTest, AnAbandonedInnerBatchRollsBackTheOuterOne) {
  TaskRecord task = MakeTask();
  ASSERT_TRUE(store_->CreateTask(task));
  auto outer = store_->BeginBatch();
  ASSERT_TRUE(outer);
  ASSERT_TRUE(store_->AppendEvent({.task_id = task.id, .type = "a", .payload = "{}"}));
  {
    auto inner = store_->BeginBatch();
    ASSERT_TRUE(inner);
    ASSERT_TRUE(store_->AppendEvent({.task_id = task.id, .type = "b", .payload = "{}"}));
  }
  Status committed = outer->Commit();
  ASSERT_FALSE(committed);
  EXPECT_THAT(committed.error().message(), HasSubstr("rolled back"));
  EXPECT_TRUE(store_->ListEvents(task.id)->empty());
}

// Another thread's write waits for the batch instead of joining it: rolling the batch back must
// not take the other thread's row with it.
TEST_P(TaskStoreTest, OtherThreadsDoNotWriteIntoABatch) {
  TaskRecord task = MakeTask();
  ASSERT_TRUE(store_->CreateTask(task));
  std::thread other;
  {
    auto batch = store_->BeginBatch();
    ASSERT_TRUE(batch);
    ASSERT_TRUE(store_->AppendEvent({.task_id = task.id, .type = "mine", .payload = "{}"}));
    other = std::thread([&] {
      EXPECT_TRUE(store_->AppendEvent({.task_id = task.id, .type = "other", .payload = "{}"}));
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // Let it reach the store.
  }
  other.join();
  auto events = store_->ListEvents(task.id);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, "other");
}

// Checkpoints run on the store's own thread, not in the writer's commits: the WAL must still be
// recycled (not grow with everything ever written) and every row must survive a reopen.
TEST_F(SqliteTaskStoreTest, TheWalIsCheckpointedInTheBackgroundAndNothingIsLost) {
  TaskRecord task = MakeTask();
  ASSERT_TRUE(store_->CreateTask(task));
  const std::string payload(2000, 'x');
  constexpr int kEvents = 12000;  // About 25 MB through the WAL, over six times its threshold.
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_TRUE(store_->AppendEvent({.task_id = task.id, .type = "note", .payload = payload}));
  }
  std::filesystem::path wal = db_path().string() + "-wal";
  ASSERT_TRUE(std::filesystem::exists(wal));
  // Unbounded, it would hold everything written (over 100 MB). The writer takes over at 4000
  // pages; a background checkpoint still finishing may let it grow a little past that.
  EXPECT_LT(std::filesystem::file_size(wal), uintmax_t{32} << 20);
  store_.reset();
  auto reopened = TaskStore::Open(db_path());
  ASSERT_TRUE(reopened) << reopened.error().message();
  auto events = (*reopened)->ListEvents(task.id);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->size(), size_t{kEvents});
}

TEST_F(SqliteTaskStoreTest, RefusesADatabaseFromANewerVersion) {
  store_.reset();
  {
    auto db = sqlite::Open(db_path());
    ASSERT_TRUE(db);
    ASSERT_TRUE(sqlite::Exec(*db, "PRAGMA user_version = 999"));
    sqlite::Close(*db);
  }
  auto reopened = TaskStore::Open(db_path());
  ASSERT_FALSE(reopened);
  EXPECT_EQ(reopened.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(reopened.error().message(), HasSubstr("newer than this Tandem supports"));
}

TEST_F(SqliteTaskStoreTest, RefusesAFileThatIsNotADatabase) {
  store_.reset();
  std::filesystem::path path = dir_.Write("junk.db", std::string(8192, 'x'));
  auto opened = TaskStore::Open(path);
  ASSERT_FALSE(opened);
  EXPECT_THAT(opened.error().message(), HasSubstr("junk.db"));
}

// A child process writes tasks and steps, reporting each committed row on a pipe; the parent
// kills it with SIGKILL at a random moment, reopens the database and checks that it is intact
// and holds every row the child had reported as committed.
TEST_F(SqliteTaskStoreTest, SigkilledWriterLosesNoCommittedRow) {
  store_.reset();
  std::mt19937 rng(12345);
  for (int round = 0; round < 12; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      auto store = TaskStore::Open(db_path());
      if (!store) _exit(2);
      for (int i = 0;; ++i) {
        TaskRecord task{.id = NewId(), .goal = "crash", .status = TaskStatus::kRunning};
        if (!(*store)->CreateTask(task)) _exit(3);
        StepRecord step{.task_id = task.id,
                        .seq = 1,
                        .status = StepStatus::kDone,
                        .idempotency_key = task.id + ":1",
                        .result = std::string(200, 'r')};
        if (!(*store)->SaveStep(step)) _exit(4);
        std::string line = task.id + "\n";
        if (write(fds[1], line.data(), line.size()) < 0) _exit(5);
      }
    }
    close(fds[1]);
    usleep(std::uniform_int_distribution<useconds_t>(2000, 60000)(rng));
    kill(child, SIGKILL);
    std::string reported;
    char buffer[4096];
    for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;)
      reported.append(buffer, n);
    close(fds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);

    auto reopened = TaskStore::Open(db_path());
    ASSERT_TRUE(reopened) << reopened.error().message();
    auto db = sqlite::Open(db_path());
    ASSERT_TRUE(db);
    {  // Statements are finalized before the connection closes.
      auto check = sqlite::Statement::Prepare(*db, "PRAGMA integrity_check");
      ASSERT_TRUE(check && *check->Step());
      EXPECT_EQ(check->Text(0), "ok");
      auto fk = sqlite::Statement::Prepare(*db, "PRAGMA foreign_key_check");
      ASSERT_TRUE(fk);
      EXPECT_FALSE(*fk->Step()) << "foreign key violation after crash";
    }
    sqlite::Close(*db);

    std::istringstream lines(reported);
    for (std::string id; std::getline(lines, id);) {
      auto task = (*reopened)->GetTask(id);
      ASSERT_TRUE(task && *task) << "committed task " << id << " lost in round " << round;
      auto steps = (*reopened)->ListSteps(id);
      ASSERT_TRUE(steps);
      ASSERT_EQ(steps->size(), 1u) << "committed step of " << id << " lost";
    }
  }
}

TEST_P(TaskStoreTest, TextAndNumbersRoundTripExactly) {
  TaskRecord task = MakeTask("Résumé 📄 \"quoted\" back\\slash\nnew line; DROP TABLE tasks; --");
  task.settings = R"({"max_steps": 30, "note": "ünïcode"})";
  task.created_at_ms = int64_t{1} << 50;
  ASSERT_TRUE(store_->CreateTask(task));
  auto loaded = store_->GetTask(task.id);
  ASSERT_TRUE(loaded && *loaded);
  EXPECT_EQ((*loaded)->goal, task.goal);
  EXPECT_EQ((*loaded)->settings, task.settings);
  EXPECT_EQ((*loaded)->created_at_ms, task.created_at_ms);
  EXPECT_EQ((*loaded)->parent_id, "");

  StepRecord step{.task_id = task.id,
                  .seq = 1,
                  .result = std::string(100000, 'x') + "end",
                  .result_is_error = true,
                  .prompt_tokens = std::numeric_limits<int64_t>::max(),
                  .cost_usd = 0.1 + 0.2};
  ASSERT_TRUE(store_->SaveStep(step));
  auto steps = store_->ListSteps(task.id);
  ASSERT_TRUE(steps && steps->size() == 1u);
  EXPECT_EQ((*steps)[0].result, step.result);
  EXPECT_TRUE((*steps)[0].result_is_error);
  EXPECT_EQ((*steps)[0].prompt_tokens, step.prompt_tokens);
  EXPECT_EQ((*steps)[0].cost_usd, step.cost_usd) << "doubles keep every bit";
  EXPECT_EQ((*steps)[0].idempotency_key, "");

  LedgerRow row{.task_id = task.id, .estimated = true, .cost_usd = 1e-9, .outcome = "ok"};
  ASSERT_TRUE(store_->AppendLedger(row));
  auto rows = store_->ListLedger({.task_id = task.id});
  ASSERT_TRUE(rows && rows->size() == 1u);
  EXPECT_TRUE((*rows)[0].estimated);
  EXPECT_EQ((*rows)[0].cost_usd, 1e-9);
}

TEST_P(TaskStoreTest, TasksListInIdOrderWithALimit) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    TaskRecord task = MakeTask();
    task.id = fmt::format("task-{}", i);
    ids.push_back(task.id);
    ASSERT_TRUE(store_->CreateTask(task));
  }
  TaskRecord upper = MakeTask();
  upper.id = "TASK-upper";  // Byte order: upper case sorts before lower case.
  ASSERT_TRUE(store_->CreateTask(upper));
  auto listed = store_->ListTasks(3);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].id, "task-4");
  EXPECT_EQ((*listed)[2].id, "task-2");
  auto all = store_->ListTasks(100);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->back().id, "TASK-upper");
  EXPECT_FALSE(store_->CreateTask(upper)) << "ids are unique";
}

TEST_P(TaskStoreTest, ArtifactsAreReplacedByPath) {
  TaskRecord task = MakeTask();
  ASSERT_TRUE(store_->CreateTask(task));
  ASSERT_TRUE(store_->SaveArtifact({.task_id = task.id, .path = "b.txt", .size_bytes = 1}));
  ASSERT_TRUE(store_->SaveArtifact({.task_id = task.id, .path = "a.txt", .size_bytes = 2}));
  ASSERT_TRUE(
      store_->SaveArtifact({.task_id = task.id, .path = "b.txt", .size_bytes = 9, .step_seq = 4}));
  auto artifacts = store_->ListArtifacts(task.id);
  ASSERT_TRUE(artifacts);
  ASSERT_EQ(artifacts->size(), 2u);
  EXPECT_EQ((*artifacts)[0].path, "a.txt");
  EXPECT_EQ((*artifacts)[1].size_bytes, 9);
  EXPECT_EQ((*artifacts)[1].step_seq, 4);
}

TEST_P(TaskStoreTest, UsersTokensSessionsAndTaskAccessAreKept) {
  ASSERT_TRUE(store_->CreateUser({.name = "bob", .role = "member", .password_hash = "h1"}));
  ASSERT_TRUE(store_->CreateUser({.name = "alice", .role = "admin", .password_hash = "h2"}));
  Status taken = store_->CreateUser({.name = "bob", .role = "viewer", .password_hash = "h3"});
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_THAT(taken.error().message(), HasSubstr("bob"));
  auto users = store_->ListUsers();
  ASSERT_TRUE(users && users->size() == 2u);
  EXPECT_EQ((*users)[0].name, "alice");
  EXPECT_EQ((*store_->GetUser("bob"))->role, "member");
  EXPECT_FALSE(*store_->GetUser("carol"));

  ASSERT_TRUE(store_->SaveApiToken({.token_hash = "t1", .user_name = "bob", .created_at_ms = 5}));
  EXPECT_EQ((*store_->FindApiToken("t1"))->user_name, "bob");
  EXPECT_FALSE(*store_->FindApiToken("t2"));
  EXPECT_FALSE(store_->SaveApiToken({.token_hash = "t3", .user_name = "nobody"}))
      << "tokens belong to existing users";

  ASSERT_TRUE(store_->SaveSession(
      {.token_hash = "s1", .user_name = "alice", .csrf_token = "c", .expires_at_ms = 99}));
  auto session = store_->FindSession("s1");
  ASSERT_TRUE(session && *session);
  EXPECT_EQ((*session)->csrf_token, "c");
  EXPECT_EQ((*session)->expires_at_ms, 99);
  ASSERT_TRUE(store_->DeleteSession("s1"));
  EXPECT_FALSE(*store_->FindSession("s1"));

  TaskRecord task = MakeTask();
  ASSERT_TRUE(store_->CreateTask(task));
  EXPECT_FALSE(*store_->GetTaskAccess(task.id));
  ASSERT_TRUE(store_->SetTaskAccess({.task_id = task.id, .owner = "bob", .shared = false}));
  ASSERT_TRUE(store_->SetTaskAccess({.task_id = task.id, .owner = "bob", .shared = true}));
  auto access = store_->GetTaskAccess(task.id);
  ASSERT_TRUE(access && *access);
  EXPECT_TRUE((*access)->shared);
}

TEST_P(TaskStoreTest, TotalsCountTasksStepsCallsAndRouteDecisions) {
  TaskRecord running = MakeTask();
  TaskRecord done = MakeTask();
  done.status = TaskStatus::kSucceeded;
  ASSERT_TRUE(store_->CreateTask(running));
  ASSERT_TRUE(store_->CreateTask(done));
  ASSERT_TRUE(store_->SaveStep({.task_id = running.id, .seq = 1}));
  for (double cost : {0.5, 0.25}) {
    ASSERT_TRUE(store_->AppendLedger({.task_id = running.id,
                                      .provider = "p",
                                      .zone = "cloud",
                                      .cost_usd = cost,
                                      .outcome = "ok"}));
  }
  for (std::string_view payload : {R"({"route":"local","reason":"sensitive"})",
                                   R"({"route":"local","reason":"sensitive"})", "not json"}) {
    ASSERT_TRUE(store_->AppendAudit(
        {.task_id = running.id, .kind = "route_decision", .payload = std::string(payload)}));
  }
  auto totals = store_->Totals();
  ASSERT_TRUE(totals) << totals.error().message();
  std::map<std::string, int64_t> by_status;
  for (const auto& count : totals->tasks_by_status)
    by_status[count.labels.at(0)] = count.count;
  EXPECT_EQ(by_status, (std::map<std::string, int64_t>{{"running", 1}, {"succeeded", 1}}));
  ASSERT_EQ(totals->steps_by_status.size(), 1u);
  EXPECT_EQ(totals->steps_by_status[0].labels, std::vector<std::string>{"proposed"});
  ASSERT_EQ(totals->model_calls.size(), 1u);
  EXPECT_EQ(totals->model_calls[0].labels, (std::vector<std::string>{"cloud", "p", "ok"}));
  EXPECT_EQ(totals->model_calls[0].count, 2);
  EXPECT_DOUBLE_EQ(totals->model_calls[0].sum, 0.75);
  ASSERT_EQ(totals->route_decisions.size(), 1u) << "the payload that is not JSON is left out";
  EXPECT_EQ(totals->route_decisions[0].labels, (std::vector<std::string>{"local", "sensitive"}));
  EXPECT_EQ(totals->route_decisions[0].count, 2);
}

// Implementations are thread-safe: threads share one store (as the server's do).
TEST_P(TaskStoreTest, ThreadsShareOneStore) {
  TaskRecord task = MakeTask();
  ASSERT_TRUE(store_->CreateTask(task));
  constexpr int kThreads = 4;
  constexpr int kEach = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures = 0;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        if (!store_->AppendEvent({.task_id = task.id, .type = "note", .payload = "{}"})) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto events = store_->ListEvents(task.id);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), size_t{kThreads * kEach});
  for (size_t i = 1; i < events->size(); ++i)
    EXPECT_LT((*events)[i - 1].id, (*events)[i].id);
}

TEST(TaskStoreBackendsTest, EveryBackendWritesTheSameSchemaVersion) {
  EXPECT_EQ(TaskStore::SchemaVersion(), SqliteTaskStore::SchemaVersion());
  EXPECT_EQ(PostgresTaskStore::SchemaVersion(), SqliteTaskStore::SchemaVersion())
      << "a migration added to one backend needs its twin in the other";
}

TEST(TaskStoreBackendsTest, ConfigurationSelectsASqliteFileByPath) {
  testing::TempDir dir;
  std::string home = (dir.path() / "home").string();
  for (std::string_view store_line : {"", R"(store = "custom.db")"}) {
    auto config = ParseConfig(fmt::format("home = \"{}\"\n{}\n", home, store_line),
                              dir.path() / "tandem.toml");
    ASSERT_TRUE(config) << config.error().message();
    auto store = OpenTaskStore(*config);
    ASSERT_TRUE(store) << store.error().message();
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "home" /
                                        (store_line.empty() ? "tandem.db" : "custom.db")));
  }
}

TEST(TaskStoreBackendsTest, TandemStoreInTheEnvironmentOverridesTheFile) {
  testing::TempDir dir;
  auto config = ParseConfig(
      fmt::format("home = \"{}\"\nstore = \"file.db\"\n", dir.path().string()),
      dir.path() / "tandem.toml",
      {.environment = std::map<std::string, std::string>{{"TANDEM_STORE", "from-env.db"}}});
  ASSERT_TRUE(config) << config.error().message();
  auto store = OpenTaskStore(*config);
  ASSERT_TRUE(store) << store.error().message();
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "from-env.db"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "file.db"));
}

TEST(TaskStoreBackendsTest, ConfigurationRefusesAStoreThatIsNeitherPathNorUrl) {
  testing::TempDir dir;
  auto number = ParseConfig("store = 5\n", dir.path() / "tandem.toml");
  ASSERT_TRUE(number) << number.error().message();
  auto store = OpenTaskStore(*number);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(store.error().message(), HasSubstr("store"));
  auto mysql = OpenTaskStore("mysql://user:secret@host/db", dir.path());
  ASSERT_FALSE(mysql);
  EXPECT_EQ(mysql.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(mysql.error().message(), Not(HasSubstr("secret")));
}

INSTANTIATE_TEST_SUITE_P(Sqlite, TaskStoreTest, ::testing::Values(Backend::kSqlite));
INSTANTIATE_TEST_SUITE_P(Postgres, TaskStoreTest, ::testing::Values(Backend::kPostgres));

}  // namespace
}  // namespace tandem::store
