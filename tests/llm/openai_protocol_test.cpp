#include "tandem/llm/openai_protocol.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tandem::llm {
namespace {

using ::testing::HasSubstr;

TEST(OpenAiProtocolTest, RequestCarriesMessagesToolsAndOptions) {
  ChatRequest request;
  request.messages = {Message::System("sys"), Message::User("hi")};
  Message assistant{Role::kAssistant, "", {{"call_1", "write_file", R"({"path":"a"})"}}, ""};
  request.messages.push_back(assistant);
  request.messages.push_back(Message::ToolResult("call_1", "ok"));
  request.tools = {{"write_file", "Write a file", {{"type", "object"}}}};
  request.tool_choice = "auto";
  request.temperature = 0.5;
  request.max_tokens = 100;
  nlohmann::json body = ChatRequestToJson(request, "m");
  EXPECT_EQ(body["model"], "m");
  ASSERT_EQ(body["messages"].size(), 4u);
  EXPECT_TRUE(body["messages"][2]["content"].is_null());
  EXPECT_EQ(body["messages"][2]["tool_calls"][0]["function"]["name"], "write_file");
  EXPECT_EQ(body["messages"][3]["tool_call_id"], "call_1");
  EXPECT_EQ(body["tools"][0]["function"]["name"], "write_file");
  EXPECT_EQ(body["tool_choice"], "auto");
  EXPECT_EQ(body["max_tokens"], 100);
}

TEST(OpenAiProtocolTest, ParsesToolCallsAndUsage) {
  auto response = ParseChatResponse(R"({
    "model": "m1",
    "choices": [{"finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
      "tool_calls": [{"id": "c1", "type": "function",
                      "function": {"name": "finish", "arguments": "{\"summary\":\"done\"}"}}]}}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3,
              "prompt_tokens_details": {"cached_tokens": 4}}})");
  ASSERT_TRUE(response) << response.error().message();
  EXPECT_EQ(response->model, "m1");
  EXPECT_EQ(response->finish_reason, "tool_calls");
  ASSERT_EQ(response->message.tool_calls.size(), 1u);
  EXPECT_EQ(response->message.tool_calls[0].name, "finish");
  EXPECT_EQ(response->message.tool_calls[0].arguments, R"({"summary":"done"})");
  EXPECT_EQ(response->usage, (Usage{12, 3, 4, false}));
}

TEST(OpenAiProtocolTest, MissingUsageIsMarkedEstimated) {
  auto response = ParseChatResponse(R"({"choices":[{"message":{"content":"hi"}}]})");
  ASSERT_TRUE(response);
  EXPECT_TRUE(response->usage.estimated);
}

TEST(OpenAiProtocolTest, MalformedBodiesNameTheProblem) {
  struct Case {
    const char* body;
    const char* expected;
  };
  for (const Case& c : {
           Case{"not json", "not valid JSON"},
           Case{"[]", "not an object"},
           Case{R"({"choices":[]})", "no choices[0]"},
           Case{R"({"choices":[{}]})", "choices[0].message is missing"},
           Case{R"({"choices":[{"message":{"content":5}}]})", "content should be a string"},
           Case{R"({"choices":[{"message":{"tool_calls":[{"id":"x"}]}}]})",
                "tool_calls[0].function is missing"},
           Case{R"({"choices":[{"message":{"tool_calls":[{"function":{}}]}}]})",
                "function.name is missing"},
           Case{R"({"choices":[{"message":{}}],"usage":{"prompt_tokens":-1}})",
                "usage.prompt_tokens"},
       }) {
    auto response = ParseChatResponse(c.body);
    ASSERT_FALSE(response) << c.body;
    EXPECT_EQ(response.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(response.error().message(), HasSubstr(c.expected)) << c.body;
  }
}

TEST(OpenAiProtocolTest, ErrorMessageIsTakenFromTheErrorObject) {
  EXPECT_EQ(ExtractErrorMessage(R"({"error":{"message":"bad key","type":"x"}})"), "bad key");
  EXPECT_EQ(ExtractErrorMessage("plain"), "plain");
  EXPECT_EQ(ExtractErrorMessage(std::string(1000, 'a')).size(), 303u);
}

}  // namespace
}  // namespace tandem::llm
