// Reassigning a task's worker (tasks.worker_id) in ONE statement. It is not a state change, so it is
// not a transition, but it is built like one: a compare-and-set on (id, state, version) that bumps the
// version (a transition in flight on the same row, such as a lease, and this statement cannot both
// apply), only in the states lib/admin/actions.ts allows, only to an active worker; a `triage` event
// (the event kind that records who does a task) naming the caller, both workers and the reason,
// carrying the idempotency key; and, when the task is ready, `task/ready` in the outbox so the
// scheduler looks at the new worker's slots now rather than at its next minute. (A lease decided from
// a snapshot read before the reassign fails leaseTask's workerAssigned guard, and the next pass
// leases the task on the new worker.)
import { sql } from "drizzle-orm";
import { z } from "zod";
import { fromJson, rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { REASSIGNABLE_STATES, wrongState } from "../admin/actions.ts";
import { DomainError } from "../errors.ts";
import { taskReady } from "../events.ts";
import type { OutboxMessage } from "../outbox/message.ts";
import type { TaskState } from "../states.ts";
import { text } from "../text.ts";
import { taskNotFound } from "./errors.ts";
import { READY_PREFIX, readyEventId } from "./transition.ts";

export const reassignBody = z.strictObject({
  worker: text({ trim: true, min: 1, minMessage: "must name a worker", max: 64 }),
  reason: text({ trim: true, min: 1, minMessage: "must not be empty", max: 500 }).optional(),
});

export interface ReassignInput {
  taskId: string;
  workerId: string;
  key: string;
  actor: string;
  reason?: string | undefined;
}

export interface ReassignResult {
  taskId: string;
  state: TaskState;
  from: string | null;
  to: string;
  /** False when the task already had that worker: nothing was written. */
  changed: boolean;
  version: number;
  eventId: number | null;
  at: string | null;
  outbox: OutboxMessage[];
  replayed: boolean;
}

type Payload = { from: string | null; to: string; state: TaskState; version: number };
type Row = {
  cur_status: TaskState | null;
  cur_version: number | null;
  cur_worker: string | null;
  worker_known: boolean;
  worker_active: boolean | null;
  new_version: number | null;
  event_id: string | number | null;
  event_at: string | Date | null;
  prior_id: string | number | null;
  prior_payload: Payload | string | null;
  prior_at: string | Date | null;
};

const iso = (v: string | Date) => new Date(v).toISOString();
const states = sql.raw(REASSIGNABLE_STATES.map((s) => `'${s}'`).join(", "));
const readyMessage = (taskId: string, version: number): OutboxMessage => ({
  eventId: readyEventId(taskId, version),
  name: taskReady.name,
  data: { taskId },
});

export async function reassignTask(db: AppDb, input: ReassignInput): Promise<ReassignResult> {
  const { taskId, workerId, key, actor } = input;
  const reason = `reassigned to ${workerId}${input.reason ? `: ${input.reason}` : ""}`;
  const result = await db.execute(sql`
    with cur as (select t.id, t.status, t.version, t.worker_id from tasks t where t.id = ${taskId}),
    w as (select w.active from workers w where w.id = ${workerId}),
    prior as (
      select e.id, e.payload, e.created_at as at from task_events e
       where e.task_id = ${taskId} and e.idempotency_key = ${key} and e.kind = 'triage'
    ),
    eid as (select nextval(pg_get_serial_sequence('task_events', 'id')) as id),
    moved as (
      update tasks t
         set worker_id = ${workerId}, version = t.version + 1, last_event_id = (select id from eid), updated_at = now()
        from cur
       where t.id = cur.id and t.status = cur.status and t.version = cur.version
         and t.status in (${states}) and t.worker_id is distinct from ${workerId}
         and not exists (select 1 from prior) and coalesce((select active from w), false)
      returning t.id, t.version, t.status
    ),
    ev as (
      insert into task_events (id, task_id, kind, payload, actor, idempotency_key)
      select (select id from eid), moved.id, 'triage',
             jsonb_build_object('via', 'admin', 'reason', ${reason}::text, 'from', cur.worker_id, 'to', ${workerId}::text,
                                'state', moved.status, 'version', moved.version),
             ${actor}, ${key}
        from moved cross join cur
      returning id, created_at as at
    ),
    ob as (
      insert into outbox (event_id, name, data, cause_event_id)
      select ${READY_PREFIX}::text || moved.id || ':' || moved.version, ${taskReady.name}, jsonb_build_object('taskId', moved.id), ev.id
        from moved cross join ev
       where moved.status = 'ready'
    )
    select cur.status as cur_status, cur.version as cur_version, cur.worker_id as cur_worker,
           exists (select 1 from w) as worker_known, (select active from w) as worker_active,
           moved.version as new_version, ev.id as event_id, ev.at as event_at,
           prior.id as prior_id, prior.payload as prior_payload, prior.at as prior_at
      from (select 1) as one
      left join cur on true
      left join moved on true
      left join ev on true
      left join prior on true`);
  const row = rowsOf<Row>(result)[0];
  if (!row || row.cur_status === null || row.cur_version === null) throw taskNotFound(taskId);
  const state = row.cur_status;

  if (row.prior_id !== null && row.prior_payload !== null) {
    const p = fromJson(row.prior_payload);
    if (p.to !== workerId) {
      throw new DomainError(
        "CONFLICT",
        `Idempotency key '${key}' already reassigned task ${taskId} to '${p.to}', not '${workerId}'.`,
        { field: "Idempotency-Key", details: { taskId, to: p.to } },
      );
    }
    return {
      taskId,
      state: p.state,
      from: p.from,
      to: p.to,
      changed: true,
      version: p.version,
      eventId: Number(row.prior_id),
      at: iso(row.prior_at as string | Date),
      outbox: p.state === "ready" ? [readyMessage(taskId, p.version)] : [],
      replayed: true,
    };
  }
  if (row.new_version !== null && row.event_id !== null && row.event_at !== null) {
    const version = Number(row.new_version);
    return {
      taskId,
      state,
      from: row.cur_worker,
      to: workerId,
      changed: true,
      version,
      eventId: Number(row.event_id),
      at: iso(row.event_at),
      outbox: state === "ready" ? [readyMessage(taskId, version)] : [],
      replayed: false,
    };
  }
  if (!REASSIGNABLE_STATES.includes(state)) throw wrongState(taskId, state, "reassign");
  if (!row.worker_known) {
    throw new DomainError("VALIDATION", `Worker ${workerId} does not exist.`, { field: "worker" });
  }
  if (row.worker_active !== true) {
    throw new DomainError("VALIDATION", `Worker ${workerId} is not active.`, { field: "worker" });
  }
  if (row.cur_worker === workerId) {
    return {
      taskId,
      state,
      from: workerId,
      to: workerId,
      changed: false,
      version: Number(row.cur_version),
      eventId: null,
      at: null,
      outbox: [],
      replayed: false,
    };
  }
  // Everything held in the snapshot, yet the row changed under the statement: a concurrent move won.
  throw new DomainError("CONFLICT", `Task ${taskId} changed while it was being reassigned; try again.`, {
    details: { taskId, state },
  });
}
