// Workers on PostgreSQL against one process on SQLite, on the same workload: N tasks of S steps
// (S - 1 appends to a file, then finish) against a model that answers at once, so the figures
// are the cost of the runtime and its store, not of a model.
//
//   bench_cluster [--tasks 1000] [--steps 10] [--workers 4]
//
// Runs, each on a fresh store:
//  1. PostgreSQL, `--workers` worker processes of capacity 1;
//  2. PostgreSQL, one worker process running `--workers` tasks at once;
//  3. SQLite, one worker process running `--workers` tasks at once (the single-process run).
// Prints completed steps per second and, for PostgreSQL, statements and commits per step
// (pg_stat_statements and pg_stat_database, the bench's own polling excluded). PostgreSQL runs
// with fsync on and synchronous_commit off: like SQLite's WAL with synchronous=NORMAL, a commit
// survives a crash of the process, and only a power loss may drop the last ones.
#include <fmt/format.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/postgres_server.h"
#include "support/process.h"
#include "support/scripted_model_server.h"
#include "support/temp_dir.h"
#include "tandem/core/id.h"
#include "tandem/core/pg_connection.h"
#include "tandem/store/task_store.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Options {
  int tasks = 1000;
  int steps = 10;
  int workers = 4;
};

// Answers every chat request at once: an append until the task has steps - 1 tool results,
// then finish.
class InstantModel {
 public:
  explicit InstantModel(int steps) {
    server_.Post(
        "/v1/chat/completions", [steps](const httplib::Request& req, httplib::Response& res) {
          int results = testing::ToolResults(json::parse(req.body, nullptr, false));
          std::string id = fmt::format("c{}", results);
          json answer =
              results < steps - 1
                  ? testing::ToolCallCompletion(
                        id, "append_file",
                        {{"path", "log.txt"}, {"content", fmt::format("line {}\n", results + 1)}})
                  : testing::ToolCallCompletion(id, "finish", {{"summary", "done"}});
          res.set_content(answer.dump(), "application/json");
        });
    server_.new_task_queue = [] { return new httplib::ThreadPool(8); };
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~InstantModel() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}/v1", port_); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

struct RunResult {
  double seconds = 0;
  int64_t steps = 0;
  int64_t statements = -1;  // PostgreSQL only.
  int64_t commits = -1;     // PostgreSQL only.
};

// Queues `options.tasks` tasks in `location`, runs `processes` workers of `capacity` each until
// every task succeeded, and measures.
class Run {
 public:
  Run(const Options& options, std::string location, const fs::path& tandem,
      const std::string& model_url, const fs::path& dir)
      : options_(options), location_(std::move(location)), tandem_(tandem), dir_(dir) {
    config_ = dir_ / "tandem.toml";
    std::ofstream(config_) << fmt::format(
        "store = \"{}\"\n[routing]\ngeneric = \"local\"\n[[providers]]\nname = \"local\"\n"
        "base_url = \"{}\"\nmodel = \"m\"\nzone = \"local\"\n",
        location_, model_url);
  }

  Result<RunResult> Measure(int processes, int capacity) {
    Result<std::unique_ptr<store::TaskStore>> store = store::OpenTaskStore(location_, dir_);
    if (!store) return std::unexpected(store.error());
    if (Status queued = Queue(**store); !queued) return std::unexpected(queued.error());
    bool postgres = pg::IsPostgresUrl(location_);
    std::unique_ptr<pg::Connection> pg;
    if (postgres) {
      auto connection = pg::Connection::Open(location_);
      if (!connection) return std::unexpected(connection.error());
      pg = std::move(*connection);
      if (Status reset = pg->Exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; "
                                  "SELECT pg_stat_statements_reset(); SELECT pg_stat_reset();");
          !reset) {
        return std::unexpected(reset.error());
      }
    }
    auto started = std::chrono::steady_clock::now();
    std::vector<int> pids;
    for (int i = 0; i < processes; ++i) {
      pids.push_back(testing::SpawnProcess(
          {tandem_.string(), "--config", config_.string(), "worker", "--zone", "local", "--name",
           fmt::format("w{}", i), "--capacity", std::to_string(capacity)},
          {.env = {{"TANDEM_HOME", (dir_ / "home").string()}, {"TANDEM_LOG_LEVEL", "warn"}}},
          (dir_ / fmt::format("w{}.log", i)).string()));
    }
    Result<int64_t> done = 0;
    while (true) {
      done = Succeeded(**store, pg.get());
      if (!done || *done >= options_.tasks) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    RunResult result;
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    for (int pid : pids) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
    if (!done) return std::unexpected(done.error());
    Result<store::StoreTotals> totals = (*store)->Totals();
    if (!totals) return std::unexpected(totals.error());
    for (const store::StoreTotals::Count& count : totals->steps_by_status)
      result.steps += count.count;
    if (pg) {
      // The bench's own polling and reset statements are not the workers'.
      Result<pg::Rows> rows = pg->Run(
          "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements WHERE query NOT LIKE "
          "'%pg_stat%' AND query NOT LIKE 'SELECT count(*) FROM tasks%'");
      if (!rows) return std::unexpected(rows.error());
      result.statements = rows->Int(0, 0);
      rows = pg->Run("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");
      if (!rows) return std::unexpected(rows.error());
      result.commits = rows->Int(0, 0);
    }
    return result;
  }

 private:
  Status Queue(store::TaskStore& store) {
    Result<store::TaskStore::Batch> batch = store.BeginBatch();
    if (!batch) return std::unexpected(batch.error());
    for (int i = 0; i < options_.tasks; ++i) {
      fs::path workspace = dir_ / "ws" / std::to_string(i);
      fs::create_directories(workspace);
      store::TaskRecord task{.id = NewId(),
                             .goal = "Append the lines to log.txt",
                             .workspace = workspace.string(),
                             .settings = json{{"max_steps", options_.steps + 5}}.dump(),
                             .created_at_ms = 1,
                             .updated_at_ms = 1};
      if (Status created = store.CreateTask(task); !created) return created;
      if (Status queued = store.SubmitTask(task.id, store::Placement::kAnywhere, i); !queued) {
        return queued;
      }
    }
    return batch->Commit();
  }

  Result<int64_t> Succeeded(store::TaskStore& store, pg::Connection* pg) {
    if (pg != nullptr) {
      Result<pg::Rows> rows = pg->Run("SELECT count(*) FROM tasks WHERE status = 'succeeded'");
      if (!rows) return std::unexpected(rows.error());
      return rows->Int(0, 0);
    }
    Result<store::StoreTotals> totals = store.Totals();
    if (!totals) return std::unexpected(totals.error());
    for (const store::StoreTotals::Count& count : totals->tasks_by_status)
      if (count.labels == std::vector<std::string>{"succeeded"}) return count.count;
    return 0;
  }

  Options options_;
  std::string location_;
  fs::path tandem_;
  fs::path dir_;
  fs::path config_;
};

void Report(const std::string& name, const RunResult& r) {
  double steps_per_s = static_cast<double>(r.steps) / r.seconds;
  fmt::print("{:<44} {:>7} steps {:>7.1f} s {:>8.1f} steps/s", name, r.steps, r.seconds,
             steps_per_s);
  if (r.statements >= 0) {
    fmt::print("  {:>5.1f} statements/step  {:>4.1f} commits/step",
               static_cast<double>(r.statements) / static_cast<double>(r.steps),
               static_cast<double>(r.commits) / static_cast<double>(r.steps));
  }
  fmt::print("\n");
  std::fflush(stdout);
}

std::optional<Options> ParseFlags(int argc, char** argv) {
  Options options;
  std::map<std::string, int*> flags = {
      {"--tasks", &options.tasks}, {"--steps", &options.steps}, {"--workers", &options.workers}};
  for (int i = 1; i < argc; ++i) {
    auto flag = flags.find(argv[i]);
    if (flag == flags.end() || i + 1 >= argc || std::atoi(argv[i + 1]) <= 0) {
      fmt::print(stderr, "usage: {} [--tasks N] [--steps S] [--workers W]\n", argv[0]);
      return std::nullopt;
    }
    *flag->second = std::atoi(argv[++i]);
  }
  if (options.steps < 2) options.steps = 2;
  return options;
}

}  // namespace
}  // namespace tandem

int main(int argc, char** argv) {
  using namespace tandem;
  std::optional<Options> options = ParseFlags(argc, argv);
  if (!options) return 2;
  fs::path tandem = fs::canonical(fs::path(argv[0])).parent_path() / "tandem";
  std::optional<fs::path> bin_dir = testing::PostgresServer::FindBinaries();
  if (!bin_dir) {
    fmt::print(stderr, "PostgreSQL 15 is not installed: run scripts/setup\n");
    return 1;
  }
  auto server = testing::PostgresServer::Start(
      *bin_dir, {"fsync=on", "full_page_writes=on", "synchronous_commit=off",
                 "shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track=all"});
  if (!server) {
    fmt::print(stderr, "starting PostgreSQL: {}\n", server.error().message());
    return 1;
  }
  InstantModel model(options->steps);
  fmt::print("{} tasks x {} steps, model answering at once, {} tasks at a time\n", options->tasks,
             options->steps, options->workers);
  struct Case {
    std::string name;
    bool postgres;
    int processes;
    int capacity;
  };
  const Case cases[] = {
      {fmt::format("PostgreSQL, {} worker processes", options->workers), true, options->workers, 1},
      {fmt::format("PostgreSQL, 1 worker process x {} tasks", options->workers), true, 1,
       options->workers},
      {fmt::format("SQLite, 1 worker process x {} tasks", options->workers), false, 1,
       options->workers},
  };
  int failed = 0;
  for (const Case& c : cases) {
    testing::TempDir dir;
    std::string location = (dir.path() / "tandem.db").string();
    if (c.postgres) {
      auto url = (*server)->CreateDatabase();
      if (!url) {
        fmt::print(stderr, "creating a database: {}\n", url.error().message());
        return 1;
      }
      location = *url;
    }
    Run run(*options, location, tandem, model.url(), dir.path());
    Result<RunResult> result = run.Measure(c.processes, c.capacity);
    if (!result) {
      fmt::print(stderr, "{}: {}\n", c.name, result.error().message());
      failed = 1;
      continue;
    }
    Report(c.name, *result);
  }
  return failed;
}
