// Agent Protocol v1 (/ap/v1/agent/...) over the same tasks as the native API, so existing
// Agent Protocol clients and benchmarks can drive Tandem. Tasks run autonomously: creating a
// step with empty input approves the call the task waits on, if any, then waits for the next
// step the agent completes (resuming a stopped task), and returns it; non-empty input is
// feedback for the waiting (or next) call; is_last is true once the task has ended.
#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>

#include "tandem/server/server_impl.h"

namespace tandem::server {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// Artifact ids are the hex of the artifact's path: stable and free of '/'.
std::string ArtifactId(const std::string& path) {
  std::string hex(path.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(path.data()),
                 path.size());
  hex.pop_back();
  return hex;
}

std::optional<std::string> PathOfArtifactId(const std::string& id) {
  std::string path(id.size() / 2, '\0');
  size_t length = 0;
  if (id.size() % 2 != 0 ||
      sodium_hex2bin(reinterpret_cast<unsigned char*>(path.data()), path.size(), id.c_str(),
                     id.size(), nullptr, &length, nullptr) != 0) {
    return std::nullopt;
  }
  path.resize(length);
  return path;
}

ordered_json ArtifactJson(const store::ArtifactRecord& artifact) {
  std::string name = artifact.path.substr(artifact.path.rfind('/') + 1);
  return {{"artifact_id", ArtifactId(artifact.path)},
          {"agent_created", true},
          {"file_name", name},
          {"relative_path", artifact.path}};
}

ordered_json Pagination(size_t total, size_t page, size_t page_size) {
  size_t pages = page_size == 0 ? 0 : (total + page_size - 1) / page_size;
  return {{"total_items", total},
          {"total_pages", pages},
          {"current_page", page},
          {"page_size", page_size}};
}

// (current_page, page_size) from the query, 1-based pages, 10 items by default.
std::pair<size_t, size_t> Page(const httplib::Request& req) {
  size_t page = 1, size = 10;
  if (req.has_param("current_page")) {
    page = static_cast<size_t>(std::max(1, std::atoi(req.get_param_value("current_page").c_str())));
  }
  if (req.has_param("page_size")) {
    size = static_cast<size_t>(
        std::clamp(std::atoi(req.get_param_value("page_size").c_str()), 1, 100));
  }
  return {page, size};
}

bool Ended(store::TaskStatus status) {
  return status != store::TaskStatus::kPending && status != store::TaskStatus::kRunning;
}

ordered_json StepJson(const store::TaskRecord& task, const store::StepRecord& step,
                      const std::vector<store::ArtifactRecord>& artifacts, bool last) {
  std::string status = step.status == store::StepStatus::kDone       ? "completed"
                       : step.status == store::StepStatus::kProposed ? "created"
                                                                     : "running";
  ordered_json step_artifacts = ordered_json::array();
  for (const store::ArtifactRecord& artifact : artifacts) {
    if (artifact.step_seq == step.seq) step_artifacts.push_back(ArtifactJson(artifact));
  }
  return {{"task_id", task.id},
          {"step_id", std::to_string(step.seq)},
          {"name", step.tool_name},
          {"status", status},
          {"input", step.tool_arguments},
          {"output", step.result},
          {"additional_input", ordered_json::object()},
          {"additional_output",
           {{"thoughts", step.thoughts},
            {"is_error", step.result_is_error},
            {"zone", step.zone},
            {"provider", step.provider},
            {"prompt_tokens", step.prompt_tokens},
            {"completion_tokens", step.completion_tokens},
            {"cost_usd", step.cost_usd}}},
          {"artifacts", step_artifacts},
          {"is_last", last}};
}

}  // namespace

void Server::Impl::AddAgentProtocolRoutes() {
  auto bind = [this](auto method) {
    return [this, method](const httplib::Request& req, httplib::Response& res,
                          const Principal& who) { (this->*method)(req, res, who); };
  };
  const std::string tasks = "/ap/v1/agent/tasks";
  const std::string id = tasks + "/([A-Za-z0-9_-]+)";
  Route("POST", tasks, tasks, Access::kMember, bind(&Impl::ApCreateTask));
  Route("GET", tasks, tasks, Access::kViewer, bind(&Impl::ApListTasks));
  Route("GET", id, tasks + "/:id", Access::kViewer, bind(&Impl::ApGetTask));
  Route("GET", id + "/steps", tasks + "/:id/steps", Access::kViewer, bind(&Impl::ApListSteps));
  Route("POST", id + "/steps", tasks + "/:id/steps", Access::kMember, bind(&Impl::ApCreateStep));
  Route("GET", id + "/steps/([0-9]+)", tasks + "/:id/steps/:step", Access::kViewer,
        bind(&Impl::ApGetStep));
  Route("GET", id + "/artifacts", tasks + "/:id/artifacts", Access::kViewer,
        bind(&Impl::ApListArtifacts));
  Route("GET", id + "/artifacts/([0-9a-f]+)", tasks + "/:id/artifacts/:artifact", Access::kViewer,
        bind(&Impl::ApDownloadArtifact));
}

namespace {

ordered_json ApTaskJson(const store::TaskRecord& task,
                        const std::vector<store::ArtifactRecord>& artifacts) {
  ordered_json list = ordered_json::array();
  for (const store::ArtifactRecord& artifact : artifacts)
    list.push_back(ArtifactJson(artifact));
  return {{"task_id", task.id},
          {"input", task.goal},
          {"additional_input",
           {{"status", store::TaskStatusName(task.status)}, {"stop_reason", task.stop_reason}}},
          {"artifacts", list},
          {"created_at", task.created_at_ms},
          {"modified_at", task.updated_at_ms}};
}

}  // namespace

void Server::Impl::ApCreateTask(const httplib::Request& req, httplib::Response& res,
                                const Principal& who) {
  json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (!body.is_object() || !body.contains("input") || !body["input"].is_string()) {
    return SendError(res, 400, "invalid_argument", "send {\"input\": \"the goal\"}");
  }
  // additional_input may carry the native options: budget, max_steps, workspace, shared.
  json native = body.value("additional_input", json::object());
  if (!native.is_object()) native = json::object();
  native["goal"] = body["input"];
  Result<store::TaskRecord> task = StartTask(native, who);
  if (!task) return SendError(res, task.error());
  SendJson(res, 200, ApTaskJson(*task, {}));
}

void Server::Impl::ApListTasks(const httplib::Request& req, httplib::Response& res,
                               const Principal& who) {
  auto [page, size] = Page(req);
  Result<std::vector<store::TaskRecord>> tasks = deps_.store->ListTasks(100000);
  if (!tasks) return SendError(res, tasks.error());
  std::vector<const store::TaskRecord*> visible;
  for (const store::TaskRecord& task : *tasks) {
    if (CanSee(who, task.id)) visible.push_back(&task);
  }
  ordered_json list = ordered_json::array();
  for (size_t i = (page - 1) * size; i < visible.size() && i < page * size; ++i) {
    auto artifacts = deps_.store->ListArtifacts(visible[i]->id);
    list.push_back(
        ApTaskJson(*visible[i], artifacts ? *artifacts : std::vector<store::ArtifactRecord>{}));
  }
  SendJson(res, 200, {{"tasks", list}, {"pagination", Pagination(visible.size(), page, size)}});
}

void Server::Impl::ApGetTask(const httplib::Request& req, httplib::Response& res,
                             const Principal& who) {
  std::optional<store::TaskRecord> task = VisibleTask(req, res, who);
  if (!task) return;
  auto artifacts = deps_.store->ListArtifacts(task->id);
  if (!artifacts) return SendError(res, artifacts.error());
  SendJson(res, 200, ApTaskJson(*task, *artifacts));
}

void Server::Impl::ApListSteps(const httplib::Request& req, httplib::Response& res,
                               const Principal& who) {
  std::optional<store::TaskRecord> task = VisibleTask(req, res, who);
  if (!task) return;
  auto [page, size] = Page(req);
  auto steps = deps_.store->ListSteps(task->id);
  auto artifacts = deps_.store->ListArtifacts(task->id);
  if (!steps || !artifacts) return SendError(res, 500, "internal", "reading the steps failed");
  bool ended = Ended(task->status) && !runner_->IsActive(task->id);
  ordered_json list = ordered_json::array();
  for (size_t i = (page - 1) * size; i < steps->size() && i < page * size; ++i) {
    list.push_back(StepJson(*task, (*steps)[i], *artifacts, ended && i + 1 == steps->size()));
  }
  SendJson(res, 200, {{"steps", list}, {"pagination", Pagination(steps->size(), page, size)}});
}

void Server::Impl::ApGetStep(const httplib::Request& req, httplib::Response& res,
                             const Principal& who) {
  std::optional<store::TaskRecord> task = VisibleTask(req, res, who);
  if (!task) return;
  int64_t seq = std::atoll(std::string(req.matches[2]).c_str());
  auto steps = deps_.store->ListSteps(task->id);
  auto artifacts = deps_.store->ListArtifacts(task->id);
  if (!steps || !artifacts) return SendError(res, 500, "internal", "reading the steps failed");
  bool ended = Ended(task->status) && !runner_->IsActive(task->id);
  for (size_t i = 0; i < steps->size(); ++i) {
    if ((*steps)[i].seq == seq) {
      return SendJson(res, 200,
                      StepJson(*task, (*steps)[i], *artifacts, ended && i + 1 == steps->size()));
    }
  }
  SendError(res, 404, "not_found", fmt::format("task {} has no step {}", task->id, seq));
}

void Server::Impl::ApCreateStep(const httplib::Request& req, httplib::Response& res,
                                const Principal& who) {
  std::optional<store::TaskRecord> task = VisibleTask(req, res, who);
  if (!task) return;
  json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (!body.is_object()) return SendError(res, 400, "invalid_argument", "send a JSON object");
  json input = body.value("input", json());
  if (!input.is_null() && !input.is_string()) {
    return SendError(res, 400, "invalid_argument", "input must be a string");
  }
  std::string feedback = input.is_string() ? input.get<std::string>() : "";
  // A run that saved its end lets go of the task a moment later: wait for that, so the task is
  // resumed below rather than taken for running.
  if (Ended(task->status)) (void)runner_->WaitUntilInactive(task->id, kFinishingGrace);
  if (!feedback.empty() && task->status == store::TaskStatus::kSucceeded &&
      !runner_->IsActive(task->id)) {
    return SendError(res, 409, "failed_precondition",
                     fmt::format("task {} has ended; feedback cannot reach it", task->id));
  }
  auto done_steps = [&]() -> std::optional<std::vector<int64_t>> {
    auto steps = deps_.store->ListSteps(task->id);
    if (!steps) return std::nullopt;
    std::vector<int64_t> done;
    for (const store::StepRecord& step : *steps) {
      if (step.status == store::StepStatus::kDone) done.push_back(step.seq);
    }
    return done;
  };
  std::optional<std::vector<int64_t>> before = done_steps();
  if (!before) return SendError(res, 500, "internal", "reading the steps failed");
  // Empty input approves the call the task waits on (nothing waits: the agent just goes on);
  // other input answers it with feedback, or is kept for the next call that needs approval.
  if (feedback.empty()) {
    (void)approvals_.Answer(task->id, {.kind = agent::ApprovalKind::kApprove, .by = who.user});
  } else {
    approvals_.AnswerOrQueue(
        task->id,
        {.kind = agent::ApprovalKind::kFeedback, .feedback = std::move(feedback), .by = who.user});
  }
  if (!runner_->IsActive(task->id) && task->status != store::TaskStatus::kSucceeded) {
    if (Status queued = Requeue(*task, agent::StoredRunOptions(*task)); !queued) {
      return SendError(res, queued.error());
    }
  }
  // Wait (bounded) for the agent's next completed step or the end of the task.
  for (int i = 0; i < 120 && !stopping_; ++i) {
    std::optional<std::vector<int64_t>> now = done_steps();
    if (!now || now->size() > before->size() || !runner_->IsActive(task->id)) break;
    auto events = deps_.store->ListEvents(task->id);
    int64_t last = events && !events->empty() ? events->back().id : 0;
    runner_->WaitForEvents(task->id, last, std::chrono::milliseconds(500));
  }
  auto latest = deps_.store->GetTask(task->id);
  auto steps = deps_.store->ListSteps(task->id);
  auto artifacts = deps_.store->ListArtifacts(task->id);
  if (!latest || !*latest || !steps || !artifacts) {
    return SendError(res, 500, "internal", "reading the steps failed");
  }
  bool ended = Ended((*latest)->status) && !runner_->IsActive(task->id);
  if (steps->empty()) {
    return SendError(res, 409, "failed_precondition",
                     fmt::format("task {} has no step yet ({}: {})", task->id,
                                 store::TaskStatusName((*latest)->status), (*latest)->stop_reason));
  }
  // The answer is the first step completed after the input: the agent may have gone on to
  // complete more before this request looked again.
  size_t answer = steps->size() - 1;
  for (size_t i = 0; i < steps->size(); ++i) {
    if ((*steps)[i].status == store::StepStatus::kDone &&
        std::ranges::find(*before, (*steps)[i].seq) == before->end()) {
      answer = i;
      break;
    }
  }
  SendJson(res, 200,
           StepJson(**latest, (*steps)[answer], *artifacts, ended && answer + 1 == steps->size()));
}

void Server::Impl::ApListArtifacts(const httplib::Request& req, httplib::Response& res,
                                   const Principal& who) {
  std::optional<store::TaskRecord> task = VisibleTask(req, res, who);
  if (!task) return;
  auto [page, size] = Page(req);
  auto artifacts = deps_.store->ListArtifacts(task->id);
  if (!artifacts) return SendError(res, artifacts.error());
  ordered_json list = ordered_json::array();
  for (size_t i = (page - 1) * size; i < artifacts->size() && i < page * size; ++i)
    list.push_back(ArtifactJson((*artifacts)[i]));
  SendJson(res, 200,
           {{"artifacts", list}, {"pagination", Pagination(artifacts->size(), page, size)}});
}

void Server::Impl::ApDownloadArtifact(const httplib::Request& req, httplib::Response& res,
                                      const Principal& who) {
  std::optional<store::TaskRecord> task = VisibleTask(req, res, who);
  if (!task) return;
  std::optional<std::string> path = PathOfArtifactId(req.matches[2]);
  if (!path) return SendError(res, 404, "not_found", "no such artifact");
  SendArtifact(res, *task, *path);
}

}  // namespace tandem::server
