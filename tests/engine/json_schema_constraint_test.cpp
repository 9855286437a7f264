#include "tandem/engine/json_schema_constraint.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include "tandem/engine/context.h"
#include "tandem/engine/gguf_reader.h"
#include "tandem/engine/sampler.h"
#include "tandem/engine/synthetic_model.h"
#include "tandem/tools/tools.h"
#include "tandem/tools/tools_config.h"

namespace tandem::engine {
namespace {

using nlohmann::json;

std::filesystem::path VocabPath(std::string_view name) {
  return std::filesystem::path(TANDEM_SHARED_DATA) / "vocab" /
         fmt::format("ggml-vocab-{}.gguf", name);
}

// Vocabularies load once per test binary.
const Vocab* LoadVocab(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Vocab>> cache;
  if (auto it = cache.find(name); it != cache.end()) return it->second.get();
  Result<std::unique_ptr<GgufReader>> gguf = GgufReader::Open(VocabPath(name));
  if (!gguf) return nullptr;
  Result<std::unique_ptr<Vocab>> vocab = Vocab::FromGguf(**gguf);
  if (!vocab) return nullptr;
  return (cache[name] = std::move(*vocab)).get();
}

std::shared_ptr<const TokenTrie> Trie(const std::string& name) {
  static std::map<std::string, std::shared_ptr<const TokenTrie>> cache;
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  const Vocab* vocab = LoadVocab(name);
  if (vocab == nullptr) return nullptr;
  return cache[name] = std::make_shared<const TokenTrie>(*vocab);
}

#define REQUIRE_VOCAB(name)                                                  \
  if (!std::filesystem::exists(VocabPath(name))) {                           \
    GTEST_SKIP() << "shared vocabulary " << VocabPath(name) << " is absent"; \
  }                                                                          \
  ASSERT_NE(LoadVocab(name), nullptr) << "cannot load " << VocabPath(name)

const json kWeatherSchema = json::parse(R"({
  "type": "object",
  "properties": {
    "city": {"type": "string", "minLength": 1, "maxLength": 12},
    "unit": {"enum": ["celsius", "fahrenheit"]},
    "days": {"type": "integer", "minimum": 1, "maximum": 14},
    "hourly": {"type": "boolean"},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 6}, "maxItems": 3},
    "threshold": {"type": ["number", "null"], "minimum": -50, "maximum": 60}
  },
  "required": ["city", "unit"]
})");

std::unique_ptr<JsonSchemaConstraint> Constraint(const json& schema, const std::string& vocab) {
  Result<std::unique_ptr<JsonSchemaConstraint>> c =
      JsonSchemaConstraint::Create(schema, Trie(vocab));
  EXPECT_TRUE(c) << c.error().message();
  return c ? std::move(*c) : nullptr;
}

TEST(TokenTrieTest, SentencePieceSpacesAndByteTokensBecomeTheirBytes) {
  REQUIRE_VOCAB("llama-spm");
  const Vocab& vocab = *LoadVocab("llama-spm");
  std::shared_ptr<const TokenTrie> trie = Trie("llama-spm");
  std::optional<TokenId> newline = vocab.ByteToken('\n');
  ASSERT_TRUE(newline);
  EXPECT_EQ(trie->Bytes(*newline), "\n");
  std::optional<TokenId> the = vocab.Find("\xE2\x96\x81the");  // ▁the
  ASSERT_TRUE(the);
  EXPECT_EQ(trie->Bytes(*the), " the");
  ASSERT_TRUE(vocab.eos());
  EXPECT_EQ(trie->Bytes(*vocab.eos()), "");
  EXPECT_TRUE(trie->IsEndOfGeneration(*vocab.eos()));
  // Every token with bytes sits in the trie exactly once, at the node its bytes lead to.
  size_t in_trie = 0;
  std::vector<std::pair<const TokenTrie::Node*, std::string>> stack = {{&trie->root(), ""}};
  while (!stack.empty()) {
    auto [node, prefix] = stack.back();
    stack.pop_back();
    for (TokenId id : trie->Tokens(*node)) {
      EXPECT_EQ(trie->Bytes(id), prefix);
      ++in_trie;
    }
    for (const TokenTrie::Node& child : trie->Children(*node))
      stack.emplace_back(&child, prefix + static_cast<char>(child.byte));
  }
  size_t with_bytes = 0;
  for (TokenId id = 0; id < trie->n_tokens(); ++id)
    with_bytes += trie->Bytes(id).empty() ? 0 : 1;
  EXPECT_EQ(in_trie, with_bytes);
  EXPECT_GT(with_bytes, 31000u);
}

// The trie walk must agree with one Allows() per token, in every kind of state.
TEST(JsonSchemaConstraintTest, MaskAgreesWithAllowsForEveryToken) {
  for (const char* name : {"llama-spm", "gpt-2"}) {
    REQUIRE_VOCAB(name);
    for (std::string prefix :
         {"", "{", R"({"ci)", R"({"city":)", R"({"city": "Par)", "{\"city\":\"\xE2\x82",
          R"({"city":"a\u00)", R"({"city":"x","unit":"celsius","days":1)",
          R"({"city":"x","unit":"celsius"})"}) {
      std::unique_ptr<JsonSchemaConstraint> c = Constraint(kWeatherSchema, name);
      ASSERT_NE(c, nullptr);
      std::shared_ptr<const TokenTrie> trie = Trie(name);
      // Reach the state through the byte tokens of the prefix.
      for (char ch : prefix) {
        std::optional<TokenId> id = LoadVocab(name)->ByteToken(static_cast<uint8_t>(ch));
        ASSERT_TRUE(id) << name;
        ASSERT_TRUE(c->Allows(*id)) << name << " prefix " << prefix;
        c->Accept(*id);
      }
      ASSERT_EQ(c->text(), prefix);
      std::vector<float> logits(static_cast<size_t>(trie->n_tokens()), 1.0f);
      c->MaskLogits(logits);
      size_t allowed = 0;
      for (TokenId id = 0; id < trie->n_tokens(); ++id) {
        bool masked = std::isinf(logits[static_cast<size_t>(id)]);
        ASSERT_EQ(!masked, c->Allows(id)) << name << " prefix " << prefix << " token " << id;
        allowed += masked ? 0 : 1;
      }
      EXPECT_GT(allowed, 0u) << name << " prefix " << prefix;
    }
  }
}

TEST(JsonSchemaConstraintTest, EndTokenOnlyWhenComplete) {
  REQUIRE_VOCAB("llama-spm");
  const Vocab& vocab = *LoadVocab("llama-spm");
  std::unique_ptr<JsonSchemaConstraint> c = Constraint({{"type", "boolean"}}, "llama-spm");
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->Allows(*vocab.eos()));
  std::optional<TokenId> tr = vocab.Find("tr");
  ASSERT_TRUE(tr);
  for (TokenId id : {*tr, *vocab.ByteToken('u'), *vocab.ByteToken('e')}) {
    EXPECT_FALSE(c->Allows(*vocab.eos()));
    ASSERT_TRUE(c->Allows(id));
    c->Accept(id);
  }
  EXPECT_TRUE(c->IsComplete());
  EXPECT_TRUE(c->Allows(*vocab.eos()));
  std::optional<TokenId> space = vocab.ByteToken(' ');
  ASSERT_TRUE(space);
  EXPECT_FALSE(c->Allows(*space));
}

TEST(JsonSchemaConstraintTest, TokensMayEndInsideAUtf8Sequence) {
  REQUIRE_VOCAB("gpt-2");
  const Vocab& vocab = *LoadVocab("gpt-2");
  std::unique_ptr<JsonSchemaConstraint> c = Constraint({{"type", "string"}}, "gpt-2");
  ASSERT_NE(c, nullptr);
  auto feed = [&](uint8_t byte) {
    std::optional<TokenId> id = vocab.ByteToken(byte);
    if (!id || !c->Allows(*id)) return false;
    c->Accept(*id);
    return true;
  };
  ASSERT_TRUE(feed('"'));
  ASSERT_TRUE(feed(0xE2));  // first byte of "€"
  EXPECT_FALSE(c->Allows(*vocab.ByteToken('"')));
  ASSERT_TRUE(feed(0x82));
  ASSERT_TRUE(feed(0xAC));
  ASSERT_TRUE(feed('"'));
  EXPECT_TRUE(c->IsComplete());
  EXPECT_EQ(json::parse(c->text()), "\xE2\x82\xAC");
}

TEST(JsonSchemaConstraintTest, BadSchemaIsRefusedWithKeywordAndPath) {
  REQUIRE_VOCAB("llama-spm");
  Result<std::unique_ptr<JsonSchemaConstraint>> c = JsonSchemaConstraint::Create(
      json::parse(R"({"type":"object","properties":{"id":{"type":"string","pattern":"^a"}}})"),
      Trie("llama-spm"));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(c.error().message().find("'pattern' at #/properties/id"), std::string::npos)
      << c.error().message();
}

// Every tool this project ships can be called through the local engine's constraint.
TEST(JsonSchemaConstraintTest, EveryBuiltinToolSchemaCompiles) {
  tools::Registry registry;
  ASSERT_TRUE(tools::RegisterBuiltinTools(registry, tools::ToolsConfig{}));
  ASSERT_FALSE(registry.List().empty());
  for (const tools::Tool* tool : registry.List()) {
    Result<std::unique_ptr<JsonGrammar>> grammar = JsonGrammar::Compile(tool->schema(), {});
    EXPECT_TRUE(grammar) << tool->name() << ": " << grammar.error().message();
  }
}

// Random logits, constrained: whatever the model wants, the text is valid.
TEST(ConstrainedSamplerTest, RefusedTokenIsReplacedByAnAllowedOne) {
  REQUIRE_VOCAB("llama-spm");
  const Vocab& vocab = *LoadVocab("llama-spm");
  std::unique_ptr<JsonSchemaConstraint> c = Constraint({{"type", "integer"}}, "llama-spm");
  ASSERT_NE(c, nullptr);
  std::vector<float> logits(static_cast<size_t>(vocab.n_tokens()), 0.0f);
  TokenId letter = *vocab.ByteToken('a');
  logits[static_cast<size_t>(letter)] = 50.0f;  // the model insists on a letter
  for (float temperature : {0.0f, 0.7f}) {
    Sampler sampler({.temperature = temperature, .seed = 5});
    EXPECT_EQ(sampler.Sample(logits, {}), letter);
    TokenId token = sampler.Sample(logits, {}, c.get());
    ASSERT_NE(token, Sampler::kNoToken);
    EXPECT_TRUE(c->Allows(token));
    std::string bytes(Trie("llama-spm")->Bytes(token));
    // Blanks, then an optional minus sign and digits.
    size_t start = bytes.find_first_not_of(" \t\n\r");
    if (start != std::string::npos && bytes[start] == '-') ++start;
    for (size_t i = start; i < bytes.size(); ++i)
      EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(bytes[i]))) << bytes;
  }
}

TEST(ConstrainedSamplerTest, SameSeedSameConstrainedText) {
  REQUIRE_VOCAB("gpt-2");
  std::shared_ptr<const TokenTrie> trie = Trie("gpt-2");
  auto run = [&](uint64_t seed) {
    std::unique_ptr<JsonSchemaConstraint> c = Constraint(kWeatherSchema, "gpt-2");
    Sampler sampler({.temperature = 1.0f, .top_k = 50, .top_p = 1.0f, .min_p = 0.0f, .seed = seed});
    std::mt19937 rng(static_cast<uint32_t>(seed));
    std::normal_distribution<float> normal(0.0f, 3.0f);
    std::vector<float> logits(static_cast<size_t>(trie->n_tokens()));
    for (int i = 0; i < 40 && !c->IsComplete(); ++i) {
      for (float& v : logits)
        v = normal(rng);
      TokenId token = sampler.Sample(logits, {}, c.get());
      if (token == Sampler::kNoToken) break;
      c->Accept(token);
    }
    return c->text();
  };
  std::string first = run(3);
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(run(3), first);
  EXPECT_NE(run(4), first);
}

TEST(ConstrainedSamplerTest, NoAllowedTokenGivesNoToken) {
  class RefuseAll final : public TokenConstraint {
   public:
    bool Allows(TokenId) const override { return false; }
    void Accept(TokenId) override {}
    bool IsComplete() const override { return false; }
  } refuse_all;
  std::vector<float> logits = {0.1f, 0.5f, 0.2f};
  EXPECT_EQ(Sampler({.temperature = 0.0f}).Sample(logits, {}, &refuse_all), Sampler::kNoToken);
  EXPECT_EQ(Sampler({.temperature = 0.9f}).Sample(logits, {}, &refuse_all), Sampler::kNoToken);
}

struct GenerationCase {
  std::string vocab;
  float temperature;
  uint64_t seed;
};

class ConstrainedGenerationTest : public ::testing::TestWithParam<GenerationCase> {};

// Generates with a random-weight model over a real vocabulary until the constraint completes.
std::string Generate(const json& schema, const GenerationCase& param, int max_tokens) {
  const Vocab& vocab = *LoadVocab(param.vocab);
  SyntheticShape shape{.name = "constrained",
                       .n_embd = 64,
                       .n_layer = 1,
                       .n_head = 2,
                       .n_head_kv = 2,
                       .n_ff = 128,
                       .n_vocab = vocab.n_tokens(),
                       .n_ctx = 512};
  Result<std::unique_ptr<Model>> model = MakeSyntheticModel(shape, TensorType::kF32, param.seed);
  EXPECT_TRUE(model) << model.error().message();
  if (!model) return "";
  Context context(**model, {.n_ctx = 512, .n_threads = 1});
  std::unique_ptr<JsonSchemaConstraint> c = Constraint(schema, param.vocab);
  if (!c) return "";
  Sampler sampler({.temperature = param.temperature, .seed = param.seed});
  std::vector<TokenId> history = vocab.Tokenize("Call the tool:", {.add_special = true});
  Result<std::span<const float>> logits = context.Eval(history);
  for (int i = 0; i < max_tokens && logits; ++i) {
    TokenId token = sampler.Sample(*logits, history, c.get());
    EXPECT_NE(token, Sampler::kNoToken) << "dead end after " << c->text();
    if (token == Sampler::kNoToken || vocab.IsEndOfGeneration(token)) break;
    c->Accept(token);
    history.push_back(token);
    logits = context.Eval(std::span<const TokenId>(&token, 1));
  }
  EXPECT_TRUE(logits) << logits.error().message();
  EXPECT_TRUE(c->IsComplete()) << "incomplete: " << c->text();
  ::testing::Test::RecordProperty("text", c->text());  // in --gtest_output=xml reports
  return c->text();
}

TEST_P(ConstrainedGenerationTest, OutputParsesAndValidates) {
  REQUIRE_VOCAB(GetParam().vocab);
  std::string text = Generate(kWeatherSchema, GetParam(), 400);
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(value.is_discarded()) << text;
  Status valid = tools::ValidateArguments(kWeatherSchema, value);
  EXPECT_TRUE(valid) << text << ": " << (valid ? "" : valid.error().message());
}

TEST_P(ConstrainedGenerationTest, ToolChoiceWithRefsAndConst) {
  REQUIRE_VOCAB(GetParam().vocab);
  json schema = json::parse(R"({
    "$defs": {"point": {"type": "object", "properties": {
      "x": {"type": "integer", "minimum": -9, "maximum": 9}, "y": {"type": "integer"}},
      "required": ["x", "y"]}},
    "anyOf": [
      {"type": "object", "properties": {"name": {"const": "move"},
       "arguments": {"$ref": "#/$defs/point"}}, "required": ["name", "arguments"]},
      {"type": "object", "properties": {"name": {"const": "say"},
       "arguments": {"type": "object", "properties": {"text": {"type": "string", "maxLength": 5}},
                     "required": ["text"]}}, "required": ["name", "arguments"]}]})");
  std::string text = Generate(schema, GetParam(), 300);
  json value = json::parse(text, nullptr, false);
  ASSERT_FALSE(value.is_discarded()) << text;
  ASSERT_TRUE(value.contains("name") && value.contains("arguments")) << text;
  json branch = value["name"] == "move" ? schema["$defs"]["point"]
                                        : schema["anyOf"][1]["properties"]["arguments"];
  EXPECT_TRUE(value["name"] == "move" || value["name"] == "say") << text;
  EXPECT_TRUE(tools::ValidateArguments(branch, value["arguments"])) << text;
  EXPECT_EQ(value.size(), 2u) << text;
}

INSTANTIATE_TEST_SUITE_P(
    VocabsSeedsTemperatures, ConstrainedGenerationTest,
    ::testing::Values(GenerationCase{"llama-spm", 0.0f, 1}, GenerationCase{"llama-spm", 0.8f, 2},
                      GenerationCase{"llama-spm", 1.5f, 3}, GenerationCase{"gpt-2", 0.0f, 4},
                      GenerationCase{"gpt-2", 1.0f, 5}, GenerationCase{"phi-3", 0.8f, 6},
                      GenerationCase{"deepseek-coder", 1.2f, 7}),
    [](const ::testing::TestParamInfo<GenerationCase>& param_info) {
      std::string name =
          fmt::format("{}_t{}_s{}", param_info.param.vocab,
                      static_cast<int>(param_info.param.temperature * 10), param_info.param.seed);
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

}  // namespace
}  // namespace tandem::engine
