// A fixture base for suites that run once per store backend (instantiated as Sqlite/... and
// Postgres/...): each test gets an empty store of its own, a new SQLite file or a new database
// on the test binary's one PostgreSQL server.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "support/postgres_server.h"
#include "support/temp_dir.h"
#include "tandem/store/task_store.h"

namespace tandem::store {

enum class Backend { kSqlite, kPostgres };

class StoreBackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    location_ = (dir_.path() / "state/tandem.db").string();  // Its folder is created.
    if (GetParam() == Backend::kPostgres) {
      auto url = testing::CreateTestDatabase();
      if (!url && url.error().code() == ErrorCode::kNotFound) GTEST_SKIP() << url.error().message();
      ASSERT_TRUE(url) << url.error().message();
      location_ = *url;
    }
    auto opened = Open();
    ASSERT_TRUE(opened) << opened.error().message();
    store_ = std::move(*opened);
  }

  // Another store (connection) on the same file or database.
  Result<std::unique_ptr<TaskStore>> Open() { return OpenTaskStore(location_, dir_.path()); }

  testing::TempDir dir_;
  std::string location_;
  std::unique_ptr<TaskStore> store_;
};

}  // namespace tandem::store
