import { ApiError, Me } from "./api";
import { notice } from "./dom";

export interface PageContext {
  root: HTMLElement;  // The page's own element; pages only touch what is inside it.
  params: string[];  // Captures of the route pattern.
  me: Me;
  navigate: (path: string, replace?: boolean) => void;
  signedIn: (me: Me) => void;
}

// A page fills ctx.root and returns what to undo (timers, event streams) when it is left.
export type Page = (ctx: PageContext) => (() => void) | void;

// The notice for a failed request: a missing route is a feature this server does not have.
export function errorNotice(e: unknown, feature: string): HTMLElement {
  if (e instanceof ApiError) {
    if (e.notAvailable) return notice("unavailable", `${feature} is not available on this server.`);
    if (e.status === 403) return notice("error", `${feature}: ${e.message}`);
    return notice("error", `${feature}: ${e.message} (${e.status} ${e.code})`);
  }
  return notice("error", `${feature}: ${String(e)}`);
}
