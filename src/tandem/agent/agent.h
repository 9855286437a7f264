// agent: the autonomous loop — builds each step's prompt, asks a model through ModelAccess,
// validates and runs one tool call, and persists every step before its side effects.
//
//   Controller controller({.store = store, .models = &access, .tools = &registry});
//   auto task = controller.Create("Summarise notes.md", workspace, options);
//   Result<TaskOutcome> outcome = controller.Run(task->id, options);
#pragma once

#include "tandem/agent/controller.h"    // IWYU pragma: export
#include "tandem/agent/model_access.h"  // IWYU pragma: export
