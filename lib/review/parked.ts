// Parked reviews: a review whose model stayed down ends with a `review_pending` event and the task
// still `working`, its deliverable kept. This finds the ones still owed (the deliverable is current,
// no verdict exists for its version, the parking is older than the pause) and builds the event that
// retries each — with an id per parking, so one parking is retried once however often this runs.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { OutgoingEvent } from "../events.ts";
import { taskWorkSubmitted } from "../events.ts";
import { appendEvents } from "../tasks/event-log.ts";

/** Writes the parking record (the review function's onFailure). */
export async function parkReview(
  db: AppDb,
  data: { taskId: string; deliverableId: string },
  why: string,
): Promise<void> {
  await appendEvents(db, [
    {
      taskId: data.taskId,
      actor: "reviewer:local",
      kind: "review_pending",
      payload: {
        reason: `the review could not run: ${why.slice(0, 300)}`,
        deliverableId: data.deliverableId,
      },
    },
  ]);
}

export interface ParkedReview {
  taskId: string;
  runId: string;
  deliverableId: string;
  deliverableHash: string;
  parkedEventId: number;
}

/** Reviews parked before `parkedBefore` and still owed, oldest first. */
export async function findParkedReviews(
  db: AppDb,
  opts: { parkedBefore: Date; limit: number },
): Promise<ParkedReview[]> {
  const result = await db.execute(sql`
    select t.id as task_id, d.run_id, d.id as deliverable_id, d.hash, p.id as parked_id
      from tasks t
      join deliverables d on d.task_id = t.id and d.hash = t.deliverable_hash
      join lateral (
        select e.id, e.created_at from task_events e
         where e.task_id = t.id and e.kind = 'review_pending' and e.payload->>'deliverableId' = d.id
         order by e.id desc limit 1
      ) p on true
     where t.status = 'working'
       and p.created_at < ${opts.parkedBefore.toISOString()}::timestamptz
       and not exists (select 1 from reviews r where r.task_id = t.id and r.revision = d.version)
     order by p.id
     limit ${opts.limit}`);
  return rowsOf<{ task_id: string; run_id: string; deliverable_id: string; hash: string; parked_id: string }>(
    result,
  ).map((r) => ({
    taskId: r.task_id,
    runId: r.run_id,
    deliverableId: r.deliverable_id,
    deliverableHash: r.hash,
    parkedEventId: Number(r.parked_id),
  }));
}

export const retryEvent = (p: ParkedReview): OutgoingEvent =>
  taskWorkSubmitted.create(
    { taskId: p.taskId, runId: p.runId, deliverableId: p.deliverableId, deliverableHash: p.deliverableHash },
    { id: `review-retry:${p.deliverableId}:${p.parkedEventId}` },
  );
