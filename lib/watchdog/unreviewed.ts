// Unreviewed work: a `working` task whose current deliverable has no verdict and was never parked,
// with its `task/work.submitted` not pending in the outbox (the drain's job), and idle — no task
// event, and that event not sent since — either for longer than a review run could take to end or
// park itself (FOREMAN_WATCHDOG_STUCK_MINUTES + FOREMAN_REVIEW_RETRY_MINUTES) when the drain set the
// event aside unsent, or for a day when it was sent (a review queued behind the GPU writes nothing
// while it waits, so only a day's silence says the engine dropped it). The stuck-run check leaves
// such tasks alone (a submitted run is the review's business), and review-retry looks only at parked
// reviews, so without this the task would stay `working` for good. The repair parks the review on the
// watchdog's word, once per deliverable (one keyed event): review-retry then re-sends the event under
// an id of its own, and the parkings count as any other (FOREMAN_REVIEW_MAX_PARKINGS, then triage).
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { appendEvents } from "../tasks/event-log.ts";
import { WORK_SUBMITTED_PREFIX } from "../work/deliverable.ts";
import { minutesBefore, WATCHDOG_ACTOR } from "./decide.ts";

export interface UnreviewedWork {
  taskId: string;
  deliverableId: string;
  version: number;
  idleSince: string;
}

export async function findUnreviewedWork(
  db: AppDb,
  opts: { now: Date; minutes: number; limit: number },
): Promise<UnreviewedWork[]> {
  const cutoff = minutesBefore(opts.now, opts.minutes).toISOString();
  const result = await db.execute(sql`
    select t.id as task_id, d.id as deliverable_id, d.version, a.at as idle_since
      from tasks t
      join deliverables d on d.task_id = t.id and d.hash = t.deliverable_hash
      cross join lateral (
        select greatest(
          (select e.created_at from task_events e where e.task_id = t.id order by e.id desc limit 1),
          (select o.sent_at from outbox o where o.event_id = ${WORK_SUBMITTED_PREFIX}::text || d.id)
        ) as at
      ) a
     where t.status = 'working'
       -- Set aside unsent: lost for sure. Sent: a review queued behind the GPU writes nothing while it
       -- waits, so only a day of silence says the engine dropped it.
       and (a.at < ${minutesBefore(opts.now, 24 * 60).toISOString()}::timestamptz
            or (a.at < ${cutoff}::timestamptz
                and exists (select 1 from outbox o
                             where o.event_id = ${WORK_SUBMITTED_PREFIX}::text || d.id and o.abandoned_at is not null)))
       and not exists (select 1 from reviews r where r.task_id = t.id and r.revision = d.version)
       and not exists (
         select 1 from task_events e
          where e.task_id = t.id and e.kind = 'review_pending' and e.payload->>'deliverableId' = d.id)
       and not exists (
         select 1 from outbox o
          where o.event_id = ${WORK_SUBMITTED_PREFIX}::text || d.id
            and o.sent_at is null and o.abandoned_at is null)
     order by a.at
     limit ${opts.limit}`);
  return rowsOf<{ task_id: string; deliverable_id: string; version: number; idle_since: string | Date }>(
    result,
  ).map((r) => ({
    taskId: r.task_id,
    deliverableId: r.deliverable_id,
    version: Number(r.version),
    idleSince: new Date(r.idle_since).toISOString(),
  }));
}

/** Parks the lost review (one event, keyed by the deliverable): review-retry takes it from there. */
export async function parkUnreviewed(db: AppDb, c: UnreviewedWork): Promise<{ parked: boolean }> {
  const ids = await appendEvents(
    db,
    [
      {
        taskId: c.taskId,
        actor: WATCHDOG_ACTOR,
        kind: "review_pending",
        payload: {
          reason: `the review never started: version ${c.version} was handed in and nothing happened since ${c.idleSince} (its task/work.submitted was lost)`,
          deliverableId: c.deliverableId,
        },
      },
    ],
    { key: `watchdog:unreviewed:${c.deliverableId}` },
  );
  return { parked: ids.length > 0 };
}
