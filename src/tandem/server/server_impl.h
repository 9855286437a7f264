// Private to the server module: the state behind Server and the helpers its handlers share.
// server.cpp holds plumbing (routing, auth, health, metrics, sign-in); task_api.cpp the tasks.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "tandem/server/metrics.h"
#include "tandem/server/server.h"

namespace tandem::server {

// How long a run that saved its final status may take to let go of its task.
inline constexpr std::chrono::seconds kFinishingGrace{5};

// Who may call a route.
enum class Access {
  kPublic,  // Health only.
  kViewer,  // Any signed-in user.
  kMember,  // Members and admins: start, cancel, resume.
  kAdmin,
};

class Server::Impl final : public schedule::TaskLauncher {
 public:
  using Handler =
      std::function<void(const httplib::Request&, httplib::Response&, const Principal&)>;

  Impl(ServerDeps deps, ServerOptions options);
  Status Start();
  void Stop();
  int port() const { return port_; }

  // schedule::TaskLauncher (schedule_api.cpp): scheduled runs start through StartTask as the
  // schedule's owner.
  Result<std::string> Launch(const store::ScheduleRecord& schedule) override;
  bool IsActive(const std::string& task_id) override;

 private:
  // Registers `handler` for `method` and `pattern` (a regex), wrapped with authentication,
  // the role check, CSRF, the access log and the latency histogram. `name` labels metrics.
  void Route(const std::string& method, const std::string& pattern, const std::string& name,
             Access access, Handler handler);
  // The principal of a request, or a filled-in error response.
  std::optional<Principal> Authenticate(const httplib::Request& req, httplib::Response& res,
                                        Access access);

  void AddPlumbingRoutes();
  void AddTaskRoutes();           // task_api.cpp
  void AddAgentProtocolRoutes();  // agent_protocol.cpp
  void AddApprovalRoutes();       // approval_api.cpp
  void AddOpenAiRoutes();         // openai_gateway.cpp
  void AddViewRoutes();           // views_api.cpp
  void AddScheduleRoutes();       // schedule_api.cpp

  // Approval handlers (approval_api.cpp).
  void ApproveCall(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void RefuseCall(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void GiveFeedback(const httplib::Request& req, httplib::Response& res, const Principal& who);
  // Answers the call `task` waits on with `decision` and sends 200, or 409 when none waits.
  void AnswerCall(httplib::Response& res, const store::TaskRecord& task,
                  agent::ApprovalDecision decision);
  // {"step", "tool", "arguments", "effect", "untrusted_paths", "reason", "since_ms"} of the call
  // `task_id` waits on, or null.
  nlohmann::ordered_json PendingApprovalJson(const std::string& task_id);

  // Web UI (web_ui.cpp): the embedded app at `/` and `/assets/`, and the per-task routing
  // decisions it shows (task_routing.cpp).
  void AddWebUiRoutes();
  void ShowTaskRouting(const httplib::Request& req, httplib::Response& res, const Principal& who);

  // OpenAI-compatible gateway (openai_gateway.cpp): routes whose errors, auth ones included,
  // come in OpenAI's shape.
  void OpenAiRoute(const std::string& method, const std::string& pattern, Access access,
                   Handler handler);
  void ChatCompletions(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void Embeddings(const httplib::Request& req, httplib::Response& res, const Principal& who);
  nlohmann::ordered_json ModelList() const;
  // The optional "policy" (route profile) of a new task's body into `options`.
  Status ReadTaskPolicy(const nlohmann::json& body, agent::RunOptions& options) const;

  // Task handlers (task_api.cpp).
  void CreateTask(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void ListTasks(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void ShowTask(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void CancelTask(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void ResumeTask(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void StreamEvents(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void ListArtifacts(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void DownloadArtifact(const httplib::Request& req, httplib::Response& res, const Principal& who);
  // Sends the recorded artifact `path` of `task` (only inside its workspace).
  void SendArtifact(httplib::Response& res, const store::TaskRecord& task, const std::string& path);
  // Starts a new task for `who` from a JSON body {goal, budget, max_steps, workspace, shared}:
  // the created task, or an error for the response.
  Result<store::TaskRecord> StartTask(const nlohmann::json& body, const Principal& who);

  // Marks a stopped or interrupted task pending again and queues it. Fails with
  // kFailedPrecondition when it finished or is already queued or running.
  Status Requeue(store::TaskRecord task, const agent::RunOptions& options);

  // Agent Protocol v1 handlers (agent_protocol.cpp).
  void ApCreateTask(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void ApListTasks(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void ApGetTask(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void ApListSteps(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void ApGetStep(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void ApCreateStep(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void ApListArtifacts(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void ApDownloadArtifact(const httplib::Request& req, httplib::Response& res,
                          const Principal& who);

  // Read views for the UI (views_api.cpp).
  void CostView(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void AuditView(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void ProvidersView(const httplib::Request& req, httplib::Response& res, const Principal& who);
  // Schedule handlers (schedule_api.cpp).
  void ListSchedules(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void CreateSchedule(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void ShowSchedule(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void DeleteSchedule(const httplib::Request& req, httplib::Response& res, const Principal& who);
  void ListScheduleRuns(const httplib::Request& req, httplib::Response& res, const Principal& who);
  // The schedule named by the first path capture when `who` may see it (own, shared, or any
  // for admins); otherwise fills a 404.
  std::optional<store::ScheduleRecord> VisibleSchedule(const httplib::Request& req,
                                                       httplib::Response& res,
                                                       const Principal& who);
  nlohmann::ordered_json ScheduleJson(const store::ScheduleRecord& schedule);

  // The task named by the first path capture when `who` may see it; otherwise fills a 404
  // (also for tasks that exist but are hidden: their existence is not disclosed).
  std::optional<store::TaskRecord> VisibleTask(const httplib::Request& req, httplib::Response& res,
                                               const Principal& who);
  bool CanSee(const Principal& who, const std::string& task_id);
  // Where tasks run, as options_ says (runs in the constructor, after approvals_).
  std::unique_ptr<TaskExecutor> MakeExecutor();

  ServerDeps deps_;
  ServerOptions options_;
  Authenticator auth_;
  Metrics metrics_;
  ApprovalDesk approvals_;  // Before runner_, whose workers wait on it.
  // A TaskRunner, or a ClusterExecutor when tasks run on workers ([server] run_tasks).
  std::unique_ptr<TaskExecutor> runner_;
  std::unique_ptr<schedule::Scheduler> scheduler_;  // Stopped in Stop() before runner_.
  httplib::Server http_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  int port_ = 0;
  socket_t listen_socket_ = -1;  // Set while binding (see the constructor).
};

// {"error": {"code": ..., "message": ...}} with `status`.
void SendError(httplib::Response& res, int status, std::string_view code, std::string_view message);
// An Error mapped to its HTTP status.
void SendError(httplib::Response& res, const Error& error);
void SendJson(httplib::Response& res, int status, const nlohmann::ordered_json& body);

inline constexpr std::string_view kSessionCookie = "tandem_session";

}  // namespace tandem::server
