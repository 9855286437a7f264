// End to end: the project's own OpenAiClient against `tandem model serve`'s server, on a tiny
// model written by the GGUF writer.
#include "tandem/engine/openai_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include "tandem/llm/openai_client.h"
#include "tiny_chat_model.h"

namespace tandem::engine {
namespace {

std::shared_ptr<const Model> TinyModel() {
  Result<std::unique_ptr<GgufReader>> gguf =
      GgufReader::FromOwnedBytes(testing::TinyChatModel(testing::kChatMlTemplate).Build());
  EXPECT_TRUE(gguf);
  Result<std::unique_ptr<Model>> model = Model::FromGguf(std::move(*gguf));
  EXPECT_TRUE(model) << model.error().message();
  return model ? std::shared_ptr<const Model>(std::move(*model)) : nullptr;
}

// Text as it survives JSON transport (invalid UTF-8 replaced by U+FFFD).
std::string Sanitized(const std::string& text) {
  return nlohmann::json::parse(
             nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
      .get<std::string>();
}

llm::ChatRequest Hello() {
  llm::ChatRequest request;
  request.messages = {llm::Message::User("hello world")};
  request.temperature = 0;
  request.max_tokens = 10;
  return request;
}

class OpenAiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = TinyModel();
    ASSERT_NE(model_, nullptr);
    server_ =
        std::make_unique<EngineServer>(model_, EngineModelOptions{.n_ctx = 1024, .n_threads = 1});
    Result<int> port = server_->Start("127.0.0.1", 0);
    ASSERT_TRUE(port) << port.error().message();
    port_ = *port;
  }
  llm::OpenAiClient Client(bool streaming) {
    llm::OpenAiClientOptions options;
    options.base_url = "http://127.0.0.1:" + std::to_string(port_) + "/v1";
    options.model = "tiny-chat";
    options.capabilities.streaming = streaming;
    options.retry.max_attempts = 1;
    return llm::OpenAiClient(options);
  }

  std::shared_ptr<const Model> model_;
  std::unique_ptr<EngineServer> server_;
  int port_ = 0;
};

TEST_F(OpenAiServerTest, ChatCompletionsMatchTheInProcessModel) {
  EngineChatModel direct(model_, {.n_ctx = 128, .n_threads = 1});
  Result<llm::ChatResponse> expected = direct.Chat(Hello(), {});
  ASSERT_TRUE(expected) << expected.error().message();

  llm::OpenAiClient client = Client(false);
  Result<llm::ChatResponse> r = client.Chat(Hello(), {});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->message.content, Sanitized(expected->message.content));
  EXPECT_EQ(r->usage.prompt_tokens, expected->usage.prompt_tokens);
  EXPECT_EQ(r->usage.completion_tokens, expected->usage.completion_tokens);
  EXPECT_EQ(r->finish_reason, expected->finish_reason);
  EXPECT_EQ(r->model, "tiny-chat");

  Result<std::vector<std::string>> models = client.ListModels();
  ASSERT_TRUE(models) << models.error().message();
  EXPECT_EQ(*models, std::vector<std::string>{"tiny-chat"});
}

TEST_F(OpenAiServerTest, StreamedAnswerIsTheSameAnswer) {
  EngineChatModel direct(model_, {.n_ctx = 128, .n_threads = 1});
  Result<llm::ChatResponse> expected = direct.Chat(Hello(), {});
  ASSERT_TRUE(expected);

  llm::OpenAiClient client = Client(true);
  std::string streamed;
  Result<llm::ChatResponse> r =
      client.Chat(Hello(), {.stream = true, .on_text = [&](std::string_view s) { streamed += s; }});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->message.content, Sanitized(expected->message.content));
  EXPECT_EQ(r->message.content, streamed);
  EXPECT_EQ(r->usage.completion_tokens, expected->usage.completion_tokens);
  EXPECT_EQ(r->finish_reason, expected->finish_reason);
}

TEST_F(OpenAiServerTest, ToolCallsComeBackValidStreamedOrNot) {
  llm::ChatRequest request = Hello();
  request.temperature = 0.8;
  request.seed = 5;
  request.max_tokens = 300;
  request.tools = {
      {.name = "lookup",
       .description = "Look a word up",
       .parameters = {{"type", "object"},
                      {"properties", {{"word", {{"type", "string"}, {"maxLength", 5}}}}},
                      {"required", {"word"}}}}};
  request.tool_choice = "required";
  for (bool stream : {false, true}) {
    llm::OpenAiClient client = Client(stream);
    Result<llm::ChatResponse> r = client.Chat(request, {.stream = stream});
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->message.tool_calls.size(), 1u) << r->message.content;
    EXPECT_EQ(r->message.tool_calls[0].name, "lookup");
    nlohmann::json arguments =
        nlohmann::json::parse(r->message.tool_calls[0].arguments, nullptr, false);
    ASSERT_TRUE(arguments.is_object()) << r->message.tool_calls[0].arguments;
    EXPECT_TRUE(arguments["word"].is_string());
    EXPECT_EQ(r->finish_reason, "tool_calls");
  }
}

TEST_F(OpenAiServerTest, EmbeddingsAndBadRequests) {
  httplib::Client http("127.0.0.1", port_);
  httplib::Result res =
      http.Post("/v1/embeddings", R"({"input": ["hello world", "the cat"]})", "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  nlohmann::json body = nlohmann::json::parse(res->body);
  ASSERT_EQ(body["data"].size(), 2u);
  EXPECT_EQ(body["data"][0]["embedding"].size(), 32u);
  EXPECT_EQ(body["data"][1]["index"], 1);
  EXPECT_GT(body["usage"]["prompt_tokens"].get<int>(), 0);

  res = http.Post("/v1/embeddings", R"({"input": 3})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  res = http.Post("/v1/chat/completions", "not json", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  res = http.Post("/v1/chat/completions", R"({"messages": []})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("messages"), std::string::npos);
}

TEST(ChatCompletionBodyTest, ParsesMessagesToolsAndOptions) {
  nlohmann::json body = nlohmann::json::parse(R"({
    "model": "x",
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "ok"}],
    "tools": [{"type": "function", "function": {"name": "f", "description": "d",
               "parameters": {"type": "object"}}}],
    "tool_choice": {"type": "function", "function": {"name": "f"}},
    "temperature": 0.5, "seed": 3, "max_tokens": 7, "stop": "END",
    "stream": true, "stream_options": {"include_usage": true}})");
  Result<ParsedChatBody> p = ParseChatCompletionBody(body);
  ASSERT_TRUE(p) << p.error().message();
  const llm::ChatRequest& r = p->request;
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[1].content, "Hi");
  ASSERT_EQ(r.messages[2].tool_calls.size(), 1u);
  EXPECT_EQ(r.messages[2].tool_calls[0].arguments, "{\"a\":1}");
  EXPECT_EQ(r.messages[3].tool_call_id, "c1");
  ASSERT_EQ(r.tools.size(), 1u);
  EXPECT_EQ(r.tool_choice, "f");
  EXPECT_EQ(r.temperature, 0.5);
  EXPECT_EQ(r.seed, 3);
  EXPECT_EQ(r.max_tokens, 7);
  EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
  EXPECT_TRUE(p->stream);
  EXPECT_TRUE(p->include_usage);
  EXPECT_FALSE(ParseChatCompletionBody(
      nlohmann::json::parse(R"({"messages": [{"role": "wizard", "content": "x"}]})")));
}

}  // namespace
}  // namespace tandem::engine
