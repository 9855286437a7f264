import { CostReport, CostRow, get } from "../api";
import { fmtInt, fmtPct, fmtUsd, h, replace } from "../dom";
import { horizontalBars, shareBar, stackedColumns } from "../charts";
import { PageContext, errorNotice } from "../page";

function card(label: string, value: string, id?: string): HTMLElement {
  return h("div", { class: "stat" }, h("div", { class: "muted small" }, label), h("div", { class: "value", id: id ?? null }, value));
}

function breakdown(title: string, rows: CostRow[], key: "zone" | "provider" | "model"): HTMLElement {
  const label = (r: CostRow) => String(r[key] ?? "?");
  return h(
    "section",
    { class: "card" },
    h("h2", {}, title),
    rows.length === 0
      ? h("p", { class: "muted" }, "No model calls.")
      : [
          horizontalBars(rows.map((r) => ({ label: label(r), value: r.cost_usd })), fmtUsd),
          h("p", { class: "muted small" }, rows.map((r) => `${label(r)}: ${fmtInt(r.calls)} calls, ${fmtInt(r.tokens)} tokens`).join(" · ")),
        ],
  );
}

// The cost dashboard over the last N days.
export function costPage(ctx: PageContext): void {
  const days = h(
    "select",
    { id: "cost-days" },
    [7, 30, 90, 365].map((d) => h("option", { value: d, selected: d === 30 }, `last ${d} days`)),
  );
  const body = h("div", { id: "cost" }, "Loading…");
  replace(ctx.root, h("div", { class: "title-row" }, h("h1", {}, "Cost"), days), body);
  const load = () => {
    get<CostReport>(`/api/cost?days=${days.value}`)
      .then((r) =>
        replace(
          body,
          h(
            "div",
            { class: "stats" },
            card("Total spent", fmtUsd(r.total.cost_usd), "cost-total"),
            card("Model calls", fmtInt(r.total.calls)),
            card("Tokens", `${fmtInt(r.total.tokens_in)} in / ${fmtInt(r.total.tokens_out)} out`),
            card("All-cloud equivalent", fmtUsd(r.all_cloud_usd)),
            card("Saved against all-cloud", fmtUsd(r.savings_usd), "cost-savings"),
          ),
          h(
            "section",
            { class: "card" },
            h("h2", {}, "Local versus cloud"),
            shareBar(r.local_share.calls),
            h("p", {}, `${fmtPct(r.local_share.calls)} of calls and ${fmtPct(r.local_share.tokens)} of tokens stayed local.`),
            h("p", { class: "legend" }, h("span", { class: "swatch local" }), " local ", h("span", { class: "swatch cloud" }), " cloud"),
          ),
          h("section", { class: "card" }, h("h2", {}, "By day (USD)"), stackedColumns(r.by_day.map((d) => ({ label: d.day, local: d.local_usd, cloud: d.cloud_usd })), fmtUsd)),
          h("div", { class: "columns" }, breakdown("By zone", r.by_zone, "zone"), breakdown("By provider", r.by_provider, "provider")),
          breakdown("By model", r.by_model, "model"),
        ),
      )
      .catch((e: unknown) => replace(body, errorNotice(e, "The cost dashboard")));
  };
  days.addEventListener("change", load);
  load();
}
