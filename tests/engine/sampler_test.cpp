#include "tandem/engine/sampler.h"

#include <gtest/gtest.h>

namespace tandem::engine {
namespace {

TEST(SamplerTest, GreedyTakesTheLowestIdOnTies) {
  std::vector<float> logits = {0.5f, 2.0f, 2.0f, -1.0f};
  EXPECT_EQ(Sampler({.temperature = 0.0f}).Sample(logits, {}), 1);
  EXPECT_EQ(Argmax(logits), 1);
}

TEST(SamplerTest, SameSeedSameChoicesDifferentSeedsDiffer) {
  std::vector<float> logits(50);
  for (size_t i = 0; i < logits.size(); ++i)
    logits[i] = static_cast<float>(i % 7) * 0.3f;
  SamplerOptions options{.temperature = 1.5f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f};
  auto draw = [&](uint64_t seed) {
    options.seed = seed;
    Sampler sampler(options);
    std::vector<TokenId> out;
    for (int i = 0; i < 40; ++i)
      out.push_back(sampler.Sample(logits, {}));
    return out;
  };
  EXPECT_EQ(draw(7), draw(7));
  EXPECT_NE(draw(7), draw(8));
}

TEST(SamplerTest, TopKOfOneIsGreedy) {
  std::vector<float> logits = {0.1f, 0.2f, 3.0f, 0.3f};
  Sampler sampler({.temperature = 2.0f, .top_k = 1, .seed = 3});
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(sampler.Sample(logits, {}), 2);
}

TEST(SamplerTest, MinPDropsUnlikelyTokens) {
  // Token 1 has probability e^-5 relative to token 0: below min_p = 0.1.
  std::vector<float> logits = {5.0f, 0.0f};
  Sampler sampler({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.1f, .seed = 1});
  for (int i = 0; i < 200; ++i)
    EXPECT_EQ(sampler.Sample(logits, {}), 0);
}

TEST(SamplerTest, RepetitionPenaltyCanChangeTheGreedyChoice) {
  std::vector<float> logits = {2.0f, 1.5f};
  std::vector<TokenId> history = {0, 0};
  EXPECT_EQ(Sampler({.temperature = 0.0f}).Sample(logits, history), 0);
  EXPECT_EQ(Sampler({.temperature = 0.0f, .repeat_penalty = 2.0f}).Sample(logits, history), 1);
  EXPECT_EQ(Sampler({.temperature = 0.0f, .presence_penalty = 1.0f}).Sample(logits, history), 1);
}

}  // namespace
}  // namespace tandem::engine
