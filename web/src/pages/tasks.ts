import { TaskSummary, get } from "../api";
import { badge, fmtTime, h, replace, table } from "../dom";
import { PageContext, errorNotice } from "../page";

const kRefreshMs = 2000;

// The task list; statuses refresh every two seconds while the page is open.
export function tasksPage(ctx: PageContext): () => void {
  const body = h("div", { id: "task-list" }, "Loading…");
  replace(
    ctx.root,
    h(
      "div",
      { class: "title-row" },
      h("h1", {}, "Tasks"),
      ctx.me.role !== "viewer" ? h("a", { href: "/new", "data-link": true, class: "button" }, "New task") : null,
    ),
    body,
  );
  let timer = 0;
  let stopped = false;
  const load = () => {
    get<TaskSummary[]>("/api/tasks?limit=100")
      .then((tasks) => {
        if (stopped) return;
        if (tasks.length === 0) {
          replace(body, h("p", { class: "muted" }, "No tasks yet."));
          return;
        }
        replace(
          body,
          table(
            ["Task", "Goal", "Status", "Updated"],
            tasks.map((t) => [
              h("a", { href: `/tasks/${encodeURIComponent(t.id)}`, "data-link": true, class: "mono" }, t.id.slice(0, 12)),
              h("span", { class: "goal" }, t.goal),
              h("span", {}, badge(t.status), t.pending_approval ? [" ", badge("awaiting approval", "stopped")] : null, t.stop_reason ? h("span", { class: "muted small" }, " ", t.stop_reason) : null),
              fmtTime(t.updated_at_ms),
            ]),
            { class: "tasks" },
          ),
        );
      })
      .catch((e: unknown) => {
        if (!stopped) replace(body, errorNotice(e, "The task list"));
      })
      .finally(() => {
        if (!stopped) timer = window.setTimeout(load, kRefreshMs);
      });
  };
  load();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}
