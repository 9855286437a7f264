// OpenAiEmbedder against a real loopback HTTP server, including malformed answers.
#include "tandem/memory/openai_embedder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <mutex>
#include <thread>

namespace tandem::memory {
namespace {

using ::testing::HasSubstr;

// Serves /v1/embeddings with a fixed status and body; records request bodies.
class FixedServer {
 public:
  FixedServer() {
    server_.Post("/v1/embeddings",
                 [this](const httplib::Request& request, httplib::Response& response) {
                   std::lock_guard lock(mu_);
                   bodies_.push_back(nlohmann::json::parse(request.body, nullptr, false));
                   authorization_ = request.get_header_value("Authorization");
                   response.status = status_;
                   response.set_content(body_, "application/json");
                 });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the loop starts would be lost; wait for it.
    while (!server_.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FixedServer() {
    server_.stop();
    thread_.join();
  }
  void Answer(int status, std::string body) {
    std::lock_guard lock(mu_);
    status_ = status;
    body_ = std::move(body);
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  std::vector<nlohmann::json> bodies() const {
    std::lock_guard lock(mu_);
    return bodies_;
  }
  std::string authorization() const {
    std::lock_guard lock(mu_);
    return authorization_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  int status_ = 200;                    // GUARDED_BY(mu_)
  std::string body_;                    // GUARDED_BY(mu_)
  std::vector<nlohmann::json> bodies_;  // GUARDED_BY(mu_)
  std::string authorization_;           // GUARDED_BY(mu_)
};

class OpenAiEmbedderTest : public ::testing::Test {
 protected:
  OpenAiEmbedder Embedder() {
    return OpenAiEmbedder({.base_url = server_.base_url(), .model = "m", .api_key = "k"});
  }
  FixedServer server_;
};

TEST_F(OpenAiEmbedderTest, ReturnsVectorsInInputOrderUsingIndex) {
  server_.Answer(200, R"({"data": [{"index": 1, "embedding": [0, 1]},
                                   {"index": 0, "embedding": [1, 0.5]}]})");
  auto vectors = Embedder().Embed({"a", "b"});
  ASSERT_TRUE(vectors) << vectors.error().message();
  ASSERT_EQ(vectors->size(), 2u);
  EXPECT_EQ((*vectors)[0], std::vector<float>({1, 0.5}));
  EXPECT_EQ((*vectors)[1], std::vector<float>({0, 1}));
  ASSERT_EQ(server_.bodies().size(), 1u);
  EXPECT_EQ(server_.bodies()[0]["model"], "m");
  EXPECT_EQ(server_.bodies()[0]["input"], nlohmann::json({"a", "b"}));
  EXPECT_EQ(server_.authorization(), "Bearer k");
}

TEST_F(OpenAiEmbedderTest, MapsHttpErrorsWithTheProvidersMessage) {
  server_.Answer(401, R"({"error": {"message": "bad key"}})");
  auto vectors = Embedder().Embed({"a"});
  ASSERT_FALSE(vectors);
  EXPECT_EQ(vectors.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_THAT(vectors.error().message(), HasSubstr("bad key"));
  server_.Answer(503, "{}");
  EXPECT_EQ(Embedder().Embed({"a"}).error().code(), ErrorCode::kUnavailable);
  server_.Answer(429, "{}");
  EXPECT_EQ(Embedder().Embed({"a"}).error().code(), ErrorCode::kRateLimited);
}

TEST_F(OpenAiEmbedderTest, MalformedAnswersAreInvalidArgument) {
  for (const char* body :
       {"not json", R"({"data": 5})", R"({"data": []})", R"({"data": [{"embedding": "x"}]})",
        R"({"data": [{"embedding": [1, "x"]}]})",
        R"({"data": [{"index": 9, "embedding": [1]}]})"}) {
    server_.Answer(200, body);
    auto vectors = Embedder().Embed({"a"});
    ASSERT_FALSE(vectors) << body;
    EXPECT_EQ(vectors.error().code(), ErrorCode::kInvalidArgument) << body;
  }
  server_.Answer(200,
                 R"({"data": [{"index": 0, "embedding": [1]}, {"index": 0, "embedding": [1]}]})");
  EXPECT_THAT(Embedder().Embed({"a", "b"}).error().message(), HasSubstr("repeated"));
}

TEST_F(OpenAiEmbedderTest, SplitsLargeInputsIntoBatches) {
  server_.Answer(200,
                 R"({"data": [{"index": 0, "embedding": [1]}, {"index": 1, "embedding": [2]}]})");
  OpenAiEmbedder embedder({.base_url = server_.base_url(), .model = "m", .max_batch = 2});
  auto vectors = embedder.Embed({"a", "b", "c", "d"});
  ASSERT_TRUE(vectors) << vectors.error().message();
  EXPECT_EQ(vectors->size(), 4u);
  EXPECT_EQ(server_.bodies().size(), 2u);
}

TEST_F(OpenAiEmbedderTest, ConfigurationChoosesALocalProvider) {
  auto config = ParseConfig("[[providers]]\nname = \"e\"\nbase_url = \"" + server_.base_url() +
                                "\"\nmodel = \"m\"\n[memory]\nembedder = \"e\"\n"
                                "embedding_model = \"m2\"\n",
                            "tandem.toml");
  ASSERT_TRUE(config) << config.error().message();
  auto embedder = MakeConfiguredEmbedder(*config);
  ASSERT_TRUE(embedder) << embedder.error().message();
  ASSERT_NE(*embedder, nullptr);
  EXPECT_EQ((*embedder)->model_name(), "m2");

  auto none = ParseConfig("", "tandem.toml");
  ASSERT_TRUE(none);
  auto no_embedder = MakeConfiguredEmbedder(*none);
  ASSERT_TRUE(no_embedder);
  EXPECT_EQ(*no_embedder, nullptr);

  auto unknown = ParseConfig("[memory]\nembedder = \"ghost\"\n", "tandem.toml");
  ASSERT_TRUE(unknown);
  EXPECT_THAT(MakeConfiguredEmbedder(*unknown).error().message(),
              HasSubstr("no provider named 'ghost'"));
  auto typo = ParseConfig("[memory]\nembeder = \"e\"\n", "tandem.toml");
  ASSERT_TRUE(typo);
  EXPECT_THAT(MakeConfiguredEmbedder(*typo).error().message(), HasSubstr("embeder"));
}

}  // namespace
}  // namespace tandem::memory
