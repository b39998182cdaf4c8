// Small formatters the board's pages share: state and failure-class labels, relative times in a <time>
// element carrying the exact instant, numbers, and one line of text per task event.
import { html } from "hono/html";
import type { FailureClass } from "../../lib/failures.ts";
import type { TaskState } from "../../lib/states.ts";
import { clipWithEllipsis } from "../../lib/text.ts";

export const STATE_LABELS: Record<TaskState, string> = {
  intake: "Intake",
  ready: "Ready",
  working: "Working",
  awaiting_internal_review: "Internal review",
  awaiting_client_review: "Client review",
  done: "Done",
  blocked_external: "Blocked (external)",
  failed_needs_triage: "Needs triage",
  cancelled: "Cancelled",
};

export const CLASS_LABELS: Record<FailureClass, string> = {
  rate_limit: "Rate limit",
  auth: "Auth",
  timeout: "Timeout",
  malformed_output: "Malformed output",
  budget: "Budget",
  dependency: "Dependency",
  external_api: "External API",
  other: "Other",
};

const MINUTE = 60_000;

/** "just now", "12 min", "5 h", "3 d": coarse on purpose, the exact instant is in the title. */
export function span(from: Date, now: Date): string {
  const ms = Math.max(0, now.getTime() - from.getTime());
  if (ms < MINUTE) return "under a minute";
  if (ms < 60 * MINUTE) return `${Math.floor(ms / MINUTE)} min`;
  if (ms < 48 * 60 * MINUTE) return `${Math.floor(ms / (60 * MINUTE))} h`;
  return `${Math.floor(ms / (24 * 60 * MINUTE))} d`;
}

const utc = (d: Date) => `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;

/** A relative time the reader can expand: `<time datetime title>`. */
export const ago = (d: Date, now: Date) =>
  html`<time datetime="${d.toISOString()}" title="${utc(d)}">${span(d, now)} ago</time>`;

export const at = (d: Date) => html`<time datetime="${d.toISOString()}">${utc(d)}</time>`;

export const day = (d: Date) =>
  html`<time datetime="${d.toISOString()}">${d.toISOString().slice(0, 10)}</time>`;

const int = new Intl.NumberFormat("en-US");
export const count = (n: number) => int.format(n);
export const usd = (n: number) => `$${n.toFixed(2)}`;

const clip = (s: string, max = 160) => clipWithEllipsis(s, max);

const str = (v: unknown) => (typeof v === "string" ? v : undefined);

/** One line for a task event: what happened, in words where the kind is common. */
export function eventLine(kind: string, payload: Record<string, unknown>): string {
  const p = payload;
  switch (kind) {
    case "state_changed": {
      const from = STATE_LABELS[p.from as TaskState] ?? String(p.from);
      const to = STATE_LABELS[p.to as TaskState] ?? String(p.to);
      return clip(`${from} → ${to}${str(p.reason) ? `: ${p.reason}` : ""}`);
    }
    case "note":
    case "worker_summary":
      return clip(str(p.text) ?? "");
    case "stamp":
      return clip(
        `${String(p.decision)}${str(p.stage) ? ` (${p.stage})` : ""}${str(p.note) ? `: ${p.note}` : ""}`,
      );
    case "review":
      return clip(`${String(p.verdict)}${typeof p.score === "number" ? `, score ${p.score}` : ""}`);
    case "refusal":
      return clip(`${String(p.what)}: ${String(p.reason)}`);
    case "reminder":
    case "escalation":
      return clip(`to ${String(p.to)}`);
    case "tool_call":
    case "tool_result":
      return clip(String(p.tool));
    case "would_do":
      return clip(`${String(p.method)} ${String(p.path)}`);
    default:
      return clip(JSON.stringify(p));
  }
}
