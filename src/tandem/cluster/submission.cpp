#include "tandem/cluster/submission.h"

#include "tandem/router/taint.h"

namespace tandem::cluster {

store::Placement PlacementOf(const store::TaskRecord& task) {
  Result<router::TaintState> taint = router::TaintState::FromJson(task.taint);
  return !taint || taint->tainted() ? store::Placement::kLocalOnly : store::Placement::kAnywhere;
}

Status SubmitToCluster(store::TaskStore& store, store::TaskRecord task, Clock& clock) {
  if (task.status == store::TaskStatus::kSucceeded) {
    return MakeError(ErrorCode::kFailedPrecondition, "task {} already finished", task.id);
  }
  int64_t now_ms = ToUnixMillis(clock.Now());
  Result<store::TaskStore::Batch> batch = store.BeginBatch();
  if (!batch) return std::unexpected(batch.error());
  task.status = store::TaskStatus::kPending;
  task.stop_reason = "queued for a worker";
  task.updated_at_ms = now_ms;
  if (Status saved = store.UpdateTask(task); !saved) return saved;
  if (Status queued = store.SubmitTask(task.id, PlacementOf(task), now_ms); !queued) {
    return queued;
  }
  return batch->Commit();
}

}  // namespace tandem::cluster
