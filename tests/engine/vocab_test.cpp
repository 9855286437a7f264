#include "tandem/engine/vocab.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/temp_dir.h"
#include "tandem/engine/gguf_writer.h"
#include "tandem/engine/pre_tokenizer.h"

namespace tandem::engine {
namespace {

std::filesystem::path VocabDir() {
  return std::filesystem::path(TANDEM_SHARED_DATA) / "vocab";
}

std::vector<std::string> SplitCases(const std::string& content) {
  static const std::string kSeparator = "\n__ggml_vocab_test__\n";
  std::vector<std::string> cases;
  size_t start = 0;
  for (size_t hit = content.find(kSeparator); hit != std::string::npos;
       hit = content.find(kSeparator, start)) {
    cases.push_back(content.substr(start, hit - start));
    start = hit + kSeparator.size();
  }
  return cases;
}

std::vector<std::vector<TokenId>> ReadExpected(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::vector<TokenId>> lines;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ids(line);
    std::vector<TokenId> row;
    TokenId id = 0;
    while (ids >> id)
      row.push_back(id);
    lines.push_back(std::move(row));
  }
  return lines;
}

class VocabFileTest : public ::testing::TestWithParam<std::string> {};

TEST_P(VocabFileTest, EveryReferenceCaseMatchesExactly) {
  std::filesystem::path gguf_path = VocabDir() / ("ggml-vocab-" + GetParam() + ".gguf");
  if (!std::filesystem::exists(gguf_path)) GTEST_SKIP() << "shared data absent: " << gguf_path;
  Result<std::unique_ptr<GgufReader>> gguf = GgufReader::Open(gguf_path);
  ASSERT_TRUE(gguf) << gguf.error().message();
  Result<std::unique_ptr<Vocab>> vocab = Vocab::FromGguf(**gguf);
  ASSERT_TRUE(vocab) << vocab.error().message();
  std::vector<std::string> cases = SplitCases(testing::ReadFile(gguf_path.string() + ".inp"));
  std::vector<std::vector<TokenId>> expected = ReadExpected(gguf_path.string() + ".out");
  ASSERT_EQ(cases.size(), expected.size());
  ASSERT_GT(cases.size(), 40u);
  for (size_t i = 0; i < cases.size(); ++i) {
    std::vector<TokenId> ids = (*vocab)->Tokenize(cases[i], {.add_special = false});
    EXPECT_EQ(ids, expected[i]) << "case " << i << ": '" << cases[i] << "'";
  }
}

INSTANTIATE_TEST_SUITE_P(SharedVocabularies, VocabFileTest,
                         ::testing::Values("llama-spm", "phi-3", "gpt-2", "starcoder",
                                           "deepseek-coder", "falcon"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string name = param_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(PreTokenizerTest, Gpt2KeepsSpacesWithTheFollowingWord) {
  std::vector<std::string_view> words =
      PreTokenize(PreTokenizerKind::kGpt2, "Hello  world's 123!!\n");
  EXPECT_EQ(words,
            (std::vector<std::string_view>{"Hello", " ", " world", "'s", " 123", "!!", "\n"}));
}

TEST(PreTokenizerTest, Llama3GroupsDigitsByThreeAndFoldsContractions) {
  std::vector<std::string_view> words = PreTokenize(PreTokenizerKind::kLlama3, "I'VE 12345\n\n x");
  EXPECT_EQ(words, (std::vector<std::string_view>{"I", "'VE", " ", "123", "45", "\n\n", " x"}));
}

TEST(PreTokenizerTest, PiecesAlwaysCoverTheInputEvenWithInvalidUtf8) {
  std::string text = "a\xFF\xC3 b\xE2\x82";
  for (PreTokenizerKind kind :
       {PreTokenizerKind::kDefault, PreTokenizerKind::kGpt2, PreTokenizerKind::kLlama3,
        PreTokenizerKind::kQwen2, PreTokenizerKind::kStarcoder, PreTokenizerKind::kFalcon,
        PreTokenizerKind::kDeepseekCoder}) {
    std::string joined;
    for (std::string_view w : PreTokenize(kind, text))
      joined += w;
    EXPECT_EQ(joined, text);
  }
}

class SmallVocabTest : public ::testing::Test {
 protected:
  // A tiny SentencePiece vocabulary with byte fallback and two control tokens.
  static std::unique_ptr<Vocab> MakeSpm(bool with_add_bos_key) {
    GgufWriter writer;
    writer.AddString("tokenizer.ggml.model", "llama");
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "<|ctl|>"};
    std::vector<int32_t> types = {2, 3, 3, 3};
    std::vector<float> scores = {0, 0, 0, 0};
    for (int b = 0; b < 256; ++b) {
      tokens.push_back(fmt::format("<0x{:02X}>", b));
      types.push_back(6);
      scores.push_back(0);
    }
    for (std::string t : {"\xE2\x96\x81", "h", "i", "\xE2\x96\x81h", "\xE2\x96\x81hi"}) {
      tokens.push_back(t);
      types.push_back(1);
      scores.push_back(-static_cast<float>(tokens.size()) / 100.0f);
    }
    writer.AddStringArray("tokenizer.ggml.tokens", tokens);
    writer.AddInt32Array("tokenizer.ggml.token_type", types);
    writer.AddFloat32Array("tokenizer.ggml.scores", scores);
    if (with_add_bos_key) writer.AddBool("tokenizer.ggml.add_bos_token", false);
    std::string bytes = writer.Build();
    auto gguf = GgufReader::FromBytes(
        std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    EXPECT_TRUE(gguf);
    auto vocab = Vocab::FromGguf(**gguf);
    EXPECT_TRUE(vocab) << vocab.error().message();
    return std::move(*vocab);
  }
};

TEST_F(SmallVocabTest, MergesByScoreAndFallsBackToBytes) {
  std::unique_ptr<Vocab> vocab = MakeSpm(false);
  TokenId hi = *vocab->Find("\xE2\x96\x81hi");
  std::vector<TokenId> ids = vocab->Tokenize("hi!", {.add_special = true});
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], 1);  // BOS by default for SentencePiece
  EXPECT_EQ(ids[1], hi);
  EXPECT_EQ(ids[2], *vocab->Find("<0x21>"));
  EXPECT_EQ(vocab->Detokenize(ids), " hi!");
}

TEST_F(SmallVocabTest, SpecialTextIsParsedOnlyWhenAsked) {
  std::unique_ptr<Vocab> vocab = MakeSpm(true);
  TokenId ctl = *vocab->Find("<|ctl|>");
  std::vector<TokenId> plain = vocab->Tokenize("<|ctl|>hi", {.add_special = true});
  EXPECT_EQ(std::count(plain.begin(), plain.end(), ctl), 0);
  EXPECT_NE(plain.front(), 1);  // add_bos_token = false in the metadata
  std::vector<TokenId> parsed =
      vocab->Tokenize("<|ctl|>hi", {.add_special = true, .parse_special = true});
  ASSERT_FALSE(parsed.empty());
  EXPECT_EQ(parsed.front(), ctl);
  EXPECT_EQ(vocab->TokenToPiece(ctl), "");
  EXPECT_EQ(vocab->TokenToPiece(ctl, true), "<|ctl|>");
}

TEST(VocabLoadTest, RejectsMalformedTokenizerMetadata) {
  auto load = [](GgufWriter& writer) {
    std::string bytes = writer.Build();
    auto gguf = GgufReader::FromBytes(
        std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    EXPECT_TRUE(gguf);
    return Vocab::FromGguf(**gguf);
  };
  GgufWriter no_model;
  EXPECT_NE(load(no_model).error().message().find("tokenizer.ggml.model"), std::string::npos);
  GgufWriter unknown_model;
  unknown_model.AddString("tokenizer.ggml.model", "bert");
  EXPECT_NE(load(unknown_model).error().message().find("not supported"), std::string::npos);
  GgufWriter mismatch;
  mismatch.AddString("tokenizer.ggml.model", "llama");
  mismatch.AddStringArray("tokenizer.ggml.tokens", {"a", "b"});
  mismatch.AddFloat32Array("tokenizer.ggml.scores", {0.0f});
  EXPECT_NE(load(mismatch).error().message().find("scores"), std::string::npos);
  GgufWriter bad_id;
  bad_id.AddString("tokenizer.ggml.model", "llama");
  bad_id.AddStringArray("tokenizer.ggml.tokens", {"a", "b"});
  bad_id.AddUint32("tokenizer.ggml.bos_token_id", 7);
  EXPECT_NE(load(bad_id).error().message().find("bos_token_id"), std::string::npos);
  GgufWriter bad_merge;
  bad_merge.AddString("tokenizer.ggml.model", "gpt2");
  bad_merge.AddStringArray("tokenizer.ggml.tokens", {"a", "b"});
  bad_merge.AddStringArray("tokenizer.ggml.merges", {"ab"});
  EXPECT_NE(load(bad_merge).error().message().find("merge 0"), std::string::npos);
  GgufWriter bad_pre;
  bad_pre.AddString("tokenizer.ggml.model", "gpt2");
  bad_pre.AddString("tokenizer.ggml.pre", "martian");
  bad_pre.AddStringArray("tokenizer.ggml.tokens", {"a", "b"});
  bad_pre.AddStringArray("tokenizer.ggml.merges", {"a b"});
  EXPECT_NE(load(bad_pre).error().message().find("martian"), std::string::npos);
}

}  // namespace
}  // namespace tandem::engine
