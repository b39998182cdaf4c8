// `foreman tasks …`: list (filtered, one page, newest first), show (the task, then its timeline oldest
// first), the state commands retry / skip / unblock / cancel, reassign and note. The API decides; a
// refusal comes back as its one line (the task's state and what can be done instead) and exit 1.
import { classOfReason, FAILURE_CLASSES, FAILURE_HINTS, type FailureClass } from "../../lib/failures.ts";
import { TASK_STATES, type TaskState } from "../../lib/states.ts";
import { CliError, call } from "./client.ts";
import { type Command, type Context, show, type Values } from "./command.ts";
import { age, eventGist, num, table, usd, withWarnings } from "./format.ts";

interface Task {
  id: string;
  title: string;
  state: TaskState;
  state_reason: string | null;
  failure_class: FailureClass | null;
  skipped: boolean;
  priority: string;
  lane: string;
  project: string;
  plan: string | null;
  worker: string | null;
  dry_run: boolean;
  revision_count: number;
  created_at: string;
  updated_at: string;
}
interface Event {
  id: number;
  kind: string;
  actor: string;
  payload: Record<string, unknown>;
  at: string;
}
interface Shown {
  task: Task;
  allowed_actions: string[];
  depends_on: { id: string; state: string }[];
  timeline: Event[];
  timeline_next_cursor: number | null;
  review_history: { human_revisions: number; auto_revisions: number };
  usage: {
    calls: number;
    tokens_in: number;
    tokens_out: number;
    cache_write_tokens?: number;
    cost_usd: number;
  };
}
interface Moved {
  task: { id: string; state: TaskState };
  /** Absent when the command was accepted as a retriage (HTTP 202): the task has not moved yet. */
  transition?: { from: TaskState; to: TaskState; event_id: number; replayed: boolean };
  retriage?: { event_id: number; replayed: boolean; why: string };
  unblocks?: { id: string; title: string; state: string; triaged: boolean }[];
  still_waiting?: { id: string; title: string; waiting_on: string[] }[];
  warnings?: string[];
}

const oneOf = <T extends string>(
  name: string,
  value: string | boolean | undefined,
  allowed: readonly T[],
) => {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw new CliError(`--${name} must be one of: ${allowed.join(", ")}`, 2);
  }
  return value as T;
};

const enc = encodeURIComponent;

async function list(ctx: Context, _args: string[], v: Values) {
  const q = new URLSearchParams();
  const state = oneOf("state", v.state, TASK_STATES);
  const cls = oneOf("failure-class", v["failure-class"], FAILURE_CLASSES);
  if (state) q.set("state", state);
  if (typeof v.project === "string") q.set("project", v.project);
  if (cls) q.set("failure_class", cls);
  if (v.limit !== undefined) {
    const n = Number(v.limit);
    if (!Number.isInteger(n) || n < 1 || n > 100)
      throw new CliError("--limit must be a whole number 1–100", 2);
    q.set("limit", String(n));
  }
  if (typeof v.cursor === "string") q.set("cursor", v.cursor);
  const body = (await call(ctx.connection(), "GET", `/api/tasks${q.size ? `?${q}` : ""}`)) as {
    tasks: Task[];
    next_cursor: string | null;
  };
  show(ctx, body, () => {
    if (body.tasks.length === 0) return "no tasks";
    const withClass = body.tasks.some((t) => t.state === "failed_needs_triage");
    const columns = [
      { header: "ID" },
      { header: "STATE" },
      ...(withClass ? [{ header: "CLASS" }] : []),
      { header: "LANE" },
      { header: "PROJECT" },
      { header: "WORKER" },
      { header: "AGE", align: "right" as const },
      { header: "TITLE", flex: true },
    ];
    const rows = body.tasks.map((t) => [
      t.id,
      t.skipped ? "done (skipped)" : t.state,
      ...(withClass
        ? [t.state === "failed_needs_triage" ? (t.failure_class ?? classOfReason(t.state_reason)) : ""]
        : []),
      t.lane,
      t.project,
      t.worker ?? "—",
      age(t.created_at, ctx.now),
      t.title,
    ]);
    const more = body.next_cursor ? `\nmore: add --cursor ${body.next_cursor}` : "";
    return table(columns, rows, { width: ctx.width }) + more;
  });
}

async function showTask(ctx: Context, [id]: string[], v: Values) {
  const n = Number(v.events ?? 100);
  if (!Number.isInteger(n) || n < 1 || n > 500)
    throw new CliError("--events must be a whole number 1–500", 2);
  const limit = v.events === undefined ? "" : `?events_limit=${n}`;
  const b = (await call(ctx.connection(), "GET", `/api/tasks/${enc(id as string)}${limit}`)) as Shown;
  show(ctx, b, () => {
    const t = b.task;
    const when = (at: string) => `${age(at, ctx.now)} ago (${at})`;
    // A task failed before tasks.failure_class existed is classed from its reason, as /failures does.
    const cls = t.state === "failed_needs_triage" ? (t.failure_class ?? classOfReason(t.state_reason)) : null;
    const state = [
      [t.skipped ? "done (skipped)" : t.state, t.state_reason].filter(Boolean).join(" — "),
      ...(cls ? [`${" ".repeat(11)}class ${cls}: ${FAILURE_HINTS[cls]}`] : []),
    ].join("\n");
    const fields: [string, string][] = [
      ["state", state],
      ["project", `${t.project}${t.plan ? `   plan ${t.plan}` : ""}`],
      ["worker", `${t.worker ?? "—"}   lane ${t.lane} (${t.priority})${t.dry_run ? "   dry-run" : ""}`],
      [
        "revisions",
        `${b.review_history.auto_revisions} by the reviewer, ${b.review_history.human_revisions} by people`,
      ],
      ["depends on", b.depends_on.map((d) => `${d.id} (${d.state})`).join(", ") || "—"],
      [
        "usage",
        `${num(b.usage.calls)} calls, ${num(b.usage.tokens_in + b.usage.tokens_out + (b.usage.cache_write_tokens ?? 0))} tokens, ${usd(b.usage.cost_usd)}`,
      ],
      ["created", when(t.created_at)],
      ["updated", when(t.updated_at)],
      ["actions", b.allowed_actions.join(", ")],
    ];
    const head = [`${t.id}  ${t.title}`, ...fields.map(([k, val]) => `${k.padEnd(10)} ${val}`)].join("\n");
    if (b.timeline.length === 0) return `${head}\n\nno events yet`;
    const events = [...b.timeline].reverse();
    const older = b.timeline_next_cursor ? ` (older events: --events N, up to 500)` : "";
    const rows = events.map((e) => [age(e.at, ctx.now), e.kind, e.actor, eventGist(e.kind, e.payload)]);
    const log = table(
      [
        { header: "AGE", align: "right" },
        { header: "EVENT" },
        { header: "ACTOR" },
        { header: "DETAIL", flex: true },
      ],
      rows,
      { width: ctx.width, flexMax: 100 },
    );
    return `${head}\n\ntimeline, oldest first${older}\n${log}`;
  });
}

const moving =
  (action: "retry" | "skip" | "unblock" | "cancel") =>
  async (ctx: Context, [id]: string[], v: Values) => {
    const body = typeof v.reason === "string" ? { reason: v.reason } : {};
    const r = (await call(
      ctx.connection(),
      "POST",
      `/api/tasks/${enc(id as string)}/${action}`,
      body,
    )) as Moved;
    show(ctx, r, () => {
      const tr = r.transition;
      if (!tr) {
        const q = r.retriage;
        return withWarnings(
          `${r.task.id}: stays ${r.task.state} (event ${q?.event_id})${q?.replayed ? " — already asked, nothing new" : ""}: ${q?.why}`,
          r.warnings,
        );
      }
      const lines = [
        `${r.task.id}: ${tr.from} → ${tr.to} (event ${tr.event_id})${tr.replayed ? " — already done, nothing new" : ""}`,
      ];
      if (action === "skip") {
        const unblocks = r.unblocks ?? [];
        if (unblocks.length === 0) lines.push("unblocks no dependents");
        for (const d of unblocks) {
          lines.push(
            `unblocks ${d.id} ${d.title} — ${d.triaged ? "promote moves it to ready" : "ready once intake triages it"}`,
          );
        }
        for (const d of r.still_waiting ?? []) {
          lines.push(`still waiting: ${d.id} ${d.title} — on ${d.waiting_on.join(", ")}`);
        }
      }
      return withWarnings(lines, r.warnings);
    });
  };

async function reassign(ctx: Context, [id, worker]: string[], v: Values) {
  const body = { worker, ...(typeof v.reason === "string" ? { reason: v.reason } : {}) };
  const r = (await call(ctx.connection(), "POST", `/api/tasks/${enc(id as string)}/reassign`, body)) as {
    task: { id: string; state: string };
    reassignment: { from: string | null; to: string; changed: boolean; event_id: number | null };
    warnings?: string[];
  };
  show(ctx, r, () =>
    withWarnings(
      r.reassignment.changed
        ? `${r.task.id}: worker ${r.reassignment.from ?? "—"} → ${r.reassignment.to} (${r.task.state}, event ${r.reassignment.event_id})`
        : `${r.task.id} already has worker ${r.reassignment.to}; nothing changed`,
      r.warnings,
    ),
  );
}

async function note(ctx: Context, [id, ...words]: string[]) {
  const r = (await call(ctx.connection(), "POST", `/api/tasks/${enc(id as string)}/notes`, {
    text: words.join(" "),
  })) as { note: { event_id: number } };
  show(ctx, r, () => `note added to ${id} (event ${r.note.event_id})`);
}

const reason = { type: "string", value: "TEXT", help: "why, kept in the task's log" } as const;

export const taskCommands: Command[] = [
  {
    words: ["tasks", "list"],
    args: [],
    summary: "list tasks, newest first",
    options: {
      state: { type: "string", value: "STATE", help: `only this state (${TASK_STATES.join(", ")})` },
      project: { type: "string", value: "ID", help: "only this project" },
      "failure-class": {
        type: "string",
        value: "CLASS",
        help: `only tasks whose last failure had this class (${FAILURE_CLASSES.join(", ")})`,
      },
      limit: { type: "string", value: "N", help: "how many (1–100, default 50)" },
      cursor: { type: "string", value: "ID", help: "the next page, as the last page said" },
    },
    run: list,
  },
  {
    words: ["tasks", "show"],
    args: ["ID"],
    summary: "one task and its timeline",
    options: { events: { type: "string", value: "N", help: "how many recent events (1–500, default 100)" } },
    run: showTask,
  },
  {
    words: ["tasks", "retry"],
    args: ["ID"],
    summary: "run a failed task again (failed_needs_triage → ready)",
    options: { reason },
    run: moving("retry"),
  },
  {
    words: ["tasks", "skip"],
    args: ["ID"],
    summary: "give up on a failed task so its dependents can go on (→ done, skipped)",
    details: "Prints the dependents this unblocks; promote moves the triaged ones to ready.",
    options: { reason },
    run: moving("skip"),
  },
  {
    words: ["tasks", "unblock"],
    args: ["ID"],
    summary: "what a blocked task waited for has arrived (blocked_external → ready)",
    options: { reason },
    run: moving("unblock"),
  },
  {
    words: ["tasks", "cancel"],
    args: ["ID"],
    summary: "cancel a task that is not finished; a running work run is stopped",
    options: { reason },
    run: moving("cancel"),
  },
  {
    words: ["tasks", "reassign"],
    args: ["ID", "WORKER"],
    summary: "give a task to another worker (ready, blocked_external or failed_needs_triage)",
    options: { reason },
    run: reassign,
  },
  {
    words: ["tasks", "note"],
    args: ["ID", "TEXT..."],
    summary: "add a note to a task's log (the worker's dossier shows it)",
    run: note,
  },
];
