// The agent's own costs, apart from the model and the tools (issue #5):
//  1. loop overhead per step with a long history — prompt building, routing (the router scans
//     the whole prompt), ledger, step persistence, watchdog and budget checks — measured as the
//     time between one model call starting and the next, minus the model's and the tool's time;
//  2. start-up of `tandem --version`, next to spawning /bin/true (the floor for any program);
//  3. resident memory of `tandem run` while it waits for a model that does not answer.
// Prints a plain report; docs/BENCHMARKS.md records the figures.
#include <fmt/core.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tandem/agent/controller.h"
#include "tandem/core/config.h"
#include "tandem/llm/price_catalog.h"
#include "tandem/router/gateway.h"

extern char** environ;

namespace tandem {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Millis(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[index];
}

// CPU time of the calling thread: unlike wall time, it does not count the time a busy machine
// keeps the thread waiting for a core.
double ThreadCpuMs() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

// When each model call started and how long each model and tool call took, in wall time and
// in the loop thread's CPU time, in order.
struct Timeline {
  std::vector<Clock::time_point> model_start;
  std::vector<Clock::duration> model_time;
  std::vector<Clock::duration> tool_time;
  std::vector<double> model_start_cpu, model_cpu, tool_cpu;
};

// Answers after `latency` with a call to `note` carrying a fresh counter (so the watchdog sees
// progress) and a line of text, the way a real step's arguments look. The latency is excluded
// from the overhead; a non-zero one (still far below any real model's) leaves the loop's
// background work (WAL checkpoints) room to run off the step's critical path, as in a real run.
class InstantModel final : public llm::ChatModel {
 public:
  InstantModel(Timeline* timeline, std::chrono::milliseconds latency)
      : timeline_(timeline), latency_(latency) {}
  Result<llm::ChatResponse> Chat(const llm::ChatRequest&, const llm::CallOptions&) override {
    Clock::time_point start = Clock::now();
    double start_cpu = ThreadCpuMs();
    std::this_thread::sleep_for(latency_);
    llm::ChatResponse response;
    nlohmann::json args = {
        {"n", calls_}, {"text", fmt::format("observation {} about the quarterly report", calls_)}};
    response.message = {
        llm::Role::kAssistant, "", {{fmt::format("call_{}", calls_), "note", args.dump()}}, ""};
    response.usage = {.prompt_tokens = 1200, .completion_tokens = 40};
    response.finish_reason = "tool_calls";
    response.model = name_;
    ++calls_;
    timeline_->model_start.push_back(start);
    timeline_->model_time.push_back(Clock::now() - start);
    timeline_->model_start_cpu.push_back(start_cpu);
    timeline_->model_cpu.push_back(ThreadCpuMs() - start_cpu);
    return response;
  }
  const std::string& model_name() const override { return name_; }

 private:
  Timeline* timeline_;
  std::chrono::milliseconds latency_;
  std::string name_ = "gpt-4o-mini";
  int calls_ = 0;
};

// A read-only tool that echoes a paragraph (a typical observation's size).
class NoteTool final : public tools::Tool {
 public:
  explicit NoteTool(Timeline* timeline) : timeline_(timeline) {}
  std::string_view name() const override { return "note"; }
  std::string_view description() const override { return "Records a note"; }
  const nlohmann::json& schema() const override { return schema_; }
  tools::EffectClass effect() const override { return tools::EffectClass::kRead; }
  Result<tools::ToolResult> Invoke(const nlohmann::json& args, tools::ToolContext&) const override {
    Clock::time_point start = Clock::now();
    double start_cpu = ThreadCpuMs();
    std::string output = "noted: " + args.value("text", std::string());
    while (output.size() < 400)
      output += " (context line)";
    timeline_->tool_time.push_back(Clock::now() - start);
    timeline_->tool_cpu.push_back(ThreadCpuMs() - start_cpu);
    return tools::ToolResult{.output = std::move(output)};
  }

 private:
  Timeline* timeline_;
  nlohmann::json schema_ = {
      {"type", "object"},
      {"properties", {{"n", {{"type", "integer"}}}, {"text", {{"type", "string"}}}}},
      {"required", {"n", "text"}}};
};

void BenchLoopOverhead(const fs::path& dir, std::chrono::milliseconds latency) {
  constexpr int kHistory = 200;
  constexpr int kMeasured = 100;  // Steps measured once the history holds kHistory steps.
  constexpr int kRuns = 3;
  ConfigLoadOptions load;
  load.environment = std::map<std::string, std::string>{{"BENCH_KEY", "unused"}};
  Result<Config> config = ParseConfig(
      "[[providers]]\nname = \"cloud\"\nbase_url = \"http://127.0.0.1:9/v1\"\n"
      "model = \"gpt-4o-mini\"\nzone = \"cloud\"\napi_key_env = \"BENCH_KEY\"\n"
      "[routing]\ngeneric = \"cloud\"\n",
      "tandem.toml", load);
  if (!config) {
    fmt::print("config: {}\n", config.error().message());
    return;
  }
  auto store = store::TaskStore::Open(dir / fmt::format("loop-{}.db", latency.count()));
  Result<llm::PriceCatalog> prices = llm::PriceCatalog::Load(*config);
  if (!store || !prices) {
    fmt::print("store or catalog failed\n");
    return;
  }
  // Several tasks in one store, so percentiles rest on a few hundred steps.
  std::vector<double> wall[2], cpu[2];  // [0]: history 0..kHistory, [1]: after.
  double run_ms = 0;
  size_t steps = 0;
  for (int run = 0; run < kRuns; ++run) {
    Timeline timeline;
    agent::StoreAuditSink audit(store->get());
    router::GatewayOptions gateway_options{.audit = &audit};
    gateway_options.model_factory =
        [&timeline, latency](const Config&,
                             const ProviderConfig&) -> Result<std::unique_ptr<llm::ChatModel>> {
      return std::make_unique<InstantModel>(&timeline, latency);
    };
    auto gateway = router::Gateway::Create(*config, gateway_options);
    if (!gateway) {
      fmt::print("gateway: {}\n", gateway.error().message());
      return;
    }
    agent::GatewayModelAccess models(gateway->get(), &*config, &*prices, store->get(),
                                     &SystemClock());
    tools::Registry registry;
    (void)registry.Register(std::make_unique<NoteTool>(&timeline));
    auto policy = router::Policy::Create(*config);
    agent::Controller controller(
        {.store = store->get(), .models = &models, .tools = &registry, .policy = policy->get()});
    agent::RunOptions options;
    options.max_steps = kHistory + kMeasured + 1;
    auto task =
        controller.Create("Summarise the quarterly report in the workspace", dir / "ws", options);
    if (!task) {
      fmt::print("create: {}\n", task.error().message());
      return;
    }
    Clock::time_point run_start = Clock::now();
    auto outcome = controller.Run(task->id, options);
    run_ms += Millis(Clock::now() - run_start);
    if (!outcome) {
      fmt::print("run: {}\n", outcome.error().message());
      return;
    }
    // Step i's overhead: from model call i starting to call i + 1 starting, less the model's and
    // the tool's own time; in wall time and in the loop thread's CPU time.
    size_t calls = std::min(timeline.model_start.size(), timeline.tool_time.size() + 1);
    steps += calls;
    for (size_t i = 0; i + 1 < calls; ++i) {
      Clock::duration between = timeline.model_start[i + 1] - timeline.model_start[i];
      int half = i < kHistory ? 0 : 1;
      wall[half].push_back(Millis(between - timeline.model_time[i] - timeline.tool_time[i]));
      cpu[half].push_back(timeline.model_start_cpu[i + 1] - timeline.model_start_cpu[i] -
                          timeline.model_cpu[i] - timeline.tool_cpu[i]);
    }
  }
  fmt::print(
      "loop overhead per step (model and tool time excluded), model answering after {} ms, {} "
      "tasks, {} steps in {:.0f} ms:\n",
      latency.count(), kRuns, steps, run_ms);
  for (int half : {0, 1}) {
    if (wall[half].empty()) continue;
    fmt::print(
        "  history {:>3}-{}: wall p50 {:.3f} ms p99 {:.3f} ms | thread CPU p50 {:.3f} ms "
        "p99 {:.3f} ms\n",
        half * kHistory, half == 0 ? kHistory : kHistory + kMeasured, Percentile(wall[half], 0.5),
        Percentile(wall[half], 0.99), Percentile(cpu[half], 0.5), Percentile(cpu[half], 0.99));
  }
  fmt::print("  (target: p99 under 1 ms with a 200-step history)\n");
}

// Spawns argv with stdout/stderr to /dev/null and waits; returns the wall time.
double SpawnAndWait(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  Clock::time_point start = Clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  double ms = Millis(Clock::now() - start);
  posix_spawn_file_actions_destroy(&actions);
  return ms;
}

void BenchStartup(const fs::path& tandem) {
  constexpr int kRuns = 40;
  std::vector<double> tandem_ms, true_ms;
  for (int i = 0; i < kRuns; ++i) {
    tandem_ms.push_back(SpawnAndWait({tandem.string(), "--version"}));
    true_ms.push_back(SpawnAndWait({"/bin/true"}));
  }
  fmt::print(
      "start-up, {} runs each (interleaved):\n  tandem --version p50 {:.2f} ms  p99 {:.2f} ms\n"
      "  /bin/true        p50 {:.2f} ms  p99 {:.2f} ms  (target for tandem: < 50 ms)\n",
      kRuns, Percentile(tandem_ms, 0.5), Percentile(tandem_ms, 0.99), Percentile(true_ms, 0.5),
      Percentile(true_ms, 0.99));
}

// Resident set size in KiB from /proc/PID/status ("VmRSS:" or "VmHWM:").
long StatusKib(pid_t pid, const std::string& key) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(key)) return std::stol(line.substr(key.size()));
  }
  return -1;
}

void BenchIdleMemory(const fs::path& tandem, const fs::path& dir) {
  // A model endpoint that holds the request until released, so `tandem run` sits idle waiting.
  httplib::Server server;
  std::mutex mutex;
  std::condition_variable changed;
  bool request_seen = false, released = false;
  server.Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& response) {
    std::unique_lock lock(mutex);
    request_seen = true;
    changed.notify_all();
    changed.wait_for(lock, std::chrono::seconds(20), [&] { return released; });
    response.status = 503;
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { server.listen_after_bind(); });

  fs::path config = dir / "idle.toml";
  std::ofstream(config) << fmt::format(
      "[[providers]]\nname = \"local\"\nbase_url = \"http://127.0.0.1:{}/v1\"\n"
      "model = \"idle-model\"\nzone = \"local\"\n",
      port);
  std::string home = "TANDEM_HOME=" + (dir / "home").string();
  std::vector<std::string> argv = {
      tandem.string(),      "--config",    config.string(),           "run",
      "Wait for the model", "--workspace", (dir / "idle-ws").string()};
  std::vector<char*> args;
  for (std::string& arg : argv)
    args.push_back(arg.data());
  args.push_back(nullptr);
  std::vector<char*> env = {home.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.data()) == 0) {
    {
      std::unique_lock lock(mutex);
      changed.wait_for(lock, std::chrono::seconds(10), [&] { return request_seen; });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    long rss = StatusKib(pid, "VmRSS:");
    long peak = StatusKib(pid, "VmHWM:");
    fmt::print(
        "idle `tandem run` waiting on its model: resident {:.1f} MiB, peak {:.1f} MiB "
        "(target < 30 MB)\n",
        static_cast<double>(rss) / 1024.0, static_cast<double>(peak) / 1024.0);
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  posix_spawn_file_actions_destroy(&actions);
  {
    std::lock_guard lock(mutex);
    released = true;
  }
  changed.notify_all();
  server.stop();
  serving.join();
}

}  // namespace
}  // namespace tandem

int main(int, char** argv) {
  namespace fs = std::filesystem;
  fs::path tandem = fs::canonical(fs::path(argv[0])).parent_path() / "tandem";
  fs::path dir = fs::temp_directory_path() / fmt::format("tandem-agent-bench-{}", getpid());
  fs::create_directories(dir);
  // Back to back model calls (writes never pause), then a model that takes 5 ms.
  tandem::BenchLoopOverhead(dir, std::chrono::milliseconds(0));
  tandem::BenchLoopOverhead(dir, std::chrono::milliseconds(5));
  tandem::BenchStartup(tandem);
  tandem::BenchIdleMemory(tandem, dir);
  fs::remove_all(dir);
  return 0;
}
