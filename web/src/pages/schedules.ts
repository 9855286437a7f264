import { ApiError, Schedule, ScheduleRun, del, get, post } from "../api";
import { badge, fmtTime, fmtUsd, h, notice, replace, table } from "../dom";
import { PageContext, errorNotice } from "../page";

function select(id: string, options: string[]) {
  return h("select", { id, name: id }, options.map((o) => h("option", { value: o }, o)));
}

function field(id: string, label: string, input: HTMLElement) {
  return h("div", {}, h("label", { for: id }, label), input);
}

// Schedules: the list, each one's recent runs, a form to add one and delete buttons.
export function schedulesPage(ctx: PageContext): void {
  const list = h("div", { id: "schedules" }, "Loading…");
  const runs = h("div", { id: "schedule-runs" });
  const message = h("div", {});
  const canEdit = ctx.me.role !== "viewer";
  const formBox = h("div", {});
  replace(ctx.root, h("h1", {}, "Schedules"), message, list, runs, formBox);

  const showRuns = (s: Schedule) => {
    get<ScheduleRun[]>(`/api/schedules/${encodeURIComponent(s.id)}/runs?limit=50`)
      .then((rs) =>
        replace(
          runs,
          h("h2", {}, `Runs of ${s.name}`),
          rs.length === 0
            ? h("p", { class: "muted" }, "No runs yet.")
            : table(
                ["Time", "Outcome", "Task", "Detail"],
                rs.map((r) => [
                  fmtTime(r.time_ms),
                  badge(r.outcome),
                  r.task_id ? h("a", { href: `/tasks/${encodeURIComponent(r.task_id)}`, "data-link": true, class: "mono" }, r.task_id.slice(0, 12)) : "–",
                  r.detail,
                ]),
              ),
        ),
      )
      .catch((e: unknown) => replace(runs, errorNotice(e, "Schedule runs")));
  };

  const load = () => {
    get<Schedule[]>("/api/schedules")
      .then((schedules) => {
        replace(
          list,
          schedules.length === 0
            ? h("p", { class: "muted" }, "No schedules.")
            : table(
                ["Name", "When", "Goal", "Budget", "Missed / overlap", "Next run", "Last run", "Owner", ""],
                schedules.map((s) => [
                  h("span", {}, s.name, s.enabled ? "" : [" ", badge("disabled", "stopped")], s.shared ? [" ", badge("shared", "ok")] : ""),
                  h("span", { class: "mono" }, `${s.cron} (${s.timezone})`),
                  h("span", { class: "goal" }, s.goal),
                  s.budget?.usd !== undefined ? fmtUsd(s.budget.usd) : "–",
                  `${s.missed} / ${s.overlap}`,
                  fmtTime(s.next_run_ms),
                  s.last_run
                    ? h("a", { href: `/tasks/${encodeURIComponent(s.last_run.task_id)}`, "data-link": true }, `${fmtTime(s.last_run.time_ms)} ${s.last_run.status}`)
                    : "–",
                  s.owner,
                  h(
                    "span",
                    {},
                    h("button", { type: "button", class: "link", onclick: () => showRuns(s) }, "Runs"),
                    canEdit
                      ? h(
                          "button",
                          {
                            type: "button",
                            class: "link danger",
                            onclick: () => {
                              if (!confirm(`Delete schedule ${s.name}?`)) return;
                              del<unknown>(`/api/schedules/${encodeURIComponent(s.id)}`)
                                .then(load)
                                .catch((e: unknown) => replace(message, errorNotice(e, "Deleting")));
                            },
                          },
                          "Delete",
                        )
                      : null,
                  ),
                ]),
              ),
        );
        if (canEdit && !formBox.firstChild) replace(formBox, createForm());
      })
      .catch((e: unknown) => {
        replace(list, errorNotice(e, "Schedules"));
        if (!(e instanceof ApiError && e.notAvailable) && canEdit && !formBox.firstChild) replace(formBox, createForm());
      });
  };

  const createForm = () => {
    const name = h("input", { id: "sched-name", required: true });
    const cron = h("input", { id: "sched-cron", required: true, placeholder: "0 9 * * 1-5" });
    const tz = h("input", { id: "sched-tz", value: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" });
    const goal = h("textarea", { id: "sched-goal", rows: "3", required: true });
    const usd = h("input", { id: "sched-usd", type: "number", min: "0", step: "0.01" });
    const missed = select("sched-missed", ["skip", "run_once"]);
    const overlap = select("sched-overlap", ["skip", "queue", "allow"]);
    const shared = h("input", { id: "sched-shared", type: "checkbox" });
    const enabled = h("input", { id: "sched-enabled", type: "checkbox", checked: true });
    const form = h(
      "form",
      { class: "card form" },
      h("h2", {}, "New schedule"),
      h(
        "div",
        { class: "grid" },
        field("sched-name", "Name", name),
        field("sched-cron", "Cron (minute hour day month weekday)", cron),
        field("sched-tz", "Time zone", tz),
        field("sched-usd", "Budget (USD)", usd),
        field("sched-missed", "Missed runs", missed),
        field("sched-overlap", "Overlap", overlap),
      ),
      h("label", { for: "sched-goal" }, "Goal"),
      goal,
      h("label", { class: "check" }, shared, " Shared"),
      h("label", { class: "check" }, enabled, " Enabled"),
      h("button", { type: "submit" }, "Add schedule"),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const body: Record<string, unknown> = {
        name: name.value,
        cron: cron.value,
        timezone: tz.value,
        goal: goal.value,
        missed: missed.value,
        overlap: overlap.value,
        shared: shared.checked,
        enabled: enabled.checked,
      };
      if (usd.value) body.budget = { usd: Number(usd.value) };
      post<Schedule>("/api/schedules", body)
        .then(() => {
          replace(message, notice("info", `Schedule ${name.value} added.`));
          form.reset();
          load();
        })
        .catch((e: unknown) => replace(message, errorNotice(e, "Adding the schedule")));
    });
    return form;
  };
  load();
}
