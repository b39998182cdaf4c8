// The transition service: the only way a task's state changes. ONE SQL statement (one round trip,
// atomic on every driver) does the compare-and-set on (id, status, version) with the guards in its
// WHERE, sets the extra columns, appends the `state_changed` row (carrying the idempotency key),
// points last_event_id at it, writes the companion rows and the outbox rows the move owes the engine
// (`task/state.changed`, `task/ready` on → ready, plus the caller's events). The same statement reads
// back what a failure needs to explain itself, so only a lost race costs a second read.
import { is, SQL, sql } from "drizzle-orm";
import { executePrepared } from "../../db/prepared.ts";
import { fromJson, rowsOf, toJsonb } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { DomainError } from "../errors.ts";
import { type OutgoingEvent, taskReady, taskStateChanged } from "../events.ts";
import { classOfReason } from "../failures.ts";
import type { OutboxMessage } from "../outbox/message.ts";
import { canTransition, TASK_STATES, type TaskState } from "../states.ts";
import { entrySql } from "./entry.ts";
import {
  GuardFailedError,
  InvalidTransitionError,
  TransitionConflictError,
  taskNotFound,
  type Winner,
} from "./errors.ts";
import type { Guard } from "./guards.ts";

/** Tables a transition may write a companion row into, only when it moves. */
export const COMPANION_TABLES = ["agent_runs", "worker_leases", "deliverables", "stamps", "reviews"] as const;
export type CompanionTable = (typeof COMPANION_TABLES)[number];

/** In a companion row's values: the id of the transition's own task_events row. */
export const TRANSITION_EVENT_ID: SQL = sql`(select id from eid)`;

export interface Companion {
  table: CompanionTable;
  /** Column (snake_case) → value; an SQL value is inlined (e.g. TRANSITION_EVENT_ID). */
  values: Record<string, unknown>;
}

/** Extra task columns the move sets in the same UPDATE. */
export interface TransitionSet {
  revisionCount?: number | "increment";
  currentRunId?: string | null;
  leaseExpiresAt?: Date | null;
  deliverableHash?: string | null;
  triagedAt?: Date | null;
  priority?: number;
  workerId?: string;
}

export interface TransitionInput {
  taskId: string;
  to: TaskState;
  /** Run id + step id, or the external delivery id. A repeat returns the first result. */
  key: string;
  /** The state the caller saw. Defaults to the current one; a mismatch is a conflict. */
  from?: TaskState;
  /** The version the caller saw. Defaults to the current one; a mismatch is a conflict. */
  expectedVersion?: number;
  reason?: string | null;
  actor: string;
  guards?: Guard[];
  set?: TransitionSet;
  companions?: Companion[];
  /** Extra events owed by this move (built with the catalogue's `.create()`); an event without an
   *  id gets `<name>:<taskId>:<version>`. A replay rebuilds them from this input, so a retried step
   *  must pass the same events (derive their ids and data from the step, not from a clock or RNG). */
  emit?: OutgoingEvent[];
  /**
   * Back to `ready` through no fault of its own (the day's budget ran out mid-run): the task keeps
   * its place in the queue, its state time the moment it last entered `ready` (from the log), not now.
   */
  keepQueuePlace?: boolean;
}

export interface TransitionResult {
  taskId: string;
  from: TaskState;
  to: TaskState;
  version: number;
  eventId: number;
  at: string;
  reason: string | null;
  actor: string;
  /** The events this move owes the engine, as written to the outbox (send them, then mark them sent). */
  outbox: OutboxMessage[];
  /** True when the key had been used: this is the first result, returned again. */
  replayed: boolean;
}

type Row = {
  cur_status: TaskState | null;
  cur_version: number | null;
  guards_ok: boolean[] | null;
  new_version: number | null;
  event_id: string | number | null;
  event_at: string | Date | null;
  prior_id: string | number | null;
  prior_payload: PriorPayload | string | null;
  prior_actor: string | null;
  prior_at: string | Date | null;
  winner_id: string | number | null;
  winner_actor: string | null;
  winner_at: string | Date | null;
};
type PriorPayload = { from: TaskState; to: TaskState; reason: string | null; version: number };

const iso = (v: string | Date): string => (v instanceof Date ? v.toISOString() : new Date(v).toISOString());
const COLUMN = /^[a-z_]+$/;
const stateList = (states: readonly TaskState[]) => sql.raw(states.map((s) => `'${s}'`).join(", "));

function setClause(set: TransitionSet): SQL[] {
  const parts: SQL[] = [];
  if (set.revisionCount === "increment") parts.push(sql`revision_count = t.revision_count + 1`);
  else if (set.revisionCount !== undefined) parts.push(sql`revision_count = ${set.revisionCount}`);
  if (set.currentRunId !== undefined) parts.push(sql`current_run_id = ${set.currentRunId}`);
  if (set.leaseExpiresAt !== undefined)
    parts.push(sql`lease_expires_at = ${set.leaseExpiresAt?.toISOString() ?? null}::timestamptz`);
  if (set.deliverableHash !== undefined) parts.push(sql`deliverable_hash = ${set.deliverableHash}`);
  if (set.triagedAt !== undefined)
    parts.push(sql`triaged_at = ${set.triagedAt?.toISOString() ?? null}::timestamptz`);
  if (set.priority !== undefined) parts.push(sql`priority = ${set.priority}`);
  if (set.workerId !== undefined) parts.push(sql`worker_id = ${set.workerId}`);
  return parts;
}

function companionInsert(c: Companion, i: number): SQL {
  if (!COMPANION_TABLES.includes(c.table))
    throw new Error(`transition: '${c.table}' takes no companion rows`);
  const cols = Object.keys(c.values);
  for (const col of cols) if (!COLUMN.test(col)) throw new Error(`transition: bad column name '${col}'`);
  const values = cols.map((col) => {
    const v = c.values[col];
    if (v instanceof Date) return sql`${v.toISOString()}::timestamptz`;
    if (is(v, SQL)) return v;
    if (v !== null && typeof v === "object") return sql`${toJsonb(v)}::jsonb`;
    return sql`${v}`;
  });
  return sql`, ${sql.raw(`comp${i}`)} as (
    insert into ${sql.identifier(c.table)} (${sql.raw(cols.join(", "))})
    select ${sql.join(values, sql`, `)} from moved returning 1)`;
}

/** An owed event's id: its prefix, the task and the version the move produced. */
const owedId = (prefix: string, taskId: string, version: number) => `${prefix}${taskId}:${version}`;

/** `task/ready`'s id prefix; the id is `task-ready:<taskId>:<version>` (SQL builds it from the prefix too). */
export const READY_PREFIX = "task-ready:";
export const readyEventId = (taskId: string, version: number): string =>
  owedId(READY_PREFIX, taskId, version);

/** The events a move owes, in order: built once here, written by the statement, re-built on a replay. */
function owedEvents(
  input: TransitionInput,
  move: { from: TaskState; version: number; eventId: number; reason: string | null; actor: string },
): OutboxMessage[] {
  const { taskId, to } = input;
  const out: OutboxMessage[] = [
    {
      eventId: owedId("state-changed:", taskId, move.version),
      name: taskStateChanged.name,
      data: {
        taskId,
        from: move.from,
        to,
        version: move.version,
        eventId: move.eventId,
        reason: move.reason,
        actor: move.actor,
      },
    },
  ];
  if (to === "ready")
    out.push({
      eventId: readyEventId(taskId, move.version),
      name: taskReady.name,
      data: { taskId },
    });
  for (const e of input.emit ?? []) {
    out.push({
      eventId: e.id ?? owedId(`${e.name}:`, taskId, move.version),
      name: e.name,
      data: (e.data ?? {}) as Record<string, unknown>,
    });
  }
  return out;
}

async function extraEvents(emit: OutgoingEvent[]): Promise<SQL[]> {
  const rows: SQL[] = [];
  for (const e of emit) {
    await e.validate?.();
    rows.push(
      sql`(coalesce(${e.id ?? null}::text, ${`${e.name}:`}::text || moved.id || ':' || moved.version), ${e.name}::text, ${toJsonb(e.data ?? {})}::jsonb)`,
    );
  }
  return rows;
}

/**
 * keepQueuePlace's state time: the queue time of the task's last move into ready — the time that
 * move kept (`queuedSince`, when it was itself a kept place: a second bounce keeps the first one's)
 * or else when it happened; now, if it never moved into ready.
 */
const lastReadySince = sql`coalesce((select coalesce((e.payload->>'queuedSince')::timestamptz, e.created_at)
                                       from task_events e
                                      where e.id = (select re.id from (${entrySql(sql`t.id`, sql`'ready'`)}) re)), now())`;

export async function transition(db: AppDb, input: TransitionInput): Promise<TransitionResult> {
  const { taskId, to, actor, key } = input;
  const reason = input.reason ?? null;
  const guards = input.guards ?? [];
  // The state table is compiled into the WHERE, so an unknown task is NOT_FOUND before anything else
  // and an illegal move writes nothing.
  const legalFrom = TASK_STATES.filter((s) => canTransition(s, to));
  const cas: SQL[] = [legalFrom.length > 0 ? sql`t.status in (${stateList(legalFrom)})` : sql`false`];
  cas.push(input.from !== undefined ? sql`t.status = ${input.from}::task_state` : sql`t.status = cur.status`);
  cas.push(
    input.expectedVersion !== undefined
      ? sql`t.version = ${input.expectedVersion}`
      : sql`t.version = cur.version`,
  );
  for (const g of guards) cas.push(sql`(${g.predicate})`);

  const extraSet = setClause(input.set ?? {});
  const keep = input.keepQueuePlace === true && to === "ready";
  // Every failure carries its class, read from the reason by the one classifier.
  if (to === "failed_needs_triage") extraSet.push(sql`failure_class = ${classOfReason(input.reason)}`);
  const events = [
    sql`(${"state-changed:"}::text || moved.id || ':' || moved.version, ${taskStateChanged.name}::text,
         jsonb_build_object('taskId', moved.id, 'from', cur.status, 'to', ${to}::text, 'version', moved.version,
                            'eventId', ev.id, 'reason', ${reason}::text, 'actor', ${actor}::text))`,
  ];
  if (to === "ready") {
    events.push(
      sql`(${READY_PREFIX}::text || moved.id || ':' || moved.version, ${taskReady.name}::text, jsonb_build_object('taskId', moved.id))`,
    );
  }
  events.push(...(await extraEvents(input.emit ?? [])));
  const guardsOk =
    guards.length > 0
      ? sql`array[${sql.join(
          guards.map((g) => sql`(${g.predicate})`),
          sql`, `,
        )}]`
      : sql`null::boolean[]`;

  const result = await executePrepared(
    db,
    sql`
    with cur as (
      select t.id, t.status, t.version, ${guardsOk} as guards_ok from tasks t where t.id = ${taskId}
    ),
    prior as (
      select e.id, e.payload, e.actor, e.created_at as at from task_events e
       where e.task_id = ${taskId} and e.idempotency_key = ${key} and e.kind = 'state_changed'
    ),
    eid as (select nextval(pg_get_serial_sequence('task_events', 'id')) as id),
    moved as (
      update tasks t
         set status = ${to}::task_state, status_reason = ${reason}, version = t.version + 1,
             status_since = case when t.status = ${to}::task_state then t.status_since
                                 else ${keep ? lastReadySince : sql`now()`} end,
             last_event_id = (select id from eid), updated_at = now()
             ${extraSet.length > 0 ? sql`, ${sql.join(extraSet, sql`, `)}` : sql``}
        from cur
       where t.id = cur.id and not exists (select 1 from prior) and ${sql.join(cas, sql` and `)}
      returning t.id, t.version, t.status_since
    ),
    ev as (
      insert into task_events (id, task_id, kind, payload, actor, idempotency_key)
      select (select id from eid), moved.id, 'state_changed',
             jsonb_build_object('from', cur.status, 'to', ${to}::text, 'reason', ${reason}::text, 'version', moved.version)
               ${keep ? sql`|| jsonb_build_object('queuedSince', moved.status_since)` : sql``},
             ${actor}, ${key}
        from moved cross join cur
      returning id, created_at as at
    ),
    ob as (
      insert into outbox (event_id, name, data, cause_event_id)
      select x.event_id, x.name, x.data, ev.id
        from moved cross join cur cross join ev
        cross join lateral (values ${sql.join(events, sql`, `)}) as x(event_id, name, data)
    )
    ${sql.join(
      (input.companions ?? []).map((c, i) => companionInsert(c, i)),
      sql``,
    )}
    select cur.status as cur_status, cur.version as cur_version, cur.guards_ok,
           moved.version as new_version, ev.id as event_id, ev.at as event_at,
           prior.id as prior_id, prior.payload as prior_payload, prior.actor as prior_actor, prior.at as prior_at,
           w.id as winner_id, w.actor as winner_actor, w.at as winner_at
      from (select 1) as one
      left join cur on true
      left join moved on true
      left join ev on true
      left join prior on true
      left join lateral (
        select e.id, e.actor, e.created_at as at from task_events e
         where e.task_id = cur.id and e.kind = 'state_changed' order by e.id desc limit 1
      ) w on true`,
  );
  const row = rowsOf<Row>(result)[0];
  if (!row || row.cur_status === null || row.cur_version === null) throw taskNotFound(taskId);
  const seen = { status: row.cur_status, version: Number(row.cur_version) };

  if (row.prior_id !== null) return replayOf(input, row);
  if (row.new_version !== null && row.event_id !== null && row.event_at !== null) {
    return {
      taskId,
      from: seen.status,
      to,
      version: Number(row.new_version),
      eventId: Number(row.event_id),
      at: iso(row.event_at),
      reason,
      actor,
      outbox: owedEvents(input, {
        from: seen.status,
        version: Number(row.new_version),
        eventId: Number(row.event_id),
        reason,
        actor,
      }),
      replayed: false,
    };
  }

  if (input.from !== undefined && !canTransition(input.from, to)) {
    throw new InvalidTransitionError(taskId, input.from, to);
  }
  const expected = { status: input.from ?? seen.status, version: input.expectedVersion ?? seen.version };
  const winnerOf = (r: Pick<Row, "winner_id" | "winner_actor" | "winner_at">): Winner | null =>
    r.winner_id !== null && r.winner_actor !== null && r.winner_at !== null
      ? { eventId: Number(r.winner_id), actor: r.winner_actor, at: iso(r.winner_at) }
      : null;
  if (expected.status !== seen.status || expected.version !== seen.version) {
    throw new TransitionConflictError(taskId, expected, seen, winnerOf(row));
  }
  if (!canTransition(seen.status, to)) throw new InvalidTransitionError(taskId, seen.status, to);
  const failed = guards.findIndex((_, i) => row.guards_ok?.[i] === false);
  if (failed >= 0) {
    const g = guards[failed] as Guard;
    throw new GuardFailedError(taskId, to, g.name, g.expected);
  }
  // The snapshot allowed the move but the row changed under it: a concurrent transition won. One
  // more read says who — or finds that it was this very key, committed by a retry of this step.
  return afterLostRace(db, input, expected, winnerOf);
}

function replayOf(input: TransitionInput, row: Row): TransitionResult {
  const payload = fromJson(row.prior_payload as PriorPayload | string);
  // The same key for another move (another target, or — when the caller names it — another start: a
  // key reused for a later round's decision) is a different request, never this one's replay.
  if (payload.to !== input.to || (input.from !== undefined && payload.from !== input.from)) {
    throw new DomainError(
      "CONFLICT",
      `Idempotency key '${input.key}' already moved task ${input.taskId} from '${payload.from}' to '${payload.to}', not from '${input.from ?? payload.from}' to '${input.to}'.`,
      { field: "key", details: { taskId: input.taskId, key: input.key, from: payload.from, to: payload.to } },
    );
  }
  return {
    taskId: input.taskId,
    from: payload.from,
    to: payload.to,
    version: payload.version,
    eventId: Number(row.prior_id),
    at: iso(row.prior_at as string | Date),
    reason: payload.reason,
    actor: row.prior_actor as string,
    outbox: owedEvents(input, {
      from: payload.from,
      version: payload.version,
      eventId: Number(row.prior_id),
      reason: payload.reason,
      actor: row.prior_actor as string,
    }),
    replayed: true,
  };
}

async function afterLostRace(
  db: AppDb,
  input: TransitionInput,
  expected: { status: TaskState; version: number },
  winnerOf: (r: Pick<Row, "winner_id" | "winner_actor" | "winner_at">) => Winner | null,
): Promise<TransitionResult> {
  const result = await executePrepared(
    db,
    sql`
    select t.status as cur_status, t.version as cur_version,
           p.id as prior_id, p.payload as prior_payload, p.actor as prior_actor, p.created_at as prior_at,
           w.id as winner_id, w.actor as winner_actor, w.at as winner_at
      from tasks t
      left join task_events p on p.task_id = t.id and p.idempotency_key = ${input.key} and p.kind = 'state_changed'
      left join lateral (
        select e.id, e.actor, e.created_at as at from task_events e
         where e.task_id = t.id and e.kind = 'state_changed' order by e.id desc limit 1
      ) w on true
     where t.id = ${input.taskId}`,
  );
  const row = rowsOf<Row>(result)[0];
  if (!row || row.cur_status === null) throw taskNotFound(input.taskId);
  if (row.prior_id !== null) return replayOf(input, row);
  throw new TransitionConflictError(
    input.taskId,
    expected,
    { status: row.cur_status, version: Number(row.cur_version) },
    winnerOf(row),
  );
}
