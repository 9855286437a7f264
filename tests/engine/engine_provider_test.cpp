// kind = "engine" providers: configuration, and the router's gateway calling the embedded
// engine as a local-zone model.
#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include "tandem/engine/engine_chat_model.h"
#include "tandem/router/gateway.h"
#include "tiny_chat_model.h"

namespace tandem::engine {
namespace {

Result<Config> Parse(const std::string& toml) {
  ConfigLoadOptions options;
  options.environment = std::map<std::string, std::string>{};
  return ParseConfig(toml, "tandem.toml", options);
}

TEST(EngineProviderTest, EngineSectionIsReadAndChecked) {
  Result<Config> config =
      Parse("[engine]\nthreads = 1\ncontext = 512\nmax_tokens = 9\ntemperature = 0.0\n");
  ASSERT_TRUE(config) << config.error().message();
  Result<EngineModelOptions> options = EngineOptionsFromConfig(*config);
  ASSERT_TRUE(options) << options.error().message();
  EXPECT_EQ(options->n_threads, 1);
  EXPECT_EQ(options->n_ctx, 512);
  EXPECT_EQ(options->max_tokens, 9);
  EXPECT_EQ(options->temperature, 0.0);

  Result<Config> typo = Parse("[engine]\nthread = 1\n");
  ASSERT_TRUE(typo);
  Result<EngineModelOptions> bad = EngineOptionsFromConfig(*typo);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("thread"), std::string::npos);
  Result<Config> negative = Parse("[engine]\ncontext = -4\n");
  ASSERT_TRUE(negative);
  EXPECT_FALSE(EngineOptionsFromConfig(*negative));
}

TEST(EngineProviderTest, GatewayAnswersThroughTheEmbeddedEngine) {
  tandem::testing::TempDir dir;
  std::filesystem::path file = dir.path() / "tiny.gguf";
  ASSERT_TRUE(testing::TinyChatModel(testing::kChatMlTemplate).WriteFile(file));
  Result<Config> config = Parse(
      "[[providers]]\nname = \"on-device\"\nkind = \"engine\"\n"
      "model_path = \"" +
      file.string() +
      "\"\n[engine]\nthreads = 1\ncontext = 256\nmax_tokens = 6\n"
      "temperature = 0.0\n");
  ASSERT_TRUE(config) << config.error().message();
  // The router's default factory does not know the engine; the composed one does.
  EXPECT_FALSE(router::Gateway::Create(*config));
  router::GatewayOptions options;
  options.model_factory = [](const Config& c, const ProviderConfig& p) {
    return p.kind == "engine" ? MakeEngineChatModel(c, p) : router::DefaultModelFactory(c, p);
  };
  Result<std::unique_ptr<router::Gateway>> gateway = router::Gateway::Create(*config, options);
  ASSERT_TRUE(gateway) << gateway.error().message();
  llm::ChatRequest request;
  request.messages = {llm::Message::User("hello world")};
  Result<router::GatewayResponse> answer = (*gateway)->Chat({}, request);
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_EQ(answer->decision.provider(), "on-device");
  EXPECT_GT(answer->response.usage.prompt_tokens, 0);
  EXPECT_LE(answer->response.usage.completion_tokens, 6);
  EXPECT_FALSE(answer->response.usage.estimated);
  EXPECT_EQ(answer->response.model, "tiny-chat");
}

}  // namespace
}  // namespace tandem::engine
