// The base of the agent suites: a task store in a temporary folder, a registry with the file
// tools, and the routing policy most suites run under.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "support/temp_dir.h"
#include "tandem/core/config.h"
#include "tandem/router/policy.h"
#include "tandem/store/task_store.h"
#include "tandem/tools/file_tools.h"
#include "tandem/tools/tools.h"

namespace tandem::agent {

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::TaskStore::Open(dir_.path() / "tandem.db");
    ASSERT_TRUE(opened) << opened.error().message();
    store_ = std::move(*opened);
    ASSERT_TRUE(tools::RegisterFileTools(registry_));
  }

  // The policy of a configuration that sends generic work to the cloud; null (and a test
  // failure) when it cannot be built.
  static std::unique_ptr<router::Policy> CloudPolicy() {
    ConfigLoadOptions options;
    options.environment = std::map<std::string, std::string>{};
    auto config = ParseConfig("[routing]\ngeneric = \"cloud\"\n", "tandem.toml", options);
    EXPECT_TRUE(config) << config.error().message();
    if (!config) return nullptr;
    auto policy = router::Policy::Create(*config);
    EXPECT_TRUE(policy) << policy.error().message();
    return policy ? std::move(*policy) : nullptr;
  }

  testing::TempDir dir_;
  std::unique_ptr<store::TaskStore> store_;
  tools::Registry registry_;
};

}  // namespace tandem::agent
