// Checks the forward pass against the reference engine's outputs stored in
// shared/data/reference (see its README for the pass rules used here).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/temp_dir.h"
#include "tandem/engine/context.h"
#include "tandem/engine/model.h"
#include "tandem/engine/sampler.h"

namespace tandem::engine {
namespace {

// Float mode decodes every weight row on every call; unoptimised sanitizer builds check a subset
// (three prompts, eight greedy steps) to keep `make test-asan` short.
#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kFloatModePrompts = 3;
constexpr size_t kFloatModeSteps = 8;
#else
constexpr size_t kFloatModePrompts = 6;
constexpr size_t kFloatModeSteps = 24;
#endif

std::filesystem::path ReferenceDir() {
  return std::filesystem::path(TANDEM_SHARED_DATA) / "reference";
}

std::vector<TokenId> TopK(std::span<const float> logits, size_t k) {
  std::vector<TokenId> ids(logits.size());
  for (size_t i = 0; i < ids.size(); ++i)
    ids[i] = static_cast<TokenId>(i);
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(),
                    [&](TokenId a, TokenId b) {
                      float la = logits[static_cast<size_t>(a)];
                      float lb = logits[static_cast<size_t>(b)];
                      return la > lb || (la == lb && a < b);
                    });
  ids.resize(k);
  return ids;
}

std::string HexDecode(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

class ReferenceTest : public ::testing::Test {
 protected:
  void Load(const std::string& variant) {
    std::filesystem::path gguf = ReferenceDir() / ("tiny-llama-" + variant + ".gguf");
    if (!std::filesystem::exists(gguf)) GTEST_SKIP() << "shared data absent: " << gguf;
    Result<std::unique_ptr<Model>> model = Model::Load(gguf);
    ASSERT_TRUE(model) << model.error().message();
    model_ = std::move(*model);
    std::ifstream in(ReferenceDir() / ("reference-tiny-llama-" + variant + ".json"));
    reference_ = nlohmann::json::parse(in);
  }

  // Evaluates a prompt's eval_tokens in a fresh context; returns the last logits.
  std::vector<float> EvalPrompt(Context& context, const nlohmann::json& prompt) {
    context.Reset();
    std::vector<TokenId> tokens = prompt["eval_tokens"].get<std::vector<TokenId>>();
    Result<std::span<const float>> logits = context.Eval(tokens);
    EXPECT_TRUE(logits) << logits.error().message();
    if (!logits) return {};
    return std::vector<float>(logits->begin(), logits->end());
  }

  // 24 greedy steps; returns the generated ids.
  std::vector<TokenId> Greedy(Context& context, std::vector<float> logits, size_t steps) {
    std::vector<TokenId> out;
    for (size_t i = 0; i < steps; ++i) {
      TokenId next = Argmax(logits);
      out.push_back(next);
      if (i + 1 == steps) break;
      Result<std::span<const float>> step = context.Eval(std::span(&next, 1));
      EXPECT_TRUE(step);
      if (!step) break;
      logits.assign(step->begin(), step->end());
    }
    return out;
  }

  // The F32 rules: same top-20 ids (close neighbours may swap), their logits within `tolerance`,
  // and every greedy token.
  void CheckExact(const nlohmann::json& prompts, ComputeMode mode, float tolerance,
                  size_t max_prompts = 6, size_t max_steps = 24) {
    Context context(*model_, {.n_ctx = 512, .n_threads = 2, .mode = mode});
    for (const nlohmann::json& prompt : prompts) {
      if (prompt["index"].get<size_t>() >= max_prompts) break;
      SCOPED_TRACE("prompt " + std::to_string(prompt["index"].get<int>()));
      std::vector<float> logits = EvalPrompt(context, prompt);
      ASSERT_FALSE(logits.empty());
      std::vector<TokenId> top = TopK(logits, 20);
      const nlohmann::json& ref_top = prompt["top20"];
      for (size_t r = 0; r < 20; ++r) {
        TokenId id = ref_top[r][0].get<TokenId>();
        float ref_logit = ref_top[r][1].get<float>();
        EXPECT_NEAR(logits[static_cast<size_t>(id)], ref_logit, tolerance) << "rank " << r;
        if (top[r] != id) {
          // Allowed only as a swap with a neighbour whose reference logit is within 2x tolerance.
          bool swap_ok = false;
          for (size_t nb : {r - 1, r + 1}) {
            if (nb < 20 && ref_top[nb][0].get<TokenId>() == top[r] &&
                std::fabs(ref_top[nb][1].get<float>() - ref_logit) < 2 * tolerance) {
              swap_ok = true;
            }
          }
          EXPECT_TRUE(swap_ok) << "rank " << r << ": got " << top[r] << ", expected " << id;
        }
      }
      std::vector<TokenId> expected = prompt["greedy"]["tokens"].get<std::vector<TokenId>>();
      expected.resize(std::min(expected.size(), max_steps));
      EXPECT_EQ(Greedy(context, logits, expected.size()), expected);
    }
  }

  std::unique_ptr<Model> model_;
  nlohmann::json reference_;
};

TEST_F(ReferenceTest, F32TokensLogitsTopAndGreedyMatch) {
  Load("f32");
  if (!model_) return;
  const ModelParams& p = model_->params();
  EXPECT_EQ(p.n_embd, 256);
  EXPECT_EQ(p.n_head_kv, 2);
  EXPECT_TRUE(p.tied_embeddings);
  Context context(*model_, {.n_ctx = 512, .n_threads = 2});
  for (const nlohmann::json& prompt : reference_["prompts"]) {
    int index = prompt["index"].get<int>();
    SCOPED_TRACE("prompt " + std::to_string(index));
    std::string text = HexDecode(prompt["prompt_utf8_hex"].get<std::string>());
    EXPECT_EQ(model_->vocab().Tokenize(text, {.add_special = true}),
              prompt["tokens"].get<std::vector<TokenId>>());
    std::vector<float> logits = EvalPrompt(context, prompt);
    ASSERT_EQ(logits.size(), 32000u);
    std::string expected_bytes =
        testing::ReadFile(ReferenceDir() / prompt["full_logits_file"].get<std::string>());
    ASSERT_EQ(expected_bytes.size(), 32000 * sizeof(float));
    float max_diff = 0.0f;
    for (size_t i = 0; i < 32000; ++i) {
      float ref;
      std::memcpy(&ref, expected_bytes.data() + i * sizeof(float), sizeof(float));
      max_diff = std::max(max_diff, std::fabs(ref - logits[i]));
    }
    EXPECT_LT(max_diff, 1e-3f);
    std::vector<TokenId> greedy = Greedy(context, logits, 24);
    EXPECT_EQ(greedy, prompt["greedy"]["tokens"].get<std::vector<TokenId>>());
    EXPECT_EQ(model_->vocab().Detokenize(greedy),
              HexDecode(prompt["greedy"]["text_utf8_hex"].get<std::string>()));
  }
  CheckExact(reference_["prompts"], ComputeMode::kNative, 1e-3f);
}

class QuantizedReferenceTest : public ReferenceTest,
                               public ::testing::WithParamInterface<std::string> {};

TEST_P(QuantizedReferenceTest, FloatModeMatchesDequantizedReference) {
  Load(GetParam());
  if (!model_) return;
  CheckExact(reference_["dequantized_f32"]["prompts"], ComputeMode::kFloat, 1e-3f,
             kFloatModePrompts, kFloatModeSteps);
}

TEST_P(QuantizedReferenceTest, NativeModeMatchesWithinTheReadmeGates) {
  Load(GetParam());
  if (!model_) return;
  Context context(*model_, {.n_ctx = 512, .n_threads = 2, .mode = ComputeMode::kNative});
  for (const nlohmann::json& prompt : reference_["prompts"]) {
    SCOPED_TRACE("prompt " + std::to_string(prompt["index"].get<int>()));
    std::vector<float> logits = EvalPrompt(context, prompt);
    ASSERT_FALSE(logits.empty());
    std::vector<TokenId> top = TopK(logits, 20);
    const nlohmann::json& ref_top = prompt["top20"];
    float twentieth = ref_top[19][1].get<float>();
    for (size_t r = 0; r < 20; ++r) {
      TokenId id = ref_top[r][0].get<TokenId>();
      float ref_logit = ref_top[r][1].get<float>();
      EXPECT_NEAR(logits[static_cast<size_t>(id)], ref_logit, 0.3f) << "rank " << r;
      if (ref_logit > twentieth + 0.3f) {
        EXPECT_NE(std::find(top.begin(), top.end(), id), top.end()) << "rank " << r;
      }
    }
    std::vector<TokenId> expected = prompt["greedy"]["tokens"].get<std::vector<TokenId>>();
    std::vector<float> margins = prompt["greedy"]["top1_top2_margins"].get<std::vector<float>>();
    size_t gate = 0;
    while (gate < margins.size() && margins[gate] >= 0.05f)
      ++gate;
    std::vector<TokenId> got = Greedy(context, logits, expected.size());
    for (size_t i = 0; i < gate; ++i)
      EXPECT_EQ(got[i], expected[i]) << "step " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Files, QuantizedReferenceTest,
                         ::testing::Values("q8_0", "q4_0", "q4_k", "q6_k"));

}  // namespace
}  // namespace tandem::engine
