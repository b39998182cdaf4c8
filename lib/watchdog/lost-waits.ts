// Lost waits: a task in awaiting_internal_review / awaiting_client_review whose review run no longer
// waits for it. Without the engine's API the sign is in the database (decide.ts lostWait): a live run
// writes the stage's reminder, then its escalation, then moves the task at the deadline, on the
// window counted from the state change into the stage; one of them overdue by the grace means the
// wait is gone. The repair is `task/stamp.resume` (the review function resumes the stage with its
// original clock, re-reading the stamps table first) with a watchdog event, one per stage entry and
// attempt; a resumed stage that is lost again is resumed again once the grace has passed.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { Config } from "../config.ts";
import type { Deps } from "../deps.ts";
import { taskStampResume } from "../events.ts";
import { publish } from "../outbox/publish.ts";
import type { StampStage } from "../states.ts";
import { currentEntrySql } from "../tasks/entry.ts";
import { lostWait, minutesBefore, type WaitMilestone } from "./decide.ts";
import { recordAction } from "./record.ts";

export const RESUMED_ACTION = "wait_recreated";

export interface LostWaitCase {
  taskId: string;
  stage: StampStage;
  deliverableHash: string;
  /** The state change into the stage: its id names the stage entry, its time starts the clock. */
  enteredEventId: number;
  enteredAt: string;
  /** What the lost run would have done next; "run" when the stage's own run failed (review's onFailure). */
  missing: WaitMilestone | "run";
  due: string;
  /** Earlier watchdog resumes of this stage entry. */
  attempts: number;
}

type Row = {
  id: string;
  stage: StampStage;
  deliverable_hash: string;
  entered_id: string | number;
  entered_at: string | Date;
  reminded: boolean;
  escalated: boolean;
  last_resume: string | Date | null;
  attempts: number;
};

type Clock = Pick<
  Config,
  "FOREMAN_STAMP_REMIND_HOURS" | "FOREMAN_STAMP_ESCALATE_HOURS" | "FOREMAN_STAMP_TIMEOUT_DAYS"
>;

export async function findLostWaits(
  db: AppDb,
  opts: { now: Date; graceMinutes: number; limit: number; clock: Clock },
): Promise<LostWaitCase[]> {
  // Nothing is due before the first reminder: younger stage entries cannot be lost yet. The query
  // over-reads (4 × limit) and the pure rule (decide.ts lostWait) keeps the lost ones.
  const cutoff = minutesBefore(
    opts.now,
    opts.graceMinutes + opts.clock.FOREMAN_STAMP_REMIND_HOURS * 60,
  ).toISOString();
  const result = await db.execute(sql`
    select t.id, st.stage, t.deliverable_hash, s.id as entered_id, s.created_at as entered_at,
           exists (select 1 from task_events r where r.task_id = t.id and r.id > s.id
                      and r.kind = 'reminder' and r.payload->>'stage' = st.stage) as reminded,
           exists (select 1 from task_events r where r.task_id = t.id and r.id > s.id
                      and r.kind = 'escalation' and r.payload->>'stage' = st.stage) as escalated,
           w.last_at as last_resume, w.attempts
      from tasks t
      cross join lateral (
        select case when t.status = 'awaiting_internal_review' then 'internal' else 'client' end as stage
      ) st
      join lateral (${currentEntrySql()}) s on true
      cross join lateral (
        select max((e.payload->>'at')::timestamptz) as last_at, count(*)::int as attempts
          from task_events e
         where e.task_id = t.id and e.id > s.id and e.kind = 'watchdog'
           and e.payload->>'action' = ${RESUMED_ACTION}
      ) w
     where t.status in ('awaiting_internal_review', 'awaiting_client_review')
       and t.deliverable_hash is not null
       and s.created_at < ${cutoff}::timestamptz
     order by s.id
     limit ${opts.limit * 4}`);
  const out: LostWaitCase[] = [];
  for (const r of rowsOf<Row>(result)) {
    const enteredAt = new Date(r.entered_at);
    const verdict = lostWait({
      stage: r.stage,
      enteredAt,
      reminded: r.reminded,
      escalated: r.escalated,
      lastResume: r.last_resume ? new Date(r.last_resume) : null,
      now: opts.now,
      graceMinutes: opts.graceMinutes,
      clock: opts.clock,
    });
    if (!verdict.lost) continue;
    out.push({
      taskId: r.id,
      stage: r.stage,
      deliverableHash: r.deliverable_hash,
      enteredEventId: Number(r.entered_id),
      enteredAt: enteredAt.toISOString(),
      missing: verdict.missing,
      due: verdict.due,
      attempts: Number(r.attempts),
    });
    if (out.length >= opts.limit) break;
  }
  return out;
}

type ResumeDeps = Pick<Deps, "config" | "db" | "events" | "logger" | "now">;

/**
 * The human stage a failed review run was in, as a case to resume now: the task waits in a stamp
 * stage for this very version, so the verdict was applied and it was the stage (say, Slack down past
 * the card's retries) that failed — there is no review to park. Null when the task is elsewhere.
 */
export async function failedStageRun(
  db: AppDb,
  ref: { taskId: string; deliverableHash: string },
  now: Date,
): Promise<LostWaitCase | null> {
  const result = await db.execute(sql`
    select t.id, st.stage, t.deliverable_hash, s.id as entered_id, s.created_at as entered_at,
           (select count(*)::int from task_events e
             where e.task_id = t.id and e.id > s.id and e.kind = 'watchdog'
               and e.payload->>'action' = ${RESUMED_ACTION}) as attempts
      from tasks t
      cross join lateral (
        select case when t.status = 'awaiting_internal_review' then 'internal' else 'client' end as stage
      ) st
      join lateral (${currentEntrySql()}) s on true
     where t.id = ${ref.taskId} and t.deliverable_hash = ${ref.deliverableHash}
       and t.status in ('awaiting_internal_review', 'awaiting_client_review')`);
  const r = rowsOf<Omit<Row, "reminded" | "escalated" | "last_resume">>(result)[0];
  if (!r) return null;
  return {
    taskId: r.id,
    stage: r.stage,
    deliverableHash: r.deliverable_hash,
    enteredEventId: Number(r.entered_id),
    enteredAt: new Date(r.entered_at).toISOString(),
    missing: "run",
    due: now.toISOString(),
    attempts: Number(r.attempts),
  };
}

export async function resumeWait(
  deps: ResumeDeps,
  c: LostWaitCase,
  at: string,
  /** Names the resume by its cause instead of its attempt (a failed run's: one resume per failure). */
  cause?: string,
): Promise<{ eventId: string; attempt: number; recorded: boolean }> {
  const attempt = c.attempts + 1;
  const id = cause
    ? `stamp-resume:${c.taskId}:${cause}`
    : `watchdog:stamp-resume:${c.taskId}:${c.enteredEventId}:${attempt}`;
  const r = await recordAction(deps.db, {
    taskId: c.taskId,
    key: cause ? `wait:${c.taskId}:${cause}` : `watchdog:wait:${c.taskId}:${c.enteredEventId}:${attempt}`,
    payload: {
      action: RESUMED_ACTION,
      stage: c.stage,
      missing: c.missing,
      due: c.due,
      deliverableHash: c.deliverableHash,
      startedAt: c.enteredAt,
      eventId: id,
      attempt,
      at,
    },
    emit: [
      taskStampResume.create(
        { taskId: c.taskId, stage: c.stage, deliverableHash: c.deliverableHash, startedAt: c.enteredAt },
        { id },
      ),
    ],
  });
  await publish(deps, r.outbox);
  return { eventId: id, attempt, recorded: r.recorded };
}
