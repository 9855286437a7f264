#include <gtest/gtest.h>

#include "tandem/tools/basic_tool.h"
#include "tandem/tools/tools.h"

namespace tandem::tools {
namespace {

using nlohmann::json;

class EchoTool : public BasicTool {
 public:
  explicit EchoTool(std::string name = "echo")
      : BasicTool(std::move(name), "Echoes its text.",
                  ObjectSchema({{"text", {{"type", "string"}, {"maxLength", 5}}},
                                {"count", {{"type", "integer"}, {"minimum", 1}, {"maximum", 3}}},
                                {"mode", {{"type", "string"}, {"enum", {"a", "b"}}}},
                                {"tags", {{"type", "array"}, {"items", {{"type", "string"}}}}}},
                               {"text"}),
                  EffectClass::kRead) {}
  Result<ToolResult> Invoke(const json& args, ToolContext&) const override {
    ++calls;
    ToolResult result;
    result.output = args["text"].get<std::string>();
    return result;
  }
  mutable int calls = 0;
};

class RegistryTest : public ::testing::Test {
 protected:
  RegistryTest() {
    auto tool = std::make_unique<EchoTool>();
    echo_ = tool.get();
    EXPECT_TRUE(registry_.Register(std::move(tool)));
  }
  std::string ErrorOf(const json& args) {
    Result<ToolResult> result = registry_.Invoke("echo", args, context_);
    EXPECT_FALSE(result);
    return result ? "" : result.error().message();
  }
  Registry registry_;
  EchoTool* echo_ = nullptr;
  ToolContext context_;
};

TEST_F(RegistryTest, InvokesValidCall) {
  Result<ToolResult> result = registry_.Invoke("echo", {{"text", "hi"}, {"count", 2}}, context_);
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->output, "hi");
}

TEST_F(RegistryTest, RejectsDuplicateAndBadNames) {
  EXPECT_EQ(registry_.Register(std::make_unique<EchoTool>()).error().code(),
            ErrorCode::kAlreadyExists);
  EXPECT_FALSE(registry_.Register(std::make_unique<EchoTool>("Bad-Name")));
  EXPECT_FALSE(registry_.Register(nullptr));
}

TEST_F(RegistryTest, UnknownToolListsAvailable) {
  Result<ToolResult> result = registry_.Invoke("nope", json::object(), context_);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(result.error().message().find("echo"), std::string::npos);
}

TEST_F(RegistryTest, ErrorsNameTheArgument) {
  EXPECT_NE(ErrorOf(json::object()).find("argument 'text' is required"), std::string::npos);
  EXPECT_NE(ErrorOf({{"text", 3}}).find("argument 'text': expected string, got integer"),
            std::string::npos);
  EXPECT_NE(ErrorOf({{"text", "toolong"}}).find("argument 'text': too long"), std::string::npos);
  EXPECT_NE(ErrorOf({{"text", "a"}, {"count", 9}}).find("argument 'count'"), std::string::npos);
  EXPECT_NE(ErrorOf({{"text", "a"}, {"count", 0}}).find("below the minimum"), std::string::npos);
  EXPECT_NE(ErrorOf({{"text", "a"}, {"count", 1.5}}).find("expected integer"), std::string::npos);
  EXPECT_NE(ErrorOf({{"text", "a"}, {"mode", "c"}}).find("argument 'mode'"), std::string::npos);
  EXPECT_NE(ErrorOf({{"text", "a"}, {"extra", 1}}).find("unknown argument 'extra'"),
            std::string::npos);
  EXPECT_NE(ErrorOf({{"text", "a"}, {"tags", {"x", 2}}}).find("argument 'tags[1]'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(json::array()).find("expected a JSON object"), std::string::npos);
  EXPECT_EQ(echo_->calls, 0);
}

TEST_F(RegistryTest, MaxLengthCountsCharactersNotBytes) {
  EXPECT_TRUE(registry_.Invoke("echo", {{"text", "\xC3\xA9\xC3\xA9\xC3\xA9"}}, context_));
}

TEST_F(RegistryTest, IntegralFloatIsAnInteger) {
  EXPECT_TRUE(registry_.Invoke("echo", {{"text", "a"}, {"count", 2.0}}, context_));
}

TEST_F(RegistryTest, CancelledContextDoesNotInvoke) {
  CancellationToken token;
  token.Cancel();
  context_.cancel = &token;
  Result<ToolResult> result = registry_.Invoke("echo", {{"text", "a"}}, context_);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kCancelled);
  EXPECT_EQ(echo_->calls, 0);
}

TEST_F(RegistryTest, DescribeListsSchemaAndEffect) {
  json described = registry_.Describe();
  ASSERT_EQ(described.size(), 1u);
  EXPECT_EQ(described[0]["name"], "echo");
  EXPECT_EQ(described[0]["effect"], "read");
  EXPECT_EQ(described[0]["parameters"]["required"][0], "text");
}

}  // namespace
}  // namespace tandem::tools
