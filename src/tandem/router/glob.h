// Path patterns for confidential_paths and rules: '*' and '?' stay within one path segment,
// '**' crosses segments. A relative pattern also matches beneath any directory ("contracts/**"
// matches "/srv/ws/contracts/a.pdf").
#pragma once

#include <string_view>

namespace tandem::router {

// True when `path` matches `pattern`. Backslashes are not separators.
bool GlobMatch(std::string_view pattern, std::string_view path);

}  // namespace tandem::router
