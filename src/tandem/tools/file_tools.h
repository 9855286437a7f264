// The file tools: read_file, write_file, append_file, list_files, search_files, delete_file.
// Each opens the call's workspace (ToolContext::workspace_root) through Workspace, so every path
// is confined by the kernel.
#pragma once

#include "tandem/tools/tools.h"

namespace tandem::tools {

// Registers the six file tools. Fails only if a name is already taken.
Status RegisterFileTools(Registry& registry);

}  // namespace tandem::tools
