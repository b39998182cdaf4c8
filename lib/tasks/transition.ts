// The transition service: the only way a task's state changes. One SQL statement does the
// compare-and-set on (id, status, version), appends the `state_changed` row to task_events and points
// tasks.last_event_id at it — atomic on every driver, including Neon over HTTP.
import { eq, sql } from "drizzle-orm";
import { tasks } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { taskStateChanged } from "../events.ts";
import { canTransition, type TaskState } from "../states.ts";
import { InvalidTransitionError, TransitionConflictError, taskNotFound } from "./errors.ts";

export interface TransitionInput {
  taskId: string;
  to: TaskState;
  /** The state the caller saw. Defaults to the current one; a mismatch is a conflict. */
  from?: TaskState;
  /** The version the caller saw. Defaults to the current one; a mismatch is a conflict. */
  expectedVersion?: number;
  reason?: string | null;
  actor: string;
}

export interface TransitionResult {
  taskId: string;
  from: TaskState;
  to: TaskState;
  version: number;
  eventId: number;
  reason: string | null;
  actor: string;
}

type Row = { version: number; event_id: string | number };

const rowsOf = <T>(result: unknown): T[] => (result as { rows: T[] }).rows;

async function readState(db: AppDb, taskId: string) {
  const [row] = await db
    .select({ status: tasks.status, version: tasks.version })
    .from(tasks)
    .where(eq(tasks.id, taskId));
  if (!row) throw taskNotFound(taskId);
  return row;
}

export async function transition(db: AppDb, input: TransitionInput): Promise<TransitionResult> {
  const { taskId, to, actor } = input;
  const reason = input.reason ?? null;
  // The caller's view of the task when it has one (a stamp carries the version it was shown);
  // otherwise the current row.
  const seen =
    input.from !== undefined && input.expectedVersion !== undefined
      ? { status: input.from, version: input.expectedVersion }
      : await readState(db, taskId);
  const from = input.from ?? seen.status;
  const version = input.expectedVersion ?? seen.version;

  // An illegal move is refused before anything is written.
  if (!canTransition(from, to)) throw new InvalidTransitionError(taskId, from, to);

  const payload = JSON.stringify({ from, to, reason, version: version + 1 });
  const result = await db.execute(sql`
    with eid as (select nextval(pg_get_serial_sequence('task_events', 'id')) as id),
    moved as (
      update tasks
         set status = ${to}::task_state, status_reason = ${reason}, version = version + 1,
             last_event_id = (select id from eid), updated_at = now()
       where id = ${taskId} and status = ${from}::task_state and version = ${version}
      returning id, version
    ),
    ev as (
      insert into task_events (id, task_id, kind, payload, actor)
      select (select id from eid), moved.id, 'state_changed', ${payload}::jsonb, ${actor} from moved
      returning id
    )
    select moved.version, ev.id as event_id from moved cross join ev`);
  const [row] = rowsOf<Row>(result);
  if (!row) {
    const now = await readState(db, taskId);
    throw new TransitionConflictError(taskId, { status: from, version }, now);
  }
  return { taskId, from, to, version: Number(row.version), eventId: Number(row.event_id), reason, actor };
}

/** The fan-out event for a committed transition; its id makes a re-send a no-op. */
export const stateChangedEvent = (r: TransitionResult) =>
  taskStateChanged.create(
    {
      taskId: r.taskId,
      from: r.from,
      to: r.to,
      version: r.version,
      eventId: r.eventId,
      reason: r.reason,
      actor: r.actor,
    },
    { id: `state-changed:${r.taskId}:${r.version}` },
  );
