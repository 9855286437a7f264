// What server tasks take from the configuration besides approvals: agent memory
// (`[memory] agent = true`) stores each run's observations and summary and recalls them into
// other tasks' prompts, as with `tandem run`.
#include <gmock/gmock.h>

#include "server_fixture.h"

namespace tandem::server {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class RunConfigTest : public ServerTest {};

TEST_F(RunConfigTest, TasksStoreAndRecallAgentMemory) {
  StopServer();
  auto memory = memory::MemoryStore::Open(dir_.path() / "memory", {}, nullptr);
  ASSERT_TRUE(memory) << memory.error().message();
  memory_ = std::move(*memory);
  memory_options_.enabled = true;
  StartServer();

  std::string first = StartTask(alice_, "Write a report");
  ASSERT_EQ(WaitForEnd(alice_, first)["status"], "succeeded");
  auto observations = memory_->Get(std::string(agent::kObservationsCollection), {});
  ASSERT_TRUE(observations) << observations.error().message();
  ASSERT_EQ(observations->size(), 1u);
  EXPECT_EQ(observations->front().id, first + ":1");
  auto summaries = memory_->Get(std::string(agent::kSummariesCollection), {});
  ASSERT_TRUE(summaries) << summaries.error().message();
  ASSERT_EQ(summaries->size(), 1u);
  EXPECT_THAT(summaries->front().document, HasSubstr("wrote report.md"));

  std::string second = StartTask(alice_, "Write a report");
  ASSERT_EQ(WaitForEnd(alice_, second)["status"], "succeeded");
  std::vector<json> requests = model_.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_THAT(requests[2].dump(), HasSubstr("wrote report.md"))
      << "the second task recalls the first one's summary";
  EXPECT_THAT(requests[0].dump(), ::testing::Not(HasSubstr("wrote report.md")));
}

}  // namespace
}  // namespace tandem::server
