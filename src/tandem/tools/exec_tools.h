// execute_shell and execute_python: run code in the Sandbox with the workspace at /workspace.
#pragma once

#include <memory>
#include <vector>

#include "tandem/tools/sandbox.h"
#include "tandem/tools/tools.h"

namespace tandem::tools {

// execute_shell and execute_python sharing one sandbox.
std::vector<std::unique_ptr<Tool>> MakeExecTools(const SandboxOptions& options);

// Registers execute_shell and execute_python. When the sandbox cannot be created the tools are
// still registered (so they are listed) but every call fails with the sandbox's error.
Status RegisterExecTools(Registry& registry, const SandboxOptions& options);

}  // namespace tandem::tools
