// Engine benchmark: prompt-processing and generation speed of a model on this machine;
// generation expressed as a share of the machine's measured memory bandwidth, and prompt
// processing as a share of its measured int8 multiply-add peak.
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
  // Multiply-adds of the matrix products per prompt token: every layer matrix's elements, plus
  // the output matrix's divided by the prompt length (only the last token gets logits).
  // Attention's own products (scores and weighted values) are not counted.
  double prompt_macs_per_token = 0;
  // Peak int8 multiply-adds per second on all the threads at once, with the instruction
  // sequence of the kernels, by thread CPU time (MeasureInt8MacRate); 0 with the portable
  // kernels (not measured).
  double int8_macs_per_s = 0;
  // prompt_macs_per_token x pp / int8_macs_per_s; 0 when not measured or when the layers'
  // products are not int8 (float weights, or ComputeMode::kFloat).
  double prompt_compute_share = 0;
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

// Runs RunInt8MacProbe on all the pool's threads at once for about `seconds`; best rate in
// multiply-adds per second, each thread's counted per second of its own CPU time (so other
// processes on the cores do not lower it), or 0 where the probe measures nothing (portable
// kernels).
double MeasureInt8MacRate(ThreadPool& pool, double seconds);

}  // namespace tandem::engine
