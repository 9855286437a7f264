// The egress guarantee at the source level: only the router (and llm itself) may build model
// clients; every other module reaches a model through router::Gateway.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace tandem::router {
namespace {

// Known places that still build a raw client, each with the reason. Remove an entry when the
// file moves to the Gateway; the test fails if an entry goes stale, so the list only shrinks.
const std::map<std::string, std::string> kKnownExceptions = {
    {"apps/tandem/cmd_run.cpp",
     "tandem run uses agent::SingleProviderAccess, written before the Gateway existed; it needs "
     "a Gateway-backed agent::ModelAccess"},
};

TEST(EgressTest, OnlyTheRouterBuildsModelClients) {
  namespace fs = std::filesystem;
  std::set<std::string> exceptions_seen;
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
        if (text.find(needle) == std::string::npos) continue;
        if (kKnownExceptions.contains(relative)) {
          exceptions_seen.insert(relative);
        } else {
          offenders.push_back(relative + ": " + needle);
        }
      }
    }
  }
  EXPECT_TRUE(offenders.empty()) << "model clients built outside the router: "
                                 << ::testing::PrintToString(offenders);
  for (const auto& [file, reason] : kKnownExceptions) {
    EXPECT_TRUE(exceptions_seen.contains(file))
        << file << " no longer builds a raw client: remove it from kKnownExceptions";
  }
}

}  // namespace
}  // namespace tandem::router
