// Moves SQLite's WAL checkpoints off the writing thread. SQLite checkpoints inside the commit
// that crosses the threshold, so one step in ~50 pays several milliseconds of copying and
// syncing; here the writer only signals, and a thread with its own connection checkpoints
// (PASSIVE: it never blocks the writer or readers) once the writer pauses, so the copying does
// not compete with the writer's next commits for the CPU and the disk. After a complete
// checkpoint it also rewinds the log, so the writer's next commit does not pay the sync of the
// new log header either.
//
//   auto checkpointer = WalCheckpointer::Start(db, path);  // after opening `db` in WAL mode
//   ...                                                    // destroy after closing `db`
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "tandem/core/error.h"

struct sqlite3;

namespace tandem::sqlite {

class WalCheckpointer {
 public:
  // Turns off `writer`'s automatic checkpoints and checkpoints `path` in the background once the
  // WAL holds `wal_pages` pages and no commit has come for `quiet`, or at once past twice that
  // size. The writer must be closed before this object is destroyed (its commit hook points
  // here).
  static Result<std::unique_ptr<WalCheckpointer>> Start(
      sqlite3* writer, const std::filesystem::path& path, int wal_pages = 1000,
      std::chrono::microseconds quiet = std::chrono::milliseconds(1));
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

 private:
  WalCheckpointer(sqlite3* connection, int wal_pages, std::chrono::microseconds quiet);
  static int OnCommit(void* self, sqlite3* db, const char* schema, int pages);
  void Loop();
  void RewindLog();

  sqlite3* connection_;  // The checkpointer's own; used only by its thread (and the destructor).
  const int wal_pages_;
  const std::chrono::microseconds quiet_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool pending_ = false;                               // GUARDED_BY(mu_)
  bool urgent_ = false;                                // GUARDED_BY(mu_): do not wait for a pause.
  std::chrono::steady_clock::time_point last_commit_;  // GUARDED_BY(mu_)
  bool stop_ = false;                                  // GUARDED_BY(mu_)
  std::mutex checkpoint_mu_;                           // Held while either side checkpoints.
  std::thread thread_;
};

}  // namespace tandem::sqlite
