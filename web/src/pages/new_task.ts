import { ApiError, Budget, Policy, TaskSummary, get, post } from "../api";
import { h, notice, replace } from "../dom";
import { PageContext } from "../page";

function numberField(id: string, label: string, step: string, value?: number) {
  const input = h("input", { id, name: id, type: "number", min: "0", step, value: value ?? null });
  return { input, row: h("div", {}, h("label", { for: id }, label), input) };
}

// The new-task form: goal, budget, step limit, sharing and (when the server offers route
// profiles) a routing policy.
export function newTaskPage(ctx: PageContext): void {
  const message = h("div", {});
  const goal = h("textarea", { id: "goal", name: "goal", rows: "4", required: true, placeholder: "What should the agent do?" });
  const usd = numberField("budget-usd", "Budget (USD)", "0.01");
  const tokens = numberField("budget-tokens", "Budget (tokens)", "1");
  const seconds = numberField("budget-seconds", "Budget (seconds)", "1");
  const calls = numberField("budget-tool-calls", "Budget (tool calls)", "1");
  const steps = numberField("max-steps", "Max steps", "1");
  const workspace = h("input", { id: "workspace", name: "workspace", placeholder: "(a new one)" });
  const shared = h("input", { id: "shared", type: "checkbox" });
  const policy = h("select", { id: "policy", name: "policy" }, h("option", { value: "" }, "(server default)"));
  const policyNote = h("span", { class: "muted small" }, "Loading routing profiles…");

  get<Policy>("/api/config/policy")
    .then((p) => {
      for (const profile of p.profiles) {
        policy.appendChild(h("option", { value: profile.name }, `${profile.name} — ${profile.description}`));
      }
      replace(policyNote);
      const b = p.default_budget ?? {};
      usd.input.placeholder = b.usd !== undefined ? String(b.usd) : "";
      tokens.input.placeholder = b.tokens !== undefined ? String(b.tokens) : "";
      seconds.input.placeholder = b.seconds !== undefined ? String(b.seconds) : "";
      calls.input.placeholder = b.tool_calls !== undefined ? String(b.tool_calls) : "";
      steps.input.placeholder = String(p.max_steps ?? "");
    })
    .catch((e: unknown) => {
      policy.disabled = true;
      replace(
        policyNote,
        e instanceof ApiError && e.notAvailable
          ? "Routing profiles are not available on this server."
          : `Routing profiles could not be loaded: ${(e as Error).message}`,
      );
    });

  const form = h(
    "form",
    { class: "card form", id: "new-task-form" },
    h("h1", {}, "New task"),
    h("label", { for: "goal" }, "Goal"),
    goal,
    h("div", { class: "grid" }, usd.row, tokens.row, seconds.row, calls.row, steps.row),
    h("label", { for: "policy" }, "Routing policy"),
    h("div", {}, policy, " ", policyNote),
    h("label", { for: "workspace" }, "Workspace"),
    workspace,
    h("label", { class: "check" }, shared, " Share with the team"),
    message,
    h("button", { type: "submit", id: "start-task" }, "Start"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const budget: Budget = {};
    if (usd.input.value) budget.usd = Number(usd.input.value);
    if (tokens.input.value) budget.tokens = Number(tokens.input.value);
    if (seconds.input.value) budget.seconds = Number(seconds.input.value);
    if (calls.input.value) budget.tool_calls = Number(calls.input.value);
    const body: Record<string, unknown> = { goal: goal.value, shared: shared.checked };
    if (Object.keys(budget).length) body.budget = budget;
    if (steps.input.value) body.max_steps = Number(steps.input.value);
    if (workspace.value) body.workspace = workspace.value;
    if (policy.value) body.policy = policy.value;
    replace(message);
    post<TaskSummary>("/api/tasks", body)
      .then((task) => ctx.navigate(`/tasks/${encodeURIComponent(task.id)}`))
      .catch((e: unknown) => replace(message, notice("error", `Not started: ${(e as Error).message}`)));
  });
  replace(ctx.root, form);
}
