// Client CPU time per streamed answer of 500 chunks, against just receiving the same bytes with
// libcurl, both from a loopback server in the same process. Google Benchmark's CPU column is
// the benchmark thread's CPU time, so the server threads are not counted.
#include <benchmark/benchmark.h>
#include <curl/curl.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "tandem/llm/openai_client.h"

namespace {

constexpr int kChunks = 500;

std::string MakeStream() {
  std::string out;
  for (int i = 0; i < kChunks; ++i) {
    nlohmann::json chunk = {
        {"id", "chatcmpl-bench"},
        {"object", "chat.completion.chunk"},
        {"model", "bench-model"},
        {"choices",
         {{{"index", 0},
           {"delta", {{"content", "token" + std::to_string(i) + " "}}},
           {"finish_reason", i + 1 == kChunks ? nlohmann::json("stop") : nullptr}}}}};
    out += "data: " + chunk.dump() + "\n\n";
  }
  out += "data: " +
         nlohmann::json{{"choices", nlohmann::json::array()},
                        {"usage", {{"prompt_tokens", 20}, {"completion_tokens", kChunks}}}}
             .dump() +
         "\n\ndata: [DONE]\n\n";
  return out;
}

class StreamServer {
 public:
  StreamServer() : body_(MakeStream()) {
    server_.Post("/v1/chat/completions", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(body_, "text/event-stream");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~StreamServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  size_t bytes() const { return body_.size(); }

 private:
  std::string body_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

StreamServer& Server() {
  static StreamServer server;
  return server;
}

void BM_TandemStreamedAnswer(benchmark::State& state) {
  tandem::llm::OpenAiClient client({.base_url = Server().url(), .model = "bench-model"});
  tandem::llm::ChatRequest request;
  request.messages = {tandem::llm::Message::User("hi")};
  for (auto _ : state) {
    auto answer = client.Chat(request, {.stream = true});
    if (!answer) state.SkipWithError(answer.error().message().c_str());
    benchmark::DoNotOptimize(answer);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Server().bytes()));
  state.counters["chunks"] = kChunks;
}
BENCHMARK(BM_TandemStreamedAnswer)->Unit(benchmark::kMicrosecond)->UseRealTime();

size_t Discard(char*, size_t size, size_t count, void*) {
  return size * count;
}

// The peer: the same POST and the same bytes, received by libcurl and thrown away.
void BM_LibcurlReceiveOnly(benchmark::State& state) {
  std::string url = Server().url() + "/chat/completions";
  std::string body =
      R"({"model":"bench-model","messages":[{"role":"user","content":"hi"}],"stream":true})";
  for (auto _ : state) {
    CURL* curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // As the client does.
    CURLcode code = curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    if (code != CURLE_OK) state.SkipWithError(curl_easy_strerror(code));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Server().bytes()));
}
BENCHMARK(BM_LibcurlReceiveOnly)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
