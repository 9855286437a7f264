// The server's JSON API with the cookie session: every state-changing request carries the
// CSRF token that sign-in returned (kept for this tab in sessionStorage).

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
  // The route is missing on this server (a feature that is not built into it).
  get notAvailable(): boolean {
    return this.status === 404 || this.status === 501;
  }
}

const kCsrfKey = "tandem.csrf";

export function setCsrf(token: string): void {
  sessionStorage.setItem(kCsrfKey, token);
}

export function clearCsrf(): void {
  sessionStorage.removeItem(kCsrfKey);
}

let onUnauthenticated: () => void = () => {};
export function setUnauthenticatedHandler(f: () => void): void {
  onUnauthenticated = f;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = sessionStorage.getItem(kCsrfKey) ?? "";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, "network", `the server did not answer (${String(e)})`);
  }
  const text = res.status === 204 ? "" : await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
    const error = new ApiError(res.status, err?.code ?? `http_${res.status}`, err?.message ?? res.statusText);
    // A POST without this tab's CSRF token (a new tab, a cleared storage) needs a new sign-in.
    if (res.status === 401 || (res.status === 403 && error.code === "csrf")) onUnauthenticated();
    throw error;
  }
  return data as T;
}

export const get = <T>(path: string) => api<T>("GET", path);
export const post = <T>(path: string, body: unknown = {}) => api<T>("POST", path, body);
export const del = <T>(path: string) => api<T>("DELETE", path);

// --- shapes of the API (docs/server.md and the API contract) ---

export interface Me {
  user: string;
  role: "admin" | "member" | "viewer";
}

export interface Budget {
  usd?: number;
  tokens?: number;
  seconds?: number;
  tool_calls?: number;
}

export interface TaskSummary {
  id: string;
  goal: string;
  status: string;
  stop_reason: string;
  created_at_ms: number;
  updated_at_ms: number;
  parent_id?: string;
  pending_approval?: PendingApproval | null;
}

export interface Step {
  seq: number;
  status: string;
  thoughts: string;
  tool_call: { id: string; name: string; arguments: unknown };
  result: string;
  is_error: boolean;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number | null;
  provider: string;
  zone: string;
}

export interface PendingApproval {
  step: number;
  tool: string;
  arguments: unknown;
  effect?: string;
  untrusted_paths?: string[];
  reason?: string;
}

export interface TaskDetail extends TaskSummary {
  taint: string;
  steps: Step[];
  artifacts: { path: string; size_bytes: number; step: number }[];
  totals: {
    model_calls: number;
    prompt_tokens: number;
    completion_tokens: number;
    cost_usd: number;
    cost_complete: boolean;
  };
}

export interface RouteDecision {
  time_ms: number;
  route: string;
  provider: string;
  reason: string;
  rules: string[];
  outcome: string;
  step?: number;  // The step the model call was for (absent when the server cannot tell).
}

export interface TaskEvent {
  id: number;
  task_id: string;
  type: string;
  time_ms: number;
  payload: Record<string, unknown>;
}

export interface CostRow {
  calls: number;
  tokens: number;
  cost_usd: number;
  zone?: string;
  provider?: string;
  model?: string;
}

export interface CostReport {
  currency: string;
  days: number;
  total: { calls: number; tokens_in: number; tokens_out: number; cost_usd: number };
  by_day: { day: string; local_usd: number; cloud_usd: number; calls: number }[];
  by_zone: CostRow[];
  by_provider: CostRow[];
  by_model: CostRow[];
  local_share: { calls: number; tokens: number };
  all_cloud_usd: number;
  savings_usd: number;
}

export interface AuditEntry {
  id: number;
  time_ms: number;
  task_id: string;
  kind: string;
  zone: string;
  provider: string;
  reason: string;
  detail: unknown;
}

export interface ProviderHealth {
  name: string;
  zone: string;
  kind: string;
  model: string;
  healthy: boolean;
  last_error: string;
  calls: number;
  p50_ms: number | null;
  p99_ms: number | null;
}

export interface Policy {
  profiles: { name: string; description: string }[];
  default_budget: Budget;
  max_steps: number;
}

export interface Schedule {
  id: string;
  name: string;
  cron: string;
  timezone: string;
  goal: string;
  budget: Budget | null;
  shared: boolean;
  missed: string;
  overlap: string;
  enabled: boolean;
  next_run_ms: number | null;
  last_run: { task_id: string; time_ms: number; status: string } | null;
  owner: string;
}

export interface ScheduleRun {
  time_ms: number;
  task_id: string;
  outcome: string;
  detail: string;
}
