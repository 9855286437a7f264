// RegisterBuiltinTools: every tool this module ships, minus those disabled in configuration.
#include <algorithm>

#include "tandem/tools/exec_tools.h"
#include "tandem/tools/file_tools.h"
#include "tandem/tools/send_email.h"
#include "tandem/tools/sql_query.h"
#include "tandem/tools/tools_config.h"
#include "tandem/tools/web_fetch.h"
#include "tandem/tools/web_search.h"

namespace tandem::tools {

Status RegisterBuiltinTools(Registry& registry, const ToolsConfig& config) {
  std::vector<std::unique_ptr<Tool>> tools = MakeFileTools();
  for (auto& tool : MakeExecTools(config.sandbox))
    tools.push_back(std::move(tool));
  tools.push_back(MakeWebFetchTool(config.fetch));
  tools.push_back(MakeWebSearchTool(config.search, config.secrets));
  tools.push_back(MakeSqlQueryTool(config.sql));
  tools.push_back(MakeSendEmailTool(config.email, config.secrets));
  for (auto& tool : tools) {
    bool disabled = std::find(config.disabled.begin(), config.disabled.end(), tool->name()) !=
                    config.disabled.end();
    if (disabled) continue;
    if (Status ok = registry.Register(std::move(tool)); !ok) return ok;
  }
  return {};
}

}  // namespace tandem::tools
