// Stuck runs: `working` tasks with no task event for FOREMAN_WATCHDOG_STUCK_MINUTES. A task whose
// latest run submitted a deliverable is not stuck — its review is running or parked, which is the
// review's business and review-retry's — so only tasks whose latest run has not submitted count.
// The repair is ONE transition (working → ready the first time, → failed_needs_triage with class
// `timeout` once the log shows an earlier watchdog retry since the task last left triage) that
// clears the task's lease and owes `task/run.cancel.requested` naming the run (only that run's
// cancelOn stops it; release-on-cancel frees only that run's slot), then the run's slot is released
// here too, so a lost cancel leaks nothing. A run whose `task/dispatched` is still unsent never
// started and is the drain's, not stuck.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { Deps } from "../deps.ts";
import { taskDispatched, taskRunCancelRequested } from "../events.ts";
import { publish } from "../outbox/publish.ts";
import { TransitionConflictError } from "../tasks/errors.ts";
import { transition } from "../tasks/transition.ts";
import { releaseRun } from "../work/release.ts";
import { minutesBefore, STUCK_REASON_PREFIX, stuckVerdict, WATCHDOG_ACTOR } from "./decide.ts";

export interface StuckCase {
  taskId: string;
  version: number;
  /** The task's latest run (null when it never had one). */
  runId: string | null;
  lastEventAt: string;
  /** Earlier watchdog retries in the task's log. */
  earlierRetries: number;
}

type Row = {
  id: string;
  version: number;
  run_id: string | null;
  last_at: string | Date;
  retries: number;
};

export async function findStuckRuns(
  db: AppDb,
  opts: { now: Date; minutes: number; limit: number },
): Promise<StuckCase[]> {
  const cutoff = minutesBefore(opts.now, opts.minutes).toISOString();
  const result = await db.execute(sql`
    select t.id, t.version, r.id as run_id, a.at as last_at,
           -- Counted since the task last left triage: a person who retries it gives it a fresh
           -- watchdog retry, as a fresh token cap (its next hang is retried once, not triaged at once).
           (select count(*) from task_events e
             where e.task_id = t.id and e.kind = 'state_changed' and e.actor = ${WATCHDOG_ACTOR}
               and e.payload->>'to' = 'ready'
               and e.payload->>'reason' like ${`${STUCK_REASON_PREFIX}%`}
               and e.id > coalesce((select max(x.id) from task_events x
                                     where x.task_id = t.id and x.kind = 'state_changed'
                                       and x.payload->>'from' = 'failed_needs_triage'), 0))::int as retries
      from tasks t
      left join lateral (
        select ar.id from agent_runs ar where ar.task_id = t.id order by ar.attempt desc, ar.created_at desc limit 1
      ) r on true
      cross join lateral (
        select coalesce((select e.created_at from task_events e where e.task_id = t.id order by e.id desc limit 1),
                        t.updated_at) as at
      ) a
     where t.status = 'working'
       and a.at < ${cutoff}::timestamptz
       and not exists (select 1 from deliverables d where d.task_id = t.id and d.run_id = r.id)
       -- A run whose task/dispatched is still unsent never started: the drain owes it, the run is
       -- not stuck. (With the engine refusing events, cancelling it would send each leased task
       -- round to triage while nothing could run.)
       and not exists (select 1 from outbox o
                        where o.sent_at is null and o.abandoned_at is null
                          and o.name = ${taskDispatched.name} and o.data->>'runId' = r.id)
     order by a.at
     limit ${opts.limit}`);
  return rowsOf<Row>(result).map((r) => ({
    taskId: r.id,
    version: Number(r.version),
    runId: r.run_id,
    lastEventAt: new Date(r.last_at).toISOString(),
    earlierRetries: Number(r.retries),
  }));
}

export type StuckOutcome =
  | { outcome: "retried" | "triaged"; eventId: number; runId: string | null }
  | { outcome: "moved_on" };

type StuckDeps = Pick<Deps, "config" | "db" | "events" | "logger" | "now">;

export async function repairStuck(deps: StuckDeps, c: StuckCase, minutes: number): Promise<StuckOutcome> {
  const verdict = stuckVerdict({ earlierRetries: c.earlierRetries, minutes, runId: c.runId });
  let moved: Awaited<ReturnType<typeof transition>>;
  try {
    moved = await transition(deps.db, {
      taskId: c.taskId,
      from: "working",
      expectedVersion: c.version,
      to: verdict.to,
      // One move per version: a retried step replays it, and a later pass sees a new version.
      key: `watchdog:stuck:${c.taskId}:v${c.version}`,
      reason: verdict.reason,
      actor: WATCHDOG_ACTOR,
      set: { currentRunId: null, leaseExpiresAt: null },
      emit: c.runId
        ? [
            taskRunCancelRequested.create(
              { taskId: c.taskId, reason: verdict.reason, actor: WATCHDOG_ACTOR, runId: c.runId },
              { id: `watchdog:cancel:${c.taskId}:v${c.version}` },
            ),
          ]
        : [],
    });
  } catch (err) {
    // The task moved since it was found (the run woke up, a person acted): not stuck after all.
    if (err instanceof TransitionConflictError) return { outcome: "moved_on" };
    throw err;
  }
  const released = c.runId
    ? // Retried, the run was called off; timed out into triage, it failed (as work's own stops are).
      await releaseRun(deps.db, { runId: c.runId, status: verdict.to === "ready" ? "cancelled" : "failed" })
    : { released: false, outbox: [] };
  await publish(deps, [...moved.outbox, ...released.outbox]);
  return {
    outcome: verdict.to === "ready" ? "retried" : "triaged",
    eventId: moved.eventId,
    runId: c.runId,
  };
}
