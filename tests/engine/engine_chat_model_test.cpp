#include "tandem/engine/engine_chat_model.h"

#include <gtest/gtest.h>

#include <cmath>

#include "support/temp_dir.h"
#include "tandem/engine/generator.h"
#include "tiny_chat_model.h"

namespace tandem::engine {
namespace {

std::shared_ptr<const Model> TinyModel(std::string_view tmpl = testing::kChatMlTemplate) {
  Result<std::unique_ptr<GgufReader>> gguf =
      GgufReader::FromOwnedBytes(testing::TinyChatModel(tmpl).Build());
  EXPECT_TRUE(gguf);
  Result<std::unique_ptr<Model>> model = Model::FromGguf(std::move(*gguf));
  EXPECT_TRUE(model) << model.error().message();
  return model ? std::shared_ptr<const Model>(std::move(*model)) : nullptr;
}

// Forces the output to be one fixed text (stands in for a JSON Schema constraint).
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

llm::ChatRequest Hello() {
  llm::ChatRequest request;
  request.messages = {llm::Message::System("Be brief."), llm::Message::User("hello world")};
  request.temperature = 0;
  request.max_tokens = 12;
  return request;
}

TEST(EngineChatModelTest, AnswersWithRealTokenCountsAndStreams) {
  std::shared_ptr<const Model> model = TinyModel();
  ASSERT_NE(model, nullptr);
  EngineChatModel chat(model, {.n_ctx = 128, .n_threads = 1});
  EXPECT_EQ(chat.model_name(), "tiny-chat");
  EXPECT_EQ(chat.chat_template().family(), ChatFamily::kChatMl);
  std::string streamed;
  Result<llm::ChatResponse> r =
      chat.Chat(Hello(), {.stream = true, .on_text = [&](std::string_view s) { streamed += s; }});
  ASSERT_TRUE(r) << r.error().message();
  llm::ChatRequest request = Hello();
  size_t prompt =
      TokenizePrompt(model->vocab(), chat.chat_template().Render(request.messages, {})).size();
  EXPECT_EQ(r->usage.prompt_tokens, static_cast<int64_t>(prompt));
  EXPECT_GT(r->usage.completion_tokens, 0);
  EXPECT_LE(r->usage.completion_tokens, 12);
  EXPECT_FALSE(r->usage.estimated);
  EXPECT_EQ(r->message.role, llm::Role::kAssistant);
  EXPECT_TRUE(r->finish_reason == "length" || r->finish_reason == "stop") << r->finish_reason;
  size_t tail = IncompleteUtf8Tail(r->message.content);
  EXPECT_EQ(streamed, r->message.content.substr(0, r->message.content.size() - tail) +
                          (tail ? "\xEF\xBF\xBD" : ""));
  // Greedy and seeded: the same request gives the same answer.
  Result<llm::ChatResponse> again = chat.Chat(Hello(), {});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->message.content, r->message.content);
}

TEST(EngineChatModelTest, RequiredToolCallIsGeneratedUnderTheConstraint) {
  std::shared_ptr<const Model> model = TinyModel();
  ASSERT_NE(model, nullptr);
  nlohmann::json seen_schema;
  EngineModelOptions options{.n_ctx = 1024, .n_threads = 1};
  options.constraint_factory = [&](const nlohmann::json& schema, const Vocab& vocab) {
    seen_schema = schema;
    return std::make_unique<FixedTextConstraint>(
        vocab, R"({"name": "get_weather", "arguments": {"city": "Paris"}})");
  };
  EngineChatModel chat(model, options);
  llm::ChatRequest request = Hello();
  request.max_tokens = 80;
  request.tools = {
      {.name = "get_weather",
       .description = "Weather",
       .parameters = {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}};
  request.tool_choice = "required";
  Result<llm::ChatResponse> r = chat.Chat(request, {});
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->message.tool_calls.size(), 1u) << r->message.content;
  EXPECT_EQ(r->message.tool_calls[0].name, "get_weather");
  EXPECT_EQ(nlohmann::json::parse(r->message.tool_calls[0].arguments),
            nlohmann::json({{"city", "Paris"}}));
  EXPECT_FALSE(r->message.tool_calls[0].id.empty());
  EXPECT_EQ(r->finish_reason, "tool_calls");
  EXPECT_EQ(seen_schema["properties"]["name"]["const"], "get_weather");
}

// The real JSON Schema constraint on a random model: whatever the weights, the call is valid.
TEST(EngineChatModelTest, ToolCallsFromARandomModelAreValidUnderTheSchema) {
  std::shared_ptr<const Model> model = TinyModel();
  ASSERT_NE(model, nullptr);
  EngineChatModel chat(model, {.n_ctx = 1400, .n_threads = 1});
  llm::ChatRequest request = Hello();
  request.temperature = 0.9;
  request.max_tokens = 500;
  request.tools = {
      {.name = "get_weather",
       .description = "Weather",
       .parameters = {{"type", "object"},
                      {"properties", {{"city", {{"type", "string"}, {"maxLength", 6}}}}},
                      {"required", {"city"}}}},
      {.name = "now", .description = "Time", .parameters = {{"type", "object"}}}};
  request.tool_choice = "required";
  for (int64_t seed : {1, 2, 3}) {
    request.seed = seed;
    Result<llm::ChatResponse> r = chat.Chat(request, {});
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->message.tool_calls.size(), 1u) << r->message.content;
    const llm::ToolCall& call = r->message.tool_calls[0];
    nlohmann::json arguments = nlohmann::json::parse(call.arguments, nullptr, false);
    ASSERT_TRUE(arguments.is_object()) << call.arguments;
    if (call.name == "get_weather") {
      ASSERT_TRUE(arguments.contains("city")) << call.arguments;
      EXPECT_TRUE(arguments["city"].is_string());
      EXPECT_EQ(arguments.size(), 1u);
    } else {
      EXPECT_EQ(call.name, "now");
      EXPECT_TRUE(arguments.empty()) << call.arguments;
    }
  }
}

TEST(EngineChatModelTest, RejectsPromptsLongerThanTheContext) {
  std::shared_ptr<const Model> model = TinyModel();
  ASSERT_NE(model, nullptr);
  EngineChatModel chat(model, {.n_ctx = 16, .n_threads = 1});
  llm::ChatRequest request = Hello();
  request.messages.push_back(llm::Message::User(std::string(200, 'x')));
  Result<llm::ChatResponse> r = chat.Chat(request, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(chat.Chat(llm::ChatRequest{}, {}));
}

TEST(EngineEmbedderTest, UnitVectorsThatDependOnTheText) {
  std::shared_ptr<const Model> model = TinyModel();
  ASSERT_NE(model, nullptr);
  EngineEmbedder embedder(model, {.n_ctx = 64, .n_threads = 1});
  Result<std::vector<std::vector<float>>> v =
      embedder.Embed({"hello world", "the cat", "hello world", ""});
  ASSERT_TRUE(v) << v.error().message();
  ASSERT_EQ(v->size(), 4u);
  for (const std::vector<float>& e : *v) {
    ASSERT_EQ(e.size(), 32u);
    double norm = 0;
    for (float x : e)
      norm += static_cast<double>(x) * x;
    EXPECT_NEAR(norm, 1.0, 1e-4);
  }
  EXPECT_EQ((*v)[0], (*v)[2]);
  EXPECT_NE((*v)[0], (*v)[1]);
}

TEST(EngineChatModelTest, ProviderFactoryLoadsTheConfiguredFile) {
  tandem::testing::TempDir dir;
  std::filesystem::path file = dir.path() / "tiny.gguf";
  ASSERT_TRUE(testing::TinyChatModel(testing::kChatMlTemplate).WriteFile(file));
  Config config;
  ProviderConfig provider{
      .name = "local", .kind = "engine", .model = "tiny", .model_path = file.string()};
  Result<std::unique_ptr<llm::ChatModel>> chat = MakeEngineChatModel(config, provider);
  ASSERT_TRUE(chat) << chat.error().message();
  EXPECT_EQ((*chat)->model_name(), "tiny");
  Result<llm::ChatResponse> r = (*chat)->Chat(Hello(), {});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->model, "tiny");

  provider.model_path = (dir.path() / "missing.gguf").string();
  EXPECT_FALSE(MakeEngineChatModel(config, provider));
}

}  // namespace
}  // namespace tandem::engine
