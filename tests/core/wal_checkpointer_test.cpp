#include "tandem/core/wal_checkpointer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "support/temp_dir.h"
#include "tandem/core/sqlite.h"

namespace tandem::sqlite {
namespace {

namespace fs = std::filesystem;

// Pages reach the database file only through a checkpoint: its growth shows one ran.
TEST(WalCheckpointerTest, CheckpointsInTheBackgroundOnceTheWriterPauses) {
  testing::TempDir dir;
  fs::path path = dir.path() / "wal.db";
  Result<sqlite3*> db = Open(path);
  ASSERT_TRUE(db) << db.error().message();
  ASSERT_TRUE(Exec(*db, "CREATE TABLE notes (body TEXT)"));
  ASSERT_TRUE(Exec(*db, "PRAGMA wal_checkpoint(TRUNCATE)"));
  uintmax_t size_before = fs::file_size(path);
  auto checkpointer = WalCheckpointer::Start(*db, path, /*wal_pages=*/8);
  ASSERT_TRUE(checkpointer) << checkpointer.error().message();
  const std::string body(3000, 'n');
  for (int i = 0; i < 12; ++i) {  // One page each, past the threshold but short of urgent.
    ASSERT_TRUE(Exec(*db, "INSERT INTO notes VALUES ('" + body + "')"));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (fs::file_size(path) == size_before && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GT(fs::file_size(path), size_before);
  Close(*db);
  checkpointer->reset();
}

// A writer that never pauses still gets its WAL checkpointed, and every row survives.
TEST(WalCheckpointerTest, AWriterThatNeverPausesStillGetsCheckpoints) {
  testing::TempDir dir;
  fs::path path = dir.path() / "busy.db";
  Result<sqlite3*> db = Open(path);
  ASSERT_TRUE(db) << db.error().message();
  ASSERT_TRUE(Exec(*db, "CREATE TABLE notes (body TEXT)"));
  // A pause long enough never comes: only the size triggers.
  auto checkpointer = WalCheckpointer::Start(*db, path, /*wal_pages=*/8, std::chrono::hours(1));
  ASSERT_TRUE(checkpointer) << checkpointer.error().message();
  const std::string body(3000, 'n');
  for (int i = 0; i < 400; ++i) {
    ASSERT_TRUE(Exec(*db, "INSERT INTO notes VALUES ('" + body + "')"));
  }
  // Unchecked, the WAL would hold all 400 pages; checkpoints keep it near the threshold.
  EXPECT_LT(fs::file_size(fs::path(path.string() + "-wal")), uintmax_t{100} * 4096);
  Close(*db);
  checkpointer->reset();
  Result<sqlite3*> reopened = Open(path);
  ASSERT_TRUE(reopened);
  sqlite3_stmt* count = nullptr;
  sqlite3_prepare_v2(*reopened, "SELECT count(*) FROM notes", -1, &count, nullptr);
  ASSERT_EQ(sqlite3_step(count), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(count, 0), 400);
  sqlite3_finalize(count);
  Close(*reopened);
}

}  // namespace
}  // namespace tandem::sqlite
