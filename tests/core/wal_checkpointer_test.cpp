#include "tandem/core/wal_checkpointer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <fstream>
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

// The WAL header's two salts (bytes 16-23), which change each time the log is rewound to its
// start.
std::string WalSalts(const fs::path& db_path) {
  std::ifstream wal(db_path.string() + "-wal", std::ios::binary);
  std::string header(24, '\0');
  wal.read(header.data(), static_cast<std::streamsize>(header.size()));
  return header.substr(16);
}

int64_t CountNotes(sqlite3* db) {
  sqlite3_stmt* count = nullptr;
  sqlite3_prepare_v2(db, "SELECT count(*) FROM notes", -1, &count, nullptr);
  int64_t n = sqlite3_step(count) == SQLITE_ROW ? sqlite3_column_int64(count, 0) : -1;
  sqlite3_finalize(count);
  return n;
}

// While the writer pauses, the checkpointer also rewinds the log (the sync of the new header is
// then its own), and the writer's later commits go on from there with nothing lost.
TEST(WalCheckpointerTest, RewindsTheLogWhileTheWriterPauses) {
  testing::TempDir dir;
  fs::path path = dir.path() / "rewind.db";
  Result<sqlite3*> db = Open(path);
  ASSERT_TRUE(db) << db.error().message();
  ASSERT_TRUE(Exec(*db, "CREATE TABLE notes (body TEXT)"));
  auto checkpointer = WalCheckpointer::Start(*db, path, /*wal_pages=*/16);
  ASSERT_TRUE(checkpointer) << checkpointer.error().message();
  const std::string body(3000, 'n');
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(Exec(*db, "INSERT INTO notes VALUES ('" + body + "')"));
  }
  const std::string salts = WalSalts(path);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (WalSalts(path) == salts && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_NE(WalSalts(path), salts) << "the writer paused, yet the log was not rewound";
  ASSERT_TRUE(Exec(*db, "INSERT INTO notes VALUES ('after the rewind')"));
  EXPECT_EQ(CountNotes(*db), 13);
  Close(*db);
  checkpointer->reset();
  Result<sqlite3*> reopened = Open(path);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(CountNotes(*reopened), 13);
  Close(*reopened);
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
  EXPECT_EQ(CountNotes(*reopened), 400);
  Close(*reopened);
}

}  // namespace
}  // namespace tandem::sqlite
