#include "tandem/core/wal_checkpointer.h"

#include <fmt/core.h>
#include <sqlite3.h>

#include "tandem/core/sqlite.h"

namespace tandem::sqlite {
namespace {

// Past this many times the threshold the checkpoint stops waiting for the writer to pause.
constexpr int kUrgentFactor = 2;
constexpr int kWriterTakesOverFactor = 4;

}  // namespace

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(sqlite3* writer,
                                                                const std::filesystem::path& path,
                                                                int wal_pages,
                                                                std::chrono::microseconds quiet) {
  // Its writes only rewind the log, and give way at once to the writer.
  Result<sqlite3*> connection = Open(path, {.busy_timeout_ms = 0});
  if (!connection) {
    return std::unexpected(std::move(connection.error()).WithContext("opening the checkpointer"));
  }
  sqlite3_wal_autocheckpoint(*connection, 0);
  std::unique_ptr<WalCheckpointer> checkpointer(new WalCheckpointer(*connection, wal_pages, quiet));
  // Replaces the hook sqlite3_wal_autocheckpoint installs, which is what turns it off.
  sqlite3_wal_hook(writer, &WalCheckpointer::OnCommit, checkpointer.get());
  return checkpointer;
}

WalCheckpointer::WalCheckpointer(sqlite3* connection, int wal_pages,
                                 std::chrono::microseconds quiet)
    : connection_(connection), wal_pages_(wal_pages), quiet_(quiet), thread_([this] { Loop(); }) {}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
  Close(connection_);
}

int WalCheckpointer::OnCommit(void* self, sqlite3* db, const char* schema, int pages) {
  auto* checkpointer = static_cast<WalCheckpointer*>(self);
  if (pages < checkpointer->wal_pages_) return SQLITE_OK;
  // A writer that never pauses keeps the background checkpoint from ever catching up, and the
  // WAL is only recycled once it has: past this size the writer checkpoints itself, as SQLite
  // would have at the threshold.
  if (pages >= kWriterTakesOverFactor * checkpointer->wal_pages_) {
    // Waits for a background checkpoint in progress, which would make this one a no-op.
    std::lock_guard checkpointing(checkpointer->checkpoint_mu_);
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  bool wake = false;
  {
    std::lock_guard lock(checkpointer->mu_);
    checkpointer->last_commit_ = std::chrono::steady_clock::now();
    bool urgent = pages >= kUrgentFactor * checkpointer->wal_pages_;
    // The thread waits for a pause on its own; it only needs waking for news.
    wake = !checkpointer->pending_ || (urgent && !checkpointer->urgent_);
    checkpointer->pending_ = true;
    checkpointer->urgent_ = urgent;
  }
  if (wake) checkpointer->wake_.notify_one();
  return SQLITE_OK;
}

void WalCheckpointer::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return pending_ || stop_; });
    // Each commit moves the end of the pause further out.
    while (!stop_ && !urgent_ && std::chrono::steady_clock::now() < last_commit_ + quiet_) {
      wake_.wait_until(lock, last_commit_ + quiet_);
    }
    if (stop_) return;
    pending_ = false;
    urgent_ = false;
    lock.unlock();
    std::unique_lock checkpointing(checkpoint_mu_);
    // PASSIVE copies what it can without waiting for locks; a busy database is retried at the
    // next signal, and the WAL stays valid meanwhile.
    int log_frames = 0;
    int copied_frames = 0;
    const bool complete = sqlite3_wal_checkpoint_v2(connection_, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                                    &log_frames, &copied_frames) == SQLITE_OK &&
                          log_frames > 0 && copied_frames == log_frames;
    checkpointing.unlock();
    lock.lock();
    // No commit came while it ran: the writer is probably between transactions.
    if (complete && !pending_ && !stop_) {
      lock.unlock();
      RewindLog();
      lock.lock();
    }
  }
}

void WalCheckpointer::RewindLog() {
  // The first frame written after a complete checkpoint rewinds the log to its start, and
  // SQLite syncs the new log header before going on: done here, that sync (a disk flush, about
  // a millisecond) leaves the writer's next commit. The smallest write there is: user_version
  // set to its own value, in one transaction so that the value cannot change in between.
  // A writer at work makes BEGIN fail at once; its commit then either rewinds the log itself
  // or signals again, and the next pause brings another try.
  if (!Exec(connection_, "BEGIN IMMEDIATE")) return;
  bool written = false;
  if (Result<Statement> version = Statement::Prepare(connection_, "PRAGMA user_version")) {
    Result<bool> row = version->Step();
    if (row && *row) {
      written = static_cast<bool>(
          Exec(connection_, fmt::format("PRAGMA user_version = {}", version->Int(0))));
    }
  }
  if (!written || !Exec(connection_, "COMMIT")) (void)Exec(connection_, "ROLLBACK");
}

}  // namespace tandem::sqlite
