// web_search: SearXNG (JSON API), Brave Search API and a generic JSON endpoint behind one
// interface, tried in configured order until one answers. Results are normalised to
// title, url and snippet. Provider endpoints are configured by the operator, so they are not
// subject to web_fetch's private-address refusal (a local SearXNG is common).
#pragma once

#include "tandem/core/secrets.h"
#include "tandem/tools/tools.h"
#include "tandem/tools/tools_config.h"

namespace tandem::tools {

struct SearchHit {
  std::string title;
  std::string url;
  std::string snippet;
};

std::unique_ptr<Tool> MakeWebSearchTool(const SearchToolOptions& options, const Secrets& secrets);

}  // namespace tandem::tools
