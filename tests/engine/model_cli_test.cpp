// `tandem model ...` end to end: the real binary on the shared reference files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/process.h"

namespace tandem {
namespace {

using testing::ProcessResult;
using testing::RunTandem;

std::filesystem::path Shared(const std::string& relative) {
  return std::filesystem::path(TANDEM_SHARED_DATA) / relative;
}

class ModelCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(Shared("reference/tiny-llama-f32.gguf"))) {
      GTEST_SKIP() << "shared data absent: " << Shared("reference");
    }
  }
};

TEST_F(ModelCliTest, RunGreedyJsonMatchesTheReferenceContinuation) {
  std::ifstream in(Shared("reference/reference-tiny-llama-q8_0.json"));
  nlohmann::json reference = nlohmann::json::parse(in);
  const nlohmann::json& prompt = reference["prompts"][2];
  ProcessResult r = RunTandem({"model", "run", Shared("reference/tiny-llama-q8_0.gguf").string(),
                               "--prompt", prompt["prompt"].get<std::string>(), "-n", "24",
                               "--temp", "0", "--threads", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out["prompt_tokens"], prompt["tokens"]);
  // q8_0 native arithmetic is bit-identical to the reference here, so every step matches.
  EXPECT_EQ(out["tokens"], prompt["greedy"]["tokens"]);
  EXPECT_TRUE(out["text"].is_string());
}

TEST_F(ModelCliTest, RunIsReproducibleWithASeed) {
  std::vector<std::string> args = {
      "model",    "run",    Shared("reference/tiny-llama-q4_0.gguf").string(),
      "--prompt", "Hello",  "-n",
      "12",       "--temp", "0.9",
      "--seed",   "42",     "--json"};
  ProcessResult a = RunTandem(args);
  ProcessResult b = RunTandem(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(nlohmann::json::parse(a.out)["tokens"], nlohmann::json::parse(b.out)["tokens"]);
}

TEST_F(ModelCliTest, RunStopsBeforeAStopString) {
  std::vector<std::string> args = {
      "model",     "run",    Shared("reference/tiny-llama-f32.gguf").string(),
      "--prompt",  "Hello",  "-n",
      "24",        "--temp", "0",
      "--threads", "2",      "--json"};
  ProcessResult free = RunTandem(args);
  ASSERT_EQ(free.exit_code, 0) << free.err;
  std::string text = nlohmann::json::parse(free.out)["text"].get<std::string>();
  ASSERT_GE(text.size(), 8u);
  std::string stop = text.substr(4, 3);
  args.insert(args.end(), {"--stop", stop});
  ProcessResult stopped = RunTandem(args);
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  nlohmann::json out = nlohmann::json::parse(stopped.out);
  EXPECT_EQ(out["text"], text.substr(0, text.find(stop)));
  EXPECT_EQ(out["stop_reason"], "stop");
  // Streamed (non-JSON) output never shows the stop string either.
  args.pop_back();
  args.pop_back();
  args.pop_back();
  args.insert(args.end(), {"--stop", stop});
  ProcessResult plain = RunTandem(args);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out, text.substr(0, text.find(stop)) + "\n");
}

TEST_F(ModelCliTest, TokenizeHonoursBosAndSpecialFlags) {
  std::string vocab = Shared("vocab/ggml-vocab-phi-3.gguf").string();
  ProcessResult with_bos =
      RunTandem({"model", "tokenize", vocab, "--text", "Hello world", "--json"});
  ASSERT_EQ(with_bos.exit_code, 0) << with_bos.err;
  EXPECT_EQ(nlohmann::json::parse(with_bos.out)["tokens"], nlohmann::json({1, 15043, 3186}));
  ProcessResult no_bos =
      RunTandem({"model", "tokenize", vocab, "--text", "Hello world", "--no-bos", "--json"});
  EXPECT_EQ(nlohmann::json::parse(no_bos.out)["tokens"], nlohmann::json({15043, 3186}));
  ProcessResult plain =
      RunTandem({"model", "tokenize", vocab, "--text", "<|user|>", "--no-bos", "--json"});
  nlohmann::json plain_tokens = nlohmann::json::parse(plain.out)["tokens"];
  EXPECT_GT(plain_tokens.size(), 1u);  // spelled out, not the control token
  ProcessResult special = RunTandem(
      {"model", "tokenize", vocab, "--text", "<|user|>", "--no-bos", "--parse-special", "--json"});
  EXPECT_EQ(nlohmann::json::parse(special.out)["tokens"], nlohmann::json({32010}));
}

TEST_F(ModelCliTest, InfoDescribesTheFile) {
  ProcessResult r =
      RunTandem({"model", "info", Shared("reference/tiny-llama-q4_k.gguf").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json info = nlohmann::json::parse(r.out);
  EXPECT_EQ(info["architecture"], "llama");
  EXPECT_EQ(info["runnable"], true);
  EXPECT_EQ(info["params"]["n_head_kv"], 2);
  EXPECT_EQ(info["tensor_types"]["q6_k"], 5);
  EXPECT_EQ(info["tokenizer"]["type"], "spm");
  ProcessResult vocab_only =
      RunTandem({"model", "info", Shared("vocab/ggml-vocab-gpt-2.gguf").string(), "--json"});
  ASSERT_EQ(vocab_only.exit_code, 0) << vocab_only.err;
  EXPECT_EQ(nlohmann::json::parse(vocab_only.out)["runnable"], false);
}

TEST_F(ModelCliTest, BenchRunsASyntheticShape) {
  ProcessResult r = RunTandem({"model", "bench", "--shape", "tiny", "--type", "q8_0",
                               "--prompt-tokens", "8", "--gen-tokens", "4", "-r", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json out = nlohmann::json::parse(r.out);
  EXPECT_GT(out["gen_tokens_per_s"].get<double>(), 0.0);
  EXPECT_GT(out["weight_bytes_per_token"].get<double>(), 0.0);
  // tiny: 2 layers of 589824 weights, and the 1024 x 256 output matrix once per 8-token prompt.
  EXPECT_EQ(out["prompt_macs_per_token"].get<double>(), 2 * 589824 + 1024 * 256 / 8);
  if (out["isa"] == "generic") {
    EXPECT_EQ(out["int8_macs_per_s"].get<double>(), 0.0);
    EXPECT_EQ(out["prompt_compute_share"].get<double>(), 0.0);
  } else {
    EXPECT_GT(out["int8_macs_per_s"].get<double>(), 0.0);
    EXPECT_GT(out["prompt_compute_share"].get<double>(), 0.0);
    EXPECT_LT(out["prompt_compute_share"].get<double>(), 1.5);
  }
  ProcessResult text = RunTandem({"model", "bench", "--shape", "tiny", "--type", "f16",
                                  "--prompt-tokens", "8", "--gen-tokens", "4", "-r", "1"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  // f16 weights are multiplied as floats: the int8 peak does not bound them.
  EXPECT_TRUE(text.out.find("not int8") != std::string::npos ||
              text.out.find("not measured") != std::string::npos)
      << text.out;
}

TEST_F(ModelCliTest, ErrorsHaveClearMessagesAndExitCodes) {
  ProcessResult missing = RunTandem({"model", "run", "/nonexistent.gguf", "--prompt", "x"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("cannot open"), std::string::npos) << missing.err;
  ProcessResult not_gguf = RunTandem({"model", "info", Shared("reference/README.md").string()});
  EXPECT_EQ(not_gguf.exit_code, 1);
  EXPECT_NE(not_gguf.err.find("not a GGUF file"), std::string::npos) << not_gguf.err;
  ProcessResult usage = RunTandem({"model", "bench"});
  EXPECT_EQ(usage.exit_code, 2);
}

}  // namespace
}  // namespace tandem
