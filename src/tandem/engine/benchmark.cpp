#include "tandem/engine/benchmark.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>

#include "tandem/engine/sampler.h"

namespace tandem::engine {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

double ClockSeconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double ProcessCpuSeconds() {
  return ClockSeconds(CLOCK_PROCESS_CPUTIME_ID);
}

double ThreadCpuSeconds() {
  return ClockSeconds(CLOCK_THREAD_CPUTIME_ID);
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n == 0 ? 0.0 : n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

double MeasureCopyBandwidth(ThreadPool& pool, size_t bytes) {
  std::vector<char> src(bytes, 1);
  std::vector<char> dst(bytes, 0);
  double best = 0.0;
  for (int rep = 0; rep < 5; ++rep) {
    auto start = std::chrono::steady_clock::now();
    const int64_t chunks = 64;
    pool.ParallelFor(chunks, [&](int64_t begin, int64_t end) {
      size_t from = bytes * static_cast<size_t>(begin) / chunks;
      size_t to = bytes * static_cast<size_t>(end) / chunks;
      std::memcpy(dst.data() + from, src.data() + from, to - from);
    });
    double s = Seconds(start);
    if (s > 0) best = std::max(best, 2.0 * static_cast<double>(bytes) / s);
  }
  return best;
}

double MeasureInt8MacRate(ThreadPool& pool, double seconds) {
  // Calibrate on one thread: rounds for about 50 ms per run.
  constexpr double kRunSeconds = 0.05;
  int32_t sink = 0;
  int64_t rounds = 256;
  double calibration = 0.0;
  for (;;) {
    const double start = ThreadCpuSeconds();
    if (RunInt8MacProbe(rounds, &sink) == 0) return 0.0;
    calibration = ThreadCpuSeconds() - start;
    if (calibration >= kRunSeconds / 5) break;
    rounds *= 4;
  }
  rounds = std::max<int64_t>(
      1, static_cast<int64_t>(static_cast<double>(rounds) * kRunSeconds / calibration));
  const int n = pool.n_threads();
  std::vector<double> rates(static_cast<size_t>(n));
  std::vector<int32_t> sinks(static_cast<size_t>(n));
  double best = 0.0;
  const long runs = std::max(1L, std::lround(seconds / kRunSeconds));
  for (long run = 0; run < runs; ++run) {
    // Each thread's rate per second of its own CPU time: time other processes take from the
    // cores lowers the prompt rate (cpu_utilization shows it) but not this limit.
    pool.ParallelFor(n, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const double start = ThreadCpuSeconds();
        const int64_t macs = RunInt8MacProbe(rounds, &sinks[static_cast<size_t>(i)]);
        const double cpu = ThreadCpuSeconds() - start;
        rates[static_cast<size_t>(i)] = cpu > 0 ? static_cast<double>(macs) / cpu : 0.0;
      }
    });
    double total = 0.0;
    for (double r : rates)
      total += r;
    best = std::max(best, total);
  }
  return best;
}

Result<BenchResult> RunBenchmark(const Model& model, const BenchOptions& options) {
  if (options.prompt_tokens < 1 || options.gen_tokens < 1 || options.repetitions < 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "prompt tokens, generated tokens and repetitions must be positive");
  }
  const ModelParams& p = model.params();
  ContextOptions context_options;
  context_options.n_ctx = options.prompt_tokens + options.gen_tokens;
  context_options.n_threads = options.n_threads;
  context_options.n_batch = options.prompt_tokens;
  context_options.mode = options.mode;
  Context context(model, context_options);
  BenchResult result;
  result.n_threads = context.n_threads();
  result.isa = std::string(KernelIsaName());
  std::vector<TokenId> prompt(static_cast<size_t>(options.prompt_tokens));
  for (size_t i = 0; i < prompt.size(); ++i) {
    prompt[i] = static_cast<TokenId>((i * 7919 + 13) % static_cast<size_t>(p.n_vocab));
  }
  std::vector<double> cpu_shares;
  std::vector<double> prompt_cpu_shares;
  for (int rep = 0; rep < options.repetitions; ++rep) {
    context.Reset();
    auto start = std::chrono::steady_clock::now();
    const double prompt_cpu_start = ProcessCpuSeconds();
    Result<std::span<const float>> logits = context.Eval(prompt);
    if (!logits) return std::unexpected(std::move(logits.error()));
    const double prompt_wall = Seconds(start);
    result.prompt_runs.push_back(options.prompt_tokens / prompt_wall);
    prompt_cpu_shares.push_back((ProcessCpuSeconds() - prompt_cpu_start) /
                                (prompt_wall * result.n_threads));

    // Generation continues after a one-token prompt so the KV length matches a short chat turn.
    context.Reset();
    logits = context.Eval(std::span(prompt.data(), 1));
    if (!logits) return std::unexpected(std::move(logits.error()));
    start = std::chrono::steady_clock::now();
    const double cpu_start = ProcessCpuSeconds();
    for (int i = 0; i < options.gen_tokens; ++i) {
      TokenId next = Argmax(*logits);
      logits = context.Eval(std::span(&next, 1));
      if (!logits) return std::unexpected(std::move(logits.error()));
    }
    const double wall = Seconds(start);
    result.gen_runs.push_back(options.gen_tokens / wall);
    cpu_shares.push_back((ProcessCpuSeconds() - cpu_start) / (wall * result.n_threads));
  }
  result.prompt_tokens_per_s = Median(result.prompt_runs);
  result.gen_tokens_per_s = Median(result.gen_runs);
  result.cpu_utilization = Median(cpu_shares);
  result.prompt_cpu_utilization = Median(prompt_cpu_shares);
  result.weight_bytes_per_token = model.BytesPerToken();
  ThreadPool pool(result.n_threads);
  result.copy_bandwidth = MeasureCopyBandwidth(pool, size_t{256} << 20);
  if (result.copy_bandwidth > 0) {
    result.bandwidth_share = static_cast<double>(result.weight_bytes_per_token) *
                             result.gen_tokens_per_s / result.copy_bandwidth;
  }
  const Model::MatrixElements elements = model.ElementsPerToken();
  result.prompt_macs_per_token =
      static_cast<double>(elements.layers) +
      static_cast<double>(elements.output) / static_cast<double>(options.prompt_tokens);
  result.int8_macs_per_s = MeasureInt8MacRate(pool, 0.3);
  // ffn_down, which every architecture has, stands for the layers' weight type.
  const bool int8_products =
      !model.layers().empty() && MultipliesAsInt8(model.layers().front().w_down.type, options.mode);
  if (int8_products && result.int8_macs_per_s > 0) {
    result.prompt_compute_share =
        result.prompt_macs_per_token * result.prompt_tokens_per_s / result.int8_macs_per_s;
  }
  return result;
}

}  // namespace tandem::engine
