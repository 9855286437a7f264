#include "cli.h"

#include <fmt/format.h>

#include "tandem/core/log.h"

namespace tandem::cli {

std::optional<Config> LoadConfigOrReport(CommandState& state) {
  ConfigLoadOptions options;
  if (!state.global.config_path.empty()) options.explicit_path = state.global.config_path;
  Result<Config> config = LoadConfig(options);
  if (!config) {
    state.exit_code = ReportError(config.error(), kExitConfig);
    return std::nullopt;
  }
  std::string level = state.global.log_level.empty() ? config->log.level : state.global.log_level;
  std::string format =
      state.global.log_format.empty() ? config->log.format : state.global.log_format;
  if (Status logging = InitLogging(level, format == "json" ? LogFormat::kJson : LogFormat::kText);
      !logging) {
    state.exit_code = ReportError(logging.error(), kExitConfig);
    return std::nullopt;
  }
  return std::move(*config);
}

std::unique_ptr<store::TaskStore> OpenStoreOrReport(const Config& config, CommandState& state) {
  auto store = store::OpenTaskStore(config);
  if (!store) {
    state.exit_code = ReportError(store.error(), ExitCodeFor(store.error()));
    return nullptr;
  }
  return std::move(*store);
}

std::optional<store::TaskRecord> FindTaskOrReport(store::TaskStore& store, const std::string& id,
                                                  CommandState& state) {
  Result<std::optional<store::TaskRecord>> task = store.GetTask(id);
  if (task && *task) return std::move(**task);
  state.exit_code = ReportError(
      task ? Error(ErrorCode::kNotFound, fmt::format("no task with id {}", id)) : task.error(),
      kExitTaskFailed);
  return std::nullopt;
}

int ReportError(const Error& error, int code) {
  fmt::print(stderr, "error: {}\n", error.message());
  return code;
}

int ExitCodeFor(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kPermissionDenied:
      return kExitRefused;
    case ErrorCode::kFailedPrecondition:
      return kExitConfig;
    default:
      return kExitTaskFailed;
  }
}

}  // namespace tandem::cli
