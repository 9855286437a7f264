// A Tool whose name, description, schema and effect are fixed at construction; the built-in
// tools derive from it and implement Invoke only.
#pragma once

#include <string>

#include "tandem/tools/tools.h"

namespace tandem::tools {

class BasicTool : public Tool {
 public:
  BasicTool(std::string name, std::string description, nlohmann::json schema, EffectClass effect)
      : name_(std::move(name)),
        description_(std::move(description)),
        schema_(std::move(schema)),
        effect_(effect) {}
  std::string_view name() const override { return name_; }
  std::string_view description() const override { return description_; }
  const nlohmann::json& schema() const override { return schema_; }
  EffectClass effect() const override { return effect_; }

 private:
  std::string name_;
  std::string description_;
  nlohmann::json schema_;
  EffectClass effect_;
};

// {"type":"object","properties":...,"required":...,"additionalProperties":false}
nlohmann::json ObjectSchema(nlohmann::json properties, std::vector<std::string> required);

}  // namespace tandem::tools
