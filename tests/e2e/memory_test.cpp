// `tandem memory` end to end: the real binary, real SQLite and index files (or a real PostgreSQL
// server), and a real loopback OpenAI-compatible /v1/embeddings server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/postgres_server.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace tandem {
namespace {

using ::testing::HasSubstr;
using testing::ProcessResult;
using testing::RunTandem;

// Answers /v1/embeddings with 16-dim bag-of-words vectors; counts requests.
class EmbeddingServer {
 public:
  EmbeddingServer() {
    server_.Post(
        "/v1/embeddings", [this](const httplib::Request& request, httplib::Response& response) {
          ++requests_;
          nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
          nlohmann::json data = nlohmann::json::array();
          int index = 0;
          for (const auto& input : body["input"]) {
            std::vector<float> vector(16, 0.0f);
            vector[0] = 0.01f;
            std::string word;
            std::string text = input.get<std::string>() + " ";
            for (char c : text) {
              if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
                word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
              } else if (!word.empty()) {
                vector[std::hash<std::string>()(word) % 16] += 1.0f;
                word.clear();
              }
            }
            data.push_back({{"object", "embedding"}, {"index", index++}, {"embedding", vector}});
          }
          response.set_content(
              nlohmann::json{{"object", "list"}, {"data", data}, {"model", body["model"]}}.dump(),
              "application/json");
        });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the loop starts would be lost; wait for it.
    while (!server_.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~EmbeddingServer() {
    server_.stop();
    thread_.join();
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int requests() const { return requests_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> requests_{0};
};

class MemoryEndToEndTest : public ::testing::Test {
 protected:
  void WriteConfig(const std::string& zone, bool with_embedder) {
    std::string text = "[[providers]]\nname = \"embed\"\nbase_url = \"" + server_.base_url() +
                       "\"\nmodel = \"bow-16\"\nzone = \"" + zone + "\"\n";
    if (with_embedder) text += "[memory]\nembedder = \"embed\"\n";
    config_ = dir_.Write("tandem.toml", text);
  }

  ProcessResult Tandem(std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", config_.string()});
    std::map<std::string, std::string> env = env_;
    env["TANDEM_HOME"] = (dir_.path() / "home").string();
    env["TANDEM_LOG_LEVEL"] = "warn";
    return RunTandem(args, {.working_dir = dir_.path().string(), .env = env});
  }

  nlohmann::json Json(std::vector<std::string> args) {
    ProcessResult result = Tandem(std::move(args));
    EXPECT_EQ(result.exit_code, 0) << result.err;
    nlohmann::json parsed = nlohmann::json::parse(result.out, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << result.out;
    return parsed;
  }

  testing::TempDir dir_;
  std::map<std::string, std::string> env_;  // More environment for every run.
  EmbeddingServer server_;
  std::filesystem::path config_;
};

TEST_F(MemoryEndToEndTest, AddQueryGetDeleteCompactWithEmbeddings) {
  WriteConfig("local", true);
  ProcessResult added = Tandem({"memory", "add", "The build uses CMake and Ninja", "--id", "build",
                                "--meta", "year=2024", "--meta", "topic=build"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(added.out, "build\n");
  ASSERT_EQ(Tandem({"memory", "add", "Tests run under ctest with GoogleTest", "--id", "tests",
                    "--meta", "year=2023"})
                .exit_code,
            0);
  ProcessResult generated = Tandem({"memory", "add", "Gardening notes about tomatoes"});
  ASSERT_EQ(generated.exit_code, 0) << generated.err;
  EXPECT_EQ(generated.out.size(), 27u);  // A 26-character id and a newline.
  EXPECT_GE(server_.requests(), 3);

  nlohmann::json found = Json({"memory", "query", "cmake build", "-n", "2", "--json"});
  EXPECT_EQ(found["used_vectors"], true);
  EXPECT_EQ(found["used_full_text"], true);
  ASSERT_EQ(found["results"].size(), 2u);
  const nlohmann::json& top = found["results"][0];
  EXPECT_EQ(top["id"], "build");
  EXPECT_EQ(top["document"], "The build uses CMake and Ninja");
  EXPECT_EQ(top["metadata"], nlohmann::json({{"year", 2024}, {"topic", "build"}}));
  EXPECT_TRUE(top.contains("distance"));
  EXPECT_TRUE(top.contains("score"));

  nlohmann::json filtered =
      Json({"memory", "query", "cmake build", "--where", R"({"year": {"$lt": 2024}})", "--json"});
  ASSERT_EQ(filtered["results"].size(), 1u);
  EXPECT_EQ(filtered["results"][0]["id"], "tests");

  nlohmann::json got = Json({"memory", "get", "tests"});
  EXPECT_EQ(got["document"], "Tests run under ctest with GoogleTest");

  ProcessResult deleted = Tandem({"memory", "delete", "--id", "build"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(deleted.out, "deleted 1\n");
  ProcessResult missing = Tandem({"memory", "get", "build"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("no memory with id 'build'"));

  ASSERT_EQ(Tandem({"memory", "compact"}).exit_code, 0);
  std::string all_bytes;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path() / "home" / "memory"))
    all_bytes += testing::ReadFile(entry.path());
  EXPECT_EQ(all_bytes.find("Ninja"), std::string::npos);

  nlohmann::json stats = Json({"memory", "stats", "--json"});
  EXPECT_EQ(stats["mode"], "hybrid");
  EXPECT_EQ(stats["embedder"], "bow-16");
  ASSERT_EQ(stats["collections"].size(), 1u);
  EXPECT_EQ(stats["collections"][0]["count"], 2);
  EXPECT_EQ(stats["collections"][0]["vectors"], 2);
  EXPECT_EQ(stats["collections"][0]["dimension"], 16);
  EXPECT_EQ(stats["collections"][0]["embedding_model"], "bow-16");
}

TEST_F(MemoryEndToEndTest, WithoutEmbedderMemoryIsFullTextOnlyAndSaysSo) {
  WriteConfig("local", false);
  ProcessResult added = Tandem({"memory", "add", "plain words only", "--id", "p"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_THAT(added.err, HasSubstr("full-text search only"));
  nlohmann::json found = Json({"memory", "query", "words", "--json"});
  EXPECT_EQ(found["used_vectors"], false);
  EXPECT_THAT(found["note"].get<std::string>(), HasSubstr("no embedder configured"));
  ASSERT_EQ(found["results"].size(), 1u);
  EXPECT_TRUE(found["results"][0].contains("score"));
  EXPECT_EQ(server_.requests(), 0);
  EXPECT_EQ(Json({"memory", "stats", "--json"})["mode"], "full_text");
}

TEST_F(MemoryEndToEndTest, EmptyMemoryQueriesReturnNoResults) {
  WriteConfig("local", false);
  nlohmann::json found = Json({"memory", "query", "anything", "--json"});
  EXPECT_TRUE(found["results"].empty());
}

TEST_F(MemoryEndToEndTest, CloudEmbedderIsRefused) {
  WriteConfig("cloud", true);
  ProcessResult added = Tandem({"memory", "add", "secret notes"});
  EXPECT_EQ(added.exit_code, 4);
  EXPECT_THAT(added.err, HasSubstr("cloud zone"));
  EXPECT_EQ(server_.requests(), 0);
}

TEST_F(MemoryEndToEndTest, BadArgumentsGetClearErrors) {
  WriteConfig("local", false);
  ProcessResult bad_where = Tandem({"memory", "query", "x", "--where", R"({"a": {"$near": 1}})"});
  EXPECT_EQ(bad_where.exit_code, 1);
  EXPECT_THAT(bad_where.err, HasSubstr("where.a.$near: unknown operator"));
  ProcessResult not_json = Tandem({"memory", "delete", "--where", "{oops"});
  EXPECT_THAT(not_json.err, HasSubstr("not valid JSON"));
  ProcessResult nothing = Tandem({"memory", "delete"});
  EXPECT_EQ(nothing.exit_code, 2);
  ProcessResult bad_meta = Tandem({"memory", "add", "x", "--meta", "novalue"});
  EXPECT_THAT(bad_meta.err, HasSubstr("KEY=VALUE"));
}

// With the task store in PostgreSQL, memory is there too: separate processes share it.
TEST_F(MemoryEndToEndTest, PostgresStoreSharesMemoryBetweenProcesses) {
  auto url = testing::CreateTestDatabase();
  if (!url && url.error().code() == ErrorCode::kNotFound) GTEST_SKIP() << url.error().message();
  ASSERT_TRUE(url) << url.error().message();
  WriteConfig("local", true);
  env_["TANDEM_STORE"] = *url;
  ProcessResult added = Tandem({"memory", "add", "The build uses CMake and Ninja", "--id", "build",
                                "--meta", "topic=build"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  ASSERT_EQ(Tandem({"memory", "add", "Gardening notes about tomatoes", "--id", "garden"}).exit_code,
            0);

  nlohmann::json found = Json({"memory", "query", "cmake build", "-n", "1", "--json"});
  EXPECT_EQ(found["used_vectors"], true);
  ASSERT_EQ(found["results"].size(), 1u);
  EXPECT_EQ(found["results"][0]["id"], "build");
  EXPECT_EQ(found["results"][0]["metadata"], nlohmann::json({{"topic", "build"}}));

  ASSERT_EQ(Tandem({"memory", "delete", "--id", "build"}).exit_code, 0);
  found = Json({"memory", "query", "cmake build", "--json"});
  ASSERT_EQ(found["results"].size(), 1u);
  EXPECT_EQ(found["results"][0]["id"], "garden");

  nlohmann::json stats = Json({"memory", "stats", "--json"});
  EXPECT_EQ(stats["location"], *url);
  ASSERT_EQ(stats["collections"].size(), 1u);
  EXPECT_EQ(stats["collections"][0]["count"], 1);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "home" / "memory"));
}

}  // namespace
}  // namespace tandem
