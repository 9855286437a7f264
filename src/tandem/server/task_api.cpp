// The native task API: create, list, show, cancel, resume, live events (SSE), artifacts.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <fstream>

#include "tandem/agent/task_json.h"
#include "tandem/core/id.h"
#include "tandem/server/server_impl.h"
#include "tandem/store/task_json.h"

namespace tandem::server {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr int64_t kMaxArtifactBytes = int64_t{256} << 20;

// A workspace name is one plain path component: it cannot leave TANDEM_HOME/workspaces.
bool IsSafeName(std::string_view name) {
  if (name.empty() || name.size() > 128 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
  });
}

// Reads {"usd", "tokens", "seconds", "tool_calls"}; each optional and positive.
Result<agent::Budget> ParseBudget(const json& value) {
  agent::Budget budget;
  if (value.is_null()) return budget;
  if (!value.is_object()) return MakeError(ErrorCode::kInvalidArgument, "budget must be an object");
  for (const auto& [key, item] : value.items()) {
    if (!item.is_number() || item.get<double>() <= 0) {
      return MakeError(ErrorCode::kInvalidArgument, "budget.{} must be a positive number", key);
    }
    if (key == "usd") {
      budget.usd = item.get<double>();
    } else if (key == "tokens") {
      budget.tokens = item.get<int64_t>();
    } else if (key == "seconds") {
      budget.seconds = item.get<double>();
    } else if (key == "tool_calls") {
      budget.tool_calls = item.get<int64_t>();
    } else {
      return MakeError(ErrorCode::kInvalidArgument,
                       "unknown budget key '{}' (usd, tokens, seconds, tool_calls)", key);
    }
  }
  return budget;
}

std::string SseEvent(const store::EventRecord& event) {
  json payload = json::parse(event.payload, nullptr, false);
  ordered_json data = {{"id", event.id},
                       {"task_id", event.task_id},
                       {"type", event.type},
                       {"time_ms", event.created_at_ms},
                       {"payload", payload.is_discarded() ? json() : payload}};
  return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", event.id, event.type,
                     data.dump(-1, ' ', false, ordered_json::error_handler_t::replace));
}

bool IsTerminal(store::TaskStatus status) {
  return status != store::TaskStatus::kPending && status != store::TaskStatus::kRunning;
}

}  // namespace

void Server::Impl::AddTaskRoutes() {
  auto bind = [this](auto method) {
    return [this, method](const httplib::Request& req, httplib::Response& res,
                          const Principal& who) { (this->*method)(req, res, who); };
  };
  const std::string id = "/api/tasks/([A-Za-z0-9_-]+)";
  Route("POST", "/api/tasks", "/api/tasks", Access::kMember, bind(&Impl::CreateTask));
  Route("GET", "/api/tasks", "/api/tasks", Access::kViewer, bind(&Impl::ListTasks));
  Route("GET", id, "/api/tasks/:id", Access::kViewer, bind(&Impl::ShowTask));
  Route("POST", id + "/cancel", "/api/tasks/:id/cancel", Access::kMember, bind(&Impl::CancelTask));
  Route("POST", id + "/resume", "/api/tasks/:id/resume", Access::kMember, bind(&Impl::ResumeTask));
  Route("GET", id + "/events", "/api/tasks/:id/events", Access::kViewer, bind(&Impl::StreamEvents));
  Route("GET", id + "/artifacts", "/api/tasks/:id/artifacts", Access::kViewer,
        bind(&Impl::ListArtifacts));
  Route("GET", id + "/artifacts/(.+)", "/api/tasks/:id/artifacts/:path", Access::kViewer,
        bind(&Impl::DownloadArtifact));
}

bool Server::Impl::CanSee(const Principal& who, const std::string& task_id) {
  if (who.role == Role::kAdmin) return true;
  Result<std::optional<store::TaskAccess>> access = deps_.store->GetTaskAccess(task_id);
  if (!access || !*access) return false;  // Not started through the server: admins only.
  return (*access)->shared || (*access)->owner == who.user;
}

std::optional<store::TaskRecord> Server::Impl::VisibleTask(const httplib::Request& req,
                                                           httplib::Response& res,
                                                           const Principal& who) {
  std::string task_id = req.matches[1];
  Result<std::optional<store::TaskRecord>> task = deps_.store->GetTask(task_id);
  if (!task) {
    SendError(res, task.error());
    return std::nullopt;
  }
  if (!*task || !CanSee(who, task_id)) {
    SendError(res, 404, "not_found", fmt::format("no task {}", task_id));
    return std::nullopt;
  }
  return std::move(**task);
}

Result<store::TaskRecord> Server::Impl::StartTask(const json& body, const Principal& who) {
  if (!body.is_object() || !body.contains("goal") || !body["goal"].is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "send a JSON object with a \"goal\" string");
  }
  agent::RunOptions options{.max_steps = options_.max_steps};
  if (body.contains("max_steps")) {
    if (!body["max_steps"].is_number_integer() || body["max_steps"].get<int64_t>() < 1 ||
        body["max_steps"].get<int64_t>() > 100000) {
      return MakeError(ErrorCode::kInvalidArgument, "max_steps must be an integer in [1, 100000]");
    }
    options.max_steps = body["max_steps"].get<int>();
  }
  Result<agent::Budget> budget = ParseBudget(body.value("budget", json()));
  if (!budget) return std::unexpected(budget.error());
  options.budget = *budget;
  if (Status profile = ReadTaskPolicy(body, options); !profile) {
    return std::unexpected(profile.error());
  }
  json shared = body.value("shared", json(false));
  if (!shared.is_boolean()) return MakeError(ErrorCode::kInvalidArgument, "shared must be a bool");
  std::string task_id = NewId();
  std::string workspace_name = task_id;
  if (body.contains("workspace")) {
    if (!body["workspace"].is_string() || !IsSafeName(body["workspace"].get<std::string>())) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "workspace must be a plain name (letters, digits, - _ .); it lives under "
                       "TANDEM_HOME/workspaces");
    }
    workspace_name = body["workspace"].get<std::string>();
  }
  agent::Controller creator(
      {.store = deps_.store, .models = deps_.models, .tools = deps_.tools, .policy = deps_.policy});
  Result<store::TaskRecord> task =
      creator.Create(body["goal"].get<std::string>(), deps_.home / "workspaces" / workspace_name,
                     options, task_id);
  if (!task) return std::unexpected(task.error());
  Status access = deps_.store->SetTaskAccess(
      {.task_id = task->id, .owner = who.user, .shared = shared.get<bool>()});
  if (!access) return std::unexpected(access.error());
  if (Status queued = runner_->Enqueue(task->id, options); !queued) {
    return std::unexpected(queued.error());
  }
  return task;
}

void Server::Impl::CreateTask(const httplib::Request& req, httplib::Response& res,
                              const Principal& who) {
  json body = json::parse(req.body, nullptr, false);
  Result<store::TaskRecord> task = StartTask(body, who);
  if (!task) return SendError(res, task.error());
  ordered_json out = store::TaskJson(*task);
  out["owner"] = who.user;
  out["shared"] = body.value("shared", false);
  SendJson(res, 201, out);
}

void Server::Impl::ListTasks(const httplib::Request& req, httplib::Response& res,
                             const Principal& who) {
  int limit = 100;
  if (req.has_param("limit")) {
    limit = std::clamp(std::atoi(req.get_param_value("limit").c_str()), 1, 1000);
  }
  // Over-fetch so hidden tasks do not shrink a page much; fine at team scale.
  Result<std::vector<store::TaskRecord>> tasks = deps_.store->ListTasks(limit * 4);
  if (!tasks) return SendError(res, tasks.error());
  ordered_json out = ordered_json::array();
  for (const store::TaskRecord& task : *tasks) {
    if (static_cast<int>(out.size()) >= limit) break;
    if (!CanSee(who, task.id)) continue;
    out.push_back(store::TaskJson(task));
    out.back()["pending_approval"] = PendingApprovalJson(task.id);
  }
  SendJson(res, 200, out);
}

void Server::Impl::ShowTask(const httplib::Request& req, httplib::Response& res,
                            const Principal& who) {
  std::optional<store::TaskRecord> task = VisibleTask(req, res, who);
  if (!task) return;
  Result<ordered_json> detail = agent::TaskDetailJson(*deps_.store, task->id);
  if (!detail) return SendError(res, detail.error());
  (*detail)["pending_approval"] = PendingApprovalJson(task->id);
  SendJson(res, 200, *detail);
}

void Server::Impl::CancelTask(const httplib::Request& req, httplib::Response& res,
                              const Principal& who) {
  std::optional<store::TaskRecord> task = VisibleTask(req, res, who);
  if (!task) return;
  // A saved final status means the run is over, even while its worker is still letting go.
  if (IsTerminal(task->status) || !runner_->Cancel(task->id)) {
    return SendError(
        res, 409, "failed_precondition",
        fmt::format("task {} is not running ({})", task->id, store::TaskStatusName(task->status)));
  }
  SendJson(res, 202, {{"id", task->id}, {"cancelling", true}});
}

void Server::Impl::ResumeTask(const httplib::Request& req, httplib::Response& res,
                              const Principal& who) {
  std::optional<store::TaskRecord> task = VisibleTask(req, res, who);
  if (!task) return;
  if (task->status == store::TaskStatus::kSucceeded) {
    return SendError(res, 409, "failed_precondition",
                     fmt::format("task {} already finished", task->id));
  }
  agent::RunOptions options = agent::StoredRunOptions(*task);
  json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (!body.is_object()) return SendError(res, 400, "invalid_argument", "send a JSON object");
  if (body.contains("add_budget_usd")) {
    if (!body["add_budget_usd"].is_number() || body["add_budget_usd"].get<double>() <= 0) {
      return SendError(res, 400, "invalid_argument", "add_budget_usd must be positive");
    }
    options.budget.usd = options.budget.usd.value_or(0) + body["add_budget_usd"].get<double>();
  }
  if (Status queued = Requeue(*task, options); !queued) return SendError(res, queued.error());
  SendJson(res, 202, {{"id", task->id}, {"resuming", true}});
}

Status Server::Impl::Requeue(store::TaskRecord task, const agent::RunOptions& options) {
  if (task.status == store::TaskStatus::kSucceeded) {
    return MakeError(ErrorCode::kFailedPrecondition, "task {} already finished", task.id);
  }
  // A run that saved its final status lets go of the task a moment later; give it that moment.
  bool finishing = IsTerminal(task.status);
  if (finishing ? !runner_->WaitUntilInactive(task.id, kFinishingGrace)
                : runner_->IsActive(task.id)) {
    return MakeError(ErrorCode::kFailedPrecondition, "task {} is already running", task.id);
  }
  // Pending until a worker picks it up, so clients polling the status see it queued.
  task.status = store::TaskStatus::kPending;
  task.stop_reason = "queued to resume";
  task.updated_at_ms = ToUnixMillis(SystemClock().Now());
  if (Status saved = deps_.store->UpdateTask(task); !saved) return saved;
  return runner_->Enqueue(task.id, options);
}

void Server::Impl::StreamEvents(const httplib::Request& req, httplib::Response& res,
                                const Principal& who) {
  std::optional<store::TaskRecord> task = VisibleTask(req, res, who);
  if (!task) return;
  int64_t after = 0;
  std::string last = req.get_header_value("Last-Event-ID");
  if (last.empty() && req.has_param("after")) last = req.get_param_value("after");
  if (!last.empty()) {
    char* end = nullptr;
    after = std::strtoll(last.c_str(), &end, 10);
    if (end == last.c_str() || *end != '\0' || after < 0) {
      return SendError(res, 400, "invalid_argument", "Last-Event-ID must be an event id");
    }
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  std::string task_id = task->id;
  res.set_chunked_content_provider(
      "text/event-stream", [this, task_id, after](size_t, httplib::DataSink& sink) mutable {
        Result<std::vector<store::EventRecord>> events = deps_.store->ListEvents(task_id, after);
        if (!events) return false;
        for (const store::EventRecord& event : *events) {
          std::string chunk = SseEvent(event);
          if (!sink.write(chunk.data(), chunk.size())) return false;
          after = event.id;
        }
        if (!events->empty()) return true;
        // Nothing new: finished tasks end the stream, live ones wait for the next event.
        if (stopping_ || !runner_->IsActive(task_id)) {
          Result<std::optional<store::TaskRecord>> now = deps_.store->GetTask(task_id);
          bool more = now && *now && !IsTerminal((*now)->status) && runner_->IsActive(task_id);
          if (!more) {
            // Events written between the read above and the end of the run come first.
            Result<std::vector<store::EventRecord>> tail = deps_.store->ListEvents(task_id, after);
            if (tail && !tail->empty()) return true;
            sink.done();
            return true;
          }
        }
        if (!runner_->WaitForEvents(task_id, after, std::chrono::seconds(15))) {
          sink.done();  // Shutting down.
          return true;
        }
        static constexpr std::string_view kKeepAlive = ": keep-alive\n\n";
        return sink.write(kKeepAlive.data(), kKeepAlive.size());
      });
}

void Server::Impl::ListArtifacts(const httplib::Request& req, httplib::Response& res,
                                 const Principal& who) {
  std::optional<store::TaskRecord> task = VisibleTask(req, res, who);
  if (!task) return;
  Result<std::vector<store::ArtifactRecord>> artifacts = deps_.store->ListArtifacts(task->id);
  if (!artifacts) return SendError(res, artifacts.error());
  ordered_json out = ordered_json::array();
  for (const store::ArtifactRecord& artifact : *artifacts) {
    out.push_back({{"path", artifact.path},
                   {"size_bytes", artifact.size_bytes},
                   {"step", artifact.step_seq}});
  }
  SendJson(res, 200, out);
}

void Server::Impl::DownloadArtifact(const httplib::Request& req, httplib::Response& res,
                                    const Principal& who) {
  std::optional<store::TaskRecord> task = VisibleTask(req, res, who);
  if (!task) return;
  SendArtifact(res, *task, req.matches[2]);
}

void Server::Impl::SendArtifact(httplib::Response& res, const store::TaskRecord& task,
                                const std::string& path) {
  Result<std::vector<store::ArtifactRecord>> artifacts = deps_.store->ListArtifacts(task.id);
  if (!artifacts) return SendError(res, artifacts.error());
  bool recorded = std::any_of(artifacts->begin(), artifacts->end(),
                              [&](const store::ArtifactRecord& a) { return a.path == path; });
  if (!recorded) return SendError(res, 404, "not_found", fmt::format("no artifact {}", path));
  // Only recorded paths are served, and only if they still resolve inside the workspace
  // (a symlink planted later cannot point the download elsewhere).
  std::error_code ec;
  std::filesystem::path root = std::filesystem::canonical(task.workspace, ec);
  std::filesystem::path file =
      ec ? std::filesystem::path() : std::filesystem::canonical(root / path, ec);
  auto [root_end, file_it] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
  if (ec || root_end != root.end() || !std::filesystem::is_regular_file(file, ec)) {
    return SendError(res, 404, "not_found", fmt::format("artifact {} is gone", path));
  }
  int64_t size = static_cast<int64_t>(std::filesystem::file_size(file, ec));
  if (ec || size > kMaxArtifactBytes) {
    return SendError(res, 413, "too_large", "artifact is too large to download here");
  }
  std::ifstream in(file, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof())
    return SendError(res, 500, "internal", "reading the artifact failed");
  res.set_header("Content-Disposition",
                 fmt::format("attachment; filename=\"{}\"", file.filename().string()));
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_content(std::move(content), "application/octet-stream");
}

}  // namespace tandem::server
