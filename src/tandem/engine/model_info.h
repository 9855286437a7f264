// What `tandem model info` shows: a GGUF file's header, hyperparameters, tensor types, tokenizer
// and chat template, as JSON.
//
//   Result<nlohmann::json> info = InspectModelFile("model.gguf");
//
// Thread-safe.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tandem/core/error.h"

namespace tandem::engine {

// Fails only when the file cannot be read or is not valid GGUF. A valid file the engine cannot
// run (a vocabulary-only file, an unsupported architecture) gives "runnable": false and
// "problem": the reason.
[[nodiscard]] Result<nlohmann::json> InspectModelFile(const std::filesystem::path& path);

// A few aligned "key: value" lines for people.
std::string FormatModelInfo(const nlohmann::json& info);

}  // namespace tandem::engine
