// Transition guards: named predicates over the task row (`t`) compiled into the transition's WHERE, so
// the check and the move are one atomic statement. A failed guard names itself (GuardFailedError).
import { type SQL, sql } from "drizzle-orm";
import { latestEntrySql } from "../review/stamp-wait.ts";
import { pausedSql } from "../scheduler/pause.ts";
import type { StampStage } from "../states.ts";

export type GuardName =
  | "dependencies_done"
  | "dependencies_open"
  | "dependencies_settled"
  | "revision_under_cap"
  | "lease_held"
  | "held_by_run"
  | "latest_run"
  | "deliverable_current"
  | "link_current_round"
  | "slot_free"
  | "worker_assigned"
  | "scheduler_running"
  | "stage_round"
  | "triaged";

export interface Guard {
  name: GuardName;
  /** A boolean SQL expression over the row aliased `t`. */
  predicate: SQL;
  /** What the guard expected, for the error message. */
  expected: Record<string, unknown>;
}

export const guards = {
  /** Every task this one depends on is `done`. */
  dependenciesDone: (): Guard => ({
    name: "dependencies_done",
    predicate: sql`not exists (select 1 from task_dependencies gd join tasks gt on gt.id = gd.depends_on_id
                               where gd.task_id = t.id and gt.status <> 'done')`,
    expected: {},
  }),
  /** Some task this one depends on is still open (neither done nor cancelled): a parent's subtask. */
  dependenciesOpen: (): Guard => ({
    name: "dependencies_open",
    predicate: sql`exists (select 1 from task_dependencies gd join tasks gt on gt.id = gd.depends_on_id
                           where gd.task_id = t.id and gt.status not in ('done', 'cancelled'))`,
    expected: {},
  }),
  /** Every task this one depends on has ended (done, or cancelled by a person): nothing left to wait for. */
  dependenciesSettled: (): Guard => ({
    name: "dependencies_settled",
    predicate: sql`not exists (select 1 from task_dependencies gd join tasks gt on gt.id = gd.depends_on_id
                               where gd.task_id = t.id and gt.status not in ('done', 'cancelled'))`,
    expected: {},
  }),
  /** Intake triaged the task (worker, priority, rubric): what a move to ready from outside intake needs. */
  triaged: (): Guard => ({
    name: "triaged",
    predicate: sql`t.triaged_at is not null`,
    expected: {},
  }),
  /** The task has had fewer than `cap` automatic revisions. */
  revisionUnderCap: (cap: number): Guard => ({
    name: "revision_under_cap",
    predicate: sql`t.revision_count < ${cap}`,
    expected: { cap },
  }),
  /** This run holds the task's lease and the lease has not lapsed. */
  leaseHeld: (runId: string): Guard => ({
    name: "lease_held",
    predicate: sql`coalesce(t.current_run_id = ${runId} and t.lease_expires_at > now(), false)`,
    expected: { runId },
  }),
  /** This run is the one working the task, its lease lapsed or not (what storing a deliverable checks). */
  heldByRun: (runId: string): Guard => ({
    name: "held_by_run",
    predicate: sql`coalesce(t.current_run_id = ${runId}, false)`,
    expected: { runId },
  }),
  /**
   * This run is the task's latest agent run, whether it still holds the lease or already released
   * it: what a failed run's clean-up checks, since the run's own `finally` frees the slot first.
   */
  latestRun: (runId: string): Guard => ({
    name: "latest_run",
    predicate: sql`coalesce((select ga.id from agent_runs ga where ga.task_id = t.id
                              order by ga.created_at desc, ga.id desc limit 1) = ${runId}, false)`,
    expected: { runId },
  }),
  /** The task's worker has a free slot. The worker_leases primary key enforces it under races. */
  slotFree: (workerId: string): Guard => ({
    name: "slot_free",
    predicate: sql`(select count(*) from worker_leases gl where gl.worker_id = ${workerId})
                   < (select gw.slots from workers gw where gw.id = ${workerId} and gw.active)`,
    expected: { workerId },
  }),
  /**
   * The task is this worker's (or nobody's yet): a lease planned from a snapshot taken before a
   * reassign cannot hand the task to the worker it was taken from.
   */
  /**
   * The scheduler is not paused now: a pass plans from a snapshot, and a person's pause (or the
   * budget's) that lands after it must stop the leases the pass has not made yet.
   */
  schedulerRunning: (): Guard => ({
    name: "scheduler_running",
    predicate: sql`not ${pausedSql}`,
    expected: {},
  }),
  workerAssigned: (workerId: string): Guard => ({
    name: "worker_assigned",
    predicate: sql`coalesce(t.worker_id = ${workerId}, true)`,
    expected: { workerId },
  }),
  /**
   * The client link was minted in the task's current stay in client review, not an earlier round's
   * (a resubmission of the very same bytes has the same hash, so the hash alone cannot tell them apart).
   */
  linkCurrentRound: (tokenId: string): Guard => ({
    name: "link_current_round",
    predicate: sql`exists (select 1 from stamp_links gl where gl.token_id = ${tokenId} and gl.task_id = t.id
                             and gl.created_at >= coalesce((select ge.created_at from (${latestEntrySql(sql`t.id`, "client")}) ge),
                                                           '-infinity'::timestamptz))`,
    expected: { tokenId },
  }),
  /**
   * The task's latest entry into the stamp stage is this event: a decision shown in an earlier
   * round (a Slack card whose buttons outlived it) cannot decide this one, even for the same bytes.
   */
  stageRound: (stage: StampStage, entryEventId: number): Guard => ({
    name: "stage_round",
    predicate: sql`coalesce((select ge.id from (${latestEntrySql(sql`t.id`, stage)}) ge) = ${entryEventId}, false)`,
    expected: { entryEventId },
  }),
  /** The deliverable being decided on is the current one. */
  deliverableCurrent: (hash: string): Guard => ({
    name: "deliverable_current",
    predicate: sql`coalesce(t.deliverable_hash = ${hash}, false)`,
    expected: { hash },
  }),
};
