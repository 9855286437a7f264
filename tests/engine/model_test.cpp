#include "tandem/engine/model.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tandem/engine/context.h"
#include "tandem/engine/gguf_writer.h"
#include "tandem/engine/sampler.h"
#include "tandem/engine/synthetic_model.h"

namespace tandem::engine {
namespace {

std::unique_ptr<Model> Synthetic(TensorType type) {
  Result<std::unique_ptr<Model>> model = MakeSyntheticModel(*FindSyntheticShape("tiny"), type, 4);
  EXPECT_TRUE(model) << model.error().message();
  return model ? std::move(*model) : nullptr;
}

class SyntheticModelTest : public ::testing::TestWithParam<TensorType> {};

TEST_P(SyntheticModelTest, LoadsAndProducesFiniteLogits) {
  std::unique_ptr<Model> model = Synthetic(GetParam());
  ASSERT_NE(model, nullptr);
  EXPECT_FALSE(model->params().tied_embeddings);
  Context context(*model, {.n_ctx = 32, .n_threads = 2});
  std::vector<TokenId> prompt = {1, 300, 301, 302};
  Result<std::span<const float>> logits = context.Eval(prompt);
  ASSERT_TRUE(logits) << logits.error().message();
  ASSERT_EQ(logits->size(), 1024u);
  for (float v : *logits)
    ASSERT_TRUE(std::isfinite(v));
  EXPECT_EQ(context.n_past(), 4);
}

INSTANTIATE_TEST_SUITE_P(Types, SyntheticModelTest,
                         ::testing::Values(TensorType::kQ4_0, TensorType::kQ8_0, TensorType::kQ4_K,
                                           TensorType::kQ6_K, TensorType::kF16, TensorType::kBF16,
                                           TensorType::kF32),
                         [](const ::testing::TestParamInfo<TensorType>& param_info) {
                           return std::string(TensorTypeName(param_info.param));
                         });

TEST(ModelTest, ElementsPerTokenCountsEveryMatrixOnce) {
  std::unique_ptr<Model> model = Synthetic(TensorType::kQ8_0);
  ASSERT_NE(model, nullptr);
  // tiny: 256 wide, 2 layers, K and V 128 wide, a 512-wide feed-forward, 1024 tokens.
  const uint64_t per_layer = 2 * 256 * 256 + 2 * 128 * 256 + 3 * 512 * 256;
  const Model::MatrixElements elements = model->ElementsPerToken();
  EXPECT_EQ(elements.layers, 2 * per_layer);
  EXPECT_EQ(elements.output, 1024u * 256);
}

TEST(ContextTest, BatchedPromptMatchesTokenByToken) {
  std::unique_ptr<Model> model = Synthetic(TensorType::kF32);
  ASSERT_NE(model, nullptr);
  std::vector<TokenId> prompt = {1, 500, 17, 900, 33, 34};
  Context whole(*model, {.n_ctx = 16, .n_threads = 2});
  Result<std::span<const float>> all = whole.Eval(prompt);
  ASSERT_TRUE(all);
  std::vector<float> expected(all->begin(), all->end());
  Context stepwise(*model, {.n_ctx = 16, .n_threads = 1, .n_batch = 1});
  Result<std::span<const float>> last = stepwise.Eval(prompt);
  ASSERT_TRUE(last);
  float worst = 0.0f;
  for (size_t i = 0; i < expected.size(); ++i) {
    worst = std::max(worst, std::fabs(expected[i] - (*last)[i]));
  }
  EXPECT_LT(worst, 1e-4f);
}

TEST(ContextTest, RejectsBadBatchesAndAFullWindow) {
  std::unique_ptr<Model> model = Synthetic(TensorType::kQ8_0);
  ASSERT_NE(model, nullptr);
  Context context(*model, {.n_ctx = 4, .n_threads = 1});
  EXPECT_EQ(context.Eval({}).error().code(), ErrorCode::kInvalidArgument);
  std::vector<TokenId> bad = {1, 1024};
  EXPECT_EQ(context.Eval(bad).error().code(), ErrorCode::kInvalidArgument);
  std::vector<TokenId> negative = {-1};
  EXPECT_FALSE(context.Eval(negative));
  std::vector<TokenId> four = {1, 2, 3, 4};
  ASSERT_TRUE(context.Eval(four));
  std::vector<TokenId> one = {5};
  Result<std::span<const float>> full = context.Eval(one);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code(), ErrorCode::kFailedPrecondition);
  context.Reset();
  EXPECT_TRUE(context.Eval(one));
}

// A minimal llama file: tiny vocabulary and tensors, with hooks to break it.
class ModelLoadTest : public ::testing::Test {
 protected:
  static std::string Floats(size_t n, float v) {
    std::vector<float> values(n, v);
    return std::string(reinterpret_cast<const char*>(values.data()), n * sizeof(float));
  }

  static GgufWriter Valid(std::string_view arch = "llama", bool skip_q = false,
                          uint64_t q_rows = 32) {
    GgufWriter w;
    w.AddString("general.architecture", arch);
    std::string p = std::string(arch) + ".";
    w.AddUint32(p + "embedding_length", 32);
    w.AddUint32(p + "block_count", 1);
    w.AddUint32(p + "feed_forward_length", 64);
    w.AddUint32(p + "attention.head_count", 4);
    w.AddString("tokenizer.ggml.model", "llama");
    std::vector<std::string> tokens;
    for (int i = 0; i < 16; ++i)
      tokens.push_back("t" + std::to_string(i));
    w.AddStringArray("tokenizer.ggml.tokens", tokens);
    w.AddTensor("token_embd.weight", TensorType::kF32, {32, 16}, Floats(32 * 16, 0.01f));
    w.AddTensor("output_norm.weight", TensorType::kF32, {32}, Floats(32, 1.0f));
    w.AddTensor("blk.0.attn_norm.weight", TensorType::kF32, {32}, Floats(32, 1.0f));
    w.AddTensor("blk.0.ffn_norm.weight", TensorType::kF32, {32}, Floats(32, 1.0f));
    if (!skip_q) {
      w.AddTensor("blk.0.attn_q.weight", TensorType::kF32, {32, q_rows},
                  Floats(32 * q_rows, 0.01f));
    }
    for (const char* name : {"attn_k", "attn_v", "attn_output"}) {
      w.AddTensor(std::string("blk.0.") + name + ".weight", TensorType::kF32, {32, 32},
                  Floats(32 * 32, 0.01f));
    }
    w.AddTensor("blk.0.ffn_gate.weight", TensorType::kF32, {32, 64}, Floats(32 * 64, 0.01f));
    w.AddTensor("blk.0.ffn_up.weight", TensorType::kF32, {32, 64}, Floats(32 * 64, 0.01f));
    w.AddTensor("blk.0.ffn_down.weight", TensorType::kF32, {64, 32}, Floats(64 * 32, 0.01f));
    return w;
  }

  static Result<std::unique_ptr<Model>> Load(const GgufWriter& writer) {
    Result<std::unique_ptr<GgufReader>> gguf = GgufReader::FromOwnedBytes(writer.Build());
    EXPECT_TRUE(gguf);
    return Model::FromGguf(std::move(*gguf));
  }
};

TEST_F(ModelLoadTest, MinimalFileLoadsWithDefaultsForOptionalKeys) {
  Result<std::unique_ptr<Model>> model = Load(Valid());
  ASSERT_TRUE(model) << model.error().message();
  const ModelParams& p = (*model)->params();
  EXPECT_EQ(p.n_head_kv, 4);  // defaults to head_count
  EXPECT_EQ(p.head_dim, 8);
  EXPECT_EQ(p.n_rot, 8);
  EXPECT_FLOAT_EQ(p.rms_norm_eps, 1e-5f);
  EXPECT_TRUE(p.tied_embeddings);
  Context context(**model, {.n_ctx = 8, .n_threads = 1});
  std::vector<TokenId> prompt = {1, 2};
  EXPECT_TRUE(context.Eval(prompt));
}

TEST_F(ModelLoadTest, NamesTheProblemInBrokenFiles) {
  auto message = [](const Result<std::unique_ptr<Model>>& r) {
    return r ? std::string("loaded") : r.error().message();
  };
  EXPECT_NE(message(Load(Valid("gpt-neox"))).find("not supported"), std::string::npos);
  EXPECT_NE(message(Load(Valid("llama", true))).find("blk.0.attn_q.weight' is missing"),
            std::string::npos);
  EXPECT_NE(message(Load(Valid("llama", false, 16))).find("has shape [32, 16]"), std::string::npos);
  GgufWriter no_heads = Valid();
  no_heads.AddUint32("llama.attention.head_count_kv", 3);
  EXPECT_NE(message(Load(no_heads)).find("cannot share"), std::string::npos);
  GgufWriter bad_eps = Valid();
  bad_eps.AddString("llama.attention.layer_norm_rms_epsilon", "tiny");
  EXPECT_NE(message(Load(bad_eps)).find("layer_norm_rms_epsilon"), std::string::npos);
}

}  // namespace
}  // namespace tandem::engine
