// Process-wide logging on spdlog: human-readable text or JSON lines on stderr.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "tandem/core/error.h"

namespace tandem {

enum class LogFormat { kText, kJson };

// Configures the default logger. `level` is trace|debug|info|warn|error|off.
// Fails with kInvalidArgument for an unknown level. Call once, early, from main().
Status InitLogging(std::string_view level, LogFormat format);

}  // namespace tandem
