import { ProviderHealth, get } from "../api";
import { badge, fmtInt, h, replace, table } from "../dom";
import { PageContext, errorNotice } from "../page";

export function providersPage(ctx: PageContext): () => void {
  const body = h("div", { id: "providers" }, "Loading…");
  replace(ctx.root, h("h1", {}, "Provider health"), body);
  let stopped = false;
  let timer = 0;
  const load = () => {
    get<ProviderHealth[]>("/api/providers")
      .then((list) => {
        if (stopped) return;
        replace(
          body,
          list.length === 0
            ? h("p", { class: "muted" }, "No providers configured.")
            : table(
                ["Provider", "Zone", "Kind", "Model", "Health", "Calls", "p50", "p99", "Last error"],
                list.map((p) => [
                  p.name,
                  badge(p.zone),
                  p.kind,
                  p.model,
                  p.healthy ? badge("healthy", "ok") : badge("unhealthy", "failed"),
                  fmtInt(p.calls),
                  p.p50_ms === null ? "–" : `${fmtInt(p.p50_ms)} ms`,
                  p.p99_ms === null ? "–" : `${fmtInt(p.p99_ms)} ms`,
                  h("span", { class: "small" }, p.last_error || ""),
                ]),
              ),
        );
        timer = window.setTimeout(load, 10000);
      })
      .catch((e: unknown) => {
        if (!stopped) replace(body, errorNotice(e, "Provider health"));
      });
  };
  load();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}
