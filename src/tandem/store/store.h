// store: durable task state — tasks, steps, events, artifacts, audit records and ledger rows —
// on SQLite now (PostgreSQL later), behind TaskStore.
//
//   auto store = TaskStore::Open(home / "tandem.db");
//   (*store)->CreateTask({.id = NewId(), .goal = "..."});
#pragma once

#include "tandem/store/records.h"         // IWYU pragma: export
#include "tandem/store/schedule_store.h"  // IWYU pragma: export
#include "tandem/store/task_store.h"      // IWYU pragma: export
