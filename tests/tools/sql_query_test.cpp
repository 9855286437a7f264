#include "tandem/tools/sql_query.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "support/temp_dir.h"

namespace tandem::tools {
namespace {

using nlohmann::json;

class SqlQueryTest : public ::testing::Test {
 protected:
  SqlQueryTest() {
    path_ = dir_.path() / "shop.db";
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db,
                           "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT, total REAL);"
                           "INSERT INTO orders(customer, total) VALUES ('alice', 10.5), "
                           "('bob', 20), ('carol', NULL);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    options_.databases = {{"shop", path_, false}, {"shop_rw", path_, true}};
    tool_ = MakeSqlQueryTool(options_);
  }
  Result<ToolResult> Query(const std::string& database, const std::string& sql) {
    json args = {{"database", database}, {"sql", sql}};
    if (Status valid = ValidateArguments(tool_->schema(), args); !valid) {
      return std::unexpected(valid.error());
    }
    return tool_->Invoke(args, context_);
  }

  testing::TempDir dir_;
  std::filesystem::path path_;
  SqlToolOptions options_;
  std::unique_ptr<Tool> tool_;
  ToolContext context_;
};

TEST_F(SqlQueryTest, SelectReturnsATable) {
  auto result = Query("shop", "SELECT customer, total FROM orders ORDER BY id");
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->output,
            "customer | total\n--- | ---\nalice | 10.5\nbob | 20.0\ncarol | NULL\n(3 rows)\n");
  EXPECT_EQ(tool_->EffectOf({{"database", "shop"}, {"sql", "x"}}), EffectClass::kRead);
}

TEST_F(SqlQueryTest, ReadOnlyDatabaseRefusesWrites) {
  for (const char* sql : {"DELETE FROM orders", "DROP TABLE orders", "CREATE TABLE x(a)",
                          "INSERT INTO orders(customer) VALUES ('eve')"}) {
    EXPECT_FALSE(Query("shop", sql)) << sql;
  }
  // Turning query_only off does not help: the connection itself is read-only.
  (void)Query("shop", "PRAGMA query_only = 0");
  EXPECT_FALSE(Query("shop", "DELETE FROM orders"));
  EXPECT_EQ(Query("shop", "SELECT count(*) AS n FROM orders")->output, "n\n---\n3\n(1 rows)\n");
}

TEST_F(SqlQueryTest, AttachIsRefused) {
  auto result = Query("shop", "ATTACH DATABASE '/etc/passwd' AS other");
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message().find("not authorized"), std::string::npos)
      << result.error().message();
  result = Query("shop_rw", "ATTACH DATABASE '" + (dir_.path() / "new.db").string() + "' AS n");
  ASSERT_FALSE(result);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "new.db"));
}

TEST_F(SqlQueryTest, OneStatementPerCall) {
  auto result = Query("shop", "SELECT 1; DELETE FROM orders");
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message().find("one statement"), std::string::npos);
  EXPECT_TRUE(Query("shop", "SELECT 1;  "));
}

TEST_F(SqlQueryTest, WritableDatabaseIsExternalAndWrites) {
  EXPECT_EQ(tool_->effect(), EffectClass::kExternal);
  EXPECT_EQ(tool_->EffectOf({{"database", "shop_rw"}, {"sql", "x"}}), EffectClass::kExternal);
  auto result = Query("shop_rw", "DELETE FROM orders WHERE customer = 'bob'");
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->output, "OK, 1 rows changed\n");
}

TEST_F(SqlQueryTest, RowCapAndBadInput) {
  options_.max_rows = 2;
  tool_ = MakeSqlQueryTool(options_);
  auto capped = Query("shop", "SELECT id FROM orders");
  ASSERT_TRUE(capped);
  EXPECT_NE(capped->output.find("first 2 rows shown"), std::string::npos);
  auto unknown = Query("nope", "SELECT 1");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message().find("argument 'database'"), std::string::npos);
  auto syntax = Query("shop", "SELEC 1");
  ASSERT_FALSE(syntax);
  EXPECT_NE(syntax.error().message().find("syntax error"), std::string::npos);
}

TEST_F(SqlQueryTest, RunawayQueryHitsTheTimeLimit) {
  options_.timeout_s = 0.3;
  tool_ = MakeSqlQueryTool(options_);
  auto result = Query("shop",
                      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                      "SELECT count(*) FROM n");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace tandem::tools
