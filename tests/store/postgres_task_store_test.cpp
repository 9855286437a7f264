// PostgreSQL-only behaviour of the task store: URLs and their errors, the migrations table,
// concurrent first opens, lost connections. The shared behaviour is in task_store_test.cpp.
// Every test here is named Postgres*, so that CTest runs them in one process with one server.
#include "tandem/store/postgres_task_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "support/free_port.h"
#include "support/postgres_server.h"
#include "support/temp_dir.h"
#include "tandem/core/config.h"
#include "tandem/core/id.h"
#include "tandem/core/pg_connection.h"

namespace tandem::store {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class PostgresTaskStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = testing::CreateTestDatabase();
    if (!url && url.error().code() == ErrorCode::kNotFound) GTEST_SKIP() << url.error().message();
    ASSERT_TRUE(url) << url.error().message();
    url_ = *url;
  }

  // A direct connection to the test database, to look at or damage what the store wrote.
  std::unique_ptr<pg::Connection> Admin() {
    auto connection = pg::Connection::Open(url_);
    EXPECT_TRUE(connection) << connection.error().message();
    return connection ? std::move(*connection) : nullptr;
  }

  std::string url_;
};

TEST_F(PostgresTaskStoreTest, MigrationsAreRecordedOnceEachInTheirTable) {
  for (int open = 0; open < 2; ++open) {
    auto store = PostgresTaskStore::Open(url_);
    ASSERT_TRUE(store) << store.error().message();
  }
  auto admin = Admin();
  ASSERT_TRUE(admin);
  auto rows = admin->Run("SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(rows) << rows.error().message();
  ASSERT_EQ(rows->size(), PostgresTaskStore::SchemaVersion());
  for (int i = 0; i < rows->size(); ++i)
    EXPECT_EQ(rows->Int(i, 0), i + 1);
}

TEST_F(PostgresTaskStoreTest, RefusesADatabaseFromANewerVersion) {
  ASSERT_TRUE(PostgresTaskStore::Open(url_));
  auto admin = Admin();
  ASSERT_TRUE(admin);
  ASSERT_TRUE(admin->Exec("INSERT INTO schema_migrations VALUES (999, 0)"));
  auto reopened = PostgresTaskStore::Open(url_);
  ASSERT_FALSE(reopened);
  EXPECT_EQ(reopened.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(reopened.error().message(), HasSubstr("newer than this Tandem supports"));
  EXPECT_THAT(reopened.error().message(), HasSubstr(url_));
}

TEST_F(PostgresTaskStoreTest, ADatabaseWithForeignTablesIsRefusedNamingTheMigration) {
  auto admin = Admin();
  ASSERT_TRUE(admin);
  ASSERT_TRUE(admin->Exec("CREATE TABLE tasks (something INTEGER)"));
  auto store = PostgresTaskStore::Open(url_);
  ASSERT_FALSE(store);
  EXPECT_THAT(store.error().message(), HasSubstr("migration to version 1"));
  auto tables = admin->Run("SELECT count(*) FROM pg_tables WHERE tablename = 'steps'");
  ASSERT_TRUE(tables);
  EXPECT_EQ(tables->Int(0, 0), 0) << "the failed migration left nothing behind";
}

// Workers starting together on a fresh database: one migrates, the others wait and find it done.
TEST_F(PostgresTaskStoreTest, ProcessesOpeningAFreshDatabaseTogetherMigrateItOnce) {
  constexpr int kOpeners = 4;
  std::vector<std::thread> threads;
  std::vector<std::string> failures(kOpeners);
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] {
      auto store = PostgresTaskStore::Open(url_);
      if (!store) failures[i] = store.error().message();
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  for (const std::string& failure : failures)
    EXPECT_EQ(failure, "");
  auto admin = Admin();
  ASSERT_TRUE(admin);
  auto rows = admin->Run("SELECT count(*) FROM schema_migrations");
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->Int(0, 0), PostgresTaskStore::SchemaVersion());
}

TEST_F(PostgresTaskStoreTest, ALostConnectionIsReestablishedByTheNextCall) {
  auto store = PostgresTaskStore::Open(url_);
  ASSERT_TRUE(store) << store.error().message();
  TaskRecord task{.id = NewId(), .goal = "survive", .status = TaskStatus::kRunning};
  ASSERT_TRUE((*store)->CreateTask(task));
  auto admin = Admin();
  ASSERT_TRUE(admin);
  auto killed = admin->Run(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  ASSERT_TRUE(killed) << killed.error().message();
  ASSERT_EQ(killed->Int(0, 0), 1);
  // The call that meets the dead connection fails as retryable (whether its statement ran is
  // unknown, so it is not replayed); the next one reconnects.
  auto first = (*store)->GetTask(task.id);
  if (!first) {
    EXPECT_EQ(first.error().code(), ErrorCode::kUnavailable) << first.error().message();
  }
  auto again = (*store)->GetTask(task.id);
  ASSERT_TRUE(again) << again.error().message();
  ASSERT_TRUE(*again);
  EXPECT_EQ((*again)->goal, "survive");
}

// PostgreSQL text holds valid UTF-8 without NUL bytes (SQLite holds any bytes): such text is
// refused whole rather than stored cut short or altered.
TEST_F(PostgresTaskStoreTest, TextPostgresCannotHoldIsRefusedNotTruncated) {
  auto store = PostgresTaskStore::Open(url_);
  ASSERT_TRUE(store) << store.error().message();
  for (std::string goal : {std::string("before\0after", 12), std::string("bad \xff byte")}) {
    Status created = (*store)->CreateTask({.id = NewId(), .goal = goal});
    ASSERT_FALSE(created);
    EXPECT_EQ(created.error().code(), ErrorCode::kInvalidArgument) << created.error().message();
  }
  auto tasks = (*store)->ListTasks(100);
  ASSERT_TRUE(tasks);
  EXPECT_TRUE(tasks->empty());
}

TEST_F(PostgresTaskStoreTest, TheConfigurationSelectsPostgresByUrl) {
  testing::TempDir dir;
  auto config = ParseConfig(fmt::format("store = \"{}\"\n", url_), dir.path() / "tandem.toml");
  ASSERT_TRUE(config) << config.error().message();
  auto store = OpenTaskStore(*config);
  ASSERT_TRUE(store) << store.error().message();
  TaskRecord task{.id = NewId(), .goal = "shared"};
  ASSERT_TRUE((*store)->CreateTask(task));
  EXPECT_FALSE(std::filesystem::exists(config->home / "tandem.db"));
  auto other = PostgresTaskStore::Open(url_);
  ASSERT_TRUE(other);
  EXPECT_TRUE(*(*other)->GetTask(task.id)) << "a second process sees the same task";
}

TEST_F(PostgresTaskStoreTest, AMalformedUrlIsInvalidArgumentWithoutItsPassword) {
  auto store = OpenTaskStore("postgres://tandem:hunter2@127.0.0.1/db?no_such_option=1", "/");
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(store.error().message(), HasSubstr("postgres://tandem@127.0.0.1/db"));
  EXPECT_THAT(store.error().message(), HasSubstr("no_such_option"));
  EXPECT_THAT(store.error().message(), Not(HasSubstr("hunter2")));
}

TEST_F(PostgresTaskStoreTest, AnUnreachableServerIsUnavailableNamingTheUrlWithoutItsPassword) {
  testing::RefusingLoopbackPort refusing;
  ASSERT_GT(refusing.port(), 0);
  std::string url = fmt::format("postgresql://tandem:hunter2@127.0.0.1:{}/tandem?password=hunter2",
                                refusing.port());
  auto store = OpenTaskStore(url, "/");
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(store.error().message(),
              HasSubstr(fmt::format("postgresql://tandem@127.0.0.1:{}/tandem?password=***",
                                    refusing.port())));
  EXPECT_THAT(store.error().message(), Not(HasSubstr("hunter2")));
}

TEST_F(PostgresTaskStoreTest, AMissingDatabaseIsNamedInTheError) {
  std::string url = (*testing::SharedPostgresServer())->Url("no_such_database");
  auto store = OpenTaskStore(url, "/");
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(store.error().message(), HasSubstr(url));
  EXPECT_THAT(store.error().message(), HasSubstr("does not exist"));
}

TEST(PostgresUrlTest, RedactionDropsPasswordsAndKeepsTheRest) {
  EXPECT_EQ(pg::RedactUrl("postgres://u:p@h:5432/db"), "postgres://u@h:5432/db");
  EXPECT_EQ(pg::RedactUrl("postgres://u@h/db"), "postgres://u@h/db");
  EXPECT_EQ(pg::RedactUrl("postgres://h:5432/db"), "postgres://h:5432/db");
  EXPECT_EQ(pg::RedactUrl("postgres://u:p%40ss@h/db?sslmode=require&password=x&a=b"),
            "postgres://u@h/db?sslmode=require&password=***&a=b");
  EXPECT_EQ(pg::RedactUrl("postgres://u:p@h/db?user_password=x"),
            "postgres://u@h/db?user_password=x");
  EXPECT_TRUE(pg::IsPostgresUrl("postgres://h/db"));
  EXPECT_TRUE(pg::IsPostgresUrl("postgresql://h/db"));
  EXPECT_FALSE(pg::IsPostgresUrl("/var/lib/tandem.db"));
}

}  // namespace
}  // namespace tandem::store
