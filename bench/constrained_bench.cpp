// Constrained sampling cost per token with a real 32k vocabulary (llama-spm from the shared
// data): plain sampling, a constrained step whose sampled token is allowed (one Allows check),
// and one whose sampled token is refused (trie walk over the vocabulary, then a second draw).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <vector>

#include "tandem/engine/gguf_reader.h"
#include "tandem/engine/json_schema_constraint.h"
#include "tandem/engine/sampler.h"

namespace tandem::engine {
namespace {

const nlohmann::json kSchema = nlohmann::json::parse(R"({
  "type": "object",
  "properties": {
    "city": {"type": "string"},
    "days": {"type": "integer", "minimum": 1, "maximum": 14},
    "unit": {"enum": ["celsius", "fahrenheit"]}
  },
  "required": ["city"]
})");

struct Fixture {
  std::unique_ptr<Vocab> vocab;
  std::shared_ptr<const TokenTrie> trie;
  std::vector<float> logits;
};

const Fixture* GetFixture() {
  static const Fixture* fixture = [] {
    auto* f = new Fixture();
    std::filesystem::path path =
        std::filesystem::path(TANDEM_SHARED_DATA) / "vocab" / "ggml-vocab-llama-spm.gguf";
    Result<std::unique_ptr<GgufReader>> gguf = GgufReader::Open(path);
    if (!gguf) return static_cast<Fixture*>(nullptr);
    Result<std::unique_ptr<Vocab>> vocab = Vocab::FromGguf(**gguf);
    if (!vocab) return static_cast<Fixture*>(nullptr);
    f->vocab = std::move(*vocab);
    f->trie = std::make_shared<const TokenTrie>(*f->vocab);
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 2.0f);
    f->logits.resize(static_cast<size_t>(f->vocab->n_tokens()));
    for (float& v : f->logits)
      v = normal(rng);
    return f;
  }();
  return fixture;
}

// A constraint that has accepted `prefix` (fed as byte tokens).
std::unique_ptr<JsonSchemaConstraint> At(const Fixture& f, std::string_view prefix) {
  auto c = JsonSchemaConstraint::Create(kSchema, f.trie);
  if (!c) return nullptr;
  for (char ch : prefix)
    (*c)->Accept(*f.vocab->ByteToken(static_cast<uint8_t>(ch)));
  return std::move(*c);
}

constexpr SamplerOptions kOptions{.temperature = 0.8f, .top_k = 40, .seed = 1};

void BM_SampleUnconstrained(benchmark::State& state) {
  const Fixture* f = GetFixture();
  if (f == nullptr) return state.SkipWithError("shared vocabulary missing");
  Sampler sampler(kOptions);
  for (auto _ : state)
    benchmark::DoNotOptimize(sampler.Sample(f->logits, {}));
}
BENCHMARK(BM_SampleUnconstrained);

// state.range(0): 0 inside a string (the sampled token is nearly always allowed), 1 right after
// '{' (only '"' and whitespace tokens allowed: nearly always refused, so the vocabulary is
// filtered), 2 inside a bounded integer.
const char* const kPrefixes[] = {R"({"city": "Par)", "{", R"({"days":)"};
const char* const kStateNames[] = {"in-string", "object-start", "integer"};

void BM_SampleConstrained(benchmark::State& state) {
  const Fixture* f = GetFixture();
  if (f == nullptr) return state.SkipWithError("shared vocabulary missing");
  std::unique_ptr<JsonSchemaConstraint> c = At(*f, kPrefixes[state.range(0)]);
  Sampler sampler(kOptions);
  Sampler probe(kOptions);  // same draws, unconstrained: counts how often the first pick is refused
  int64_t refused = 0;
  for (auto _ : state) {
    TokenId token = sampler.Sample(f->logits, {}, c.get());
    benchmark::DoNotOptimize(token);
    state.PauseTiming();
    refused += c->Allows(probe.Sample(f->logits, {})) ? 0 : 1;
    probe = sampler;
    state.ResumeTiming();
  }
  state.counters["refused"] =
      benchmark::Counter(static_cast<double>(refused), benchmark::Counter::kAvgIterations);
  state.SetLabel(kStateNames[state.range(0)]);
}
BENCHMARK(BM_SampleConstrained)->DenseRange(0, 2);

// The trie walk alone.
void BM_MaskLogits(benchmark::State& state) {
  const Fixture* f = GetFixture();
  if (f == nullptr) return state.SkipWithError("shared vocabulary missing");
  std::unique_ptr<JsonSchemaConstraint> c = At(*f, kPrefixes[state.range(0)]);
  std::vector<float> logits = f->logits;
  for (auto _ : state) {
    c->MaskLogits(logits);
    benchmark::DoNotOptimize(logits.data());
  }
  size_t allowed = 0;
  for (float v : logits)
    allowed += std::isinf(v) ? 0 : 1;
  state.counters["allowed"] = static_cast<double>(allowed);
  state.SetLabel(kStateNames[state.range(0)]);
}
BENCHMARK(BM_MaskLogits)->DenseRange(0, 2);

void BM_BuildTrie(benchmark::State& state) {
  const Fixture* f = GetFixture();
  if (f == nullptr) return state.SkipWithError("shared vocabulary missing");
  for (auto _ : state)
    benchmark::DoNotOptimize(TokenTrie(*f->vocab).n_nodes());
  state.counters["nodes"] = static_cast<double>(f->trie->n_nodes());
}
BENCHMARK(BM_BuildTrie)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tandem::engine

BENCHMARK_MAIN();
