// Approvals over HTTP: approve, refuse or answer with feedback the tool call a task waits on
// (docs/server.md, "Approvals"). The waiting itself happens in ApprovalDesk.
#include <fmt/format.h>

#include "tandem/server/server_impl.h"

namespace tandem::server {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr int64_t kMaxApproveAhead = 10000;
constexpr size_t kMaxTextBytes = 16 * 1024;  // Feedback and refusal reasons go into prompts.

// The request body as a JSON object ("" counts as {}), or an error naming `shape`.
Result<json> ObjectBody(const httplib::Request& req, std::string_view shape) {
  json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (!body.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "send a JSON object: {}", shape);
  }
  return body;
}

Status OnlyKeys(const json& body, std::initializer_list<std::string_view> keys,
                std::string_view shape) {
  for (const auto& [key, value] : body.items()) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      return MakeError(ErrorCode::kInvalidArgument, "unknown key '{}': send {}", key, shape);
    }
  }
  return {};
}

// The string at `key` (absent: nullopt), or an error when it is not a string or too long.
Result<std::optional<std::string>> Text(const json& body, const std::string& key) {
  if (!body.contains(key)) return std::optional<std::string>();
  if (!body[key].is_string())
    return MakeError(ErrorCode::kInvalidArgument, "{} must be a string", key);
  std::string text = body[key].get<std::string>();
  if (text.size() > kMaxTextBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "{} is longer than {} bytes", key, kMaxTextBytes);
  }
  return std::optional<std::string>(std::move(text));
}

Result<agent::ApprovalDecision> ParseApprove(const httplib::Request& req) {
  constexpr std::string_view kShape = R"({} or {"count": N})";
  Result<json> body = ObjectBody(req, kShape);
  if (!body) return std::unexpected(body.error());
  if (Status keys = OnlyKeys(*body, {"count"}, kShape); !keys) return std::unexpected(keys.error());
  agent::ApprovalDecision decision{.kind = agent::ApprovalKind::kApprove};
  if (body->contains("count")) {
    const json& count = (*body)["count"];
    if (!count.is_number_integer() || count.get<int64_t>() < 0 ||
        count.get<int64_t>() > kMaxApproveAhead) {
      return MakeError(ErrorCode::kInvalidArgument, "count must be an integer in [0, {}]",
                       kMaxApproveAhead);
    }
    if (count.get<int64_t>() > 0) {
      decision.kind = agent::ApprovalKind::kApproveNext;
      decision.count = count.get<int>();
    }
  }
  return decision;
}

Result<agent::ApprovalDecision> ParseRefuse(const httplib::Request& req) {
  constexpr std::string_view kShape = R"({} or {"reason": "..."})";
  Result<json> body = ObjectBody(req, kShape);
  if (!body) return std::unexpected(body.error());
  if (Status keys = OnlyKeys(*body, {"reason"}, kShape); !keys)
    return std::unexpected(keys.error());
  Result<std::optional<std::string>> reason = Text(*body, "reason");
  if (!reason) return std::unexpected(reason.error());
  return agent::ApprovalDecision{.kind = agent::ApprovalKind::kRefuse,
                                 .note = reason->value_or("")};
}

Result<agent::ApprovalDecision> ParseFeedback(const httplib::Request& req) {
  constexpr std::string_view kShape = R"({"text": "..."})";
  Result<json> body = ObjectBody(req, kShape);
  if (!body) return std::unexpected(body.error());
  if (Status keys = OnlyKeys(*body, {"text"}, kShape); !keys) return std::unexpected(keys.error());
  Result<std::optional<std::string>> text = Text(*body, "text");
  if (!text) return std::unexpected(text.error());
  if (!*text || (*text)->empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "send {} with a non-empty text", kShape);
  }
  return agent::ApprovalDecision{.kind = agent::ApprovalKind::kFeedback, .feedback = **text};
}

std::string_view ContractName(agent::ApprovalKind kind) {
  switch (kind) {
    case agent::ApprovalKind::kApprove:
    case agent::ApprovalKind::kApproveNext:
      return "approve";
    case agent::ApprovalKind::kRefuse:
      return "refuse";
    case agent::ApprovalKind::kFeedback:
      return "feedback";
  }
  return "refuse";
}

}  // namespace

void Server::Impl::AddApprovalRoutes() {
  const std::string id = "/api/tasks/([A-Za-z0-9_-]+)";
  auto answer = [this](Result<agent::ApprovalDecision> (*parse)(const httplib::Request&)) {
    return
        [this, parse](const httplib::Request& req, httplib::Response& res, const Principal& who) {
          std::optional<store::TaskRecord> task = VisibleTask(req, res, who);
          if (!task) return;
          Result<agent::ApprovalDecision> decision = parse(req);
          if (!decision) return SendError(res, decision.error());
          decision->by = who.user;
          AnswerCall(res, *task, std::move(*decision));
        };
  };
  Route("POST", id + "/approve", "/api/tasks/:id/approve", Access::kMember, answer(&ParseApprove));
  Route("POST", id + "/refuse", "/api/tasks/:id/refuse", Access::kMember, answer(&ParseRefuse));
  Route("POST", id + "/feedback", "/api/tasks/:id/feedback", Access::kMember,
        answer(&ParseFeedback));
}

void Server::Impl::AnswerCall(httplib::Response& res, const store::TaskRecord& task,
                              agent::ApprovalDecision decision) {
  std::string_view name = ContractName(decision.kind);
  Result<int64_t> step = approvals_.Answer(task.id, std::move(decision));
  if (!step) {
    return SendError(res, 409, "no_pending_approval",
                     fmt::format("task {} is not waiting for approval", task.id));
  }
  SendJson(res, 200, {{"decision", name}, {"step", *step}});
}

ordered_json Server::Impl::PendingApprovalJson(const std::string& task_id) {
  std::optional<PendingApproval> pending = approvals_.Pending(task_id);
  if (!pending) return nullptr;
  const agent::ApprovalRequest& request = pending->request;
  return {{"step", request.step_seq},
          {"tool", request.tool},
          {"arguments", request.arguments},
          {"effect", tools::EffectClassName(request.effect)},
          {"untrusted_paths", request.untrusted_paths},
          {"reason", request.reason},
          {"since_ms", pending->since_ms}};
}

}  // namespace tandem::server
