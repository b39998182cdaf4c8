// Unreviewed work: a `working` task whose current deliverable has no verdict, with its
// `task/work.submitted` (and any re-send of it) not pending in the outbox (the drain's job), and idle
// — no task event, and nothing sent since — either for a day (a review queued behind the GPU writes
// nothing while it waits, so only a day's silence says the engine dropped what was sent last: the
// submission, or review-retry's re-send after a parking), or, when the drain set the submission
// aside unsent and it was never parked, for longer than a review run could take to end or park itself
// (FOREMAN_WATCHDOG_STUCK_MINUTES + FOREMAN_REVIEW_RETRY_MINUTES). The stuck-run check leaves such
// tasks alone (a submitted run is the review's business), and review-retry re-sends each parking
// once, so without this the task would stay `working` for good. The repair parks the review on the
// watchdog's word, once per deliverable and earlier parking (one keyed event): review-retry then
// re-sends the event under an id of its own, and the parkings count as any other
// (FOREMAN_REVIEW_MAX_PARKINGS, then triage).
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { RETRY_EVENT_PREFIX } from "../review/parked.ts";
import { appendEvents } from "../tasks/event-log.ts";
import { WORK_SUBMITTED_PREFIX } from "../work/deliverable.ts";
import { minutesBefore, WATCHDOG_ACTOR } from "./decide.ts";

export interface UnreviewedWork {
  taskId: string;
  deliverableId: string;
  version: number;
  idleSince: string;
  /** Parkings of this version so far: a re-send review-retry made for one was lost too. */
  parkings: number;
}

export async function findUnreviewedWork(
  db: AppDb,
  opts: { now: Date; minutes: number; limit: number },
): Promise<UnreviewedWork[]> {
  const cutoff = minutesBefore(opts.now, opts.minutes).toISOString();
  const result = await db.execute(sql`
    select t.id as task_id, d.id as deliverable_id, d.version, a.at as idle_since, pk.n as parkings
      from tasks t
      join deliverables d on d.task_id = t.id and d.hash = t.deliverable_hash
      cross join lateral (
        select count(*)::int as n from task_events e
         where e.task_id = t.id and e.kind = 'review_pending' and e.payload->>'deliverableId' = d.id
      ) pk
      cross join lateral (
        select greatest(
          (select e.created_at from task_events e where e.task_id = t.id order by e.id desc limit 1),
          (select o.sent_at from outbox o where o.event_id = ${WORK_SUBMITTED_PREFIX}::text || d.id),
          (select max(o.sent_at) from outbox o where o.event_id like ${RETRY_EVENT_PREFIX}::text || d.id || ':%')
        ) as at
      ) a
     where t.status = 'working'
       -- A day of silence since whatever was sent last — the submission, or review-retry's re-send
       -- after a parking — says the engine dropped it (a review queued behind the GPU writes nothing
       -- while it waits, so less says nothing). Set aside unsent, never parked: lost for sure.
       and (a.at < ${minutesBefore(opts.now, 24 * 60).toISOString()}::timestamptz
            or (a.at < ${cutoff}::timestamptz and pk.n = 0
                and exists (select 1 from outbox o
                             where o.event_id = ${WORK_SUBMITTED_PREFIX}::text || d.id and o.abandoned_at is not null)))
       and not exists (select 1 from reviews r where r.task_id = t.id and r.revision = d.version)
       and not exists (
         select 1 from outbox o
          where (o.event_id = ${WORK_SUBMITTED_PREFIX}::text || d.id or o.event_id like ${RETRY_EVENT_PREFIX}::text || d.id || ':%')
            and o.sent_at is null and o.abandoned_at is null)
     order by a.at
     limit ${opts.limit}`);
  return rowsOf<{
    task_id: string;
    deliverable_id: string;
    version: number;
    idle_since: string | Date;
    parkings: number;
  }>(result).map((r) => ({
    taskId: r.task_id,
    deliverableId: r.deliverable_id,
    version: Number(r.version),
    idleSince: new Date(r.idle_since).toISOString(),
    parkings: Number(r.parkings),
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
          reason:
            c.parkings > 0
              ? `the review never started: version ${c.version} was sent for review again and nothing happened since ${c.idleSince} (the re-sent task/work.submitted was lost)`
              : `the review never started: version ${c.version} was handed in and nothing happened since ${c.idleSince} (its task/work.submitted was lost)`,
          deliverableId: c.deliverableId,
        },
      },
    ],
    // One parking per deliverable and per earlier parking (the first keeps the key it always had).
    { key: `watchdog:unreviewed:${c.deliverableId}${c.parkings > 0 ? `:${c.parkings}` : ""}` },
  );
  return { parked: ids.length > 0 };
}
