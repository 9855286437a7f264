#include "tandem/engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace tandem::engine {

TokenId Argmax(std::span<const float> logits) {
  size_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return static_cast<TokenId>(best);
}

Sampler::Sampler(const SamplerOptions& options)
    : options_(options), state_(options.seed ^ 0x9E3779B97F4A7C15ULL) {}

double Sampler::NextUniform() {
  // splitmix64: small, fast and identical on every platform.
  state_ += 0x9E3779B97F4A7C15ULL;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

std::vector<float> Sampler::ApplyPenalties(std::span<const float> logits,
                                           std::span<const TokenId> history) const {
  std::vector<float> adjusted(logits.begin(), logits.end());
  // Penalties over the recent window.
  if (options_.repeat_last_n != 0 &&
      (options_.repeat_penalty != 1.0f || options_.frequency_penalty != 0.0f ||
       options_.presence_penalty != 0.0f)) {
    size_t window = options_.repeat_last_n < 0
                        ? history.size()
                        : std::min(history.size(), static_cast<size_t>(options_.repeat_last_n));
    std::unordered_map<TokenId, int> counts;
    for (TokenId id : history.subspan(history.size() - window))
      ++counts[id];
    for (auto [id, count] : counts) {
      if (id < 0 || static_cast<size_t>(id) >= adjusted.size()) continue;
      float& l = adjusted[static_cast<size_t>(id)];
      l = l > 0 ? l / options_.repeat_penalty : l * options_.repeat_penalty;
      l -= static_cast<float>(count) * options_.frequency_penalty + options_.presence_penalty;
    }
  }
  return adjusted;
}

TokenId Sampler::Sample(std::span<const float> logits, std::span<const TokenId> history) {
  if (logits.empty()) return kNoToken;
  return Choose(ApplyPenalties(logits, history));
}

TokenId Sampler::Sample(std::span<const float> logits, std::span<const TokenId> history,
                        const TokenConstraint* constraint) {
  if (logits.empty()) return kNoToken;
  std::vector<float> adjusted = ApplyPenalties(logits, history);
  TokenId token = Choose(adjusted);
  if (constraint == nullptr || (token != kNoToken && constraint->Allows(token))) return token;
  constraint->MaskLogits(adjusted);
  return Choose(adjusted);
}

TokenId Sampler::Choose(std::span<const float> adjusted) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  if (options_.temperature <= 0.0f) {
    TokenId best = Argmax(adjusted);
    return adjusted[static_cast<size_t>(best)] == kNegInf ? kNoToken : best;
  }

  std::vector<TokenId> ids(adjusted.size());
  for (size_t i = 0; i < ids.size(); ++i)
    ids[i] = static_cast<TokenId>(i);
  auto by_logit = [&](TokenId a, TokenId b) {
    float la = adjusted[static_cast<size_t>(a)], lb = adjusted[static_cast<size_t>(b)];
    return la > lb || (la == lb && a < b);
  };
  size_t keep = ids.size();
  if (options_.top_k > 0) keep = std::min(keep, static_cast<size_t>(options_.top_k));
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(keep), ids.end(),
                    by_logit);
  ids.resize(keep);
  if (adjusted[static_cast<size_t>(ids[0])] == kNegInf) return kNoToken;
  // Softmax at the temperature over the candidates (sorted, most likely first).
  std::vector<double> probs(keep);
  const double top = adjusted[static_cast<size_t>(ids[0])];
  double sum = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    probs[i] = std::exp((adjusted[static_cast<size_t>(ids[i])] - top) / options_.temperature);
    sum += probs[i];
  }
  for (double& p : probs)
    p /= sum;
  // min-p relative to the most likely candidate, then top-p.
  size_t n = keep;
  if (options_.min_p > 0.0f) {
    size_t i = 1;
    while (i < n && probs[i] >= options_.min_p * probs[0])
      ++i;
    n = i;
  }
  if (options_.top_p < 1.0f) {
    double cumulative = 0.0;
    size_t i = 0;
    while (i < n) {
      cumulative += probs[i++];
      if (cumulative >= options_.top_p) break;
    }
    n = i;
  }
  double total = 0.0;
  for (size_t i = 0; i < n; ++i)
    total += probs[i];
  double r = NextUniform() * total;
  for (size_t i = 0; i < n; ++i) {
    r -= probs[i];
    if (r < 0.0) return ids[i];
  }
  // Rounding left r >= 0: the last candidate that has any probability.
  while (n > 1 && probs[n - 1] == 0.0)
    --n;
  return ids[n - 1];
}

}  // namespace tandem::engine
