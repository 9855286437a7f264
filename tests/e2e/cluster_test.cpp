// Workers on a real PostgreSQL: two local `tandem worker` processes and one cloud one run 50
// tasks of mixed sensitivity submitted with `tandem run --submit`; one local worker is killed
// with SIGKILL mid-task. Every task finishes exactly once, no completed append is repeated, no
// sensitive task runs a step on the cloud worker (from the audit and from what the cloud model
// received), and a task that turns sensitive on the cloud worker is handed over and finishes on
// a local one.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/loopback_server.h"
#include "support/postgres_server.h"
#include "support/process.h"
#include "support/scripted_model_server.h"
#include "support/temp_dir.h"
#include "tandem/store/task_store.h"

namespace tandem {
namespace {

using nlohmann::json;

constexpr int kTasks = 50;
constexpr int kAppends = 3;
constexpr const char* kSensitiveFile = "customer.txt";
constexpr const char* kCardNumber = "4111 1111 1111 1111";

// A deterministic model: its next action depends only on the conversation so far, so a task
// resumed on another worker continues where its saved steps say it is. A goal that names the
// customer file reads it first; then every task appends lines 1..kAppends and finishes.
class ModelServer {
 public:
  // Each answer takes `delay` (the local model is slower, so a worker is killed mid-task).
  explicit ModelServer(std::chrono::milliseconds delay) {
    server_.server().Post("/v1/chat/completions",
                          [this, delay](const httplib::Request& req, httplib::Response& res) {
                            {
                              std::lock_guard lock(mu_);
                              bodies_.push_back(req.body);
                            }
                            std::this_thread::sleep_for(delay);
                            res.set_content(Answer(req.body).dump(), "application/json");
                          });
    server_.Start();
  }
  std::string url() const { return server_.url() + "/v1"; }
  std::vector<std::string> bodies() const {
    std::lock_guard lock(mu_);
    return bodies_;
  }

 private:
  static json Answer(const std::string& text) {
    int results = testing::ToolResults(json::parse(text, nullptr, false));
    bool reads_first = text.find(kSensitiveFile) != std::string::npos;
    std::string id = fmt::format("c{}", results);
    if (reads_first && results == 0) {
      return testing::ToolCallCompletion(id, "read_file", {{"path", kSensitiveFile}});
    }
    int line = results + (reads_first ? 0 : 1);
    if (line <= kAppends) {
      return testing::ToolCallCompletion(
          id, "append_file", {{"path", "log.txt"}, {"content", fmt::format("line {}\n", line)}});
    }
    return testing::ToolCallCompletion(id, "finish", {{"summary", "done"}});
  }

  testing::LoopbackServer server_;
  mutable std::mutex mu_;
  std::vector<std::string> bodies_;  // GUARDED_BY(mu_)
};

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = testing::CreateTestDatabase();
    if (!url && url.error().code() == ErrorCode::kNotFound) GTEST_SKIP() << url.error().message();
    ASSERT_TRUE(url) << url.error().message();
    url_ = *url;
    std::string common = fmt::format(
        "store = \"{}\"\n[routing]\ngeneric = \"cloud\"\nkeywords = [\"confidential\"]\n"
        "[[providers]]\nname = \"cloud\"\nbase_url = \"{}\"\nmodel = \"gpt-4o-mini\"\n"
        "zone = \"cloud\"\n",
        url_, cloud_model_.url());
    // Local machines reach both models; the cloud machine only the cloud one.
    local_config_ =
        dir_.Write("local.toml", common + fmt::format("[[providers]]\nname = \"local\"\nbase_url = "
                                                      "\"{}\"\nmodel = \"m\"\nzone = \"local\"\n",
                                                      local_model_.url()));
    cloud_config_ = dir_.Write("cloud.toml", common);
    auto store = store::OpenTaskStore(url_, dir_.path());
    ASSERT_TRUE(store) << store.error().message();
    store_ = std::move(*store);
  }

  void TearDown() override {
    for (auto& [name, pid] : workers_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }

  testing::ProcessOptions Options() const {
    return {
        .working_dir = dir_.path().string(),
        .env = {{"TANDEM_HOME", (dir_.path() / "home").string()}, {"TANDEM_LOG_LEVEL", "info"}}};
  }

  void StartWorker(const std::string& name, const std::string& zone) {
    std::filesystem::path config = zone == "local" ? local_config_ : cloud_config_;
    workers_[name] = testing::SpawnProcess({TANDEM_BINARY, "--config", config.string(), "worker",
                                            "--zone", zone, "--name", name, "--lease-s", "2"},
                                           Options(), (dir_.path() / (name + ".log")).string());
  }

  // Submits GOAL with its own workspace (holding the customer file); returns the task id.
  std::string Submit(const std::string& goal, int index) {
    std::filesystem::path workspace = dir_.path() / fmt::format("ws{}", index);
    std::filesystem::create_directories(workspace);
    std::ofstream(workspace / kSensitiveFile)
        << "CONFIDENTIAL customer record: card " << kCardNumber << "\n";
    testing::ProcessResult submitted =
        testing::RunTandem({"--config", local_config_.string(), "run", goal, "--workspace",
                            workspace.string(), "--submit"},
                           Options());
    EXPECT_EQ(submitted.exit_code, 0) << submitted.out << submitted.err;
    size_t at = submitted.out.find("task ");
    if (at == std::string::npos) return "";
    std::string id = submitted.out.substr(at + 5, 26);
    index_[id] = index;
    return id;
  }

  std::vector<store::AuditRecord> Audit(const std::string& task_id) {
    auto records = store_->ListAudit(task_id);
    EXPECT_TRUE(records) << records.error().message();
    return records ? *records : std::vector<store::AuditRecord>{};
  }

  // Waits until `done` holds, up to `limit`.
  template <typename Predicate>
  bool WaitFor(Predicate done, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  }

  std::string WorkerLogs() {
    std::string logs;
    for (const auto& [name, pid] : workers_)
      logs += "--- " + name + "\n" + testing::ReadFile(dir_.path() / (name + ".log"));
    return logs;
  }

  testing::TempDir dir_;
  ModelServer local_model_{std::chrono::milliseconds(100)};
  ModelServer cloud_model_{std::chrono::milliseconds(15)};
  std::string url_;
  std::filesystem::path local_config_;
  std::filesystem::path cloud_config_;
  std::unique_ptr<store::TaskStore> store_;
  std::map<std::string, int> workers_;  // name -> pid
  std::map<std::string, int> index_;    // task id -> number of its workspace
};

bool HasAuditOfKind(const std::vector<store::AuditRecord>& records, const std::string& kind) {
  return std::any_of(records.begin(), records.end(),
                     [&](const store::AuditRecord& r) { return r.kind == kind; });
}

TEST_F(ClusterTest, MixedTasksFinishOnceSensitiveOnesNeverRunOnTheCloudWorker) {
  // The cloud worker alone first: the task that reads the customer file starts there, turns
  // sensitive, and is handed over.
  StartWorker("cloud-1", "cloud");
  std::string turning = Submit("Summarise the customer file customer.txt", 0);
  ASSERT_FALSE(turning.empty());
  ASSERT_TRUE(
      WaitFor([&] { return HasAuditOfKind(Audit(turning), "handover"); }, std::chrono::seconds(60)))
      << WorkerLogs();

  // The rest are queued while only the cloud worker runs: it takes generic ones, sensitive ones
  // wait for the local workers started after.
  std::map<std::string, bool> sensitive = {{turning, true}};
  for (int i = 1; i < kTasks; ++i) {
    bool secret = i % 3 == 0;
    std::string goal = secret ? fmt::format("Prepare the offer for jane.doe{}@example.com", i)
                              : fmt::format("Write release note number {}", i);
    std::string id = Submit(goal, i);
    ASSERT_FALSE(id.empty());
    sensitive[id] = secret;
  }
  StartWorker("local-a", "local");
  StartWorker("local-b", "local");

  // Kill local-a while it holds a task mid-run.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto queue = store_->ListQueue();
        return queue && std::any_of(queue->begin(), queue->end(), [](const auto& entry) {
                 return entry.lease_owner == "local-a";
               });
      },
      std::chrono::seconds(60)))
      << WorkerLogs();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // Into the run.
  kill(workers_["local-a"], SIGKILL);
  waitpid(workers_["local-a"], nullptr, 0);
  workers_.erase("local-a");
  auto queue = store_->ListQueue();
  ASSERT_TRUE(queue);
  ASSERT_TRUE(std::any_of(queue->begin(), queue->end(), [](const auto& entry) {
    return entry.lease_owner == "local-a";
  })) << "the kill landed between two tasks";

  auto all_done = [&] {
    for (const auto& [id, secret] : sensitive) {
      auto task = store_->GetTask(id);
      if (!task || !*task || (*task)->status != store::TaskStatus::kSucceeded) return false;
    }
    return true;
  };
  ASSERT_TRUE(WaitFor(all_done, std::chrono::seconds(240))) << WorkerLogs();

  int taken_over = 0;
  for (const auto& [id, secret] : sensitive) {
    SCOPED_TRACE("task " + id);
    // Finished exactly once.
    auto events = store_->ListEvents(id);
    ASSERT_TRUE(events);
    EXPECT_EQ(std::count_if(events->begin(), events->end(),
                            [](const store::EventRecord& e) { return e.type == "task_finished"; }),
              1);
    // No completed append repeated: every line once, in order.
    std::istringstream log(
        testing::ReadFile(dir_.path() / fmt::format("ws{}", index_[id]) / "log.txt"));
    std::vector<std::string> lines;
    for (std::string line; std::getline(log, line);)
      lines.push_back(line);
    std::vector<std::string> expected;
    for (int n = 1; n <= kAppends; ++n)
      expected.push_back(fmt::format("line {}", n));
    EXPECT_EQ(lines, expected);

    // Where each model call ran, from the audit; claims and handovers in between.
    bool handed_over = false;
    std::string last_claim_zone;
    int64_t claims = 0;  // The queue's count at the latest claim (a killed worker may not audit).
    for (const store::AuditRecord& record : Audit(id)) {
      json payload = json::parse(record.payload);
      if (record.kind == "worker_claim") {
        claims = std::max(claims, payload["claim"].get<int64_t>());
        last_claim_zone = payload["zone"];
      } else if (record.kind == "handover") {
        handed_over = true;
        EXPECT_EQ(payload["from_zone"], "cloud");
      } else if (record.kind == "route_decision") {
        ASSERT_TRUE(payload.contains("worker")) << record.payload;
        bool on_cloud = payload["worker"]["zone"] == "cloud";
        if (secret && id != turning) {
          EXPECT_FALSE(on_cloud) << "a sensitive task ran a step on the cloud worker";
        }
        if (handed_over) {
          EXPECT_FALSE(on_cloud) << "a step after the handover ran on the cloud";
        }
      }
    }
    if (secret) {
      EXPECT_EQ(last_claim_zone, "local");
    }
    if (id == turning) {
      EXPECT_TRUE(handed_over);
    }
    if (claims > (handed_over ? 2 : 1)) ++taken_over;  // A handover is one more claim.
  }
  EXPECT_GE(taken_over, 1) << "no task was taken over from the killed worker";

  // The cloud model never received anything sensitive.
  for (const std::string& body : cloud_model_.bodies()) {
    EXPECT_EQ(body.find("@example.com"), std::string::npos);
    EXPECT_EQ(body.find(kCardNumber), std::string::npos);
  }
  // The turning task's first call went to the cloud model (it was not sensitive then).
  EXPECT_FALSE(cloud_model_.bodies().empty());

  // `cluster status` while two workers still run, then a clean stop.
  testing::ProcessResult status = testing::RunTandem(
      {"--config", local_config_.string(), "cluster", "status", "--json"}, Options());
  ASSERT_EQ(status.exit_code, 0) << status.err;
  json cluster = json::parse(status.out);
  EXPECT_EQ(cluster["queue"]["running"], 0);
  EXPECT_EQ(cluster["queue"]["waiting_anywhere"], 0);
  EXPECT_EQ(cluster["queue"]["waiting_local_only"], 0);
  std::map<std::string, std::string> states;
  for (const json& worker : cluster["workers"])
    states[worker["name"]] = worker["state"];
  EXPECT_EQ(states["local-b"], "running");
  EXPECT_EQ(states["cloud-1"], "running");
  EXPECT_EQ(states.count("local-a"), 1u);
  for (auto& [name, pid] : workers_) {
    kill(pid, SIGTERM);
    int exit = 0;
    waitpid(pid, &exit, 0);
    EXPECT_TRUE(WIFEXITED(exit) && WEXITSTATUS(exit) == 0) << name << "\n" << WorkerLogs();
  }
  workers_.clear();
  auto workers = store_->ListWorkers();
  ASSERT_TRUE(workers);
  for (const store::WorkerRecord& worker : *workers)
    EXPECT_EQ(worker.stopped, worker.name != "local-a") << worker.name;
}

}  // namespace
}  // namespace tandem
