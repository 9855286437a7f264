// The agent's model calls go through the router: ordinary work may use the cloud provider,
// sensitive work (goal or anything read during the task) only ever reaches the local one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/process.h"
#include "support/scripted_model_server.h"
#include "support/temp_dir.h"

namespace tandem {
namespace {

using testing::ProcessResult;

class RoutingEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = dir_.Write("tandem.toml",
                         "[routing]\ngeneric = \"cloud\"\nkeywords = [\"confidential\"]\n\n"
                         "[[providers]]\nname = \"local\"\nbase_url = \"" +
                             local_.base_url() +
                             "\"\nmodel = \"local-model\"\nzone = \"local\"\n\n"
                             "[[providers]]\nname = \"cloud\"\nbase_url = \"" +
                             cloud_.base_url() +
                             "\"\nmodel = \"gpt-4o-mini\"\nzone = \"cloud\"\napi_key_env = "
                             "\"TANDEM_TEST_CLOUD_KEY\"\n");
  }

  ProcessResult Run(const std::string& goal, const std::filesystem::path& workspace) {
    return testing::RunTandem(
        {"--config", config_.string(), "run", goal, "--workspace", workspace.string()},
        {.working_dir = dir_.path().string(),
         .env = {{"TANDEM_HOME", (dir_.path() / "home").string()},
                 {"TANDEM_LOG_LEVEL", "warn"},
                 {"TANDEM_TEST_CLOUD_KEY", "sk-test-key-0000"}}});
  }

  testing::TempDir dir_;
  testing::ScriptedModelServer local_;
  testing::ScriptedModelServer cloud_;
  std::filesystem::path config_;
};

TEST_F(RoutingEndToEndTest, OrdinaryGoalUsesTheCloudProvider) {
  cloud_.PushToolCall("finish", {{"summary", "done"}});
  ProcessResult run = Run("Write a haiku about autumn", dir_.path() / "ws");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(cloud_.requests().size(), 1u);
  EXPECT_TRUE(local_.requests().empty());
}

TEST_F(RoutingEndToEndTest, SensitiveGoalStaysLocal) {
  local_.PushToolCall("finish", {{"summary", "done"}});
  ProcessResult run = Run("Email the offer to jane.doe@example.com", dir_.path() / "ws");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(local_.requests().size(), 1u);
  EXPECT_TRUE(cloud_.requests().empty());
}

TEST_F(RoutingEndToEndTest, TaskBecomesLocalOnceItReadsSensitiveData) {
  std::filesystem::path workspace = dir_.path() / "ws";
  std::filesystem::create_directories(workspace);
  std::ofstream(workspace / "contract.txt") << "CONFIDENTIAL: card 4111 1111 1111 1111\n";
  cloud_.PushToolCall("read_file", {{"path", "contract.txt"}});
  local_.PushToolCall("finish", {{"summary", "summarised"}});
  ProcessResult run = Run("Summarise the file in the workspace", workspace);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  // The first call (nothing sensitive yet) went to the cloud; after the read, only local.
  ASSERT_EQ(cloud_.requests().size(), 1u);
  ASSERT_EQ(local_.requests().size(), 1u);
  std::string local_request = local_.requests()[0].dump();
  EXPECT_NE(local_request.find("4111"), std::string::npos);
  for (const nlohmann::json& request : cloud_.requests()) {
    EXPECT_EQ(request.dump().find("4111"), std::string::npos);
  }
}

TEST_F(RoutingEndToEndTest, SensitiveGoalWithOnlyACloudProviderIsRefusedWithExit4) {
  config_ = dir_.Write("cloud-only.toml",
                       "[routing]\ngeneric = \"cloud\"\n[[providers]]\nname = \"cloud\"\n"
                       "base_url = \"" +
                           cloud_.base_url() + "\"\nmodel = \"gpt-4o-mini\"\nzone = \"cloud\"\n");
  ProcessResult run = Run("Call +1 415 555 0100 about the contract", dir_.path() / "ws");
  EXPECT_EQ(run.exit_code, 4) << run.out << run.err;
  EXPECT_THAT(run.out, ::testing::HasSubstr("refused by routing policy"));
  EXPECT_TRUE(cloud_.requests().empty());
}

}  // namespace
}  // namespace tandem
