// `tandem model info|tokenize|run|bench`: the embedded engine from the command line.
#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli.h"
#include "tandem/core/cancellation.h"
#include "tandem/engine/benchmark.h"
#include "tandem/engine/context.h"
#include "tandem/engine/generator.h"
#include "tandem/engine/model.h"
#include "tandem/engine/model_info.h"
#include "tandem/engine/openai_server.h"
#include "tandem/engine/sampler.h"
#include "tandem/engine/synthetic_model.h"

namespace tandem::cli {
namespace {

using engine::TokenId;

// JSON with invalid UTF-8 (a random model's output) replaced rather than rejected.
std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct TokenizeFlags {
  std::string file;
  std::string text;
  bool no_bos = false;
  bool parse_special = false;
  bool json = false;
};

int Tokenize(const TokenizeFlags& f) {
  Result<std::unique_ptr<engine::GgufReader>> gguf = engine::GgufReader::Open(f.file);
  if (!gguf) return ReportError(gguf.error(), ExitCodeFor(gguf.error()));
  Result<std::unique_ptr<engine::Vocab>> vocab = engine::Vocab::FromGguf(**gguf);
  if (!vocab) return ReportError(vocab.error(), ExitCodeFor(vocab.error()));
  std::vector<TokenId> ids =
      (*vocab)->Tokenize(f.text, {.add_special = !f.no_bos, .parse_special = f.parse_special});
  if (f.json) {
    nlohmann::json pieces = nlohmann::json::array();
    for (TokenId id : ids)
      pieces.push_back((*vocab)->TokenToPiece(id, true));
    fmt::print("{}\n", Dump({{"tokens", ids}, {"pieces", pieces}}));
    return kExitOk;
  }
  for (TokenId id : ids) {
    fmt::print("{:>8} {}\n", id, Dump((*vocab)->TokenToPiece(id, true)));
  }
  return kExitOk;
}

struct RunFlags {
  std::string file;
  std::string prompt;
  int n_predict = 64;
  float temperature = 0.8f;
  uint64_t seed = 0;
  int threads = 0;
  int ctx = 0;
  int top_k = 40;
  float top_p = 0.95f;
  float min_p = 0.05f;
  float repeat_penalty = 1.0f;
  std::vector<std::string> stop;
  bool ignore_eos = false;
  bool parse_special = false;
  bool json = false;
};

int Run(const RunFlags& f) {
  Result<std::unique_ptr<engine::Model>> model = engine::Model::Load(f.file);
  if (!model) return ReportError(model.error(), ExitCodeFor(model.error()));
  const engine::Vocab& vocab = (*model)->vocab();
  std::vector<TokenId> prompt =
      vocab.Tokenize(f.prompt, {.add_special = true, .parse_special = f.parse_special});
  std::vector<TokenId> eval = prompt;
  if (eval.empty()) {
    if (!vocab.bos()) {
      return ReportError(Error(ErrorCode::kInvalidArgument, "the prompt has no tokens"),
                         kExitUsage);
    }
    eval.push_back(*vocab.bos());
  }
  int n_ctx = f.ctx > 0 ? f.ctx
                        : std::min((*model)->params().n_ctx_train,
                                   static_cast<int>(eval.size()) + std::max(f.n_predict, 0));
  engine::Context context(**model, {.n_ctx = n_ctx, .n_threads = f.threads});
  engine::Sampler sampler({.temperature = f.temperature,
                           .top_k = f.top_k,
                           .top_p = f.top_p,
                           .min_p = f.min_p,
                           .repeat_penalty = f.repeat_penalty,
                           .seed = f.seed});
  CancellationToken cancel;
  SignalCancellation interrupt(cancel);
  engine::GenerateOptions options{
      .max_tokens = f.n_predict, .stop = f.stop, .ignore_eos = f.ignore_eos, .cancel = &cancel};
  if (!f.json) {
    options.on_text = [](std::string_view piece) {
      fmt::print("{}", piece);
      std::fflush(stdout);
    };
  }
  Result<engine::Generation> generation = engine::Generate(context, sampler, eval, options);
  if (!generation) return ReportError(generation.error(), ExitCodeFor(generation.error()));
  const std::vector<TokenId>& generated = generation->tokens;
  const std::string& text = generation->text;
  const std::string& stop_reason = generation->stop_reason;
  double prompt_s = generation->prompt_seconds;
  double gen_s = generation->generation_seconds;
  if (f.json) {
    fmt::print("{}\n", Dump({{"prompt_tokens", prompt},
                             {"tokens", generated},
                             {"text", text},
                             {"stop_reason", stop_reason},
                             {"timings",
                              {{"prompt_s", prompt_s},
                               {"generation_s", gen_s},
                               {"threads", context.n_threads()}}}}));
  } else {
    fmt::print("\n");
    std::fflush(stdout);
    fmt::print(stderr,
               "[{} prompt tokens in {:.3f} s, {} generated in {:.3f} s ({:.1f} tokens/s), {}]\n",
               eval.size(), prompt_s, generated.size(), gen_s,
               gen_s > 0 ? static_cast<double>(generated.size()) / gen_s : 0.0, stop_reason);
  }
  return kExitOk;
}

struct BenchFlags {
  std::string file;
  std::string shape;
  std::string type = "q4_0";
  int prompt_tokens = 64;
  int gen_tokens = 32;
  int threads = 0;
  int repetitions = 3;
  bool json = false;
};

int Bench(const BenchFlags& f) {
  if (f.file.empty() == f.shape.empty()) {
    fmt::print(stderr, "error: give either a FILE or --shape\n");
    return kExitUsage;
  }
  Result<std::unique_ptr<engine::Model>> model = MakeError(ErrorCode::kInternal, "unset");
  std::string what = f.file;
  if (!f.shape.empty()) {
    std::optional<engine::SyntheticShape> shape = engine::FindSyntheticShape(f.shape);
    std::optional<engine::TensorType> type = engine::ParseWeightType(f.type);
    if (!shape || !type) {
      fmt::print(stderr,
                 "error: unknown --shape or --type (shapes: {}; types: q4_0 q8_0 q4_k q6_k "
                 "f16 bf16 f32)\n",
                 fmt::join(engine::SyntheticShapeNames(), " "));
      return kExitUsage;
    }
    model = engine::MakeSyntheticModel(*shape, *type, 1);
    what = fmt::format("synthetic {} {}", f.shape, f.type);
  } else {
    model = engine::Model::Load(f.file);
  }
  if (!model) return ReportError(model.error(), ExitCodeFor(model.error()));
  Result<engine::BenchResult> r = engine::RunBenchmark(**model, {.prompt_tokens = f.prompt_tokens,
                                                                 .gen_tokens = f.gen_tokens,
                                                                 .n_threads = f.threads,
                                                                 .repetitions = f.repetitions});
  if (!r) return ReportError(r.error(), ExitCodeFor(r.error()));
  if (f.json) {
    fmt::print("{}\n", Dump({{"model", what},
                             {"threads", r->n_threads},
                             {"isa", r->isa},
                             {"prompt_tokens", f.prompt_tokens},
                             {"gen_tokens", f.gen_tokens},
                             {"prompt_tokens_per_s", r->prompt_tokens_per_s},
                             {"gen_tokens_per_s", r->gen_tokens_per_s},
                             {"prompt_runs", r->prompt_runs},
                             {"gen_runs", r->gen_runs},
                             {"weight_bytes_per_token", r->weight_bytes_per_token},
                             {"copy_bandwidth_bytes_per_s", r->copy_bandwidth},
                             {"bandwidth_share", r->bandwidth_share},
                             {"prompt_macs_per_token", r->prompt_macs_per_token},
                             {"int8_macs_per_s", r->int8_macs_per_s},
                             {"prompt_compute_share", r->prompt_compute_share},
                             {"cpu_utilization", r->cpu_utilization},
                             {"prompt_cpu_utilization", r->prompt_cpu_utilization}}));
    return kExitOk;
  }
  fmt::print("model        {}\nthreads      {} ({})\n", what, r->n_threads, r->isa);
  fmt::print("pp{:<10} {:.1f} tokens/s (runs: {:.1f})\n", f.prompt_tokens, r->prompt_tokens_per_s,
             fmt::join(r->prompt_runs, ", "));
  fmt::print("tg{:<10} {:.1f} tokens/s (runs: {:.1f})\n", f.gen_tokens, r->gen_tokens_per_s,
             fmt::join(r->gen_runs, ", "));
  fmt::print("bandwidth    {:.1f} GB/s copy; generation reads {:.1f} MB/token = {:.0f}% of it\n",
             r->copy_bandwidth / 1e9, static_cast<double>(r->weight_bytes_per_token) / 1e6,
             100.0 * r->bandwidth_share);
  if (r->int8_macs_per_s <= 0) {
    fmt::print("compute      int8 peak not measured (portable kernels)\n");
  } else if (r->prompt_compute_share <= 0) {
    fmt::print("compute      {:.1f} G int8 MAC/s peak; the prompt's products are not int8\n",
               r->int8_macs_per_s / 1e9);
  } else {
    fmt::print(
        "compute      {:.1f} G int8 MAC/s peak; the prompt does {:.1f} M MAC/token = {:.0f}% "
        "of it\n",
        r->int8_macs_per_s / 1e9, r->prompt_macs_per_token / 1e6, 100.0 * r->prompt_compute_share);
  }
  fmt::print("cpu          {:.0f}% of {} threads during generation, {:.0f}% during the prompt\n",
             100.0 * r->cpu_utilization, r->n_threads, 100.0 * r->prompt_cpu_utilization);
  return kExitOk;
}

struct ServeFlags {
  std::string file;
  int port = 8080;
  int threads = 0;
  int ctx = 0;
};

int Serve(const ServeFlags& f) {
  Result<std::shared_ptr<const engine::Model>> model = engine::LoadSharedModel(f.file);
  if (!model) return ReportError(model.error(), ExitCodeFor(model.error()));
  engine::EngineServer server(*model, {.n_ctx = f.ctx, .n_threads = f.threads});
  Result<int> port = server.Start("127.0.0.1", f.port);
  if (!port) return ReportError(port.error(), kExitTaskFailed);
  fmt::print("serving {} at http://127.0.0.1:{}/v1 (Ctrl-C stops)\n", server.model_name(), *port);
  std::fflush(stdout);
  CancellationToken cancel;
  SignalCancellation interrupt(cancel);
  while (!cancel.IsCancelled())
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server.Stop();
  return kExitOk;
}

}  // namespace

void AddModelCommands(CLI::App& app, CommandState& state) {
  CLI::App* model = app.add_subcommand("model", "Run GGUF models with the embedded engine");
  model->require_subcommand(1);

  CLI::App* info =
      model->add_subcommand("info", "Show a GGUF file's architecture, sizes and types");
  auto info_file = std::make_shared<std::string>();
  auto info_json = std::make_shared<bool>(false);
  info->add_option("FILE", *info_file, "GGUF file")->required();
  info->add_flag("--json", *info_json, "Print JSON");
  info->callback([&state, info_file, info_json] {
    Result<nlohmann::json> inspected = engine::InspectModelFile(*info_file);
    if (!inspected) {
      state.exit_code = ReportError(inspected.error(), ExitCodeFor(inspected.error()));
      return;
    }
    fmt::print("{}", *info_json ? Dump(*inspected) + "\n" : engine::FormatModelInfo(*inspected));
  });

  CLI::App* tokenize = model->add_subcommand("tokenize", "Turn text into token ids");
  auto tf = std::make_shared<TokenizeFlags>();
  tokenize->add_option("FILE", tf->file, "GGUF file (a vocabulary-only file is enough)")
      ->required();
  tokenize->add_option("--text", tf->text, "Text to tokenize")->required();
  tokenize->add_flag("--no-bos", tf->no_bos, "Add no BOS/EOS tokens");
  tokenize->add_flag("--parse-special", tf->parse_special,
                     "Turn special-token text such as <|im_start|> into its id");
  tokenize->add_flag("--json", tf->json, "Print JSON ({\"tokens\": [...]})");
  tokenize->callback([&state, tf] { state.exit_code = Tokenize(*tf); });

  CLI::App* run = model->add_subcommand("run", "Generate text from a prompt");
  auto rf = std::make_shared<RunFlags>();
  run->add_option("FILE", rf->file, "GGUF model")->required();
  run->add_option("--prompt,-p", rf->prompt, "Prompt text")->required();
  run->add_option("-n,--n-predict", rf->n_predict, "Tokens to generate")->capture_default_str();
  run->add_option("--temp", rf->temperature, "Temperature; 0 is greedy")->capture_default_str();
  run->add_option("--seed", rf->seed, "Random seed")->capture_default_str();
  run->add_option("--threads,-t", rf->threads, "Threads (0: all)")->capture_default_str();
  run->add_option("--ctx", rf->ctx, "Context size (0: prompt + n)")->capture_default_str();
  run->add_option("--top-k", rf->top_k, "Top-k (0: off)")->capture_default_str();
  run->add_option("--top-p", rf->top_p, "Top-p (1: off)")->capture_default_str();
  run->add_option("--min-p", rf->min_p, "Min-p (0: off)")->capture_default_str();
  run->add_option("--repeat-penalty", rf->repeat_penalty, "Repetition penalty (1: off)")
      ->capture_default_str();
  run->add_option("--stop", rf->stop,
                  "Stop before this text (repeatable); the text never includes it");
  run->add_flag("--ignore-eos", rf->ignore_eos, "Keep generating after end-of-generation tokens");
  run->add_flag("--parse-special", rf->parse_special, "Parse special-token text in the prompt");
  run->add_flag("--json", rf->json,
                "Print JSON ({\"prompt_tokens\", \"tokens\", \"text\", ...}) at the end");
  run->callback([&state, rf] { state.exit_code = Run(*rf); });

  CLI::App* serve =
      model->add_subcommand("serve", "Serve a model over an OpenAI-compatible API on 127.0.0.1");
  auto sf = std::make_shared<ServeFlags>();
  serve->add_option("FILE", sf->file, "GGUF model")->required();
  serve->add_option("--port", sf->port, "Port (0: any free port)")->capture_default_str();
  serve->add_option("--threads,-t", sf->threads, "Threads (0: all)")->capture_default_str();
  serve->add_option("--ctx", sf->ctx, "Context size (0: training context, at most 4096)")
      ->capture_default_str();
  serve->callback([&state, sf] { state.exit_code = Serve(*sf); });

  CLI::App* bench = model->add_subcommand(
      "bench", "Measure prompt and generation speed on a file or a synthetic shape");
  auto bf = std::make_shared<BenchFlags>();
  bench->add_option("FILE", bf->file, "GGUF model (or use --shape)");
  bench->add_option(
      "--shape", bf->shape,
      "Synthetic random model: tiny, tinyllama-1.1b, llama-7b, mistral-7b, llama-3-8b");
  bench->add_option("--type", bf->type, "Weight type of the synthetic model")
      ->capture_default_str();
  bench->add_option("--prompt-tokens", bf->prompt_tokens, "Prompt length (pp)")
      ->capture_default_str();
  bench->add_option("--gen-tokens", bf->gen_tokens, "Generated tokens (tg)")->capture_default_str();
  bench->add_option("--threads,-t", bf->threads, "Threads (0: all)")->capture_default_str();
  bench->add_option("--repetitions,-r", bf->repetitions, "Runs (median reported)")
      ->capture_default_str();
  bench->add_flag("--json", bf->json, "Print JSON");
  bench->callback([&state, bf] { state.exit_code = Bench(*bf); });
}

}  // namespace tandem::cli
