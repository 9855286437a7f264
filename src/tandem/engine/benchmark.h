// Engine benchmark: prompt-processing and generation speed of a model on this machine, and
// generation expressed as a share of the machine's measured memory bandwidth.
//
//   Result<BenchResult> r = RunBenchmark(model, {.prompt_tokens = 64, .gen_tokens = 32});
//   fmt::print("{:.1f} tokens/s\n", r->gen_tokens_per_s);
//
// A measurement, never a test assertion. Not thread-safe (it uses all the threads it is given).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/engine/context.h"
#include "tandem/engine/model.h"

namespace tandem::engine {

struct BenchOptions {
  int prompt_tokens = 64;  // one batch of this many tokens (pp)
  int gen_tokens = 32;     // then this many single-token steps (tg)
  int n_threads = 0;       // 0: every hardware thread
  int repetitions = 3;     // medians are reported
  ComputeMode mode = ComputeMode::kNative;
};

struct BenchResult {
  double prompt_tokens_per_s = 0;  // median
  double gen_tokens_per_s = 0;     // median
  std::vector<double> prompt_runs;
  std::vector<double> gen_runs;
  uint64_t weight_bytes_per_token = 0;  // weights read to generate one token
  double copy_bandwidth = 0;            // bytes/s, STREAM-copy style (read + write)
  double bandwidth_share = 0;           // weight_bytes_per_token x tg / copy_bandwidth
  // Process CPU time during generation / (wall time x threads): below 1 when other processes
  // competed for the cores, which makes the speeds above lower than the machine can do.
  double cpu_utilization = 0;
  double prompt_cpu_utilization = 0;  // the same during prompt processing
  int n_threads = 0;
  std::string isa;
};

[[nodiscard]] Result<BenchResult> RunBenchmark(const Model& model, const BenchOptions& options);

// Copies a `bytes` buffer several times with the pool's threads; best rate in bytes/s counting
// each byte read and written.
double MeasureCopyBandwidth(ThreadPool& pool, size_t bytes);

}  // namespace tandem::engine
