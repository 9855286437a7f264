#include "tandem/core/wal_checkpointer.h"

#include <sqlite3.h>

#include "tandem/core/sqlite.h"

namespace tandem::sqlite {
namespace {

constexpr int kWriterTakesOverFactor = 4;

}  // namespace

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(sqlite3* writer,
                                                                const std::filesystem::path& path,
                                                                int wal_pages) {
  Result<sqlite3*> connection = Open(path);
  if (!connection) {
    return std::unexpected(std::move(connection.error()).WithContext("opening the checkpointer"));
  }
  std::unique_ptr<WalCheckpointer> checkpointer(new WalCheckpointer(*connection, wal_pages));
  // Replaces the hook sqlite3_wal_autocheckpoint installs, which is what turns it off.
  sqlite3_wal_hook(writer, &WalCheckpointer::OnCommit, checkpointer.get());
  return checkpointer;
}

WalCheckpointer::WalCheckpointer(sqlite3* connection, int wal_pages)
    : connection_(connection), wal_pages_(wal_pages), thread_([this] { Loop(); }) {}

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
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  {
    std::lock_guard lock(checkpointer->mu_);
    checkpointer->pending_ = true;
  }
  checkpointer->wake_.notify_one();
  return SQLITE_OK;
}

void WalCheckpointer::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return pending_ || stop_; });
    if (stop_) return;
    pending_ = false;
    lock.unlock();
    // PASSIVE copies what it can without waiting for locks; a busy database is retried at the
    // next signal, and the WAL stays valid meanwhile.
    sqlite3_wal_checkpoint_v2(connection_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
  }
}

}  // namespace tandem::sqlite
