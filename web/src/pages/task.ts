import { ApiError, PendingApproval, RouteDecision, Step, TaskDetail, TaskEvent, get, post } from "../api";
import { Child, badge, fmtInt, fmtTime, fmtUsd, h, notice, replace } from "../dom";
import { PageContext } from "../page";

// Event types the agent emits (an SSE `event:` name must be listened to by name).
const kEventTypes = [
  "task_started", "action_proposed", "step_done", "budget_warning", "taint_raised",
  "task_finished", "approval_requested", "approval_resolved", "approval_required",
  "approval_granted", "approval_refused", "feedback", "invalid_answer", "memory_error",
  "memory_recalled", "context_summarised", "watchdog", "step_recovered", "message",
];
const kLive = new Set(["pending", "running"]);

function json(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v, null, 2);
}

function clip(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n)}…` : text;
}

// One line of the live log from an event's payload.
function describe(ev: TaskEvent): Child {
  const p = ev.payload ?? {};
  const step = p.step !== undefined ? `step ${String(p.step)}: ` : "";
  switch (ev.type) {
    case "action_proposed":
      return [
        step,
        h("b", {}, String(p.tool ?? "")),
        " ",
        h("code", {}, clip(json(p.arguments ?? {}), 300)),
        p.thoughts ? h("div", { class: "thoughts" }, String(p.thoughts)) : null,
      ];
    case "step_done":
      return [step, String(p.tool ?? ""), p.is_error ? " failed: " : " → ", h("span", { class: "mono" }, clip(String(p.result ?? ""), 300))];
    case "task_finished":
      return [`finished: ${String(p.status ?? "")}`, p.reason ? ` (${clip(String(p.reason), 300)})` : ""];
    default:
      return [step, clip(JSON.stringify(p), 400)];
  }
}

function artifactHref(id: string, path: string): string {
  return `/api/tasks/${encodeURIComponent(id)}/artifacts/${path.split("/").map(encodeURIComponent).join("/")}`;
}

export function taskPage(ctx: PageContext): () => void {
  const id = ctx.params[0];
  const header = h("div", { id: "task-header" }, "Loading…");
  const approval = h("div", { id: "approval" });
  const stepsBox = h("div", { id: "steps" });
  const artifactsBox = h("div", { id: "artifacts" });
  const log = h("ol", { id: "live-log", class: "log" });
  const message = h("div", {});
  replace(
    ctx.root,
    header,
    message,
    approval,
    h("h2", {}, "Steps"),
    stepsBox,
    h("h2", {}, "Artifacts"),
    artifactsBox,
    h("h2", {}, "Live events"),
    log,
  );

  let stopped = false;
  let source: EventSource | null = null;
  let refreshTimer = 0;
  let detail: TaskDetail | null = null;
  let routing: RouteDecision[] | null = null;
  // An approval request seen in the event stream (servers without pending_approval in detail).
  let requested: PendingApproval | null = null;

  const act = (path: string, body: unknown, done: string) => {
    replace(message);
    post<unknown>(`/api/tasks/${encodeURIComponent(id)}/${path}`, body)
      .then(() => {
        replace(message, notice("info", done));
        scheduleRefresh(0);
      })
      .catch((e: unknown) => {
        const text =
          e instanceof ApiError && e.notAvailable
            ? `${path} is not available on this server.`
            : `${path}: ${(e as Error).message}`;
        replace(message, notice("error", text));
      });
  };

  const renderHeader = (t: TaskDetail) => {
    const canAct = ctx.me.role !== "viewer";
    replace(
      header,
      h("div", { class: "title-row" }, h("h1", { class: "goal" }, t.goal)),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Status"),
        h("dd", { id: "task-status" }, badge(t.status), t.stop_reason ? ` ${t.stop_reason}` : ""),
        h("dt", {}, "Task"),
        h("dd", { class: "mono" }, t.id),
        h("dt", {}, "Model calls"),
        h("dd", {}, fmtInt(t.totals.model_calls)),
        h("dt", {}, "Tokens"),
        h("dd", {}, `${fmtInt(t.totals.prompt_tokens)} in / ${fmtInt(t.totals.completion_tokens)} out`),
        h("dt", {}, "Cost"),
        h("dd", { id: "task-cost" }, fmtUsd(t.totals.cost_usd), t.totals.cost_complete ? "" : " (some calls unpriced)"),
        t.taint ? [h("dt", {}, "Taint"), h("dd", {}, t.taint)] : null,
        h("dt", {}, "Created"),
        h("dd", {}, fmtTime(t.created_at_ms)),
      ),
      canAct && kLive.has(t.status)
        ? h("button", { type: "button", id: "cancel", onclick: () => act("cancel", {}, "Stopping at the next safe point.") }, "Cancel")
        : null,
      canAct && ["stopped", "failed", "interrupted"].includes(t.status) ? resumeForm() : null,
    );
  };

  const resumeForm = () => {
    const add = h("input", { type: "number", min: "0", step: "0.01", placeholder: "add USD", class: "narrow" });
    return h(
      "span",
      { class: "inline-form" },
      add,
      h(
        "button",
        {
          type: "button",
          id: "resume",
          onclick: () => act("resume", add.value ? { add_budget_usd: Number(add.value) } : {}, "Queued again."),
        },
        "Resume",
      ),
    );
  };

  const renderApproval = (t: TaskDetail) => {
    const pending = t.pending_approval !== undefined ? t.pending_approval : kLive.has(t.status) ? requested : null;
    if (!pending || ctx.me.role === "viewer") {
      replace(approval, pending ? notice("info", `Step ${pending.step} waits for approval.`) : null);
      return;
    }
    const feedback = h("textarea", { id: "feedback-text", rows: "2", placeholder: "Tell the agent what to do instead" });
    const count = h("input", { type: "number", min: "0", value: "0", class: "narrow", id: "approve-count" });
    const reason = h("input", { id: "refuse-reason", placeholder: "reason (optional)" });
    replace(
      approval,
      h(
        "section",
        { class: "card approval" },
        h("h2", {}, `Step ${pending.step} needs your approval`),
        h("p", {}, h("b", {}, pending.tool), pending.effect ? ` (${pending.effect})` : ""),
        h("pre", {}, json(pending.arguments)),
        pending.reason ? h("p", {}, "Why: ", pending.reason) : null,
        pending.untrusted_paths?.length ? h("p", { class: "warn" }, "Untrusted input: ", pending.untrusted_paths.join(", ")) : null,
        h(
          "div",
          { class: "buttons" },
          h(
            "button",
            {
              type: "button",
              id: "approve",
              onclick: () => act("approve", Number(count.value) > 0 ? { count: Number(count.value) } : {}, "Approved."),
            },
            "Approve",
          ),
          h("label", {}, " and the next ", count, " calls "),
        ),
        h(
          "div",
          { class: "buttons" },
          h("button", { type: "button", class: "danger", id: "refuse", onclick: () => act("refuse", reason.value ? { reason: reason.value } : {}, "Refused.") }, "Refuse"),
          reason,
        ),
        h(
          "div",
          { class: "buttons" },
          feedback,
          h(
            "button",
            {
              type: "button",
              id: "send-feedback",
              onclick: () => {
                if (feedback.value.trim()) act("feedback", { text: feedback.value }, "Feedback sent.");
              },
            },
            "Send feedback",
          ),
        ),
      ),
    );
  };

  // The decision for a step: the last call made for it (a retried answer makes several), or the
  // n-th decision for the n-th step from a server that does not say which step a call was for.
  const routeFor = (step: Step, index: number): Child => {
    if (routing === null) return h("span", { class: "muted" }, "–");
    const mine = routing.filter((r) => r.step === step.seq);
    const d = mine.length ? mine[mine.length - 1] : routing.every((r) => r.step === undefined) ? routing[index] : undefined;
    if (!d) return h("span", { class: "muted" }, "–");
    return h("span", { title: d.rules.join(", ") }, `${d.route}: ${d.reason}`);
  };

  const renderSteps = (steps: Step[]) => {
    if (steps.length === 0) {
      replace(stepsBox, h("p", { class: "muted" }, "No steps yet."));
      return;
    }
    replace(
      stepsBox,
      h(
        "table",
        { class: "steps" },
        h(
          "thead",
          {},
          h("tr", {}, ["#", "Action", "Zone", "Provider", "Routing", "Tokens", "Cost", "Status"].map((c) => h("th", {}, c))),
        ),
        h(
          "tbody",
          {},
          steps.map((s, i) =>
            h(
              "tr",
              { class: s.is_error ? "error-row" : null },
              h("td", {}, String(s.seq)),
              h(
                "td",
                { class: "action" },
                s.thoughts ? h("div", { class: "thoughts" }, s.thoughts) : null,
                h("div", {}, h("b", {}, s.tool_call.name), " ", h("code", {}, clip(json(s.tool_call.arguments), 400))),
                s.result
                  ? h("details", {}, h("summary", {}, s.is_error ? "error" : "result"), h("pre", {}, clip(s.result, 20000)))
                  : null,
              ),
              h("td", {}, s.zone ? badge(s.zone) : "–"),
              h("td", {}, s.provider || "–"),
              h("td", { class: "small" }, routeFor(s, i)),
              h("td", {}, fmtInt(s.prompt_tokens + s.completion_tokens)),
              h("td", {}, fmtUsd(s.cost_usd)),
              h("td", {}, s.status),
            ),
          ),
        ),
      ),
    );
  };

  const renderArtifacts = (t: TaskDetail) => {
    if (t.artifacts.length === 0) {
      replace(artifactsBox, h("p", { class: "muted" }, "None yet."));
      return;
    }
    replace(
      artifactsBox,
      h(
        "ul",
        { class: "artifacts" },
        t.artifacts.map((a) =>
          h(
            "li",
            {},
            h("a", { href: artifactHref(t.id, a.path), download: a.path.split("/").pop() ?? "artifact" }, a.path),
            h("span", { class: "muted small" }, ` ${fmtInt(a.size_bytes)} bytes, step ${a.step}`),
          ),
        ),
      ),
    );
  };

  const refresh = () => {
    Promise.all([
      get<TaskDetail>(`/api/tasks/${encodeURIComponent(id)}`),
      get<RouteDecision[]>(`/api/tasks/${encodeURIComponent(id)}/routing`).catch(() => null),
    ])
      .then(([t, r]) => {
        if (stopped) return;
        detail = t;
        routing = r;
        renderHeader(t);
        renderApproval(t);
        renderSteps(t.steps);
        renderArtifacts(t);
        // A finished task's stream ends by itself once its last events are sent (see onerror);
        // closing it here could drop them. A resumed task needs a new one.
        if (kLive.has(t.status) && !source) connect();
      })
      .catch((e: unknown) => {
        if (stopped) return;
        replace(
          header,
          e instanceof ApiError && e.status === 404
            ? notice("error", "No such task (or it is not shared with you).")
            : notice("error", `Loading the task failed: ${(e as Error).message}`),
        );
      });
  };
  const scheduleRefresh = (delay = 250) => {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(refresh, delay);
  };

  let lastId = 0;
  const onEvent = (raw: MessageEvent<string>) => {
    let ev: TaskEvent;
    try {
      ev = JSON.parse(raw.data) as TaskEvent;
    } catch {
      return;
    }
    if (ev.id <= lastId) return;  // Replayed after a reconnect.
    lastId = ev.id;
    if (ev.type === "approval_required" || ev.type === "approval_requested") {
      const p = ev.payload as Record<string, unknown>;
      requested = { ...(p as unknown as PendingApproval), untrusted_paths: (p.untrusted_paths ?? p.untrusted) as string[] | undefined };
    }
    if (["approval_granted", "approval_refused", "approval_resolved"].includes(ev.type)) requested = null;
    log.appendChild(
      h("li", { class: `ev ev-${ev.type}` }, h("span", { class: "muted small" }, fmtTime(ev.time_ms), " "), h("b", {}, ev.type), " ", describe(ev)),
    );
    scheduleRefresh();
    if (ev.type === "task_finished" && source) {
      source.close();
      source = null;
    }
  };
  const connect = () => {
    source = new EventSource(`/api/tasks/${encodeURIComponent(id)}/events${lastId ? `?after=${lastId}` : ""}`);
    for (const type of kEventTypes) source.addEventListener(type, onEvent as EventListener);
    source.onerror = () => {
      // The server ends the stream when the task stops; EventSource would reconnect forever.
      if (detail && !kLive.has(detail.status) && source) {
        source.close();
        source = null;
      }
    };
  };

  connect();
  refresh();
  return () => {
    stopped = true;
    window.clearTimeout(refreshTimer);
    source?.close();
  };
}
