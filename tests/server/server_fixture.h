// A real server on loopback over a real SQLite store and a model endpoint on loopback, with
// users of each role and HTTP helpers.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "support/loopback_server.h"
#include "support/temp_dir.h"
#include "tandem/llm/price_catalog.h"
#include "tandem/router/gateway.h"
#include "tandem/server/server.h"
#include "tandem/tools/file_tools.h"

namespace tandem::server {

// An OpenAI-compatible endpoint whose n-th answer (0-based) comes from a function; while
// `gate` is closed, answers wait for it to open.
class ModelEndpoint {
 public:
  using Script = std::function<nlohmann::json(int call)>;
  explicit ModelEndpoint(Script script);
  std::string base_url() const { return server_.url() + "/v1"; }
  void CloseGate();
  void OpenGate();
  int calls();
  // Bodies of the chat requests received so far, oldest first.
  std::vector<nlohmann::json> requests();
  // A chat completion calling `tool` with `arguments`.
  static nlohmann::json ToolCall(const std::string& tool, const nlohmann::json& arguments);

 private:
  Script script_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;                      // GUARDED_BY(mu_)
  int calls_ = 0;                         // GUARDED_BY(mu_)
  std::vector<nlohmann::json> requests_;  // GUARDED_BY(mu_)
  testing::LoopbackServer server_;
};

struct HttpResult {
  int status = 0;  // 0: no response.
  std::string body;
  httplib::Headers headers;
  nlohmann::json Json() const { return nlohmann::json::parse(body, nullptr, false); }
};

class ServerTest : public ::testing::Test {
 protected:
  explicit ServerTest(ModelEndpoint::Script script = nullptr);
  void SetUp() override;
  void TearDown() override;

  // Starts (or restarts, on the same store) the server.
  void StartServer();
  void StopServer();

  HttpResult Get(const std::string& path, const std::string& token, httplib::Headers headers = {});
  HttpResult Post(const std::string& path, const std::string& token, const nlohmann::json& body,
                  httplib::Headers headers = {});
  // Starts a task as `token`'s user; returns its id ("" on failure).
  std::string StartTask(const std::string& token, const std::string& goal, bool shared = false);
  // Polls until the task leaves pending/running; returns its final detail JSON.
  nlohmann::json WaitForEnd(const std::string& token, const std::string& id);

  testing::TempDir dir_;
  ModelEndpoint model_;
  ServerOptions options_;
  std::unique_ptr<store::TaskStore> store_;
  Config config_;
  llm::PriceCatalog prices_;
  std::unique_ptr<agent::StoreAuditSink> audit_;
  std::unique_ptr<router::Gateway> gateway_;
  std::unique_ptr<agent::ModelAccess> models_;
  tools::Registry registry_;
  tools::ToolsConfig tools_config_;              // Passed to the server ([tools] grants).
  std::unique_ptr<memory::MemoryStore> memory_;  // Passed when set, with memory_options_.
  agent::AgentMemoryOptions memory_options_;
  std::unique_ptr<Server> server_;
  // Prices /api/cost's all-cloud figure; SetUp loads it from config_ (gpt-4o-mini).
  std::optional<cost::CloudReference> cloud_reference_;
  Clock* clock_ = nullptr;  // The scheduler's clock when set (before SetUp); else the system's.
  // API tokens of admin "root", members "alice" and "bob", viewer "victor".
  std::string root_, alice_, bob_, victor_;
};

}  // namespace tandem::server
