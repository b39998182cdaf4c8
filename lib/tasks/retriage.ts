// A person's move of a task to `ready` from outside intake — a retry (failed_needs_triage) or an
// unblock (blocked_external), from the API, the CLI, Slack or HubSpot — and the case it must not wave
// through: a task intake never triaged (its ticket could not be read, HubSpot refused the token) has
// the placeholder title, no worker chosen by triage and no rubric. Sent to ready as it is, a worker
// would work a blank task. So `toReady` moves a triaged task (one transition, guarded as before: every
// dependency ended, the task triaged) and, for an untriaged one, records a retriage request instead:
// ONE statement writes the `retriage` event (keyed like a transition, so a repeat is a replay), sets
// the reason the board shows, and owes `task/retriage.requested` through the outbox. The task stays
// where it is until the retriage function has enriched and triaged it; its failure is said there.
import { sql } from "drizzle-orm";
import { fromJson, pgErrorOf, rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { crmPushRequested, taskRetriageRequested } from "../events.ts";
import { classOfReason } from "../failures.ts";
import type { OutboxMessage } from "../outbox/message.ts";
import type { TaskState } from "../states.ts";
import { GuardFailedError, InvalidTransitionError, TransitionConflictError, taskNotFound } from "./errors.ts";
import { guards } from "./guards.ts";
import { type TransitionResult, transition } from "./transition.ts";

/** Where a person's move to ready starts. */
export type ReadyFrom = "failed_needs_triage" | "blocked_external";

export interface ToReadyInput {
  taskId: string;
  from: ReadyFrom;
  /** The caller's idempotency key: a repeat returns the first result, a move or a request. */
  key: string;
  actor: string;
  reason: string;
}

/** A recorded retriage request: the task stays in `state` until intake has triaged it. */
export interface RetriageResult {
  taskId: string;
  state: ReadyFrom;
  version: number;
  /** The `retriage` event's id. */
  eventId: number;
  at: string;
  actor: string;
  reason: string;
  outbox: OutboxMessage[];
  replayed: boolean;
}

export type ReadyOutcome =
  | { kind: "moved"; transition: TransitionResult }
  | { kind: "retriage"; retriage: RetriageResult };

/** The event log refused a row because another already holds its idempotency key. */
const isKeyClash = (err: unknown): boolean => {
  const pg = pgErrorOf(err);
  return pg?.code === "23505" && pg.constraint === "task_events_idempotency_uq";
};

/** The CRM push a failed retriage owes a mirrored task: `crm-push:<taskId>:<note event id>`. */
const CRM_PUSH_PREFIX = "crm-push:";

/** `task/retriage.requested`'s id: `task-retriage:<taskId>:<request event id>`. */
export const retriageEventId = (taskId: string, requestEventId: number): string =>
  `task-retriage:${taskId}:${requestEventId}`;

export async function toReady(db: AppDb, input: ToReadyInput): Promise<ReadyOutcome> {
  const move = () =>
    transition(db, {
      taskId: input.taskId,
      from: input.from,
      to: "ready",
      key: input.key,
      actor: input.actor,
      reason: input.reason,
      guards: [guards.dependenciesSettled(), guards.triaged()],
    });
  try {
    return { kind: "moved", transition: await move() };
  } catch (err) {
    // The key made a retriage request earlier (the task was untriaged then; triaged and failed again
    // since): the log's key index refuses the move's row. The same key is that request's repeat.
    if (isKeyClash(err)) {
      const prior = await requestRetriage(db, input).catch(() => undefined);
      if (prior !== undefined && prior !== "triaged" && prior.replayed)
        return { kind: "retriage", retriage: prior };
      throw err;
    }
    if (err instanceof GuardFailedError && err.guard === "triaged") {
      const requested = await requestRetriage(db, input);
      // Triaged in between (a concurrent retriage finished): the plain move applies now.
      return requested === "triaged"
        ? { kind: "moved", transition: await move() }
        : { kind: "retriage", retriage: requested };
    }
    // The task moved on since a request under this key — intake triaged it and sent it to ready: the
    // repeat gets the request back. Without one, the conflict stands as the transition said it.
    if (err instanceof TransitionConflictError || err instanceof InvalidTransitionError) {
      const prior = await requestRetriage(db, input).catch(() => undefined);
      if (prior !== undefined && prior !== "triaged" && prior.replayed)
        return { kind: "retriage", retriage: prior };
    }
    throw err;
  }
}

type Row = {
  cur_status: TaskState | null;
  cur_version: number | null;
  source: string | null;
  triaged: boolean | null;
  settled: boolean | null;
  event_id: string | number | null;
  event_at: string | Date | null;
  prior_id: string | number | null;
  prior_payload: { from: ReadyFrom; reason: string } | string | null;
  prior_actor: string | null;
  prior_at: string | Date | null;
};

const iso = (v: string | Date): string => (v instanceof Date ? v.toISOString() : new Date(v).toISOString());

/**
 * Records the request in one statement: compare-and-set on the task still being where the caller saw
 * it, untriaged, with every dependency ended (guards.dependenciesSettled, as a retry has); a key used
 * before returns that request. `"triaged"`: the task was triaged meanwhile, so there is nothing to ask.
 */
export async function requestRetriage(db: AppDb, input: ToReadyInput): Promise<RetriageResult | "triaged"> {
  const { taskId, from, key, actor, reason } = input;
  const settled = guards.dependenciesSettled().predicate;
  const statement = sql`
    with cur as (
      select t.id, t.status, t.version, t.source, t.triaged_at is not null as triaged, ${settled} as settled
        from tasks t where t.id = ${taskId}
    ),
    prior as (
      select e.id, e.payload, e.actor, e.created_at as at from task_events e
       where e.task_id = ${taskId} and e.idempotency_key = ${key} and e.kind = 'retriage'
    ),
    eid as (select nextval(pg_get_serial_sequence('task_events', 'id')) as id),
    marked as (
      update tasks t
         set status_reason = ${reason}, last_event_id = (select id from eid), updated_at = now()
        from cur
       where t.id = cur.id and not exists (select 1 from prior) and t.status = ${from}::task_state
         and not cur.triaged and cur.settled
      returning t.id, t.source
    ),
    ev as (
      insert into task_events (id, task_id, kind, payload, actor, idempotency_key)
      select (select id from eid), marked.id, 'retriage',
             jsonb_build_object('from', ${from}::text, 'reason', ${reason}::text), ${actor}, ${key}
        from marked
      returning id, created_at as at
    ),
    ob as (
      insert into outbox (event_id, name, data, cause_event_id)
      select 'task-retriage:' || marked.id || ':' || ev.id, ${taskRetriageRequested.name}::text,
             jsonb_build_object('taskId', marked.id, 'source', marked.source, 'from', ${from}::text,
                                'requestEventId', ev.id, 'reason', ${reason}::text, 'actor', ${actor}::text),
             ev.id
        from marked cross join ev
    )
    select cur.status as cur_status, cur.version as cur_version, cur.source, cur.triaged, cur.settled,
           ev.id as event_id, ev.at as event_at,
           prior.id as prior_id, prior.payload as prior_payload, prior.actor as prior_actor, prior.at as prior_at
      from (select 1) as one
      left join cur on true
      left join ev on true
      left join prior on true`;
  let result: unknown;
  try {
    result = await db.execute(statement);
  } catch (err) {
    // A concurrent request under the same key committed after this statement's snapshot (a double
    // click, a client's retry): the update does not bump the version, so nothing else stopped it, and
    // the log's key refused the second row. Run again: the prior request is visible now, and answered.
    if (!isKeyClash(err)) throw err;
    result = await db.execute(statement);
  }
  const row = rowsOf<Row>(result)[0];
  if (!row || row.cur_status === null || row.cur_version === null || row.source === null)
    throw taskNotFound(taskId);
  const version = Number(row.cur_version);
  const answer = (
    eventId: number,
    at: string,
    by: string,
    why: string,
    state: ReadyFrom,
    replayed: boolean,
  ) => ({
    taskId,
    state,
    version,
    eventId,
    at,
    actor: by,
    reason: why,
    outbox: [
      {
        eventId: retriageEventId(taskId, eventId),
        name: taskRetriageRequested.name,
        data: { taskId, source: row.source, from: state, requestEventId: eventId, reason: why, actor: by },
      },
    ],
    replayed,
  });
  if (
    row.prior_id !== null &&
    row.prior_at !== null &&
    row.prior_actor !== null &&
    row.prior_payload !== null
  ) {
    const p = fromJson(row.prior_payload);
    return answer(Number(row.prior_id), iso(row.prior_at), row.prior_actor, p.reason, p.from, true);
  }
  if (row.event_id !== null && row.event_at !== null)
    return answer(Number(row.event_id), iso(row.event_at), actor, reason, from, false);
  if (row.cur_status !== from)
    throw new TransitionConflictError(
      taskId,
      { status: from, version },
      { status: row.cur_status, version },
      null,
    );
  if (!row.settled) throw new GuardFailedError(taskId, "ready", "dependencies_settled", {});
  return "triaged";
}

/**
 * A retriage that could not triage the task (the ticket is gone, HubSpot refuses the token, intake ran
 * out of retries): the task stays where the person left it, with the new failure as its reason and
 * class, and a note saying so — ONE statement, keyed so a retried step writes it once. A task mirrored
 * on a HubSpot ticket also owes a push in that statement: a retry made there moved the ticket to
 * Ready, and it must show the task's stage again (crm-push writes it, the note changed last_event_id).
 * Returns whether the note was written, and the outbox rows to publish.
 */
export async function recordRetriageFailure(
  db: AppDb,
  input: { taskId: string; from: ReadyFrom; key: string; reason: string },
): Promise<{ noted: boolean; outbox: OutboxMessage[] }> {
  const { taskId, from, key, reason } = input;
  const text = `The retry could not triage the task; it stays ${from.replaceAll("_", " ")}. ${reason}`;
  const result = await db.execute(sql`
    with eid as (select nextval(pg_get_serial_sequence('task_events', 'id')) as id),
    marked as (
      update tasks t
         set status_reason = ${reason}, last_event_id = (select id from eid), updated_at = now()
             ${from === "failed_needs_triage" ? sql`, failure_class = ${classOfReason(reason)}` : sql``}
       where t.id = ${taskId} and t.status = ${from}::task_state and t.triaged_at is null
         and not exists (select 1 from task_events e where e.task_id = t.id and e.idempotency_key = ${key})
      returning t.id
    ),
    ev as (
      insert into task_events (id, task_id, kind, payload, actor, idempotency_key)
      select (select id from eid), marked.id, 'note', jsonb_build_object('text', ${text}::text, 'author', 'fn:intake'),
             'fn:intake', ${key}
        from marked
      returning id
    ),
    ob as (
      insert into outbox (event_id, name, data, cause_event_id)
      select ${CRM_PUSH_PREFIX}::text || marked.id || ':' || ev.id, ${crmPushRequested.name}::text,
             jsonb_build_object('taskId', marked.id), ev.id
        from marked cross join ev
       where exists (select 1 from crm_links l where l.task_id = marked.id)
      returning event_id
    )
    select (select count(*)::int from ev) as n, (select event_id from ob) as push_id`);
  const row = rowsOf<{ n: number; push_id: string | null }>(result)[0];
  return {
    noted: Number(row?.n ?? 0) > 0,
    outbox: row?.push_id ? [{ eventId: row.push_id, name: crmPushRequested.name, data: { taskId } }] : [],
  };
}
