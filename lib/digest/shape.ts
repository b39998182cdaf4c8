// The digest's numbers, shaped from the rows gather.ts reads (pure): done by project and by worker,
// tasks per state now, stuck items, stamps waiting with whom they wait on, failures by class, tokens
// and cost against the budget by project, worker and provider, and the local tier's share. Every value
// is plain JSON, so the digest is a step result as it is. What counts as stuck is defined here:
//   - a `working` task with no event of any kind for more than STUCK_WORKING_HOURS (its run is silent);
//   - an `intake` or `ready` task that entered that state more than STUCK_QUEUED_HOURS ago (nobody
//     triaged or scheduled it) — but not a triaged intake task whose dependency is still open: it
//     waits for that one, which is reported on its own if it is stuck. Blocked and failed tasks are
//     not "stuck": they wait on a person, and are counted in the states and failures.
import { classOfReason, FAILURE_CLASSES, type FailureClass } from "../failures.ts";
import { type StampStage, TASK_STATES, type TaskState } from "../states.ts";
import type { DigestPeriod } from "./period.ts";

export const STUCK_WORKING_HOURS = 2;
export const STUCK_QUEUED_HOURS = 24;
/** Items listed by name (stuck tasks, waiting stamps); the counts always cover all of them. */
export const LISTED_ITEMS = 50;

const HOUR_MS = 3_600_000;

export interface Count {
  /** The id (project, worker), or null where there is none. */
  key: string | null;
  label: string;
  n: number;
}

export interface Spend {
  key: string | null;
  label: string;
  tokens: number;
  costUsd: number;
}

export interface StuckItem {
  taskId: string;
  title: string;
  project: string;
  state: TaskState;
  /** working: no event since then · intake/ready: in that state since then. */
  why: "silent" | "queued";
  since: string;
  hours: number;
}

export interface WaitingStamp {
  taskId: string;
  title: string;
  project: string;
  stage: StampStage;
  since: string;
  hours: number;
  /** The active human reviewers of the project (or of every project) for that stage. */
  waitingOn: { name: string; escalates: boolean }[];
}

export interface Digest {
  period: DigestPeriod;
  /** task_events rows written in the period (every kind). */
  events: number;
  /** Done by approval in the period; `skipped` counts the moves to done by a skip, kept apart. */
  done: { total: number; skipped: number; byProject: Count[]; byWorker: Count[] };
  /** Tasks per state now (every state, zeros included). */
  states: Record<TaskState, number>;
  stuck: { total: number; silent: number; queued: number; items: StuckItem[] };
  stamps: {
    total: number;
    internal: number;
    client: number;
    oldestHours: number | null;
    items: WaitingStamp[];
  };
  /** Moves to failed_needs_triage in the period, by the class their reason carries. */
  failures: { total: number; byClass: Record<FailureClass, number> };
  spend: {
    tokens: number;
    costUsd: number;
    /** The daily budgets times the period's days. */
    budget: { tokens: number; costUsd: number | null };
    /** Spent / budget (0.24 = 24 %); null without a budget. */
    tokenShare: number | null;
    costShare: number | null;
    byProject: Spend[];
    byWorker: Spend[];
    byProvider: Spend[];
    localTokens: number;
    /** Local tokens / all tokens; null when nothing was spent. */
    localShare: number | null;
  };
}

// The rows as gather.ts reads them (validated there).
export interface RawDigest {
  events: number;
  /** Moves to done by a skip in the period (not in `done`). */
  skipped?: number;
  done: {
    project_id: string;
    project_name: string;
    worker_id: string | null;
    worker_name: string | null;
    n: number;
  }[];
  states: { status: string; n: number }[];
  failures: { reason: string | null; n: number }[];
  usage: {
    project_id: string | null;
    project_name: string | null;
    has_task: boolean;
    worker_id: string | null;
    worker_name: string | null;
    provider: string;
    tier: string;
    tokens: number;
    cost_usd: number;
  }[];
  stuck: { id: string; title: string; status: string; project_name: string; since: string }[];
  stuck_counts: { silent: number; queued: number };
  waiting: {
    id: string;
    title: string;
    status: string;
    project_name: string;
    since: string;
    waiting_on: { name: string; escalates: boolean }[];
  }[];
  waiting_counts: { internal: number; client: number; oldest: string | null };
}

export interface DigestLimits {
  dailyTokens: number;
  dailyCostUsd?: number | undefined;
}

/** Whole hours between two instants (floored: "3 h" means at least three). */
export const hoursBetween = (from: string, to: string): number =>
  Math.floor((Date.parse(to) - Date.parse(from)) / HOUR_MS);

/** USD to the micro-dollar token_usage keeps, so float sums do not show noise. */
const usd = (n: number): number => Math.round(n * 1e6) / 1e6;

const byCountThenLabel =
  <T extends { label: string }>(value: (x: T) => number) =>
  (a: T, b: T) =>
    value(b) - value(a) || a.label.localeCompare(b.label);

function sumBy<R>(rows: R[], keyOf: (r: R) => { key: string | null; label: string }, n: (r: R) => number) {
  const out = new Map<string, Count>();
  for (const r of rows) {
    const { key, label } = keyOf(r);
    const id = key ?? `\u0000${label}`;
    const prev = out.get(id);
    if (prev) prev.n += n(r);
    else out.set(id, { key, label, n: n(r) });
  }
  return [...out.values()].sort(byCountThenLabel<Count>((c) => c.n));
}

type UsageRow = RawDigest["usage"][number];

function spendBy(rows: UsageRow[], keyOf: (r: UsageRow) => string | null, labelOf: (r: UsageRow) => string) {
  const out = new Map<string, Spend>();
  for (const r of rows) {
    const key = keyOf(r);
    const label = labelOf(r);
    const id = key ?? `\u0000${label}`;
    const prev = out.get(id);
    if (prev) {
      prev.tokens += r.tokens;
      prev.costUsd = usd(prev.costUsd + r.cost_usd);
    } else out.set(id, { key, label, tokens: r.tokens, costUsd: usd(r.cost_usd) });
  }
  return [...out.values()].sort(byCountThenLabel<Spend>((s) => s.tokens));
}

const workerLabel = (r: { worker_id: string | null; worker_name: string | null }) =>
  r.worker_name ?? r.worker_id ?? "(unassigned)";

export function shapeDigest(raw: RawDigest, period: DigestPeriod, limits: DigestLimits): Digest {
  const states = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
  for (const r of raw.states) if (r.status in states) states[r.status as TaskState] += r.n;

  const byClass = Object.fromEntries(FAILURE_CLASSES.map((c) => [c, 0])) as Record<FailureClass, number>;
  // The same classifier the transition used to set tasks.failure_class, on the same reason.
  for (const f of raw.failures) byClass[classOfReason(f.reason)] += f.n;

  const tokens = raw.usage.reduce((s, u) => s + u.tokens, 0);
  const costUsd = usd(raw.usage.reduce((s, u) => s + u.cost_usd, 0));
  const localTokens = raw.usage.filter((u) => u.tier === "local").reduce((s, u) => s + u.tokens, 0);
  const budgetTokens = limits.dailyTokens * period.days;
  const budgetCost = limits.dailyCostUsd === undefined ? null : usd(limits.dailyCostUsd * period.days);

  return {
    period,
    events: raw.events,
    done: {
      total: raw.done.reduce((s, d) => s + d.n, 0),
      skipped: raw.skipped ?? 0,
      byProject: sumBy(
        raw.done,
        (d) => ({ key: d.project_id, label: d.project_name }),
        (d) => d.n,
      ),
      byWorker: sumBy(
        raw.done,
        (d) => ({ key: d.worker_id, label: workerLabel(d) }),
        (d) => d.n,
      ),
    },
    states,
    stuck: {
      total: raw.stuck_counts.silent + raw.stuck_counts.queued,
      silent: raw.stuck_counts.silent,
      queued: raw.stuck_counts.queued,
      items: raw.stuck.map((s) => ({
        taskId: s.id,
        title: s.title,
        project: s.project_name,
        state: s.status as TaskState,
        why: s.status === "working" ? ("silent" as const) : ("queued" as const),
        since: new Date(s.since).toISOString(),
        hours: hoursBetween(s.since, period.at),
      })),
    },
    stamps: {
      total: raw.waiting_counts.internal + raw.waiting_counts.client,
      internal: raw.waiting_counts.internal,
      client: raw.waiting_counts.client,
      oldestHours: raw.waiting_counts.oldest ? hoursBetween(raw.waiting_counts.oldest, period.at) : null,
      items: raw.waiting.map((w) => ({
        taskId: w.id,
        title: w.title,
        project: w.project_name,
        stage: w.status === "awaiting_internal_review" ? ("internal" as const) : ("client" as const),
        since: new Date(w.since).toISOString(),
        hours: hoursBetween(w.since, period.at),
        waitingOn: w.waiting_on,
      })),
    },
    failures: { total: raw.failures.reduce((s, f) => s + f.n, 0), byClass },
    spend: {
      tokens,
      costUsd,
      budget: { tokens: budgetTokens, costUsd: budgetCost },
      tokenShare: budgetTokens > 0 ? tokens / budgetTokens : null,
      costShare: budgetCost ? costUsd / budgetCost : null,
      byProject: spendBy(
        raw.usage,
        (u) => u.project_id,
        (u) => u.project_name ?? "(no project)",
      ),
      byWorker: spendBy(
        raw.usage,
        (u) => u.worker_id,
        (u) => (u.has_task ? workerLabel(u) : "(no task)"),
      ),
      byProvider: spendBy(
        raw.usage,
        (u) => u.provider,
        (u) => u.provider,
      ),
      localTokens,
      localShare: tokens > 0 ? localTokens / tokens : null,
    },
  };
}
