// Router benchmarks: detector scan throughput and full routing-decision latency on realistic
// mixed-script payloads, against two peers measured in the same run: memchr over the same
// bytes (the memory-speed ceiling) and std::regex finding e-mail addresses (a naive scanner).
#include <benchmark/benchmark.h>

#include <cstring>
#include <regex>

#include "tandem/core/config.h"
#include "tandem/router/gateway.h"

namespace {

using tandem::router::Gateway;

// Prose, Chinese text, code, logs and numbers that must not be flagged, plus one e-mail
// address every ~8 KB so the detectors do real validation work.
std::string Payload(size_t size) {
  static const char* kPieces[] = {
      "The quarterly planning meeting covers roadmap items, hiring and the budget review. ",
      "我们下周讨论产品路线图，预算约 1,200,000 元，请各部门提前准备材料。",
      "for (int i = 0; i < n; ++i) { total += values[i] * weights[i]; }\n",
      "2024-03-05 10:30:12 INFO request_id=123e4567-e89b-12d3-a456-426614174000 status=200\n",
      "Version 2.14.0 fixes issue #4521; see section 4.2.1 and RFC 9110 for details. ",
      "Order 4111111111111112 shipped to the warehouse in 3 boxes of 12 items. ",
  };
  std::string out;
  size_t i = 0;
  while (out.size() < size) {
    out += kPieces[i % 6];
    if (++i % 64 == 0) out += " contact ops-team@example.com ";
  }
  out.resize(size);
  return out;
}

tandem::Config BenchConfig() {
  tandem::ConfigLoadOptions options;
  options.environment = std::map<std::string, std::string>{};
  auto config = tandem::ParseConfig(R"(
[routing]
generic = "cloud"
keywords = ["confidential", "机密", "合同"]
confidential_paths = ["contracts/**", "finance/**"]
[[providers]]
name = "edge"
base_url = "http://127.0.0.1:8080/v1"
zone = "local"
[[providers]]
name = "cloud"
base_url = "https://api.example.com/v1"
zone = "cloud"
)",
                                    "bench.toml", options);
  return *config;
}

void BM_Scan(benchmark::State& state) {
  std::string text = Payload(static_cast<size_t>(state.range(0)));
  auto scanner = tandem::router::Scanner::Create({.keywords = {"confidential", "机密", "合同"}});
  for (auto _ : state) {
    auto findings = scanner->Scan(text);
    benchmark::DoNotOptimize(findings);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Scan)->Arg(4 << 10)->Arg(100 << 10)->Arg(1 << 20);

void BM_Decide(benchmark::State& state) {
  auto gateway = Gateway::Create(BenchConfig(), {.connect = false});
  tandem::llm::ChatRequest request;
  request.messages = {tandem::llm::Message::System("You are a careful assistant."),
                      tandem::llm::Message::User(Payload(static_cast<size_t>(state.range(0))))};
  tandem::router::CallContext context{.task_id = "bench", .paths = {"notes/plan.md"}};
  for (auto _ : state) {
    auto decision = (*gateway)->Decide(context, request);
    benchmark::DoNotOptimize(decision);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Decide)->Arg(4 << 10)->Arg(100 << 10)->Unit(benchmark::kMicrosecond);

// Peer: the fastest possible pass over the bytes (looking for a byte that is not there).
void BM_PeerMemchr(benchmark::State& state) {
  std::string text = Payload(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(std::memchr(text.data(), 0x01, text.size()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_PeerMemchr)->Arg(100 << 10);

// Peer: std::regex finding only e-mail addresses, per line (as the configured-pattern path does).
void BM_PeerStdRegexEmail(benchmark::State& state) {
  std::string text = Payload(static_cast<size_t>(state.range(0)));
  std::regex email(R"([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})", std::regex::optimize);
  for (auto _ : state) {
    size_t count = 0;
    for (std::cregex_iterator it(text.data(), text.data() + text.size(), email), end; it != end;
         ++it) {
      ++count;
    }
    benchmark::DoNotOptimize(count);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_PeerStdRegexEmail)->Arg(100 << 10);

}  // namespace

BENCHMARK_MAIN();
