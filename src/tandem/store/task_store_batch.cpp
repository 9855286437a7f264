// TaskStore::Batch: write batches over whichever backend's transactions.
#include "tandem/store/task_store.h"

namespace tandem::store {

Result<TaskStore::Batch> TaskStore::BeginBatch() {
  std::unique_lock lock(mu_);
  if (batch_depth_ == 0) {
    if (Status begun = BeginTransaction(); !begun) {
      return std::unexpected(std::move(begun.error()).WithContext("beginning a write batch"));
    }
    batch_abandoned_ = false;
  }
  ++batch_depth_;
  return Batch(this, std::move(lock));
}

Status TaskStore::EndBatch(bool commit) {
  if (!commit) batch_abandoned_ = true;
  if (--batch_depth_ > 0) return {};
  if (batch_abandoned_) {
    RollbackTransaction();
    if (!commit) return {};
    return MakeError(ErrorCode::kFailedPrecondition,
                     "write batch rolled back: a batch inside it ended without committing");
  }
  return CommitTransaction();
}

TaskStore::Batch::~Batch() {
  if (store_ != nullptr) (void)store_->EndBatch(false);
}

Status TaskStore::Batch::Commit() {
  if (store_ == nullptr) return {};
  Status status = std::exchange(store_, nullptr)->EndBatch(true);
  lock_.unlock();
  return status;
}

}  // namespace tandem::store
