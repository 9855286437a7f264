// The egress guarantee at the source level: only the router (and llm itself) may build model
// clients; every other module reaches a model through router::Gateway.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tandem::router {
namespace {

TEST(EgressTest, OnlyTheRouterBuildsModelClients) {
  namespace fs = std::filesystem;
  const fs::path root(TANDEM_SOURCE_DIR);
  std::vector<std::string> offenders;
  for (const char* top : {"src", "apps"}) {
    if (!fs::exists(root / top)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
      if (!entry.is_regular_file()) continue;
      std::string ext = entry.path().extension().string();
      if (ext != ".cpp" && ext != ".h") continue;
      std::string relative = fs::relative(entry.path(), root).generic_string();
      if (relative.starts_with("src/tandem/router/") || relative.starts_with("src/tandem/llm/")) {
        continue;
      }
      std::ifstream in(entry.path());
      std::stringstream content;
      content << in.rdbuf();
      const std::string text = content.str();
      for (const char* needle : {"MakeOpenAiClient", "OpenAiClient("}) {
        if (text.find(needle) != std::string::npos) offenders.push_back(relative + ": " + needle);
      }
    }
  }
  EXPECT_TRUE(offenders.empty()) << "model clients built outside the router: "
                                 << ::testing::PrintToString(offenders);
}

}  // namespace
}  // namespace tandem::router
