// Synthetic models: llama-architecture GGUF files with random weights of a named shape and type,
// built in memory, so the engine can be measured on a machine without downloading weights.
//
//   std::optional<SyntheticShape> shape = FindSyntheticShape("tinyllama-1.1b");
//   Result<std::unique_ptr<Model>> model = MakeSyntheticModel(*shape, TensorType::kQ4_0, 1);
//
// The weights are random bytes in each type's block layout (scales chosen so activations stay
// finite); the text such a model generates means nothing. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/engine/model.h"

namespace tandem::engine {

struct SyntheticShape {
  std::string_view name;
  int n_embd = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int n_ff = 0;
  int n_vocab = 0;
  int n_ctx = 0;
};

std::optional<SyntheticShape> FindSyntheticShape(std::string_view name);
std::vector<std::string_view> SyntheticShapeNames();

// Parses "q4_0", "q8_0", "q4_k", "q6_k", "f16", "bf16", "f32".
std::optional<TensorType> ParseWeightType(std::string_view name);

// Builds the model; the output matrix is untied and uses the type llama-quantize would give it
// (Q6_K for the 4-bit types). kInvalidArgument if the shape does not fit the type's blocks.
[[nodiscard]] Result<std::unique_ptr<Model>> MakeSyntheticModel(const SyntheticShape& shape,
                                                                TensorType type, uint64_t seed);

}  // namespace tandem::engine
