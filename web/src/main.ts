// The single-page app: a history-API router over the pages, the signed-in shell and its nav.
import "./style.css";
import { ApiError, Me, get, post, clearCsrf, setUnauthenticatedHandler } from "./api";
import { h, replace, notice } from "./dom";
import { Page, PageContext } from "./page";
import { loginPage } from "./pages/login";
import { tasksPage } from "./pages/tasks";
import { taskPage } from "./pages/task";
import { newTaskPage } from "./pages/new_task";
import { schedulesPage } from "./pages/schedules";
import { costPage } from "./pages/cost";
import { auditPage } from "./pages/audit";
import { providersPage } from "./pages/providers";

interface RouteDef {
  pattern: RegExp;
  page: Page;
  title: string;
}

const routes: RouteDef[] = [
  { pattern: /^\/(?:tasks)?$/, page: tasksPage, title: "Tasks" },
  { pattern: /^\/tasks\/([^/]+)$/, page: taskPage, title: "Task" },
  { pattern: /^\/new$/, page: newTaskPage, title: "New task" },
  { pattern: /^\/schedules$/, page: schedulesPage, title: "Schedules" },
  { pattern: /^\/cost$/, page: costPage, title: "Cost" },
  { pattern: /^\/audit$/, page: auditPage, title: "Audit log" },
  { pattern: /^\/providers$/, page: providersPage, title: "Providers" },
];

const nav: [string, string, (me: Me) => boolean][] = [
  ["/tasks", "Tasks", () => true],
  ["/new", "New task", (me) => me.role !== "viewer"],
  ["/schedules", "Schedules", () => true],
  ["/cost", "Cost", () => true],
  ["/audit", "Audit", (me) => me.role === "admin"],
  ["/providers", "Providers", () => true],
];

const app = document.getElementById("app") as HTMLElement;
let me: Me | null = null;
let cleanup: (() => void) | void = undefined;

export function navigate(path: string, replaceState = false): void {
  if (replaceState) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  void render();
}

function signOut(): void {
  void post("/api/logout")
    .catch(() => undefined)
    .finally(() => {
      clearCsrf();
      me = null;
      navigate("/login");
    });
}

function shell(user: Me, main: HTMLElement): HTMLElement {
  const path = location.pathname;
  return h(
    "div",
    { class: "shell" },
    h(
      "header",
      {},
      h("a", { href: "/tasks", class: "brand", "data-link": true }, "Tandem"),
      h(
        "nav",
        {},
        nav
          .filter(([, , show]) => show(user))
          .map(([href, label]) =>
            h(
              "a",
              {
                href,
                "data-link": true,
                class: path === href || path.startsWith(href + "/") ? "active" : null,
              },
              label,
            ),
          ),
      ),
      h(
        "span",
        { class: "who" },
        h("span", { id: "who" }, `${user.user} (${user.role})`),
        h("button", { type: "button", class: "link", id: "sign-out", onclick: signOut }, "Sign out"),
      ),
    ),
    main,
  );
}

async function render(): Promise<void> {
  if (cleanup) cleanup();
  cleanup = undefined;
  const path = location.pathname;
  if (path === "/login") {
    document.title = "Sign in · Tandem";
    const root = h("main", { class: "login" });
    replace(app, root);
    cleanup = loginPage(makeContext(root, [], { user: "", role: "viewer" }));
    return;
  }
  if (!me) {
    try {
      me = await get<Me>("/api/me");
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return navigate("/login", true);
      replace(app, notice("error", `Cannot reach the server: ${(e as Error).message}`));
      return;
    }
  }
  const main = h("main", {});
  replace(app, shell(me, main));
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    document.title = `${route.title} · Tandem`;
    cleanup = route.page(makeContext(main, m.slice(1).map(decodeURIComponent), me));
    return;
  }
  document.title = "Not found · Tandem";
  replace(main, notice("error", "No such page."));
}

function makeContext(root: HTMLElement, params: string[], user: Me): PageContext {
  return {
    root,
    params,
    me: user,
    navigate,
    signedIn: (who: Me) => {
      me = who;
    },
  };
}

setUnauthenticatedHandler(() => {
  me = null;
  if (location.pathname !== "/login") navigate("/login", true);
});

document.addEventListener("click", (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) return;
  const a = (ev.target as Element).closest?.("a[data-link]") as HTMLAnchorElement | null;
  if (!a || a.origin !== location.origin) return;
  ev.preventDefault();
  navigate(a.pathname + a.search);
});
window.addEventListener("popstate", () => void render());
void render();
