#include <fmt/format.h>

#include "tandem/tools/tools.h"

namespace tandem::tools {

std::string_view EffectClassName(EffectClass effect) {
  switch (effect) {
    case EffectClass::kRead:
      return "read";
    case EffectClass::kWriteWorkspace:
      return "write_workspace";
    case EffectClass::kExternal:
      return "external";
  }
  return "external";
}

EffectClass Tool::EffectOf(const nlohmann::json& /*args*/) const {
  return effect();
}

namespace {

bool IsSnakeCase(std::string_view name) {
  if (name.empty() || name.size() > 64 || !(name[0] >= 'a' && name[0] <= 'z')) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

Status Registry::Register(std::unique_ptr<Tool> tool) {
  if (!tool) return MakeError(ErrorCode::kInvalidArgument, "registering a null tool");
  std::string name(tool->name());
  if (!IsSnakeCase(name)) {
    return MakeError(ErrorCode::kInvalidArgument, "tool name '{}' is not snake_case", name);
  }
  if (tools_.contains(name)) {
    return MakeError(ErrorCode::kAlreadyExists, "tool '{}' is already registered", name);
  }
  tools_.emplace(std::move(name), std::move(tool));
  return {};
}

const Tool* Registry::Find(std::string_view name) const {
  auto it = tools_.find(name);
  return it == tools_.end() ? nullptr : it->second.get();
}

std::vector<const Tool*> Registry::List() const {
  std::vector<const Tool*> out;
  out.reserve(tools_.size());
  for (const auto& [name, tool] : tools_)
    out.push_back(tool.get());
  return out;
}

nlohmann::json Registry::Describe() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, tool] : tools_) {
    out.push_back({{"name", name},
                   {"description", tool->description()},
                   {"effect", EffectClassName(tool->effect())},
                   {"parameters", tool->schema()}});
  }
  return out;
}

Result<ToolResult> Registry::Invoke(std::string_view name, const nlohmann::json& args,
                                    ToolContext& context) const {
  const Tool* tool = Find(name);
  if (!tool) {
    std::string known;
    for (const auto& [key, unused] : tools_)
      known += known.empty() ? key : ", " + key;
    return MakeError(ErrorCode::kNotFound, "unknown tool '{}' (available: {})", name,
                     known.empty() ? "none" : known);
  }
  if (Status valid = ValidateArguments(tool->schema(), args); !valid) {
    return std::unexpected(std::move(valid.error()).WithContext(fmt::format("tool {}", name)));
  }
  if (context.Cancelled()) return MakeError(ErrorCode::kCancelled, "tool {}: cancelled", name);
  return WithContext(tool->Invoke(args, context), fmt::format("tool {}", name));
}

}  // namespace tandem::tools
