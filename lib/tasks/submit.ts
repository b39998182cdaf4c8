// Submitting tasks: validated inputs → ONE statement that inserts the tasks in `intake`, their
// dependency edges, the `submitted` rows of the event log, last_event_id and the `task/submitted`
// outbox rows. Foreign keys do the existence checks (a violation maps back to the input field); the
// (source, source_ref) unique index makes a repeated idempotency key return the same task, also
// under races; a HubSpot ticket foreman created for a task of its own (crm_links) returns that task.
// `submitMany` does the same for up to 100 inputs (a webhook batch) in one statement.
import { createHash } from "node:crypto";
import { getTableColumns, sql } from "drizzle-orm";
import { executePrepared } from "../../db/prepared.ts";
import { pgErrorOf, rowsOf, toJsonb } from "../../db/rows.ts";
import { tasks } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { DomainError } from "../errors.ts";
import { taskSubmitted } from "../events.ts";
import { newId } from "../ids.ts";
import type { OutboxMessage } from "../outbox/message.ts";
import { recordOutbox } from "../outbox/record.ts";
import { stableJson } from "../stable-json.ts";
import { cleanText } from "../text.ts";
import {
  DEFAULT_PROJECT_ID,
  DEFAULT_WORKER_ID,
  PRIORITIES,
  type SubmitTaskInput,
  submitTaskInput,
} from "./input.ts";

export type TaskRow = typeof tasks.$inferSelect;
type Source = TaskRow["source"];

export const MAX_BATCH = 100;

export interface SubmitOptions {
  source: Source;
  /** The source's idempotency reference (client key, HubSpot ticket id, …). */
  sourceRef?: string | undefined;
  actor: string;
}

export interface Submitted {
  task: TaskRow;
  created: boolean;
  /** The events the new task owes the engine (empty on a replay); publish them after the call. */
  outbox: OutboxMessage[];
}

export type SubmitOutcome = Submitted | { error: DomainError };

// Synchronous: WebCrypto's async digest costs a thread-pool round trip per call (see bench/intake).
const hashOf = (input: SubmitTaskInput): string =>
  createHash("sha256").update(stableJson(input)).digest("hex");

const invalid = (field: string, message: string) => new DomainError("VALIDATION", message, { field });

/** Foreign keys of the submit statement → the input field each one checks. */
const FK_FIELDS: Record<string, { field: string; what: string }> = {
  tasks_project_fk: { field: "project", what: "Project" },
  tasks_worker_fk: { field: "worker", what: "Worker" },
  tasks_plan_in_project_fk: { field: "plan", what: "Plan" },
  task_dependencies_depends_on_fk: { field: "depends_on", what: "Task" },
};

function foreignKeyError(err: unknown, prefix: string): DomainError | undefined {
  const pg = pgErrorOf(err);
  if (pg?.code !== "23503" || !pg.constraint) return undefined;
  const fk = FK_FIELDS[pg.constraint];
  if (!fk) return undefined;
  // detail: Key (plan_id, project_id)=(plan_x, proj_y) is not present in table "plans".
  const value = /=\((.*)\)/.exec(pg.detail ?? "")?.[1];
  const message =
    fk.field === "plan"
      ? `Plan does not exist in the task's project${value ? ` (plan, project = ${value})` : ""}.`
      : fk.field === "depends_on"
        ? `Unknown task(s): ${value ?? "?"}.`
        : `${fk.what} '${value ?? "?"}' does not exist.`;
  return new DomainError("VALIDATION", message, { field: `${prefix}${fk.field}`, cause: err });
}

const COLUMNS = Object.entries(getTableColumns(tasks));
/** A raw tasks row (snake_case columns, as the drivers return them) → the drizzle row shape. */
function taskFromRow(j: Record<string, unknown>): TaskRow {
  const row: Record<string, unknown> = {};
  for (const [key, col] of COLUMNS) {
    const v = j[col.name] ?? null;
    if (v === null) row[key] = null;
    else if (col.columnType === "PgTimestamp") row[key] = v instanceof Date ? v : new Date(v as string);
    else if (col.columnType === "PgBigInt53") row[key] = Number(v);
    else if (col.columnType === "PgJsonb" && typeof v === "string") row[key] = JSON.parse(v);
    else row[key] = v;
  }
  return row as TaskRow;
}

export interface SubmitItem extends SubmitOptions {
  input: unknown;
  /** CRM data: clean unreadable characters out of the text instead of refusing it, and record it. */
  clean?: boolean;
  /** A task id chosen by the caller (a plan's tasks reference each other before they exist). */
  id?: string;
  /** `input` is already submitTaskInput's output (submitShared parsed it to refuse it alone). */
  parsed?: boolean;
}

export interface SubmitManyOptions {
  /** false: a single submission, whose invalid input throws the ZodError itself. */
  batch?: boolean;
  /** More events owed by the same request (e.g. a webhook's stage changes), written to the outbox in
   *  the same statement; an id already in the outbox is a duplicate delivery and is skipped. */
  events?: OutboxMessage[];
}

/** Cleans the text fields of CRM-sourced input; returns what changed, field by field. */
function cleanInput(raw: unknown): { input: unknown; cleaned: string[] } {
  if (raw === null || typeof raw !== "object") return { input: raw, cleaned: [] };
  const input = { ...(raw as Record<string, unknown>) };
  const cleaned: string[] = [];
  for (const [field, multiline] of [
    ["title", false],
    ["description", true],
  ] as const) {
    const value = input[field];
    if (typeof value !== "string") continue;
    const out = cleanText(value, { multiline });
    input[field] = out.text;
    for (const change of out.cleaned) cleaned.push(`${field}: ${change}`);
  }
  return { input, cleaned };
}

type Prepared = {
  ord: number;
  id: string;
  hash: string;
  input: SubmitTaskInput;
  opts: SubmitOptions;
  cleaned: string[];
};

async function prepare(items: SubmitItem[], batch: boolean): Promise<Prepared[]> {
  const out: Prepared[] = [];
  for (const [ord, item] of items.entries()) {
    const { input, cleaned } = item.clean ? cleanInput(item.input) : { input: item.input, cleaned: [] };
    const parsed = item.parsed
      ? { success: true as const, data: input as SubmitTaskInput }
      : submitTaskInput.safeParse(input);
    if (!parsed.success) {
      if (!batch) throw parsed.error;
      const issue = parsed.error.issues[0];
      throw invalid(
        `[${ord}].${issue?.path.join(".") || "body"}`,
        `Item ${ord}: ${issue?.message ?? "invalid"}`,
      );
    }
    out.push({
      ord,
      id: item.id ?? newId("task"),
      hash: hashOf(parsed.data),
      input: parsed.data,
      opts: item,
      cleaned,
    });
  }
  return out;
}

/**
 * A tasks row with `found`: 'created' by this statement, or 'prior' for input item `prior_ord` — the
 * same source reference, or (`by_ticket`) the task whose own HubSpot ticket the item names.
 */
type ResultRow = Record<string, unknown> & {
  found: "created" | "prior";
  prior_ord: number | string | null;
  by_ticket: boolean | null;
};

/** `task/submitted`'s id prefix; the id is `task-submitted:<taskId>`. */
export const SUBMITTED_PREFIX = "task-submitted:";
const submittedEventId = (taskId: string) => `${SUBMITTED_PREFIX}${taskId}`;
/** The outbox row the statement wrote for a new task (the same id and data, built here once). */
const submittedMessage = (task: TaskRow): OutboxMessage => ({
  eventId: submittedEventId(task.id),
  name: taskSubmitted.name,
  data: { taskId: task.id, source: task.source },
});

async function insertBatch(db: AppDb, prepared: Prepared[], events: OutboxMessage[]): Promise<ResultRow[]> {
  const input = prepared.map((p) => ({
    ord: p.ord,
    id: p.id,
    project_id: p.input.project ?? DEFAULT_PROJECT_ID,
    plan_id: p.input.plan ?? null,
    title: p.input.title,
    description: p.input.description ?? "",
    priority: PRIORITIES.indexOf(p.input.priority ?? "normal"),
    worker_id: p.input.worker ?? DEFAULT_WORKER_ID,
    // Only a worker the submitter named can refuse the batch: the default is a placeholder that
    // triage replaces, so a retired default never turns away a webhook batch.
    worker_named: p.input.worker !== undefined,
    rubric: p.input.rubric ?? [],
    dry_run: p.input.dry_run ?? false,
    source: p.opts.source,
    source_ref: p.opts.sourceRef ?? null,
    submission_hash: p.hash,
    depends_on: p.input.depends_on ?? [],
    actor: p.opts.actor,
    cleaned: p.cleaned.length > 0 ? p.cleaned : null,
  }));
  const hasEdges = prepared.some((p) => (p.input.depends_on ?? []).length > 0);
  const result = await executePrepared(
    db,
    sql`
    with input as (
      select * from jsonb_to_recordset(${toJsonb(input)}::jsonb) as x(
        ord int, id text, project_id text, plan_id text, title text, description text, priority smallint,
        worker_id text, worker_named boolean, rubric jsonb, dry_run boolean, source task_source, source_ref text,
        submission_hash text, depends_on jsonb, actor text, cleaned jsonb)
    ),
    -- A correlated lookup, not a join: the planner guesses 100 input rows and would hash-join a
    -- sequential scan of every task; this stays one unique-index probe per input row. A HubSpot
    -- ticket foreman created for a task of its own (crm_links) is that task's, not a new one: its
    -- creation webhook comes back like any other.
    prior as (
      select i.ord, coalesce(s.id, l.task_id) as id, s.id is null as by_ticket from input i
        left join lateral (select t.id from tasks t
                            where t.source = i.source and t.source_ref = i.source_ref limit 1) s on true
        left join lateral (select cl.task_id from crm_links cl
                            where i.source = 'hubspot' and cl.ticket_id = i.source_ref limit 1) l on true
       where s.id is not null or l.task_id is not null
    ),
    fresh as (
      select i.*, nextval(pg_get_serial_sequence('task_events', 'id')) as event_id,
             (select w.active from workers w where w.id = i.worker_id) as worker_active
        from input i where not exists (select 1 from prior p where p.ord = i.ord)
    ),
    ins as (
      insert into tasks (id, project_id, plan_id, title, description, priority, worker_id, rubric, dry_run,
                         source, source_ref, submission_hash, last_event_id)
      select id, project_id, plan_id, title, description, priority, worker_id, rubric, dry_run,
             source, source_ref, submission_hash, event_id
        from fresh
       -- An inactive worker the submitter named refuses the whole batch, so a batch is all or nothing.
       where not exists (select 1 from fresh f where f.worker_active is false and f.worker_named)
       order by ord
      on conflict (source, source_ref) do nothing
      returning *
    ),
    -- What the event rows need beyond the task row, looked up by task id in one jsonb object (computed
    -- once): joining ins to fresh was a nested loop over both CTEs (the planner sees 1 row in each),
    -- 10,000 comparisons for a 100-task batch — a fifth of the statement's time.
    meta as materialized (
      select jsonb_object_agg(f.id, jsonb_build_object('dependsOn', f.depends_on, 'cleaned', f.cleaned,
                                                       'actor', f.actor)) as by_id
        from fresh f
    ),
    ${
      hasEdges
        ? sql`edges as (
      insert into task_dependencies (task_id, depends_on_id)
      select ins.id, d.value from ins
       cross join jsonb_array_elements_text((select by_id from meta) -> ins.id -> 'dependsOn') as d(value)
    ),`
        : sql``
    }
    ev as (
      insert into task_events (id, task_id, kind, payload, actor)
      select ins.last_event_id, ins.id, 'submitted',
             jsonb_build_object('source', ins.source, 'sourceRef', ins.source_ref, 'dependsOn', m.v -> 'dependsOn')
               || case when jsonb_typeof(m.v -> 'cleaned') = 'array'
                       then jsonb_build_object('cleaned', m.v -> 'cleaned') else '{}'::jsonb end,
             m.v ->> 'actor'
        from ins cross join lateral (select (select by_id from meta) -> ins.id as v) m
    ),
    ob as (
      insert into outbox (event_id, name, data, cause_event_id)
      select ${SUBMITTED_PREFIX}::text || ins.id, ${taskSubmitted.name}::text,
             jsonb_build_object('taskId', ins.id, 'source', ins.source), ins.last_event_id
        from ins
    )
    ${
      events.length > 0
        ? sql`, extra as (
      insert into outbox (event_id, name, data)
      select e.event_id, e.name, e.data
        from jsonb_to_recordset(${toJsonb(events.map((e) => ({ event_id: e.eventId, name: e.name, data: e.data })))}::jsonb)
             as e(event_id text, name text, data jsonb)
      on conflict (event_id) do nothing
    )`
        : sql``
    }
    select 'created' as found, null::int as prior_ord, null::boolean as by_ticket, ins.* from ins
    union all
    select 'prior', p.ord, p.by_ticket, t.* from prior p join tasks t on t.id = p.id`,
  );
  return rowsOf<ResultRow>(result);
}

async function readBySource(db: AppDb, source: Source, sourceRef: string): Promise<TaskRow | undefined> {
  const result = await db.execute(
    sql`select t.* from tasks t where t.source = ${source} and t.source_ref = ${sourceRef}`,
  );
  const row = rowsOf<Record<string, unknown>>(result)[0];
  return row ? taskFromRow(row) : undefined;
}

/** After a statement that inserted nothing for an item: was it refused for an inactive worker? */
async function inactiveWorker(db: AppDb, workerIds: string[]): Promise<string | undefined> {
  const result = await db.execute(
    sql`select id from workers where active = false and id in (select jsonb_array_elements_text(${toJsonb(workerIds)}::jsonb))`,
  );
  return rowsOf<{ id: string }>(result)[0]?.id;
}

function replayOf(p: Prepared, existing: TaskRow): SubmitOutcome {
  if (existing.submissionHash !== p.hash) {
    return {
      error: new DomainError(
        "CONFLICT",
        `The idempotency key '${p.opts.sourceRef}' was already used for a different task (${existing.id}).`,
        { field: "Idempotency-Key", details: { taskId: existing.id } },
      ),
    };
  }
  return { task: existing, created: false, outbox: [] };
}

/** Submits up to 100 tasks in one statement; a repeated source reference answers with its task. */
export async function submitMany(
  db: AppDb,
  items: SubmitItem[],
  opts: SubmitManyOptions = {},
): Promise<SubmitOutcome[]> {
  const batch = opts.batch ?? true;
  if (items.length === 0) {
    if (opts.events?.length) await recordOutbox(db, opts.events);
    return [];
  }
  if (items.length > MAX_BATCH) {
    throw new DomainError("LIMIT_EXCEEDED", `At most ${MAX_BATCH} tasks per batch (got ${items.length}).`, {
      field: "items",
      details: { limit: MAX_BATCH },
    });
  }
  const prepared = await prepare(items, batch);
  let rows: ResultRow[];
  try {
    rows = await insertBatch(db, prepared, opts.events ?? []);
  } catch (err) {
    const fkError = foreignKeyError(err, batch ? "items." : "");
    if (fkError) throw fkError;
    throw err;
  }
  const created = new Map<string, TaskRow>();
  const prior = new Map<number, { task: TaskRow; byTicket: boolean }>();
  for (const r of rows) {
    const task = taskFromRow(r);
    if (r.found === "created") created.set(task.id, task);
    else prior.set(Number(r.prior_ord), { task, byTicket: r.by_ticket === true });
  }
  const outcomes: SubmitOutcome[] = [];
  for (const p of prepared) {
    const mine = created.get(p.id);
    const earlier = prior.get(p.ord);
    if (mine) {
      outcomes.push({ task: mine, created: true, outbox: [submittedMessage(mine)] });
    } else if (earlier) {
      // Foreman's own ticket names its task; nothing about the submission to compare.
      outcomes.push(
        earlier.byTicket ? { task: earlier.task, created: false, outbox: [] } : replayOf(p, earlier.task),
      );
    } else {
      // Nothing was inserted for it: an inactive worker refused the whole batch, or a concurrent
      // submission (or an earlier item of this batch) with the same key committed first.
      if (created.size === 0) {
        const named = prepared.flatMap((q) => (q.input.worker === undefined ? [] : [q.input.worker]));
        const inactive = named.length > 0 ? await inactiveWorker(db, named) : undefined;
        if (inactive) {
          const ord = prepared.find((q) => q.input.worker === inactive)?.ord ?? p.ord;
          throw invalid(`${batch ? `items.[${ord}].` : ""}worker`, `Worker '${inactive}' is inactive.`);
        }
      }
      const existing = p.opts.sourceRef ? await readBySource(db, p.opts.source, p.opts.sourceRef) : undefined;
      if (!existing) throw new DomainError("CONFLICT", "Concurrent submission with the same key; retry.");
      outcomes.push(replayOf(p, existing));
    }
  }
  return outcomes;
}

/** Submits one task (one statement). Invalid input throws the ZodError; a key conflict throws. */
export async function submitTask(db: AppDb, raw: unknown, opts: SubmitOptions): Promise<Submitted> {
  const [outcome] = await submitMany(db, [{ input: raw, ...opts }], { batch: false });
  if (!outcome) throw new Error("submitTask: no outcome");
  if ("error" in outcome) throw outcome.error;
  return outcome;
}
