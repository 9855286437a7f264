// Putting tasks in the cluster's queue, placed by their taint: a task that has seen sensitive
// data may only run on local workers.
#pragma once

#include "tandem/core/clock.h"
#include "tandem/core/error.h"
#include "tandem/store/task_store.h"

namespace tandem::cluster {

// Local-only once anything sensitive entered the task (its taint only grows); anywhere before.
// A taint that cannot be read counts as sensitive: placement fails closed.
store::Placement PlacementOf(const store::TaskRecord& task);

// Marks the task pending ("queued for a worker") and queues it for the workers its placement
// allows. Fails with kFailedPrecondition for a finished task or one a live worker holds.
Status SubmitToCluster(store::TaskStore& store, store::TaskRecord task, Clock& clock);

}  // namespace tandem::cluster
