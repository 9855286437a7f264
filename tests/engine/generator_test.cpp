#include "tandem/engine/generator.h"

#include <gtest/gtest.h>

#include "tandem/engine/model.h"
#include "tiny_chat_model.h"

namespace tandem::engine {
namespace {

std::unique_ptr<Model> TinyModel() {
  Result<std::unique_ptr<GgufReader>> gguf =
      GgufReader::FromOwnedBytes(testing::TinyChatModel(testing::kChatMlTemplate).Build());
  EXPECT_TRUE(gguf);
  Result<std::unique_ptr<Model>> model = Model::FromGguf(std::move(*gguf));
  EXPECT_TRUE(model) << model.error().message();
  return model ? std::move(*model) : nullptr;
}

// Allows exactly the tokens that continue `target`.
class FixedTextConstraint : public TokenConstraint {
 public:
  FixedTextConstraint(const Vocab& vocab, std::string target)
      : vocab_(vocab), target_(std::move(target)) {}
  bool Allows(TokenId token) const override {
    std::string piece = vocab_.TokenToPiece(token);
    return !piece.empty() && std::string_view(target_).substr(pos_).starts_with(piece);
  }
  void Accept(TokenId token) override { pos_ += vocab_.TokenToPiece(token).size(); }
  bool IsComplete() const override { return pos_ == target_.size(); }

 private:
  const Vocab& vocab_;
  std::string target_;
  size_t pos_ = 0;
};

const std::vector<TokenId> kPrompt = {testing::kImStart, 270, 280, 290};

Generation RunGreedy(const Model& model, GenerateOptions options, std::string* streamed = nullptr) {
  Context context(model, {.n_ctx = 128, .n_threads = 1});
  Sampler sampler({.temperature = 0});
  if (streamed != nullptr) options.on_text = [streamed](std::string_view s) { *streamed += s; };
  Result<Generation> g = Generate(context, sampler, kPrompt, options);
  EXPECT_TRUE(g) << g.error().message();
  return g ? *g : Generation{};
}

TEST(GeneratorTest, GreedyMatchesAHandWrittenLoop) {
  std::unique_ptr<Model> model = TinyModel();
  ASSERT_NE(model, nullptr);
  Generation g = RunGreedy(*model, {.max_tokens = 10, .ignore_eos = true});
  Context context(*model, {.n_ctx = 128, .n_threads = 1});
  Result<std::span<const float>> logits = context.Eval(kPrompt);
  ASSERT_TRUE(logits);
  std::vector<TokenId> expected;
  for (int i = 0; i < 10; ++i) {
    TokenId next = Argmax(*logits);
    expected.push_back(next);
    logits = context.Eval(std::span(&next, 1));
    ASSERT_TRUE(logits);
  }
  EXPECT_EQ(g.tokens, expected);
  EXPECT_EQ(g.text, model->vocab().Detokenize(expected));
  EXPECT_EQ(g.stop_reason, "length");
}

TEST(GeneratorTest, StopStringsEndTheTextAndAreNeverStreamed) {
  std::unique_ptr<Model> model = TinyModel();
  ASSERT_NE(model, nullptr);
  Generation free = RunGreedy(*model, {.max_tokens = 24, .ignore_eos = true});
  ASSERT_GE(free.text.size(), 6u);
  std::string stop = free.text.substr(3, 3);
  size_t first = free.text.find(stop);
  std::string streamed;
  Generation g =
      RunGreedy(*model, {.max_tokens = 24, .stop = {stop}, .ignore_eos = true}, &streamed);
  EXPECT_EQ(g.stop_reason, "stop");
  EXPECT_EQ(g.text, free.text.substr(0, first));
  EXPECT_EQ(streamed.find(stop), std::string::npos);
  // Streamed text is the final text (an incomplete UTF-8 tail comes as U+FFFD).
  size_t tail = IncompleteUtf8Tail(g.text);
  EXPECT_EQ(streamed, g.text.substr(0, g.text.size() - tail) + (tail ? "\xEF\xBF\xBD" : ""));
}

TEST(GeneratorTest, EndTokensAndCancellation) {
  std::unique_ptr<Model> model = TinyModel();
  ASSERT_NE(model, nullptr);
  Generation free = RunGreedy(*model, {.max_tokens = 1, .ignore_eos = true});
  ASSERT_EQ(free.tokens.size(), 1u);
  Generation ended = RunGreedy(*model, {.max_tokens = 5, .end_tokens = {free.tokens[0]}});
  EXPECT_EQ(ended.stop_reason, "eos");
  EXPECT_TRUE(ended.tokens.empty());

  CancellationToken cancel;
  cancel.Cancel();
  Context context(*model, {.n_ctx = 64, .n_threads = 1});
  Sampler sampler({.temperature = 0});
  Result<Generation> g = Generate(context, sampler, kPrompt, {.cancel = &cancel});
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code(), ErrorCode::kCancelled);
  EXPECT_FALSE(Generate(context, sampler, {}, {}));
}

TEST(GeneratorTest, ConstraintDecidesEveryToken) {
  std::unique_ptr<Model> model = TinyModel();
  ASSERT_NE(model, nullptr);
  FixedTextConstraint constraint(model->vocab(), "{\"hello\": \"world\"}");
  std::string streamed;
  Generation g = RunGreedy(*model, {.max_tokens = 40, .constraint = &constraint}, &streamed);
  EXPECT_EQ(g.text, "{\"hello\": \"world\"}");
  EXPECT_EQ(g.stop_reason, "stop");
  EXPECT_EQ(streamed, g.text);
}

TEST(GeneratorTest, TriggeredConstraintStartsAfterItsTrigger) {
  std::unique_ptr<Model> model = TinyModel();
  ASSERT_NE(model, nullptr);
  Generation free = RunGreedy(*model, {.max_tokens = 1, .ignore_eos = true});
  std::string trigger = free.text;
  ASSERT_FALSE(trigger.empty());
  FixedTextConstraint constraint(model->vocab(), "hello");
  Generation g = RunGreedy(*model, {.max_tokens = 12,
                                    .ignore_eos = true,
                                    .constraint = &constraint,
                                    .constraint_trigger = trigger});
  EXPECT_TRUE(g.text.starts_with(trigger + "hello")) << g.text;
  EXPECT_TRUE(constraint.IsComplete());
}

TEST(GeneratorTest, IncompleteUtf8Tail) {
  EXPECT_EQ(IncompleteUtf8Tail("abc"), 0u);
  EXPECT_EQ(IncompleteUtf8Tail("a\xE2\x96"), 2u);
  EXPECT_EQ(IncompleteUtf8Tail("a\xE2\x96\x81"), 0u);
  EXPECT_EQ(IncompleteUtf8Tail("\xF0\x9F"), 2u);
  EXPECT_EQ(IncompleteUtf8Tail("\xC3"), 1u);
  EXPECT_EQ(IncompleteUtf8Tail(""), 0u);
}

}  // namespace
}  // namespace tandem::engine
