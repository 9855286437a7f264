// `tandem run` with the delegate tool against a loopback model server: the child task runs in
// the same process, writes in the parent's workspace, and is listed with its parent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/process.h"
#include "support/scripted_model_server.h"
#include "support/temp_dir.h"

namespace tandem {
namespace {

TEST(DelegateEndToEndTest, ChildTaskRunsAndItsSummaryReturnsToTheParent) {
  testing::TempDir dir;
  testing::ScriptedModelServer model;
  std::filesystem::path config =
      dir.Write("tandem.toml", "[[providers]]\nname = \"local\"\nbase_url = \"" + model.base_url() +
                                   "\"\nmodel = \"local-model\"\nzone = \"local\"\n");
  model.PushToolCall("delegate", {{"goal", "Write hello to child.txt"}});
  model.PushToolCall("write_file", {{"path", "child.txt"}, {"content", "hello"}});
  model.PushToolCall("finish", {{"summary", "child.txt holds hello"}});
  model.PushToolCall("finish", {{"summary", "the helper wrote child.txt"}});
  auto env = std::map<std::string, std::string>{{"TANDEM_HOME", (dir.path() / "home").string()},
                                                {"TANDEM_LOG_LEVEL", "warn"}};
  testing::ProcessResult run =
      testing::RunTandem({"--config", config.string(), "run", "Get child.txt written",
                          "--workspace", (dir.path() / "ws").string()},
                         {.working_dir = dir.path().string(), .env = env});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(testing::ReadFile(dir.path() / "ws" / "child.txt"), "hello");
  std::vector<nlohmann::json> requests = model.requests();
  ASSERT_EQ(requests.size(), 4u);
  // The parent's second request carries the child's summary as the delegate call's result.
  EXPECT_THAT(requests[3].dump(), ::testing::HasSubstr("child.txt holds hello"));

  testing::ProcessResult listed =
      testing::RunTandem({"--config", config.string(), "tasks", "list", "--json"},
                         {.working_dir = dir.path().string(), .env = env});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  nlohmann::json tasks = nlohmann::json::parse(listed.out);
  ASSERT_EQ(tasks.size(), 2u);
  int children = 0;
  for (const nlohmann::json& task : tasks) {
    if (task["parent_id"] != "") {
      ++children;
      EXPECT_EQ(task["status"], "succeeded");
    }
  }
  EXPECT_EQ(children, 1);
}

}  // namespace
}  // namespace tandem
