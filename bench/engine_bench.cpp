// Engine kernel benchmarks: each dispatched (SIMD) kernel against the portable reference code
// on TinyLlama-sized rows and matrices. End-to-end speed is `tandem model bench`.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "tandem/engine/benchmark.h"
#include "tandem/engine/kernels.h"
#include "tandem/engine/model.h"
#include "tandem/engine/synthetic_model.h"

namespace tandem::engine {
namespace {

constexpr int64_t kCols = 2048;
constexpr int64_t kRows = 5632;

std::vector<uint8_t> RandomWeights(TensorType type, int64_t rows, int64_t cols) {
  WeightMatrix shape{type, nullptr, rows, cols};
  std::vector<float> values(static_cast<size_t>(cols));
  std::vector<uint8_t> out(shape.RowBytes() * static_cast<size_t>(rows));
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  // Quantize a random row once through the activation quantizer's layout (Q8_0 / Q8_K blocks
  // share the weight layout's scale-then-values shape for Q8_0) and fill the rest with bytes.
  for (uint8_t& b : out)
    b = static_cast<uint8_t>(rng());
  std::optional<TensorTypeTraits> traits = GetTensorTypeTraits(static_cast<uint32_t>(type));
  const size_t block = traits->type_size;
  // Where the block's f16 scale lies: first in Q4_0/Q8_0, last in Q6_K.
  const size_t scale_at = type == TensorType::kQ6_K ? block - 2 : 0;
  for (size_t off = 0; off + block <= out.size(); off += block) {
    uint16_t d = F32ToF16(0.001f);
    std::memcpy(out.data() + off + scale_at, &d, 2);
  }
  return out;
}

std::vector<uint8_t> Activations(int64_t cols, int64_t tokens) {
  std::vector<float> x(static_cast<size_t>(cols * tokens));
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& v : x)
    v = normal(rng);
  std::vector<uint8_t> q(static_cast<size_t>(cols / 32 * 34 * tokens));
  for (int64_t t = 0; t < tokens; ++t) {
    QuantizeRowQ8_0(x.data() + t * cols, q.data() + t * (cols / 32 * 34), cols);
  }
  return q;
}

void DotRow(benchmark::State& state, TensorType type, bool dispatched) {
  std::vector<uint8_t> w = RandomWeights(type, 1, kCols);
  std::vector<uint8_t> x = Activations(kCols, 1);
  for (auto _ : state) {
    float r = dispatched ? DotDispatched(type, w.data(), x.data(), kCols)
                         : DotGeneric(type, w.data(), x.data(), kCols);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.size()));
  state.SetLabel(dispatched ? std::string(KernelIsaName()) : "generic");
}

// `interleave`: Q4_0 or Q8_0 in the layout Model::Load gives it (false: the plain file layout).
void MatVec(benchmark::State& state, TensorType type, bool interleave) {
  const int64_t tokens = state.range(0);
  std::vector<uint8_t> w = RandomWeights(type, kRows, kCols);
  if (interleave) {
    std::vector<uint8_t> packed(w.size());
    Interleave({type, w.data(), kRows, kCols}, packed.data());
    w = std::move(packed);
  }
  std::vector<float> x(static_cast<size_t>(kCols * tokens), 0.5f);
  std::vector<float> y(static_cast<size_t>(kRows * tokens));
  ThreadPool pool(1);
  std::vector<uint8_t> scratch;
  WeightMatrix m{type, w.data(), kRows, kCols, interleave};
  for (auto _ : state) {
    MatMul(m, x.data(), tokens, y.data(), pool, ComputeMode::kNative, scratch);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.size()));
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens * state.iterations()),
                                                  benchmark::Counter::kIsRate);
}

// The target shape end to end: a 64-token prompt and 32 generated tokens on a random
// TinyLlama-shaped model, 2 threads; generation also as a share of measured copy bandwidth, and
// the prompt as a share of the measured int8 multiply-add peak.
void TinyLlama(benchmark::State& state, TensorType type) {
  Result<std::unique_ptr<Model>> model =
      MakeSyntheticModel(*FindSyntheticShape("tinyllama-1.1b"), type, 1);
  if (!model) {
    state.SkipWithError(model.error().message().c_str());
    return;
  }
  for (auto _ : state) {
    Result<BenchResult> r = RunBenchmark(
        **model, {.prompt_tokens = 64, .gen_tokens = 32, .n_threads = 2, .repetitions = 3});
    if (!r) {
      state.SkipWithError(r.error().message().c_str());
      return;
    }
    state.SetIterationTime(64.0 / r->prompt_tokens_per_s + 32.0 / r->gen_tokens_per_s);
    state.counters["pp64_tok_s"] = r->prompt_tokens_per_s;
    state.counters["tg32_tok_s"] = r->gen_tokens_per_s;
    state.counters["copy_GB_s"] = r->copy_bandwidth / 1e9;
    state.counters["bw_share"] = r->bandwidth_share;
    state.counters["int8_GMAC_s"] = r->int8_macs_per_s / 1e9;
    state.counters["pp_compute_share"] = r->prompt_compute_share;
    state.counters["cpu_util"] = r->cpu_utilization;
  }
}

BENCHMARK_CAPTURE(TinyLlama, q4_0, TensorType::kQ4_0)->Iterations(1)->UseManualTime();
BENCHMARK_CAPTURE(TinyLlama, q8_0, TensorType::kQ8_0)->Iterations(1)->UseManualTime();

BENCHMARK_CAPTURE(DotRow, q4_0_generic, TensorType::kQ4_0, false);
BENCHMARK_CAPTURE(DotRow, q4_0_simd, TensorType::kQ4_0, true);
BENCHMARK_CAPTURE(DotRow, q8_0_generic, TensorType::kQ8_0, false);
BENCHMARK_CAPTURE(DotRow, q8_0_simd, TensorType::kQ8_0, true);
BENCHMARK_CAPTURE(MatVec, q4_0, TensorType::kQ4_0, true)->Arg(1)->Arg(64)->UseRealTime();
BENCHMARK_CAPTURE(MatVec, q4_0_plain, TensorType::kQ4_0, false)->Arg(1)->Arg(64)->UseRealTime();
BENCHMARK_CAPTURE(MatVec, q8_0, TensorType::kQ8_0, true)->Arg(1)->Arg(64)->UseRealTime();
// The q4_0 model's output matrix type (32000 rows; generation reads it once per token).
BENCHMARK_CAPTURE(MatVec, q6_k, TensorType::kQ6_K, false)->Arg(1)->UseRealTime();
BENCHMARK_CAPTURE(MatVec, q8_0_plain, TensorType::kQ8_0, false)->Arg(1)->Arg(64)->UseRealTime();

}  // namespace
}  // namespace tandem::engine

BENCHMARK_MAIN();
