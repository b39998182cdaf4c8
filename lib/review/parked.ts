// Parked reviews: a review whose model stayed down ends with a `review_pending` event and the task
// still `working`, its deliverable kept. This finds the ones still owed (the deliverable is current,
// no verdict exists for its version, the parking is older than the pause) and builds the event that
// retries each — with an id per parking, so one parking is retried once however often this runs.
// Parking is for failures that heal by waiting (the model down, busy, answering badly): a failure
// retrying cannot help (a refused bridge token), or a review parked FOREMAN_REVIEW_MAX_PARKINGS times
// over, sends the task to failed_needs_triage with its class instead, so a person hears of it.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { OutgoingEvent } from "../events.ts";
import { taskWorkSubmitted } from "../events.ts";
import { classifyFailure, type FailureClass, failureReason } from "../failures.ts";
import type { OutboxMessage } from "../outbox/message.ts";
import { taskMovedOn } from "../tasks/errors.ts";
import { appendEvents } from "../tasks/event-log.ts";
import { guards } from "../tasks/guards.ts";
import { transition } from "../tasks/transition.ts";

/** Writes the parking record; `key` (the failed run) makes a repeat write nothing more. */
export async function parkReview(
  db: AppDb,
  data: { taskId: string; deliverableId: string },
  why: string,
  key?: string,
): Promise<void> {
  await appendEvents(
    db,
    [
      {
        taskId: data.taskId,
        actor: "reviewer:local",
        kind: "review_pending",
        payload: {
          reason: `the review could not run: ${why.slice(0, 300)}`,
          deliverableId: data.deliverableId,
        },
      },
    ],
    key === undefined ? {} : { key },
  );
}

export type FailedReviewOutcome =
  | { settled: "parked"; parkings: number }
  | { settled: "triaged"; class: FailureClass }
  | { settled: "moved_on" };

/**
 * The review function's onFailure: park the review to be retried, or — when retrying cannot help
 * (`error.name` NonRetriableError, as the function edge marks it) or this deliverable's review was
 * already parked `maxParkings` times — move the task to failed_needs_triage with the failure's class.
 * A task that moved on meanwhile (a newer deliverable, another state) is left alone.
 */
export async function settleFailedReview(
  db: AppDb,
  data: { taskId: string; deliverableId: string; deliverableHash: string },
  failure: { name: string; message: string; runId: string },
  maxParkings: number,
): Promise<{ outcome: FailedReviewOutcome; outbox: OutboxMessage[] }> {
  const [row] = rowsOf<{ n: number }>(
    await db.execute(sql`
      select count(*)::int as n from task_events
       where task_id = ${data.taskId} and kind = 'review_pending' and payload->>'deliverableId' = ${data.deliverableId}
         and idempotency_key is distinct from ${`events:review-parked:${failure.runId}#0`}`),
  );
  // This failure's number: the parkings before it, plus itself.
  const parkings = (row?.n ?? 0) + 1;
  const heals = failure.name !== "NonRetriableError";
  if (heals && parkings <= maxParkings) {
    await parkReview(db, data, failure.message, `review-parked:${failure.runId}`);
    return { outcome: { settled: "parked", parkings }, outbox: [] };
  }
  const cls = classifyFailure(new Error(failure.message));
  const why = heals ? `the review could not run, ${parkings} times over` : "the review could not run";
  try {
    const moved = await transition(db, {
      taskId: data.taskId,
      from: "working",
      to: "failed_needs_triage",
      key: `review-failed:${data.deliverableId}`,
      guards: [guards.deliverableCurrent(data.deliverableHash)],
      reason: failureReason(cls, `${why}: ${failure.message.slice(0, 300)}`),
      actor: "reviewer:local",
    });
    return { outcome: { settled: "triaged", class: cls }, outbox: moved.outbox };
  } catch (err) {
    if (taskMovedOn(err)) return { outcome: { settled: "moved_on" }, outbox: [] };
    throw err;
  }
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

/** review-retry's re-sends of a parked review: `review-retry:<deliverable>:<parking event>`. */
export const RETRY_EVENT_PREFIX = "review-retry:";

export const retryEvent = (p: ParkedReview): OutgoingEvent =>
  taskWorkSubmitted.create(
    { taskId: p.taskId, runId: p.runId, deliverableId: p.deliverableId, deliverableHash: p.deliverableHash },
    { id: `${RETRY_EVENT_PREFIX}${p.deliverableId}:${p.parkedEventId}` },
  );
