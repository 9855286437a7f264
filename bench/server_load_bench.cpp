// A bounded load test of `tandem serve` on loopback (issue #10): a real server process (the
// built `tandem` binary, temporary home) runs 20 tasks against a scripted model endpoint in this
// process, while 200 SSE watchers follow the tasks and a driver sends 50 API requests per second
// (task list, task detail, metrics, cost). Checks: every request answers 200, every watcher gets
// its task's stored events, in order, with none missing, through task_finished, every task
// succeeds. Reports request latency, event delivery delay (event time_ms to receipt), the
// server's resident memory. Exits 1 on any error. Without flags it runs twice (40 steps with a
// 250 ms model, then 40 with a 5 ms one); flags (--tasks N --steps N --model-ms N
// --watchers N --rps N --threads N, the server's http_threads) select one run.
#include <fcntl.h>
#include <fmt/core.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

struct Options {
  int tasks = 20;
  int steps = 10;      // Tool calls per task before `finish`.
  int model_ms = 5;    // The scripted model's answer time.
  int watchers = 200;  // SSE connections, spread evenly over the tasks.
  int rps = 50;        // API requests per second while the tasks run.
  int threads = 256;   // The server's http_threads.
  int max_seconds = 55;
};

double NowUnixMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

// Counts errors and keeps the first few messages.
class Errors {
 public:
  void Add(const std::string& message) {
    std::lock_guard lock(mu_);
    if (messages_.size() < 10) messages_.push_back(message);
    ++count_;
  }
  int count() {
    std::lock_guard lock(mu_);
    return count_;
  }
  std::vector<std::string> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  std::mutex mu_;
  int count_ = 0;                      // GUARDED_BY(mu_)
  std::vector<std::string> messages_;  // GUARDED_BY(mu_)
};

// An OpenAI-compatible endpoint: after `model_ms`, a task with fewer than `steps` tool results in
// its history gets a write_file call (a new file each step, so the watchdog sees progress),
// then `finish`. Stateless, so concurrent tasks cannot take each other's answers.
class ScriptedModel {
 public:
  ScriptedModel(int steps, int model_ms) {
    server_.new_task_queue = [] { return new httplib::ThreadPool(48); };
    server_.Post("/v1/chat/completions", [steps, model_ms](const httplib::Request& req,
                                                           httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(model_ms));
      json body = json::parse(req.body, nullptr, false);
      int done = 0;
      if (body.is_object() && body.contains("messages") && body["messages"].is_array()) {
        for (const json& message : body["messages"])
          done += message.value("role", "") == "tool" ? 1 : 0;
      }
      json call = done < steps
                      ? json{{"name", "write_file"},
                             {"arguments", json{{"path", fmt::format("step{}.md", done)},
                                                {"content", fmt::format("Step {}\n", done)}}
                                               .dump()}}
                      : json{{"name", "finish"},
                             {"arguments", json{{"summary", "wrote the steps"}}.dump()}};
      json reply = {{"id", "chatcmpl-load"},
                    {"object", "chat.completion"},
                    {"model", "scripted"},
                    {"choices",
                     {{{"index", 0},
                       {"finish_reason", "tool_calls"},
                       {"message",
                        {{"role", "assistant"},
                         {"content", ""},
                         {"tool_calls",
                          {{{"id", fmt::format("call_{}", done)},
                            {"type", "function"},
                            {"function", call}}}}}}}}},
                    {"usage", {{"prompt_tokens", 200 + 40 * done}, {"completion_tokens", 30}}}};
      res.set_content(reply.dump(), "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~ScriptedModel() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

// Runs `argv` with stdout and stderr appended to `log`; returns the pid, -1 on failure.
pid_t Spawn(const std::vector<std::string>& argv, const fs::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Runs a shell command line, feeding `input` or capturing its stdout.
std::optional<std::string> Shell(const std::string& command, const std::string& input = "") {
  if (!input.empty()) {
    FILE* pipe = popen(command.c_str(), "w");
    if (pipe == nullptr) return std::nullopt;
    fwrite(input.data(), 1, input.size(), pipe);
    return pclose(pipe) == 0 ? std::optional<std::string>("") : std::nullopt;
  }
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0)
    out.append(buffer, n);
  return pclose(pipe) == 0 ? std::optional<std::string>(out) : std::nullopt;
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Resident and peak resident memory of `pid` in MiB, from /proc.
std::pair<double, double> Memory(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  double rss = 0, hwm = 0;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::atof(line.c_str() + 6) / 1024;
    if (line.rfind("VmHWM:", 0) == 0) hwm = std::atof(line.c_str() + 6) / 1024;
  }
  return {rss, hwm};
}

struct Stream {
  std::vector<int64_t> ids;
  std::vector<double> live_delays_ms;  // Events created after the request was sent.
  std::string last_type;
  bool ok = false;
  std::string error;
};

// Reads a task's event stream to its end.
Stream Watch(int port, const std::string& token, const std::string& task_id) {
  Stream out;
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(60, 0);
  double sent_ms = NowUnixMs();
  std::string buffer;
  auto result =
      client.Get("/api/tasks/" + task_id + "/events", {{"Authorization", "Bearer " + token}},
                 [&](const char* data, size_t size) {
                   double received_ms = NowUnixMs();
                   buffer.append(data, size);
                   size_t end = 0;
                   while ((end = buffer.find("\n\n")) != std::string::npos) {
                     std::string block = buffer.substr(0, end);
                     buffer.erase(0, end + 2);
                     std::istringstream lines(block);
                     std::string line;
                     while (std::getline(lines, line)) {
                       if (line.rfind("data: ", 0) != 0) continue;
                       json event = json::parse(line.substr(6), nullptr, false);
                       if (!event.is_object()) {
                         out.error = "unparsable event data";
                         return false;
                       }
                       out.ids.push_back(event.value("id", int64_t{0}));
                       out.last_type = event.value("type", "");
                       double created_ms = static_cast<double>(event.value("time_ms", int64_t{0}));
                       if (created_ms >= sent_ms)
                         out.live_delays_ms.push_back(received_ms - created_ms);
                     }
                   }
                   return true;
                 });
  if (!result) {
    out.error = "stream failed: " + httplib::to_string(result.error());
  } else if (result->status != 200) {
    out.error = fmt::format("stream answered {}", result->status);
  } else if (out.last_type != "task_finished") {
    out.error = "stream ended before task_finished (last: " + out.last_type + ")";
  } else {
    out.ok = true;
  }
  return out;
}

std::optional<Options> ParseFlags(int argc, char** argv) {
  Options options;
  std::map<std::string, int*> flags = {{"--tasks", &options.tasks},
                                       {"--steps", &options.steps},
                                       {"--model-ms", &options.model_ms},
                                       {"--watchers", &options.watchers},
                                       {"--rps", &options.rps},
                                       {"--threads", &options.threads},
                                       {"--max-seconds", &options.max_seconds}};
  for (int i = 1; i < argc; ++i) {
    auto flag = flags.find(argv[i]);
    if (flag == flags.end() || i + 1 >= argc || std::atoi(argv[i + 1]) <= 0) {
      fmt::print(stderr,
                 "usage: {} [--tasks N] [--steps N] [--model-ms N] [--watchers N] "
                 "[--rps N] [--threads N] [--max-seconds N]\n",
                 argv[0]);
      return std::nullopt;
    }
    *flag->second = std::atoi(argv[++i]);
  }
  return options;
}

class LoadTest {
 public:
  LoadTest(Options options, fs::path tandem) : options_(options), tandem_(std::move(tandem)) {}
  ~LoadTest() {
    StopServer();
    std::error_code ec;
    if (!home_.empty()) fs::remove_all(home_, ec);
  }

  int Run() {
    if (!Setup()) return Finish();
    std::vector<std::string> tasks = StartTasks();
    if (static_cast<int>(tasks.size()) != options_.tasks) return Finish();
    auto started = SteadyClock::now();
    std::atomic<bool> done{false};
    std::vector<Stream> streams(static_cast<size_t>(options_.watchers));
    std::vector<std::thread> watchers;
    for (int w = 0; w < options_.watchers; ++w) {
      const std::string& task = tasks[static_cast<size_t>(w % options_.tasks)];
      watchers.emplace_back([this, &streams, w, task] {
        streams[static_cast<size_t>(w)] = Watch(port_, token_, task);
      });
    }
    std::thread driver([&] { DriveRequests(tasks, done); });
    std::thread guard([&] {
      // Ends a stuck run: stopping the server ends every stream.
      while (!done && SteadyClock::now() - started < std::chrono::seconds(options_.max_seconds))
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!done) {
        errors_.Add("the run took longer than --max-seconds");
        kill(pid_, SIGTERM);
      }
    });
    for (std::thread& watcher : watchers)
      watcher.join();
    double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
    memory_ = Memory(pid_);
    done = true;
    driver.join();
    guard.join();
    Check(tasks, streams);
    Report(streams, seconds);
    return Finish();
  }

 private:
  bool Setup() {
    char pattern[] = "/tmp/tandem-load-XXXXXX";
    if (mkdtemp(pattern) == nullptr) return Fail("mkdtemp failed");
    home_ = pattern;
    model_ = std::make_unique<ScriptedModel>(options_.steps, options_.model_ms);
    std::ofstream(home_ / "tandem.toml") << fmt::format(
        "[log]\nlevel = \"warn\"\n[server]\nhttp_threads = {}\nworkers = {}\n"
        "[[providers]]\nname = \"local\"\nbase_url = \"http://127.0.0.1:{}/v1\"\n"
        "model = \"scripted\"\nzone = \"local\"\nmax_concurrency = {}\n",
        options_.threads, options_.tasks, model_->port(), options_.tasks);
    setenv("TANDEM_HOME", home_.c_str(), 1);
    setenv("TANDEM_CONFIG", (home_ / "tandem.toml").c_str(), 1);
    std::string tandem = tandem_.string();
    if (!Shell(fmt::format("'{}' user add bench --role admin >/dev/null", tandem),
               "load-test-password\n")) {
      return Fail("`tandem user add` failed");
    }
    std::optional<std::string> token_out = Shell(fmt::format("'{}' user token bench", tandem));
    std::smatch match;
    if (!token_out || !std::regex_search(*token_out, match, std::regex("tdm_[A-Za-z0-9_-]+"))) {
      return Fail("`tandem user token` printed no token");
    }
    token_ = match.str();
    pid_ = Spawn({tandem, "serve", "--listen", "127.0.0.1:0"}, home_ / "serve.log");
    if (pid_ < 0) return Fail("cannot start `tandem serve`");
    std::regex listening("listening on http://127\\.0\\.0\\.1:(\\d+)");
    for (int i = 0; i < 400 && port_ == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::string log = ReadAll(home_ / "serve.log");
      if (std::regex_search(log, match, listening)) port_ = std::stoi(match.str(1));
    }
    if (port_ == 0) return Fail("`tandem serve` did not start: " + ReadAll(home_ / "serve.log"));
    return true;
  }

  std::vector<std::string> StartTasks() {
    std::vector<std::string> ids;
    httplib::Client client("127.0.0.1", port_);
    for (int i = 0; i < options_.tasks; ++i) {
      json body = {{"goal", fmt::format("Load task {}: write the step files", i)},
                   {"max_steps", options_.steps + 5},
                   {"shared", true}};
      auto result = client.Post("/api/tasks", {{"Authorization", "Bearer " + token_}}, body.dump(),
                                "application/json");
      if (!result || result->status != 201) {
        Fail(fmt::format("starting task {} failed: {}", i, result ? result->body : "no answer"));
        break;
      }
      ids.push_back(json::parse(result->body).value("id", ""));
    }
    return ids;
  }

  // Open loop: request k of each driver thread goes at its scheduled time, whatever the answers.
  void DriveRequests(const std::vector<std::string>& tasks, std::atomic<bool>& done) {
    constexpr int kThreads = 10;
    std::vector<std::thread> threads;
    auto start = SteadyClock::now();
    auto period = std::chrono::duration<double>(double{kThreads} / options_.rps);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        httplib::Client client("127.0.0.1", port_);
        client.set_keep_alive(true);
        client.set_read_timeout(30, 0);
        httplib::Headers auth = {{"Authorization", "Bearer " + token_}};
        for (int k = 0; !done; ++k) {
          auto at = start + std::chrono::duration_cast<SteadyClock::duration>(
                                period * (k + static_cast<double>(t) / kThreads));
          std::this_thread::sleep_until(at);
          if (done) break;
          int kind = (k + t) % 4;
          std::string path =
              kind == 0   ? "/api/tasks?limit=20"
              : kind == 1 ? "/api/tasks/" + tasks[static_cast<size_t>(k * 7 + t) % tasks.size()]
              : kind == 2 ? "/metrics"
                          : "/api/cost?days=30";
          auto sent = SteadyClock::now();
          auto result = client.Get(path, auth);
          double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - sent).count();
          std::lock_guard lock(mu_);
          latencies_ms_.push_back(ms);
          if (!result || result->status != 200) {
            errors_.Add(fmt::format(
                "GET {}: {}", path,
                result ? std::to_string(result->status) : httplib::to_string(result.error())));
          }
        }
      });
    }
    for (std::thread& thread : threads)
      thread.join();
  }

  void Check(const std::vector<std::string>& tasks, const std::vector<Stream>& streams) {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(30, 0);
    httplib::Headers auth = {{"Authorization", "Bearer " + token_}};
    std::map<std::string, std::vector<int64_t>> stored;
    for (const std::string& task : tasks) {
      auto detail = client.Get("/api/tasks/" + task, auth);
      json body = detail ? json::parse(detail->body, nullptr, false) : json();
      if (body.is_object() && body.value("status", "") == "succeeded") {
        ++completed_;
      } else {
        errors_.Add(fmt::format("task {} did not succeed: {}", task,
                                body.is_object() ? body.value("stop_reason", "") : "no answer"));
      }
      // A stream opened after the end replays every stored event, then ends.
      Stream replay = Watch(port_, token_, task);
      if (!replay.ok) errors_.Add("replay of " + task + ": " + replay.error);
      stored[task] = replay.ids;
    }
    for (size_t w = 0; w < streams.size(); ++w) {
      const std::string& task = tasks[w % tasks.size()];
      if (!streams[w].ok) {
        errors_.Add(fmt::format("watcher {}: {}", w, streams[w].error));
      } else if (streams[w].ids != stored[task]) {
        errors_.Add(fmt::format("watcher {}: got {} events, {} stored", w, streams[w].ids.size(),
                                stored[task].size()));
      }
      events_ += static_cast<int64_t>(streams[w].ids.size());
    }
  }

  void Report(const std::vector<Stream>& streams, double seconds) {
    std::vector<double> delays;
    for (const Stream& stream : streams)
      delays.insert(delays.end(), stream.live_delays_ms.begin(), stream.live_delays_ms.end());
    fmt::print(
        "server load: {} tasks x {} steps (model {} ms), {} SSE watchers, {} req/s target, "
        "http_threads {}\n",
        options_.tasks, options_.steps + 1, options_.model_ms, options_.watchers, options_.rps,
        options_.threads);
    fmt::print("  run: {:.1f} s until every task finished; tasks completed {}/{}\n", seconds,
               completed_, options_.tasks);
    fmt::print("  requests: {} ({:.1f}/s), latency p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms\n",
               latencies_ms_.size(), static_cast<double>(latencies_ms_.size()) / seconds,
               Percentile(latencies_ms_, 0.5), Percentile(latencies_ms_, 0.99),
               Percentile(latencies_ms_, 1.0));
    fmt::print(
        "  events delivered: {} ({} live), delay p50 {:.1f} ms, p99 {:.1f} ms, max {:.1f} "
        "ms (time_ms has 1 ms resolution)\n",
        events_, delays.size(), Percentile(delays, 0.5), Percentile(delays, 0.99),
        Percentile(delays, 1.0));
    fmt::print("  server memory: VmRSS {:.1f} MiB, VmHWM {:.1f} MiB\n", memory_.first,
               memory_.second);
  }

  int Finish() {
    StopServer();
    int count = errors_.count();
    fmt::print("  errors: {}\n", count);
    for (const std::string& message : errors_.messages())
      fmt::print("    {}\n", message);
    return count == 0 ? 0 : 1;
  }

  void StopServer() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      errors_.Add(fmt::format("`tandem serve` exited with status {}", status));
    }
    pid_ = -1;
  }

  bool Fail(const std::string& message) {
    errors_.Add(message);
    return false;
  }

  Options options_;
  fs::path tandem_;
  fs::path home_;
  std::unique_ptr<ScriptedModel> model_;
  std::string token_;
  pid_t pid_ = -1;
  int port_ = 0;
  Errors errors_;
  std::mutex mu_;
  std::vector<double> latencies_ms_;  // GUARDED_BY(mu_)
  int completed_ = 0;
  int64_t events_ = 0;
  std::pair<double, double> memory_;
};

}  // namespace

int main(int argc, char** argv) {
  std::optional<Options> options = ParseFlags(argc, argv);
  if (!options) return 2;
  fs::path tandem = fs::canonical(fs::path(argv[0])).parent_path() / "tandem";
  if (argc > 1) return LoadTest(*options, tandem).Run();
  // Two runs with a fresh server each: "sustained" keeps the tasks running long enough for the
  // request load to be measured over many seconds; "burst" has the model answer at once, for the
  // highest event rate the watchers must keep up with.
  Options sustained = *options;
  sustained.steps = 40;
  sustained.model_ms = 250;
  Options burst = *options;
  burst.steps = 40;
  burst.model_ms = 5;
  int failed = LoadTest(sustained, tandem).Run();
  return LoadTest(burst, tandem).Run() | failed;
}
