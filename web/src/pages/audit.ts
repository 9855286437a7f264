import { AuditEntry, get } from "../api";
import { fmtTime, h, replace } from "../dom";
import { PageContext, errorNotice } from "../page";

// The audit log, newest first, a page at a time (admins only on the server side).
export function auditPage(ctx: PageContext): void {
  const rows = h("tbody", {});
  const more = h("div", {});
  const message = h("div", {});
  replace(
    ctx.root,
    h("h1", {}, "Audit log"),
    message,
    h(
      "table",
      { id: "audit" },
      h("thead", {}, h("tr", {}, ["Time", "Task", "Kind", "Zone", "Provider", "Reason", "Detail"].map((c) => h("th", {}, c)))),
      rows,
    ),
    more,
  );
  const load = (before: number | null) => {
    const query = before === null ? "" : `&before=${before}`;
    get<{ entries: AuditEntry[]; next_before: number | null }>(`/api/audit?limit=100${query}`)
      .then((page) => {
        for (const e of page.entries) {
          rows.appendChild(
            h(
              "tr",
              {},
              h("td", {}, fmtTime(e.time_ms)),
              h("td", {}, e.task_id ? h("a", { href: `/tasks/${encodeURIComponent(e.task_id)}`, "data-link": true, class: "mono" }, e.task_id.slice(0, 12)) : "–"),
              h("td", {}, e.kind),
              h("td", {}, e.zone || "–"),
              h("td", {}, e.provider || "–"),
              h("td", {}, e.reason || ""),
              h("td", {}, h("details", {}, h("summary", {}, "show"), h("pre", {}, JSON.stringify(e.detail, null, 2)))),
            ),
          );
        }
        if (page.entries.length === 0 && before === null) replace(message, h("p", { class: "muted" }, "The audit log is empty."));
        replace(
          more,
          page.next_before === null
            ? null
            : h("button", { type: "button", onclick: () => load(page.next_before) }, "Older entries"),
        );
      })
      .catch((e: unknown) => replace(message, errorNotice(e, "The audit log")));
  };
  load(null);
}
