// `foreman workers | budget | failures | pause | resume`: the queue as a whole — who holds which slot,
// today's spend against the budget and where it went, what is waiting in triage and what to do about
// it, and the scheduler's pause switch.
import { call } from "./client.ts";
import { type Command, type Context, show, type Values } from "./command.ts";
import { age, num, table, usd, withWarnings } from "./format.ts";

interface Worker {
  id: string;
  name: string;
  agent_type: string;
  model_tier: string;
  active: boolean;
  slots: number;
  busy: number;
  queued: number;
  leases: {
    slot: number;
    task_id: string;
    task_title: string;
    run_id: string;
    since: string;
    expires_at: string;
    lapsed: boolean;
  }[];
}
interface Pause {
  paused: boolean;
  since: string | null;
  reason: string | null;
  actor: string | null;
  /** Set while the daily budget holds the pause (older servers omit it). */
  budget_day?: string | null;
}
interface Line {
  key: string;
  calls: number;
  tokens: number;
  cost_usd: number;
}

async function workers(ctx: Context) {
  const body = (await call(ctx.connection(), "GET", "/api/admin/workers")) as { workers: Worker[] };
  show(ctx, body, () => {
    if (body.workers.length === 0) return "no workers";
    const main = table(
      [
        { header: "ID" },
        { header: "NAME", flex: true },
        { header: "TYPE" },
        { header: "TIER" },
        { header: "ACTIVE" },
        { header: "SLOTS", align: "right" },
        { header: "BUSY", align: "right" },
        { header: "QUEUED", align: "right" },
      ],
      body.workers.map((w) => [
        w.id,
        w.name,
        w.agent_type,
        w.model_tier,
        w.active ? "yes" : "no",
        String(w.slots),
        String(w.busy),
        String(w.queued),
      ]),
      { width: ctx.width, flexMax: 30 },
    );
    const leases = body.workers.flatMap((w) => w.leases.map((l) => ({ worker: w.id, ...l })));
    if (leases.length === 0) return `${main}\n\nno slots held`;
    const held = table(
      [
        { header: "WORKER" },
        { header: "SLOT", align: "right" },
        { header: "TASK" },
        { header: "RUN" },
        { header: "HELD", align: "right" },
        { header: "EXPIRES" },
        { header: "TITLE", flex: true },
      ],
      leases.map((l) => [
        l.worker,
        String(l.slot),
        l.task_id,
        l.run_id,
        age(l.since, ctx.now),
        l.lapsed ? `lapsed ${age(l.expires_at, ctx.now)} ago` : `in ${age(ctx.now, new Date(l.expires_at))}`,
        l.task_title,
      ]),
      { width: ctx.width },
    );
    return `${main}\n\n${held}`;
  });
}

const pauseLine = (p: Pause, now: Date) =>
  p.paused
    ? `PAUSED${p.since ? ` ${age(p.since, now)} ago` : ""}${p.reason ? ` — ${p.reason}` : ""}${p.actor ? ` (by ${p.actor})` : ""}${p.budget_day ? `; lifts itself on a new UTC day after ${p.budget_day}` : ""}`
    : "running";

async function budget(ctx: Context) {
  const b = (await call(ctx.connection(), "GET", "/api/admin/budget")) as {
    day: string;
    tokens: { used: number; limit: number; share_pct: number | null };
    cost: { used_usd: number; limit_usd: number | null };
    task_token_cap: number;
    spent: boolean;
    warnings: number[];
    scheduler: Pause;
    by_project: Line[];
    by_tier: Line[];
  };
  show(ctx, b, () => {
    const share = b.tokens.share_pct === null ? "" : ` (${b.tokens.share_pct} %)`;
    const state = b.spent ? "   SPENT" : b.warnings.length ? `   past ${b.warnings.at(-1)} %` : "";
    const head = [
      `today      ${b.day} (UTC)`,
      `tokens     ${num(b.tokens.used)} of ${num(b.tokens.limit)}${share}${state}`,
      `cost       ${usd(b.cost.used_usd)}${b.cost.limit_usd === null ? " (no cost cap)" : ` of ${usd(b.cost.limit_usd)}`}`,
      `task cap   ${num(b.task_token_cap)} tokens`,
      `scheduler  ${pauseLine(b.scheduler, ctx.now)}`,
    ].join("\n");
    const spend = (title: string, lines: Line[]) =>
      table(
        [
          { header: title, flex: true },
          { header: "CALLS", align: "right" },
          { header: "TOKENS", align: "right" },
          { header: "COST", align: "right" },
        ],
        lines.map((l) => [l.key, num(l.calls), num(l.tokens), usd(l.cost_usd)]),
        { width: ctx.width, flexMax: 40 },
      );
    if (b.by_project.length === 0) return `${head}\n\nno model calls today`;
    return `${head}\n\n${spend("PROJECT", b.by_project)}\n\n${spend("TIER/PROVIDER", b.by_tier)}`;
  });
}

async function failures(ctx: Context, _args: string[], v: Values) {
  const q = typeof v.project === "string" ? `?project=${encodeURIComponent(v.project)}` : "";
  const b = (await call(ctx.connection(), "GET", `/api/admin/failures${q}`)) as {
    total: number;
    classes: { class: string; count: number; hint: string }[];
  };
  show(ctx, b, () => {
    if (b.total === 0) return "no tasks in triage";
    const rows = b.classes.map((c) => [c.class, String(c.count), c.hint]);
    return [
      table(
        [{ header: "CLASS" }, { header: "TASKS", align: "right" }, { header: "WHAT TO DO", flex: true }],
        rows,
        {
          width: ctx.width,
          flexMax: 80,
        },
      ),
      "",
      `${b.total} in triage; list a class with: foreman tasks list --state failed_needs_triage --failure-class CLASS`,
    ].join("\n");
  });
}

type Flip = Pause & { changed: boolean; warnings?: string[] };

async function pause(ctx: Context, _args: string[], v: Values) {
  const body = typeof v.reason === "string" ? { reason: v.reason } : {};
  const r = (await call(ctx.connection(), "POST", "/api/admin/pause", body)) as Flip;
  show(ctx, r, () =>
    withWarnings(
      r.changed
        ? `scheduler paused${r.reason ? ` — ${r.reason}` : ""}: nothing new is leased until \`foreman resume\``
        : `scheduler was already paused (${pauseLine(r, ctx.now)})`,
      r.warnings,
    ),
  );
}

async function resume(ctx: Context) {
  const r = (await call(ctx.connection(), "POST", "/api/admin/resume", {})) as Flip;
  show(ctx, r, () => withWarnings(r.changed ? "scheduler resumed" : "scheduler was not paused", r.warnings));
}

export const opsCommands: Command[] = [
  { words: ["workers"], args: [], summary: "workers, their slots and who holds them", run: workers },
  { words: ["budget"], args: [], summary: "today's tokens and cost against the budget", run: budget },
  {
    words: ["failures"],
    args: [],
    summary: "tasks in triage by failure class, with what to do",
    options: { project: { type: "string", value: "ID", help: "only this project" } },
    run: failures,
  },
  {
    words: ["pause"],
    args: [],
    summary: "stop the scheduler leasing new work (running work goes on)",
    options: { reason: { type: "string", value: "TEXT", help: "why, sent with the pause alert" } },
    run: pause,
  },
  { words: ["resume"], args: [], summary: "let the scheduler lease again", run: resume },
];
