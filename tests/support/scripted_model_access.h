// ModelAccess doubles for unit tests that need no HTTP. Header-only, so only tests that link the
// agent module pull them in.
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "tandem/agent/model_access.h"

namespace tandem::testing {

// Each call's tool call comes from a function of the call (task, step); calls are recorded.
// Thread-safe.
class ScriptedModelAccess final : public agent::ModelAccess {
 public:
  // The tool name and JSON arguments to call; an error makes the call fail.
  using Script =
      std::function<Result<std::pair<std::string, nlohmann::json>>(const agent::CallContext&)>;

  explicit ScriptedModelAccess(Script script) : script_(std::move(script)) {}

  Result<agent::ModelAnswer> Call(const llm::ChatRequest&,
                                  const agent::CallContext& context) override {
    {
      std::lock_guard lock(mu_);
      calls_.push_back({context.task_id, context.step_seq,
                        context.taint != nullptr && context.taint->tainted()});
    }
    Result<std::pair<std::string, nlohmann::json>> action = script_(context);
    if (!action) return std::unexpected(action.error());
    agent::ModelAnswer answer;
    answer.response.message = {
        llm::Role::kAssistant, "", {{"call", action->first, action->second.dump()}}, ""};
    answer.provider = "scripted";
    return answer;
  }

  struct Seen {
    std::string task_id;
    int64_t step_seq = 0;
    bool tainted = false;
  };
  std::vector<Seen> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  Script script_;
  mutable std::mutex mu_;
  std::vector<Seen> calls_;  // GUARDED_BY(mu_)
};

// Answers each call with the next pushed tool call and text (streamed when the call streams), and
// fails with kUnavailable once the script runs out; records every call. For tests that run one
// task at a time: not thread-safe.
class QueuedModelAccess final : public agent::ModelAccess {
 public:
  void Push(std::string tool, const nlohmann::json& args, std::string text = "") {
    replies_.push_back({std::move(tool), args.dump(), std::move(text)});
  }

  Result<agent::ModelAnswer> Call(const llm::ChatRequest& request,
                                  const agent::CallContext& context) override {
    calls.push_back({.request = request,
                     .task_id = context.task_id,
                     .tainted = context.taint != nullptr && context.taint->tainted(),
                     .escalate = context.escalate,
                     .streamed = context.stream});
    if (replies_.empty()) return MakeError(ErrorCode::kUnavailable, "script exhausted");
    Reply reply = std::move(replies_.front());
    replies_.pop_front();
    if (context.stream && context.on_text && !reply.text.empty()) context.on_text(reply.text);
    agent::ModelAnswer answer;
    answer.response.message = {
        llm::Role::kAssistant, reply.text, {{"call", reply.tool, reply.args}}, ""};
    answer.provider = "scripted";
    return answer;
  }

  struct SeenCall {
    llm::ChatRequest request;
    std::string task_id;
    bool tainted = false;
    bool escalate = false;
    bool streamed = false;

    // Every message's content, one per line.
    std::string Text() const {
      std::string text;
      for (const llm::Message& message : request.messages)
        text += message.content + "\n";
      return text;
    }
  };
  std::vector<SeenCall> calls;

 private:
  struct Reply {
    std::string tool, args, text;
  };
  std::deque<Reply> replies_;
};

}  // namespace tandem::testing
