// Ending a run: ONE statement frees its slot lease, records how the run ended (the only column of
// agent_runs that changes), clears the task's lease if it still points at this run, and owes
// `worker/released` so the scheduler looks again. Safe to repeat: a second release changes nothing
// and owes nothing new (the event id is the run's). A caller that must explain the release (the
// watchdog) passes an audit event: written by the same statement, only when a slot was freed.
import { sql } from "drizzle-orm";
import { rowsOf, toJsonb } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { workerReleased } from "../events.ts";
import type { OutboxMessage } from "../outbox/message.ts";
import { type TaskEventRecord, taskEventRecord } from "../tasks/event-kinds.ts";

export type RunEnd = "succeeded" | "failed" | "cancelled";

export async function releaseRun(
  db: AppDb,
  input: { runId: string; status: RunEnd; audit?: TaskEventRecord & { actor: string } },
): Promise<{ released: boolean; outbox: OutboxMessage[] }> {
  // Validated like every event write: a payload that does not match its kind is a bug.
  const audit = input.audit
    ? { ...(taskEventRecord.parse(input.audit) as TaskEventRecord), actor: input.audit.actor }
    : undefined;
  const result = await db.execute(sql`
    with gone as (delete from worker_leases where run_id = ${input.runId} returning worker_id, task_id),
    ended as (
      update agent_runs set status = ${input.status}::run_status, ended_at = now()
       where id = ${input.runId} and status = 'running'
      returning worker_id, task_id
    ),
    cleared as (
      update tasks set current_run_id = null, lease_expires_at = null, updated_at = now()
       where current_run_id = ${input.runId}
      returning id
    ),
    ob as (
      insert into outbox (event_id, name, data)
      select 'worker-released:' || ${input.runId}::text, ${workerReleased.name}::text,
             jsonb_build_object('workerId', g.worker_id, 'taskId', g.task_id)
        from gone g
      on conflict (event_id) do nothing
      returning event_id, name, data
    )
    ${
      audit
        ? sql`, au as (
      insert into task_events (task_id, run_id, kind, payload, actor)
      select g.task_id, ${input.runId}, ${audit.kind}, ${toJsonb(audit.payload)}::jsonb, ${audit.actor}
        from gone g
    )`
        : sql``
    }
    select (select count(*) from gone)::int as released,
           (select jsonb_agg(jsonb_build_object('eventId', event_id, 'name', name, 'data', data)) from ob) as outbox`);
  const [row] = rowsOf<{ released: number; outbox: OutboxMessage[] | string | null }>(result);
  const outbox =
    typeof row?.outbox === "string" ? (JSON.parse(row.outbox) as OutboxMessage[]) : (row?.outbox ?? []);
  return { released: (row?.released ?? 0) > 0, outbox };
}

/** Releases whichever run holds the task's slot (a cancelled task), if any. */
export async function releaseTaskRun(
  db: AppDb,
  taskId: string,
): Promise<{ released: boolean; outbox: OutboxMessage[] }> {
  const result = await db.execute(sql`select run_id from worker_leases where task_id = ${taskId}`);
  const runs = rowsOf<{ run_id: string }>(result);
  const outbox: OutboxMessage[] = [];
  let released = false;
  for (const r of runs) {
    const one = await releaseRun(db, { runId: r.run_id, status: "cancelled" });
    released ||= one.released;
    outbox.push(...one.outbox);
  }
  return { released, outbox };
}
