// sql_query: one SQL statement against a SQLite database named in [tools.sql.databases].
// Read-only (SQLITE_OPEN_READONLY + query_only) unless the database is configured writable, in
// which case the call's effect is `external`. ATTACH is refused so other files cannot be opened.
#pragma once

#include "tandem/tools/tools.h"
#include "tandem/tools/tools_config.h"

namespace tandem::tools {

std::unique_ptr<Tool> MakeSqlQueryTool(const SqlToolOptions& options);

}  // namespace tandem::tools
