#include "tandem/core/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <nlohmann/json.hpp>

namespace tandem {
namespace {

// Formats each record as one JSON object, escaping the message properly (a pattern string
// cannot: messages may contain quotes and newlines).
class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto seconds = std::chrono::duration<double>(msg.time.time_since_epoch()).count();
    nlohmann::ordered_json line = {
        {"ts", seconds},
        {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                              spdlog::level::to_string_view(msg.level).size())},
        {"msg", std::string(msg.payload.data(), msg.payload.size())}};
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

Status InitLogging(std::string_view level, LogFormat format) {
  spdlog::level::level_enum parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return MakeError(ErrorCode::kInvalidArgument,
                     "unknown log level '{}' (expected trace, debug, info, warn, error or off)",
                     level);
  }
  auto logger =
      std::make_shared<spdlog::logger>("tandem", std::make_shared<spdlog::sinks::stderr_sink_st>());
  if (format == LogFormat::kJson) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%^%l%$: %v");
  }
  logger->set_level(parsed);
  spdlog::set_default_logger(logger);
  return {};
}

}  // namespace tandem
