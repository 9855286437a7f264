// The OpenAI-compatible client against real loopback servers: streaming and not, tool calls in
// deltas, every error kind, retries with injected time, timeouts, cancellation and limits.
#include "tandem/llm/openai_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/loopback_server.h"
#include "tandem/llm/provider_error.h"

namespace tandem::llm {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

// Time that only moves when the client sleeps, so backoff tests take no real time.
class FakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(offset_);
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::time_point(offset_);
  }
  void SleepFor(milliseconds duration) override {
    sleeps.push_back(duration);
    offset_ += duration;
  }
  std::vector<milliseconds> sleeps;

 private:
  milliseconds offset_{0};
};

constexpr char kArguments[] = R"({"path":"notes/today.md","content":"hello \"world\"\n"})";

json FullAnswer() {
  return {{"model", "m"},
          {"choices",
           {{{"index", 0},
             {"finish_reason", "tool_calls"},
             {"message",
              {{"role", "assistant"},
               {"content", "Writing two files."},
               {"tool_calls",
                {{{"id", "call_a"},
                  {"type", "function"},
                  {"function", {{"name", "write_file"}, {"arguments", kArguments}}}},
                 {{"id", "call_b"},
                  {"type", "function"},
                  {"function", {{"name", "list_files"}, {"arguments", "{}"}}}}}}}}}}},
          {"usage", {{"prompt_tokens", 42}, {"completion_tokens", 17}}}};
}

// The same answer as SSE: text in pieces, the first call's arguments in 7-byte fragments, the
// second call reusing index 0 with its own id (as some servers do), then a usage-only chunk.
std::string StreamedAnswer(bool with_usage = true, bool with_done = true) {
  auto chunk = [](json delta, json finish = nullptr) {
    json c = {
        {"model", "m"},
        {"choices", {{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", finish}}}}};
    return "data: " + c.dump() + "\r\n\r\n";
  };
  std::string out = ": keep-alive comment\n\n";
  out += chunk({{"role", "assistant"}, {"content", ""}});
  out += chunk({{"content", "Writing "}});
  out += chunk({{"content", "two files."}});
  out += chunk({{"tool_calls",
                 {{{"index", 0},
                   {"id", "call_a"},
                   {"type", "function"},
                   {"function", {{"name", "write_file"}, {"arguments", ""}}}}}}});
  std::string args = kArguments;
  for (size_t i = 0; i < args.size(); i += 7) {
    out +=
        chunk({{"tool_calls", {{{"index", 0}, {"function", {{"arguments", args.substr(i, 7)}}}}}}});
  }
  out += chunk({{"tool_calls",
                 {{{"index", 0},
                   {"id", "call_b"},
                   {"type", "function"},
                   {"function", {{"name", "list_files"}, {"arguments", "{}"}}}}}}});
  out += chunk(json::object(), "tool_calls");
  if (with_usage) {
    out += "data: " +
           json{{"choices", json::array()},
                {"usage", {{"prompt_tokens", 42}, {"completion_tokens", 17}}}}
               .dump() +
           "\n\n";
  }
  if (with_done) out += "data: [DONE]\n\n";
  return out;
}

class OpenAiClientTest : public ::testing::Test {
 protected:
  void Serve(std::function<void(const httplib::Request&, httplib::Response&)> handler) {
    server_.server().Post("/v1/chat/completions",
                          [this, handler](const httplib::Request& req, httplib::Response& res) {
                            ++requests_;
                            handler(req, res);
                          });
    server_.Start();
  }

  OpenAiClient Client(OpenAiClientOptions options = {}) {
    options.base_url = server_.url() + "/v1";
    options.model = "m";
    options.clock = &clock_;
    options.jitter_seed = 7;
    return OpenAiClient(std::move(options));
  }

  static ChatRequest Request() {
    ChatRequest request;
    request.messages = {Message::User("write the notes")};
    request.tools = {{"write_file", "Write", {{"type", "object"}}}};
    return request;
  }

  static ProviderErrorKind KindOf(const Result<ChatResponse>& result) {
    EXPECT_FALSE(result);
    return ProviderErrorKindOf(result.error()).value_or(ProviderErrorKind::kBadRequest);
  }

  testing::LoopbackServer server_;
  FakeClock clock_;
  std::atomic<int> requests_{0};
};

TEST_F(OpenAiClientTest, StreamingAndNonStreamingGiveIdenticalAnswers) {
  std::atomic<bool> saw_stream_options{false};
  Serve([&](const httplib::Request& req, httplib::Response& res) {
    json body = json::parse(req.body);
    if (body.value("stream", false)) {
      saw_stream_options = body["stream_options"]["include_usage"].get<bool>();
      res.set_content(StreamedAnswer(), "text/event-stream");
    } else {
      res.set_content(FullAnswer().dump(), "application/json");
    }
  });
  OpenAiClient client = Client();
  Result<ChatResponse> plain = client.Chat(Request(), {});
  std::string streamed_text;
  Result<ChatResponse> streamed = client.Chat(
      Request(), {.stream = true, .on_text = [&](std::string_view t) { streamed_text += t; }});
  ASSERT_TRUE(plain) << plain.error().message();
  ASSERT_TRUE(streamed) << streamed.error().message();
  EXPECT_TRUE(saw_stream_options);
  EXPECT_EQ(plain->message, streamed->message);
  EXPECT_EQ(plain->usage, streamed->usage);
  EXPECT_EQ(plain->finish_reason, streamed->finish_reason);
  EXPECT_EQ(streamed_text, "Writing two files.");
  ASSERT_EQ(streamed->message.tool_calls.size(), 2u);
  EXPECT_EQ(streamed->message.tool_calls[0].arguments, kArguments);
  EXPECT_EQ(streamed->message.tool_calls[1].id, "call_b");
  EXPECT_EQ(streamed->usage, (Usage{42, 17, 0, false}));
}

TEST_F(OpenAiClientTest, StreamWithoutUsageIsEstimatedAndMarked) {
  Serve([](const httplib::Request&, httplib::Response& res) {
    res.set_content(StreamedAnswer(/*with_usage=*/false), "text/event-stream");
  });
  Result<ChatResponse> streamed = Client().Chat(Request(), {.stream = true});
  ASSERT_TRUE(streamed) << streamed.error().message();
  EXPECT_TRUE(streamed->usage.estimated);
  EXPECT_GT(streamed->usage.prompt_tokens, 0);
  EXPECT_GT(streamed->usage.completion_tokens, 0);
}

TEST_F(OpenAiClientTest, StreamCutMidwayIsANetworkError) {
  Serve([](const httplib::Request&, httplib::Response& res) {
    std::string full = StreamedAnswer(false, false);
    res.set_content(full.substr(0, full.size() / 2), "text/event-stream");
  });
  Result<ChatResponse> result =
      Client({.retry = {.max_attempts = 1}}).Chat(Request(), {.stream = true});
  EXPECT_EQ(KindOf(result), ProviderErrorKind::kNetwork);
  EXPECT_THAT(result.error().message(), HasSubstr("ended before it was complete"));
}

TEST_F(OpenAiClientTest, MalformedSseChunkIsAnInvalidResponse) {
  Serve([](const httplib::Request&, httplib::Response& res) {
    res.set_content("data: {\"choices\": [\n\ndata: [DONE]\n\n", "text/event-stream");
  });
  Result<ChatResponse> result = Client().Chat(Request(), {.stream = true});
  EXPECT_EQ(KindOf(result), ProviderErrorKind::kInvalidResponse);
  EXPECT_EQ(requests_, 1);
}

TEST_F(OpenAiClientTest, ErrorObjectInsideAStreamIsReported) {
  Serve([](const httplib::Request&, httplib::Response& res) {
    res.set_content("data: {\"error\":{\"message\":\"model overloaded\"}}\n\n",
                    "text/event-stream");
  });
  Result<ChatResponse> result =
      Client({.retry = {.max_attempts = 1}}).Chat(Request(), {.stream = true});
  EXPECT_EQ(KindOf(result), ProviderErrorKind::kOverloaded);
  EXPECT_THAT(result.error().message(), HasSubstr("model overloaded"));
}

TEST_F(OpenAiClientTest, RateLimitHonoursRetryAfterThenSucceeds) {
  Serve([this](const httplib::Request&, httplib::Response& res) {
    if (requests_ == 1) {
      res.status = 429;
      res.set_header("Retry-After", "3");
      res.set_content(R"({"error":{"message":"slow down","type":"rate_limit"}})",
                      "application/json");
      return;
    }
    res.set_content(FullAnswer().dump(), "application/json");
  });
  Result<ChatResponse> result = Client().Chat(Request(), {});
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(requests_, 2);
  ASSERT_EQ(clock_.sleeps.size(), 1u);
  EXPECT_GE(clock_.sleeps[0], milliseconds(3000));
}

TEST_F(OpenAiClientTest, RateLimitWithoutRetryAfterBacksOffExponentiallyWithJitter) {
  Serve([](const httplib::Request&, httplib::Response& res) {
    res.status = 429;
    res.set_content(R"({"error":{"message":"slow down"}})", "application/json");
  });
  Result<ChatResponse> result = Client().Chat(Request(), {});
  EXPECT_EQ(KindOf(result), ProviderErrorKind::kRateLimit);
  EXPECT_EQ(result.error().code(), ErrorCode::kRateLimited);
  EXPECT_THAT(result.error().message(), HasSubstr("after 4 attempts"));
  EXPECT_EQ(requests_, 4);
  ASSERT_EQ(clock_.sleeps.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    double expected = 500.0 * std::pow(2.0, static_cast<double>(i));
    EXPECT_GE(clock_.sleeps[i].count(), expected * 0.8 - 1) << i;
    EXPECT_LE(clock_.sleeps[i].count(), expected * 1.2 + 1) << i;
  }
}

TEST_F(OpenAiClientTest, RetriesStopAtTheTotalTimeBudget) {
  Serve([](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_header("Retry-After", "15");
    res.set_content("busy", "text/plain");
  });
  Result<ChatResponse> result =
      Client({.retry = {.max_attempts = 10, .max_total = milliseconds(20'000)}})
          .Chat(Request(), {});
  EXPECT_EQ(KindOf(result), ProviderErrorKind::kOverloaded);
  EXPECT_THAT(result.error().message(), HasSubstr("gave up retrying"));
  EXPECT_EQ(requests_, 2);
}

TEST_F(OpenAiClientTest, NonRetryableErrorsAreTypedAndNotRetried) {
  struct Case {
    int status;
    const char* body;
    ProviderErrorKind kind;
    ErrorCode code;
  };
  std::vector<Case> cases = {
      {401, R"({"error":{"message":"Incorrect API key"}})", ProviderErrorKind::kAuthentication,
       ErrorCode::kUnauthenticated},
      {429,
       R"({"error":{"message":"You exceeded your current quota","code":"insufficient_quota"}})",
       ProviderErrorKind::kQuota, ErrorCode::kBudgetExhausted},
      {400, R"({"error":{"message":"too long","code":"context_length_exceeded"}})",
       ProviderErrorKind::kContextLength, ErrorCode::kInvalidArgument},
      {400, R"({"error":{"message":"flagged","code":"content_filter"}})",
       ProviderErrorKind::kContentFilter, ErrorCode::kInvalidArgument},
      {422, R"({"error":{"message":"unknown field"}})", ProviderErrorKind::kBadRequest,
       ErrorCode::kInvalidArgument},
  };
  std::atomic<size_t> current{0};
  Serve([&](const httplib::Request&, httplib::Response& res) {
    res.status = cases[current].status;
    res.set_content(cases[current].body, "application/json");
  });
  OpenAiClient client = Client();
  for (size_t i = 0; i < cases.size(); ++i) {
    current = i;
    int before = requests_;
    Result<ChatResponse> result = client.Chat(Request(), {});
    EXPECT_EQ(KindOf(result), cases[i].kind) << cases[i].body;
    EXPECT_EQ(result.error().code(), cases[i].code) << cases[i].body;
    EXPECT_EQ(requests_ - before, 1) << "retried " << cases[i].body;
    std::string provider_message = json::parse(cases[i].body)["error"]["message"];
    EXPECT_THAT(result.error().message(), HasSubstr(provider_message));
  }
  EXPECT_TRUE(clock_.sleeps.empty());
}

TEST_F(OpenAiClientTest, ServerErrorIsRetriedThenSucceeds) {
  Serve([this](const httplib::Request&, httplib::Response& res) {
    if (requests_ < 3) {
      res.status = 500;
      res.set_content("oops", "text/plain");
      return;
    }
    res.set_content(FullAnswer().dump(), "application/json");
  });
  ASSERT_TRUE(Client().Chat(Request(), {}));
  EXPECT_EQ(requests_, 3);
}

TEST_F(OpenAiClientTest, SlowFirstByteTimesOut) {
  Serve([](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(milliseconds(1500));
    res.set_content(FullAnswer().dump(), "application/json");
  });
  Result<ChatResponse> result =
      Client({.retry = {.max_attempts = 1}, .first_byte_timeout = milliseconds(200)})
          .Chat(Request(), {});
  EXPECT_EQ(KindOf(result), ProviderErrorKind::kTimeout);
  EXPECT_EQ(result.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_THAT(result.error().message(), HasSubstr("no response"));
}

TEST_F(OpenAiClientTest, StallMidStreamTimesOut) {
  Serve([](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/event-stream", [](size_t, httplib::DataSink& sink) {
      std::string first =
          "data: " + json{{"choices", {{{"index", 0}, {"delta", {{"content", "Hel"}}}}}}}.dump() +
          "\n\n";
      sink.write(first.data(), first.size());
      std::this_thread::sleep_for(milliseconds(1500));
      sink.done();
      return true;
    });
  });
  Result<ChatResponse> result =
      Client({.retry = {.max_attempts = 1}, .idle_timeout = milliseconds(200)})
          .Chat(Request(), {.stream = true});
  EXPECT_EQ(KindOf(result), ProviderErrorKind::kTimeout);
  EXPECT_THAT(result.error().message(), HasSubstr("stalled"));
}

TEST_F(OpenAiClientTest, CancellationAbortsPromptly) {
  Serve([](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(milliseconds(1500));
    res.set_content(FullAnswer().dump(), "application/json");
  });
  CancellationToken cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(100));
    cancel.Cancel();
  });
  auto started = std::chrono::steady_clock::now();
  Result<ChatResponse> result = Client().Chat(Request(), {.cancel = &cancel});
  canceller.join();
  EXPECT_EQ(KindOf(result), ProviderErrorKind::kCancelled);
  EXPECT_EQ(result.error().code(), ErrorCode::kCancelled);
  EXPECT_EQ(requests_, 1);  // Not retried.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST_F(OpenAiClientTest, HugeBodyIsRefused) {
  Serve([](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(200'000, 'x'), "application/json");
  });
  Result<ChatResponse> result = Client({.max_response_bytes = 10'000}).Chat(Request(), {});
  EXPECT_EQ(KindOf(result), ProviderErrorKind::kInvalidResponse);
  EXPECT_THAT(result.error().message(), HasSubstr("exceeds"));
}

TEST_F(OpenAiClientTest, InvalidJsonAndInvalidUtf8AreInvalidResponses) {
  std::atomic<int> variant{0};
  Serve([&](const httplib::Request&, httplib::Response& res) {
    if (variant == 0) {
      res.set_content("{\"choices\": [", "application/json");
    } else {
      res.set_content("{\"choices\":[{\"message\":{\"content\":\"bad \xff\xfe\"}}]}",
                      "application/json");
    }
  });
  OpenAiClient client = Client();
  EXPECT_EQ(KindOf(client.Chat(Request(), {})), ProviderErrorKind::kInvalidResponse);
  variant = 1;
  Result<ChatResponse> result = client.Chat(Request(), {});
  EXPECT_EQ(KindOf(result), ProviderErrorKind::kInvalidResponse);
  EXPECT_THAT(result.error().message(), HasSubstr("UTF-8"));
}

TEST_F(OpenAiClientTest, ConnectionRefusedIsANetworkError) {
  OpenAiClient client({.base_url = "http://127.0.0.1:1/v1",
                       .model = "m",
                       .retry = {.max_attempts = 2},
                       .clock = &clock_});
  Result<ChatResponse> result = client.Chat(Request(), {});
  EXPECT_EQ(KindOf(result), ProviderErrorKind::kNetwork);
  EXPECT_EQ(clock_.sleeps.size(), 1u);
}

TEST_F(OpenAiClientTest, JsonSchemaFallsBackToJsonObjectWithoutTheCapability) {
  std::vector<json> bodies;
  std::mutex mu;
  Serve([&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    bodies.push_back(json::parse(req.body));
    res.set_content(FullAnswer().dump(), "application/json");
  });
  ChatRequest request = Request();
  request.response_format = {ResponseFormat::Kind::kJsonSchema, "plan", {{"type", "object"}}};
  ASSERT_TRUE(Client().Chat(request, {}));
  ASSERT_TRUE(Client({.capabilities = {.json_schema = true}}).Chat(request, {}));
  ASSERT_TRUE(Client({.capabilities = {.tools = false}}).Chat(request, {}));
  EXPECT_EQ(bodies[0]["response_format"]["type"], "json_object");
  EXPECT_EQ(bodies[1]["response_format"]["type"], "json_schema");
  EXPECT_EQ(bodies[1]["response_format"]["json_schema"]["name"], "plan");
  EXPECT_FALSE(bodies[2].contains("tools"));
}

TEST_F(OpenAiClientTest, WithoutNativeToolsCallsTravelAsSchemaConstrainedJson) {
  std::vector<json> bodies;
  std::mutex mu;
  Serve([&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    bodies.push_back(json::parse(req.body));
    // A fenced answer, as chat models often write one.
    std::string text = bodies.size() == 1
                           ? "```json\n{\"thoughts\": \"save it\", \"tool\": \"write_file\", "
                             "\"arguments\": {\"path\": \"a.txt\"}}\n```"
                           : "{\"tool\": \"launch_rockets\", \"arguments\": {}}";
    json answer = {
        {"choices",
         {{{"message", {{"role", "assistant"}, {"content", text}}}, {"finish_reason", "stop"}}}},
        {"usage", {{"prompt_tokens", 5}, {"completion_tokens", 3}}}};
    res.set_content(answer.dump(), "application/json");
  });
  ChatRequest request = Request();
  request.messages.push_back({Role::kAssistant, "first", {{"c1", "write_file", "{}"}}, ""});
  request.messages.push_back(Message::ToolResult("c1", "written"));
  OpenAiClient client = Client({.capabilities = {.tools = false, .json_schema = true}});
  Result<ChatResponse> answer = client.Chat(request, {});
  ASSERT_TRUE(answer) << answer.error().message();
  ASSERT_EQ(answer->message.tool_calls.size(), 1u);
  EXPECT_EQ(answer->message.tool_calls[0].name, "write_file");
  EXPECT_EQ(json::parse(answer->message.tool_calls[0].arguments), json({{"path", "a.txt"}}));
  EXPECT_EQ(answer->message.content, "save it");
  EXPECT_EQ(answer->finish_reason, "tool_calls");

  const json& body = bodies[0];
  EXPECT_FALSE(body.contains("tools"));
  EXPECT_EQ(body["response_format"]["type"], "json_schema");
  const json& branch = body["response_format"]["json_schema"]["schema"]["anyOf"][0];
  EXPECT_EQ(branch["properties"]["tool"]["const"], "write_file");
  EXPECT_EQ(body["messages"][0]["role"], "system");
  EXPECT_NE(body["messages"][0]["content"].get<std::string>().find("write_file"),
            std::string::npos);
  for (const json& message : body["messages"]) {
    EXPECT_NE(message["role"], "tool") << "no tool turns for an endpoint without tools";
    EXPECT_FALSE(message.contains("tool_calls"));
  }
  EXPECT_NE(body["messages"].back()["content"].get<std::string>().find("written"),
            std::string::npos);

  // A call naming a tool that was not offered stays text: the agent's repair loop handles it.
  Result<ChatResponse> unknown = client.Chat(request, {});
  ASSERT_TRUE(unknown);
  EXPECT_TRUE(unknown->message.tool_calls.empty());
}

TEST(OpenAiClientModelsTest, ListsTheModelIds) {
  testing::LoopbackServer server;
  server.server().Get("/v1/models", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"data":[{"id":"a"},{"id":"b"}]})", "application/json");
  });
  server.Start();
  OpenAiClient client({.base_url = server.url() + "/v1", .model = "e"});
  auto models = client.ListModels();
  ASSERT_TRUE(models) << models.error().message();
  EXPECT_EQ(*models, (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace tandem::llm
