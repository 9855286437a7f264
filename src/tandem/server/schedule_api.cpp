// Schedules over HTTP: list, create, show, delete, run history; and the task launcher the
// scheduler starts scheduled runs through.
#include <fmt/format.h>

#include <algorithm>

#include "tandem/schedule/schedule_spec.h"
#include "tandem/server/server_impl.h"

namespace tandem::server {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

bool CanSeeSchedule(const Principal& who, const store::ScheduleRecord& schedule) {
  return who.role == Role::kAdmin || schedule.shared || schedule.owner == who.user;
}

}  // namespace

Result<std::string> Server::Impl::Launch(const store::ScheduleRecord& schedule) {
  json budget = json::parse(schedule.budget, nullptr, false);
  json body = {{"goal", schedule.goal},
               {"shared", schedule.shared},
               {"budget", budget.is_object() ? budget : json()}};
  // Runs as the owner did when creating it; members may start tasks, and an owner the CLI
  // left empty gives tasks only admins (and, when shared, everyone) can see.
  Result<store::TaskRecord> task = StartTask(body, {.user = schedule.owner, .role = Role::kMember});
  if (!task) return std::unexpected(task.error());
  return task->id;
}

bool Server::Impl::IsActive(const std::string& task_id) {
  return runner_->IsActive(task_id);
}

void Server::Impl::AddScheduleRoutes() {
  auto bind = [this](auto method) {
    return [this, method](const httplib::Request& req, httplib::Response& res,
                          const Principal& who) { (this->*method)(req, res, who); };
  };
  const std::string id = "/api/schedules/([A-Za-z0-9_-]+)";
  Route("GET", "/api/schedules", "/api/schedules", Access::kViewer, bind(&Impl::ListSchedules));
  Route("POST", "/api/schedules", "/api/schedules", Access::kMember, bind(&Impl::CreateSchedule));
  Route("GET", id, "/api/schedules/:id", Access::kViewer, bind(&Impl::ShowSchedule));
  Route("DELETE", id, "/api/schedules/:id", Access::kMember, bind(&Impl::DeleteSchedule));
  Route("GET", id + "/runs", "/api/schedules/:id/runs", Access::kViewer,
        bind(&Impl::ListScheduleRuns));
}

ordered_json Server::Impl::ScheduleJson(const store::ScheduleRecord& schedule) {
  std::optional<schedule::LastRun> last;
  if (!schedule.last_task_id.empty()) {
    Result<std::optional<store::TaskRecord>> task = deps_.store->GetTask(schedule.last_task_id);
    last = schedule::LastRun{
        .task_id = schedule.last_task_id,
        .time_ms = schedule.last_run_ms,
        .status = task && *task ? std::string(store::TaskStatusName((*task)->status)) : "unknown"};
  }
  return schedule::ScheduleJson(schedule, last);
}

std::optional<store::ScheduleRecord> Server::Impl::VisibleSchedule(const httplib::Request& req,
                                                                   httplib::Response& res,
                                                                   const Principal& who) {
  std::string schedule_id = req.matches[1];
  Result<std::optional<store::ScheduleRecord>> found = deps_.store->GetSchedule(schedule_id);
  if (!found) {
    SendError(res, found.error());
    return std::nullopt;
  }
  if (!*found || !CanSeeSchedule(who, **found)) {
    SendError(res, 404, "not_found", fmt::format("no schedule {}", schedule_id));
    return std::nullopt;
  }
  return std::move(**found);
}

void Server::Impl::ListSchedules(const httplib::Request&, httplib::Response& res,
                                 const Principal& who) {
  Result<std::vector<store::ScheduleRecord>> schedules = deps_.store->ListSchedules();
  if (!schedules) return SendError(res, schedules.error());
  ordered_json out = ordered_json::array();
  for (const store::ScheduleRecord& schedule : *schedules) {
    if (CanSeeSchedule(who, schedule)) out.push_back(ScheduleJson(schedule));
  }
  SendJson(res, 200, out);
}

void Server::Impl::CreateSchedule(const httplib::Request& req, httplib::Response& res,
                                  const Principal& who) {
  Result<schedule::ScheduleSpec> spec =
      schedule::SpecFromJson(json::parse(req.body, nullptr, false));
  if (!spec) return SendError(res, spec.error());
  spec->owner = who.user;
  Clock& clock = deps_.clock ? *deps_.clock : SystemClock();
  Result<store::ScheduleRecord> record = schedule::NewSchedule(*spec, clock.Now());
  if (!record) return SendError(res, record.error());
  if (Status created = deps_.store->CreateSchedule(*record); !created) {
    return SendError(res, created.error());
  }
  scheduler_->Wake();
  SendJson(res, 201, ScheduleJson(*record));
}

void Server::Impl::ShowSchedule(const httplib::Request& req, httplib::Response& res,
                                const Principal& who) {
  std::optional<store::ScheduleRecord> schedule = VisibleSchedule(req, res, who);
  if (schedule) SendJson(res, 200, ScheduleJson(*schedule));
}

void Server::Impl::DeleteSchedule(const httplib::Request& req, httplib::Response& res,
                                  const Principal& who) {
  std::optional<store::ScheduleRecord> schedule = VisibleSchedule(req, res, who);
  if (!schedule) return;
  if (who.role != Role::kAdmin && schedule->owner != who.user) {
    return SendError(res, 403, "permission_denied",
                     fmt::format("schedule {} belongs to {}; only its owner or an admin may "
                                 "delete it",
                                 schedule->id, schedule->owner));
  }
  if (Status deleted = deps_.store->DeleteSchedule(schedule->id); !deleted) {
    return SendError(res, deleted.error());
  }
  scheduler_->Wake();
  res.status = 204;
}

void Server::Impl::ListScheduleRuns(const httplib::Request& req, httplib::Response& res,
                                    const Principal& who) {
  std::optional<store::ScheduleRecord> schedule = VisibleSchedule(req, res, who);
  if (!schedule) return;
  int limit = 50;
  if (req.has_param("limit")) {
    limit = std::clamp(std::atoi(req.get_param_value("limit").c_str()), 1, 1000);
  }
  Result<std::vector<store::ScheduleRunRecord>> runs =
      deps_.store->ListScheduleRuns(schedule->id, limit);
  if (!runs) return SendError(res, runs.error());
  ordered_json out = ordered_json::array();
  for (const store::ScheduleRunRecord& run : *runs)
    out.push_back(schedule::RunJson(run));
  SendJson(res, 200, out);
}

}  // namespace tandem::server
