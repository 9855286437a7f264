// Sampler: picks the next token from logits — greedy, or temperature sampling narrowed by top-k,
// top-p and min-p, with repetition, frequency and presence penalties — reproducibly from a seed.
//
//   Sampler sampler({.temperature = 0.7f, .seed = 42});
//   TokenId next = sampler.Sample(logits, history);
//   TokenId allowed = sampler.Sample(logits, history, &constraint);  // constrained decoding
//
// Not thread-safe (it owns its random state).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tandem/engine/token_constraint.h"
#include "tandem/engine/vocab.h"

namespace tandem::engine {

struct SamplerOptions {
  float temperature = 0.8f;        // <= 0: greedy (argmax, lowest id on ties)
  int top_k = 40;                  // keep the k most likely tokens; <= 0 keeps all
  float top_p = 0.95f;             // keep the smallest set whose probability reaches p; 1 keeps all
  float min_p = 0.05f;             // drop tokens below min_p x the top probability; 0 keeps all
  float repeat_penalty = 1.0f;     // divide positive (multiply negative) logits of recent tokens
  int repeat_last_n = 64;          // how many recent tokens the penalties look at
  float frequency_penalty = 0.0f;  // subtract count x this from recent tokens' logits
  float presence_penalty = 0.0f;   // subtract this once from every recent token's logit
  uint64_t seed = 0;               // same seed, same logits, same choices
};

class Sampler {
 public:
  explicit Sampler(const SamplerOptions& options);

  // Chooses a token id in [0, logits.size()). `history` is every token seen so far (prompt and
  // output), used by the penalties.
  TokenId Sample(std::span<const float> logits, std::span<const TokenId> history);

  // As above, but the result is a token `constraint` allows (no constraint: as above). The
  // sampled token is checked first; only when the constraint refuses it are all refused tokens
  // masked (TokenConstraint::MaskLogits) and the choice made again among the rest, with the same
  // penalties, temperature and truncation. Returns kNoToken when the constraint allows no token.
  TokenId Sample(std::span<const float> logits, std::span<const TokenId> history,
                 const TokenConstraint* constraint);

  static constexpr TokenId kNoToken = -1;

 private:
  double NextUniform();  // [0, 1)
  std::vector<float> ApplyPenalties(std::span<const float> logits,
                                    std::span<const TokenId> history) const;
  // Picks from adjusted logits; tokens at -infinity are never chosen (kNoToken if all are).
  TokenId Choose(std::span<const float> adjusted);

  SamplerOptions options_;
  uint64_t state_;
};

// Index of the largest value, the lowest index on ties.
TokenId Argmax(std::span<const float> logits);

}  // namespace tandem::engine
