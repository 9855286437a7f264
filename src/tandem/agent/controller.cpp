#include "tandem/agent/controller.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>

#include "tandem/agent/approval_gate.h"
#include "tandem/agent/delegate.h"
#include "tandem/agent/prompt.h"
#include "tandem/core/id.h"

namespace tandem::agent {
namespace {

using nlohmann::json;
using store::StepRecord;
using store::StepStatus;
using store::TaskRecord;
using store::TaskStatus;

constexpr double kBudgetWarning = 0.8;  // Share of a limit at which a warning event is sent.

json SettingsJson(const RunOptions& options, double elapsed_s) {
  json settings = {{"max_steps", options.max_steps},
                   {"budget", BudgetToJson(options.budget)},
                   {"elapsed_s", elapsed_s}};
  if (!options.route_profile.empty()) settings["policy"] = options.route_profile;
  return settings;
}

double StoredElapsed(const TaskRecord& task) {
  json settings = json::parse(task.settings, nullptr, false);
  return settings.is_object() ? settings.value("elapsed_s", 0.0) : 0.0;
}

// A stable text for an action, to compare proposals: tool name and canonical arguments.
std::string Signature(const StepRecord& step) {
  json args = json::parse(step.tool_arguments, nullptr, false);
  return step.tool_name + " " + (args.is_discarded() ? step.tool_arguments : args.dump());
}

}  // namespace

// The state of one run of the loop over one task.
class Controller::Loop {
 public:
  Loop(const ControllerDeps& deps, TaskRecord task, const RunOptions& options)
      : deps_(deps),
        task_(std::move(task)),
        options_(options),
        watchdog_(options.watchdog),
        started_(deps.clock->Monotonic()),
        elapsed_before_s_(StoredElapsed(task_)),
        gate_(deps.approver, deps.tools_config),
        context_(deps.store, deps.models, deps.clock, options.context_tokens) {}

  Result<TaskOutcome> Run() {
    Result<std::vector<StepRecord>> steps = deps_.store->ListSteps(task_.id);
    if (!steps) return std::unexpected(steps.error());
    steps_ = std::move(*steps);
    // Room for every step allowed: growing the vector mid-run copies the whole history.
    steps_.reserve(static_cast<size_t>(std::max(options_.max_steps, 0)) + 1);
    Result<router::TaintState> taint = router::TaintState::FromJson(task_.taint);
    if (!taint) return std::unexpected(std::move(taint.error()).WithContext("task " + task_.id));
    taint_.Merge(*taint);
    specs_ = ToolSpecs(*deps_.tools);
    task_.settings = SettingsJson(options_, elapsed_before_s_).dump();
    if (Status status = SetStatus(TaskStatus::kRunning, ""); !status) {
      return std::unexpected(status.error());
    }
    Emit("task_started", {{"goal", task_.goal}, {"resumed_steps", steps_.size()}});
    if (Status recovered = RecoverInterruptedStep(); !recovered) return Fail(recovered.error());
    if (paused_) return Stop(TaskStatus::kStopped, *paused_);
    std::string note;
    int invalid_streak = 0;
    while (true) {
      if (Cancelled()) return Stop(TaskStatus::kStopped, "cancelled; resume with `tandem resume`");
      if (static_cast<int>(steps_.size()) >= options_.max_steps) {
        return Stop(TaskStatus::kStopped,
                    fmt::format("step limit of {} reached", options_.max_steps));
      }
      Result<std::optional<std::string>> exhausted = CheckBudget();
      if (!exhausted) return std::unexpected(exhausted.error());
      if (*exhausted) {
        return Stop(TaskStatus::kStopped,
                    fmt::format("budget exhausted: {}; resume with `tandem resume {} "
                                "--add-budget USD` (or raise the limit)",
                                **exhausted, task_.id));
      }
      if (MustHandOver()) return HandOver();
      int64_t seq = static_cast<int64_t>(steps_.size()) + 1;
      ReportProgress();
      CallContext call{.task_id = task_.id,
                       .step_seq = seq,
                       .cancel = deps_.cancel,
                       .taint = &taint_,
                       .stream = StreamsText(),
                       .on_text = StreamTo(seq),
                       .profile = options_.route_profile};
      Result<BuiltContext> context = BuildContext(call, note);
      if (!context) {
        if (context.error().code() == ErrorCode::kCancelled || Cancelled()) {
          return Stop(TaskStatus::kStopped, "cancelled; resume with `tandem resume`");
        }
        return Fail(context.error());
      }
      if (MustHandOver()) return HandOver();  // A recalled memory raised the taint.
      call.escalate = std::exchange(escalate_, false);
      Result<ModelAnswer> answer = deps_.models->Call(*context->request, call);
      if (answer) context_.Calibrate(answer->response.usage);
      if (!answer) {
        if (answer.error().code() == ErrorCode::kCancelled || Cancelled()) {
          return Stop(TaskStatus::kStopped, "cancelled; resume with `tandem resume`");
        }
        return Fail(std::move(answer.error()).WithContext("model call"));
      }
      Result<StepRecord> step = Interpret(*answer, seq, note);
      if (!step) {
        Emit("invalid_answer", {{"step", seq}, {"problem", note}});
        if (++invalid_streak >= options_.max_invalid_answers) {
          return Stop(TaskStatus::kFailed,
                      fmt::format("the model gave {} answers in a row without a usable tool "
                                  "call; last problem: {}",
                                  invalid_streak, note));
        }
        continue;
      }
      invalid_streak = 0;
      note.clear();
      if (step->tool_name == kFinishTool) return Finish(std::move(*step));
      std::string signature = Signature(*step);
      if (std::optional<Result<TaskOutcome>> stopped =
              Supervise(watchdog_.CheckProposal(signature), note)) {
        return std::move(*stopped);
      }
      if (!note.empty()) continue;  // The watchdog asked for a re-plan; the action did not run.
      if (Status executed = Execute(std::move(*step)); !executed) return Fail(executed.error());
      if (!steps_.empty() && steps_.back().seq == seq) Remember(steps_.back());
      if (paused_) return Stop(TaskStatus::kStopped, *paused_);
      bool failed = steps_.back().result_is_error;
      if (std::optional<Result<TaskOutcome>> stopped =
              Supervise(watchdog_.RecordResult(signature, failed), note)) {
        return std::move(*stopped);
      }
    }
  }

 private:
  bool Cancelled() const { return deps_.cancel != nullptr && deps_.cancel->IsCancelled(); }
  bool StreamsText() const { return deps_.events != nullptr && deps_.events->WantsModelText(); }

  std::function<void(std::string_view)> StreamTo(int64_t seq) const {
    if (!StreamsText()) return {};
    EventSink* sink = deps_.events;
    return [sink, seq](std::string_view text) { sink->OnModelText(seq, text); };
  }

  // Live displays only; a ledger read per step, skipped when nobody watches.
  void ReportProgress() {
    if (deps_.events == nullptr) return;
    Result<Spend> spend = CurrentSpend();
    deps_.events->OnProgress({.task_id = task_.id,
                              .step = static_cast<int64_t>(steps_.size()),
                              .max_steps = options_.max_steps,
                              .spent = spend ? *spend : Spend{.seconds = ElapsedSeconds()},
                              .budget = options_.budget});
  }
  int64_t Now() const { return ToUnixMillis(deps_.clock->Now()); }

  void Emit(std::string type, json payload) {
    store::EventRecord event{
        .task_id = task_.id,
        .type = std::move(type),
        .payload = payload.dump(-1, ' ', false, json::error_handler_t::replace),
        .created_at_ms = Now()};
    Result<int64_t> id = deps_.store->AppendEvent(event);
    if (!id) return;  // Events are a record of progress; losing one must not stop the task.
    event.id = *id;
    if (deps_.events != nullptr) deps_.events->OnEvent(event);
  }

  // Memories of other tasks for this step's prompt. A recalled sensitive memory taints the task
  // before the call it goes into. Memory trouble is reported, not fatal: the task can go on
  // without it.
  std::vector<std::string> Recall() {
    if (deps_.memory == nullptr) return {};
    std::string_view latest = steps_.empty() ? std::string_view() : steps_.back().result;
    Result<Recollection> recalled = deps_.memory->Recall(task_, latest, taint_);
    if (!recalled) {
      Emit("memory_error", {{"error", recalled.error().message()}});
      return {};
    }
    if (recalled->raised_taint) {
      task_.taint = taint_.ToJson();
      task_.updated_at_ms = Now();
      if (Status saved = deps_.store->UpdateTask(task_); !saved) {
        Emit("memory_error", {{"error", saved.error().message()}});
        return {};  // Not recorded as tainted: recalled text must not reach the prompt.
      }
      Emit("taint_raised", {{"source", "memory_recall"}, {"taint", taint_.Describe()}});
    }
    if (!recalled->texts.empty()) Emit("memory_recalled", {{"count", recalled->texts.size()}});
    return std::move(recalled->texts);
  }

  // Stores a finished step's observation; failure is reported, not fatal.
  void Remember(const StepRecord& step) {
    if (deps_.memory == nullptr) return;
    if (Status saved = deps_.memory->RememberStep(task_, step, taint_); !saved) {
      Emit("memory_error", {{"error", saved.error().message()}});
    }
  }

  // The step's conversation, condensing older steps when it would overflow the window.
  Result<BuiltContext> BuildContext(const CallContext& call, const std::string& note) {
    Result<BuiltContext> built = context_.Build(task_, steps_, specs_, note, Recall(), call);
    if (built && built->summarised) {
      Emit("context_summarised", {{"step", call.step_seq},
                                  {"through_step", built->summary_through_seq},
                                  {"estimated_tokens", built->estimated_tokens},
                                  {"window_tokens", options_.context_tokens}});
    }
    return built;
  }

  Status SetStatus(TaskStatus status, std::string reason) {
    task_.status = status;
    task_.stop_reason = std::move(reason);
    task_.updated_at_ms = Now();
    return deps_.store->UpdateTask(task_);
  }

  double ElapsedSeconds() const {
    return elapsed_before_s_ +
           std::chrono::duration<double>(deps_.clock->Monotonic() - started_).count();
  }

  // What the task has used so far: model cost and tokens from the ledger, tool calls from its
  // steps, wall time over all its runs.
  Result<Spend> CurrentSpend() const {
    Result<store::LedgerTotals> used = deps_.store->SumLedger(task_.id);
    if (!used) return std::unexpected(used.error());
    Spend spend{.usd = used->cost_usd, .tokens = used->tokens};
    for (const StepRecord& step : steps_) {
      if (step.tool_name != kFinishTool) ++spend.tool_calls;
    }
    // Delegated children spend out of this task's budget.
    Result<Spend> children = SpendOfChildren(*deps_.store, task_.id);
    if (!children) return std::unexpected(children.error());
    spend.usd += children->usd;
    spend.tokens += children->tokens;
    spend.tool_calls += children->tool_calls;
    spend.seconds = ElapsedSeconds();
    return spend;
  }

  // The exhausted limit, if any; emits a warning event the first time a limit passes 80%.
  Result<std::optional<std::string>> CheckBudget() {
    const Budget& budget = options_.budget;
    if (!budget.usd && !budget.tokens && !budget.seconds && !budget.tool_calls) {
      return std::optional<std::string>();
    }
    Result<Spend> spend = CurrentSpend();
    if (!spend) return std::unexpected(spend.error());
    for (const std::string& limit : LimitsAbove(budget, *spend, kBudgetWarning)) {
      if (warned_.insert(limit).second) {
        Emit("budget_warning",
             {{"limit", limit}, {"spent", SpendToJson(*spend)}, {"budget", BudgetToJson(budget)}});
      }
    }
    return ExhaustedLimit(budget, *spend);
  }

  // Acts on a watchdog verdict: a re-plan note for the model (and a stronger model if the
  // router allows one), or the end of the task.
  std::optional<Result<TaskOutcome>> Supervise(WatchdogVerdict verdict, std::string& note) {
    if (verdict == WatchdogVerdict::kProceed) return std::nullopt;
    Emit("watchdog", {{"reason", watchdog_.reason()},
                      {"recoveries", watchdog_.recoveries()},
                      {"verdict", verdict == WatchdogVerdict::kStop ? "stop" : "replan"}});
    if (verdict == WatchdogVerdict::kStop) {
      return Stop(TaskStatus::kFailed, fmt::format("stopped by the watchdog after {} re-plans: {}",
                                                   watchdog_.recoveries() - 1, watchdog_.reason()));
    }
    note = fmt::format(
        "Watchdog: {}. That is not making progress. Step back, re-plan, and take a different "
        "action, or call {} if the goal cannot be reached.",
        watchdog_.reason(), kFinishTool);
    escalate_ = true;
    return std::nullopt;
  }

  // Ends this run: saves the status and says so with `event` (a handover is not the task's end).
  Result<TaskOutcome> Stop(TaskStatus status, std::string reason,
                           std::string_view event = "task_finished") {
    task_.settings = SettingsJson(options_, ElapsedSeconds()).dump();
    if (Status saved = SetStatus(status, reason); !saved) return std::unexpected(saved.error());
    ReportProgress();
    Emit(std::string(event), {{"status", store::TaskStatusName(status)}, {"reason", reason}});
    return TaskOutcome{
        task_.id,          status, std::move(reason), summary_, static_cast<int64_t>(steps_.size()),
        refused_by_policy_};
  }

  bool MustHandOver() const { return taint_.tainted() && !deps_.may_run_tainted; }

  // Leaves the task for a machine that may see its data: pending, resumable from here.
  Result<TaskOutcome> HandOver() {
    Result<TaskOutcome> outcome =
        Stop(TaskStatus::kPending,
             "handed over: sensitive data needs a local machine (" + taint_.Describe() + ")",
             "handed_over");
    if (outcome) outcome->handed_over = true;
    return outcome;
  }

  Result<TaskOutcome> Fail(const Error& error) {
    refused_by_policy_ = error.code() == ErrorCode::kPermissionDenied;
    return Stop(TaskStatus::kFailed, error.message());
  }

  // Turns the model's answer into a proposed step, or explains in `note` why it cannot.
  Result<StepRecord> Interpret(const ModelAnswer& answer, int64_t seq, std::string& note) {
    const llm::Message& message = answer.response.message;
    if (message.tool_calls.empty()) {
      note = fmt::format(
          "Your last answer called no tool. Call exactly one of the tools, or {} when done.",
          kFinishTool);
      return MakeError(ErrorCode::kInvalidArgument, "{}", note);
    }
    const llm::ToolCall& call = message.tool_calls.front();
    json args = json::parse(call.arguments, nullptr, false);
    if (args.is_discarded() || !args.is_object()) {
      note = fmt::format("The arguments of your call to {} were not a JSON object. Try again.",
                         call.name);
      return MakeError(ErrorCode::kInvalidArgument, "{}", note);
    }
    if (call.name != kFinishTool) {
      const tools::Tool* tool = deps_.tools->Find(call.name);
      if (tool == nullptr) {
        note = fmt::format("There is no tool named '{}'. Use one of the listed tools.", call.name);
        return MakeError(ErrorCode::kInvalidArgument, "{}", note);
      }
      if (Status valid = tools::ValidateArguments(tool->schema(), args); !valid) {
        note = fmt::format("Your call to {} had invalid arguments: {}. Fix them and call again.",
                           call.name, valid.error().message());
        return MakeError(ErrorCode::kInvalidArgument, "{}", note);
      }
    }
    json model_message = {
        {"content", message.content},
        {"tool_calls",
         json::array({{{"id", call.id}, {"name", call.name}, {"arguments", call.arguments}}})}};
    const llm::Usage& usage = answer.response.usage;
    return StepRecord{
        .task_id = task_.id,
        .seq = seq,
        .status = StepStatus::kProposed,
        .thoughts = message.content,
        .model_message = model_message.dump(-1, ' ', false, json::error_handler_t::replace),
        .tool_name = call.name,
        .tool_arguments = args.dump(),
        .tool_call_id = call.id,
        .idempotency_key = fmt::format("{}:{}", task_.id, seq),
        .prompt_tokens = usage.prompt_tokens,
        .completion_tokens = usage.completion_tokens,
        .cost_usd = answer.cost_usd.value_or(0),
        .provider = answer.provider,
        .zone = std::string(ZoneName(answer.zone)),
        .created_at_ms = Now(),
        .updated_at_ms = Now()};
  }

  Status Save(StepRecord& step, StepStatus status) {
    step.status = status;
    step.updated_at_ms = Now();
    return deps_.store->SaveStep(step);
  }

  Result<TaskOutcome> Finish(StepRecord step) {
    json args = json::parse(step.tool_arguments, nullptr, false);
    summary_ = args.is_object() ? args.value("summary", "") : "";
    step.result = "finished";
    if (Status saved = Save(step, StepStatus::kDone); !saved) return std::unexpected(saved.error());
    steps_.push_back(step);
    if (deps_.memory != nullptr) {
      Status saved = deps_.memory->RememberSummary(task_, summary_,
                                                   static_cast<int64_t>(steps_.size()), taint_);
      if (!saved) Emit("memory_error", {{"error", saved.error().message()}});
    }
    return Stop(TaskStatus::kSucceeded, "finished: " + summary_);
  }

  // proposed -> (approval) -> running -> tool -> done, each committed before the next effect.
  // A call nobody has to approve is proposed and started in one commit, so it is written once,
  // as running: the proposal alone would never reach the disk.
  Status Execute(StepRecord step) {
    return Batched([&](store::TaskStore::Batch& batch) -> Status {
      Emit("action_proposed", {{"step", step.seq},
                               {"thoughts", step.thoughts},
                               {"tool", step.tool_name},
                               {"arguments", json::parse(step.tool_arguments, nullptr, false)}});
      return RunTool(step, batch);
    });
  }

  // Runs `body` inside one batch of store writes, which `body` may commit early; commits the
  // rest. A failure rolls back what was not committed yet.
  Status Batched(const std::function<Status(store::TaskStore::Batch&)>& body) {
    Result<store::TaskStore::Batch> batch = deps_.store->BeginBatch();
    if (!batch) return std::unexpected(batch.error());
    if (Status done = body(*batch); !done) return done;
    return batch->Commit();
  }

  // The step's state is written in `batch`, which is committed before anyone is asked and before
  // the tool runs.
  Status RunTool(StepRecord& step, store::TaskStore::Batch& batch) {
    const tools::Tool* tool = deps_.tools->Find(step.tool_name);
    json args = json::parse(step.tool_arguments, nullptr, false);
    if (tool == nullptr) return Complete(step, {.output = "unknown tool", .is_error = true});
    // A step approved before an interruption is not asked about again.
    if (!ApprovalGranted(step)) {
      // A person may be asked now: the store must not wait with them.
      if (tool->EffectOf(args) == tools::EffectClass::kExternal) {
        if (Status saved = Save(step, StepStatus::kProposed); !saved) return saved;
        if (Status committed = batch.Commit(); !committed) return committed;
      }
      GateOutcome gate = gate_.Check(step, *tool, args, steps_, [this](std::string type, json p) {
        Emit(std::move(type), std::move(p));
      });
      if (!gate.record.is_null()) step.approval = gate.record.dump();
      switch (gate.action) {
        case GateAction::kRun:
          break;
        case GateAction::kRefuse:
        case GateAction::kFeedback:
          return Complete(step, {.output = std::move(gate.observation),
                                 .is_error = gate.action == GateAction::kRefuse});
        case GateAction::kStopRun:
          paused_ = std::move(gate.observation);
          return Save(step, StepStatus::kProposed);
      }
      // The decision is committed before the call starts, so a crash now does not ask again.
      if (!step.approval.empty()) {
        if (Status saved = Save(step, StepStatus::kProposed); !saved) return saved;
      }
    }
    if (Status saved = Save(step, StepStatus::kRunning); !saved) return saved;
    if (Status committed = batch.Commit(); !committed) return committed;
    tools::ToolContext context{
        .workspace_root = task_.workspace, .cancel = deps_.cancel, .task_id = task_.id};
    Result<tools::ToolResult> result = deps_.tools->Invoke(step.tool_name, args, context);
    if (!result) {
      if (result.error().code() == ErrorCode::kCancelled) return {};  // Stays running; resumable.
      return Complete(step, {.output = "error: " + result.error().message(), .is_error = true});
    }
    return Complete(step, std::move(*result));
  }

  // The result, the taint it raises, its artifacts and the event are one commit.
  Status Complete(StepRecord& step, tools::ToolResult result) {
    Status saved =
        Batched([&](store::TaskStore::Batch&) { return SaveResult(step, std::move(result)); });
    if (saved) steps_.push_back(step);
    return saved;
  }

  Status SaveResult(StepRecord& step, tools::ToolResult result) {
    step.result = std::move(result.output);
    step.result_is_error = result.is_error;
    if (Status saved = Save(step, StepStatus::kDone); !saved) return saved;
    if (Status tainted = ObserveResult(step); !tainted) return tainted;
    for (const std::string& path : result.paths_written) {
      std::error_code ec;
      auto size = std::filesystem::file_size(std::filesystem::path(task_.workspace) / path, ec);
      Status artifact =
          deps_.store->SaveArtifact({.task_id = task_.id,
                                     .path = path,
                                     .size_bytes = ec ? 0 : static_cast<int64_t>(size),
                                     .step_seq = step.seq,
                                     .created_at_ms = Now()});
      if (!artifact) return artifact;
    }
    Emit("step_done", {{"step", step.seq},
                       {"tool", step.tool_name},
                       {"is_error", step.result_is_error},
                       {"result", step.result.substr(0, 2000)}});
    return {};
  }

  // Tool results are untrusted and may carry sensitive data: once any does, the task's taint
  // grows and is saved before the next model call, which the router then keeps local.
  Status ObserveResult(const StepRecord& step) {
    if (step.tool_name == kDelegateTool) return MergeChildTaint(step);
    if (deps_.policy == nullptr || step.result_is_error) return {};
    json args = json::parse(step.tool_arguments, nullptr, false);
    bool raised = false;
    if (step.tool_name == "read_file" && args.is_object() && args.contains("path") &&
        args["path"].is_string()) {
      raised = deps_.policy->ObserveFileRead(taint_, args["path"].get<std::string>(), step.result);
    } else {
      raised = deps_.policy->ObserveToolOutput(taint_, step.tool_name, step.result);
    }
    if (!raised) return {};
    task_.taint = taint_.ToJson();
    task_.updated_at_ms = Now();
    if (Status saved = deps_.store->UpdateTask(task_); !saved) return saved;
    Emit("taint_raised", {{"step", step.seq}, {"taint", taint_.Describe()}});
    return {};
  }

  // A child task may have met sensitive data; its result is in this task's context now.
  Status MergeChildTaint(const StepRecord& step) {
    Result<std::vector<TaskRecord>> children = deps_.store->ListChildTasks(task_.id);
    if (!children) return std::unexpected(children.error());
    size_t marks_before = taint_.marks().size();
    for (const TaskRecord& child : *children) {
      Result<router::TaintState> taint = router::TaintState::FromJson(child.taint);
      if (!taint) continue;
      for (const router::TaintMark& mark : taint->marks()) {
        // Inherited marks are this task's own already.
        if (mark.source != router::TaintSource::kParentTask) taint_.Add(mark);
      }
    }
    if (taint_.marks().size() == marks_before) return {};
    task_.taint = taint_.ToJson();
    task_.updated_at_ms = Now();
    if (Status saved = deps_.store->UpdateTask(task_); !saved) return saved;
    Emit("taint_raised", {{"step", step.seq}, {"taint", taint_.Describe()}});
    return {};
  }

  // A crash or Ctrl-C can leave the last step proposed (tool not started: run it now) or running
  // (tool started, outcome unknown: re-run only if it merely reads).
  Status RecoverInterruptedStep() {
    if (steps_.empty() || steps_.back().status == StepStatus::kDone) return {};
    StepRecord step = steps_.back();
    steps_.pop_back();
    if (step.tool_name == kFinishTool) {
      return Save(step, StepStatus::kDone);
    }
    const tools::Tool* tool = deps_.tools->Find(step.tool_name);
    json args = json::parse(step.tool_arguments, nullptr, false);
    bool safe_to_rerun = tool != nullptr && tool->EffectOf(args) == tools::EffectClass::kRead;
    if (step.status == StepStatus::kRunning && !safe_to_rerun) {
      Emit("step_recovered", {{"step", step.seq}, {"rerun", false}});
      return Complete(step, {.output = "interrupted: the previous run stopped while this call was "
                                       "running, so its effect is unknown. Check the workspace "
                                       "before repeating it.",
                             .is_error = true});
    }
    return Batched([&](store::TaskStore::Batch& batch) {
      Emit("step_recovered", {{"step", step.seq}, {"rerun", true}});
      return RunTool(step, batch);
    });
  }

  const ControllerDeps& deps_;
  TaskRecord task_;
  RunOptions options_;
  std::vector<StepRecord> steps_;
  std::vector<llm::ToolSpec> specs_;
  router::TaintState taint_;
  Watchdog watchdog_;
  std::chrono::steady_clock::time_point started_;  // Start of this run.
  double elapsed_before_s_;                        // Wall time of earlier runs.
  std::set<std::string> warned_;                   // Budget limits already warned about.
  bool escalate_ = false;                          // Ask the router for a stronger model.
  ApprovalGate gate_;
  std::optional<std::string> paused_;  // Why the run stops waiting for a person (stdin closed).
  std::string summary_;
  bool refused_by_policy_ = false;
  ContextBuilder context_;
};

RunOptions StoredRunOptions(const store::TaskRecord& task) {
  RunOptions options;
  json settings = json::parse(task.settings, nullptr, false);
  if (!settings.is_object()) return options;
  options.max_steps = settings.value("max_steps", options.max_steps);
  options.budget = BudgetFromJson(settings.value("budget", json::object()));
  options.route_profile = settings.value("policy", "");
  return options;
}

void StoreRunOptions(store::TaskRecord& task, const RunOptions& options) {
  task.settings = SettingsJson(options, StoredElapsed(task)).dump();
}

Controller::Controller(ControllerDeps deps) : deps_(deps) {}

Result<store::TaskRecord> Controller::Create(const std::string& goal,
                                             const std::filesystem::path& workspace,
                                             const RunOptions& options, std::string id) {
  if (goal.empty()) return MakeError(ErrorCode::kInvalidArgument, "the goal is empty");
  std::error_code ec;
  std::filesystem::create_directories(workspace, ec);
  if (ec) {
    return MakeError(ErrorCode::kUnavailable, "cannot create workspace {}: {}", workspace.string(),
                     ec.message());
  }
  TaskRecord task{.id = id.empty() ? NewId(deps_.clock->Now()) : std::move(id),
                  .goal = goal,
                  .status = TaskStatus::kPending,
                  .workspace = std::filesystem::canonical(workspace, ec).string(),
                  .settings = SettingsJson(options, 0).dump(),
                  .created_at_ms = ToUnixMillis(deps_.clock->Now()),
                  .updated_at_ms = ToUnixMillis(deps_.clock->Now())};
  if (deps_.policy != nullptr) {
    router::TaintState taint;
    if (deps_.policy->ObserveGoal(taint, goal)) task.taint = taint.ToJson();
  }
  if (Status saved = deps_.store->CreateTask(task); !saved) return std::unexpected(saved.error());
  return task;
}

Result<TaskOutcome> Controller::Run(const std::string& task_id, const RunOptions& options) {
  Result<std::optional<TaskRecord>> task = deps_.store->GetTask(task_id);
  if (!task) return std::unexpected(task.error());
  if (!*task) return MakeError(ErrorCode::kNotFound, "no task with id {}", task_id);
  if ((*task)->status == TaskStatus::kSucceeded) {
    return MakeError(ErrorCode::kFailedPrecondition, "task {} already finished", task_id);
  }
  Loop loop(deps_, std::move(**task), options);
  return loop.Run();
}

}  // namespace tandem::agent
