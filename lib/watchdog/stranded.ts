// Stranded dependents: a task that waits only for tasks it depends on — triaged and in `intake`, or a
// parent in `blocked_external` waiting for its subtasks (lib/work/subtasks.ts) — whose dependencies
// have all ended, yet nothing moved it on for FOREMAN_WATCHDOG_LOST_MINUTES: promote's run was lost
// (out of retries, or its event outlived the outbox), or the last dependency ended in the instant the
// parent started waiting. The repair is the move promote would have made: ONE transition to `ready`
// under the same guard, keyed per version, so a retried step replays it and a person's move wins.
// A triaged task in `intake` with a cancelled dependency can never become ready by itself (promote's
// repair of the cancel ran before it was submitted, or was lost): it goes to triage with class
// `dependency`, as promote sends the dependents of a cancelled task.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { Deps } from "../deps.ts";
import { publish } from "../outbox/publish.ts";
import { GuardFailedError, TransitionConflictError } from "../tasks/errors.ts";
import { guards } from "../tasks/guards.ts";
import { cancelledDependencyReason, cancelledDependencySql } from "../tasks/promote.ts";
import { transition } from "../tasks/transition.ts";
import { waitingForSubtasksSql } from "../work/subtasks.ts";
import { minutesBefore, WATCHDOG_ACTOR } from "./decide.ts";

export interface StrandedDependent {
  taskId: string;
  status: "intake" | "blocked_external";
  version: number;
  /** A cancelled task it depends on (intake only): the task goes to triage instead of ready. */
  cancelledDependency?: string;
}

export async function findStrandedDependents(
  db: AppDb,
  opts: { now: Date; minutes: number; limit: number },
): Promise<StrandedDependent[]> {
  const cutoff = minutesBefore(opts.now, opts.minutes).toISOString();
  const result = await db.execute(sql`
    select t.id, t.status, t.version,
           case when t.status = 'intake' then ${cancelledDependencySql} end as cancelled_dependency
      from tasks t
     where ((t.status = 'intake' and t.triaged_at is not null
             and (not exists (select 1 from task_dependencies d join tasks x on x.id = d.depends_on_id
                               where d.task_id = t.id and x.status <> 'done')
                  or ${cancelledDependencySql} is not null))
         or (${waitingForSubtasksSql}
             and not exists (select 1 from task_dependencies d join tasks x on x.id = d.depends_on_id
                              where d.task_id = t.id and x.status not in ('done', 'cancelled'))))
       and t.updated_at < ${cutoff}::timestamptz
     order by t.updated_at
     limit ${opts.limit}`);
  return rowsOf<{
    id: string;
    status: StrandedDependent["status"];
    version: number;
    cancelled_dependency: string | null;
  }>(result).map((r) => ({
    taskId: r.id,
    status: r.status,
    version: Number(r.version),
    ...(r.cancelled_dependency ? { cancelledDependency: r.cancelled_dependency } : {}),
  }));
}

export async function promoteStranded(
  deps: Pick<Deps, "db" | "config" | "events" | "logger" | "now">,
  c: StrandedDependent,
): Promise<{ promoted: boolean; triaged?: boolean }> {
  try {
    if (c.cancelledDependency) {
      const failed = await transition(deps.db, {
        taskId: c.taskId,
        from: "intake",
        expectedVersion: c.version,
        to: "failed_needs_triage",
        key: `watchdog:dependency:${c.taskId}:v${c.version}`,
        reason: cancelledDependencyReason(c.cancelledDependency),
        actor: WATCHDOG_ACTOR,
      });
      await publish(deps, failed.outbox);
      return { promoted: false, triaged: true };
    }
    const moved = await transition(deps.db, {
      taskId: c.taskId,
      from: c.status,
      expectedVersion: c.version,
      to: "ready",
      key: `watchdog:promote:${c.taskId}:v${c.version}`,
      guards: [c.status === "intake" ? guards.dependenciesDone() : guards.dependenciesSettled()],
      reason: `watchdog: ${c.status === "intake" ? "its dependencies are all done" : "its subtasks have all ended"}, but nothing moved it on`,
      actor: WATCHDOG_ACTOR,
    });
    await publish(deps, moved.outbox);
    return { promoted: true };
  } catch (err) {
    // Moved meanwhile (promote got there, or a person did): nothing to repair.
    if (err instanceof TransitionConflictError || err instanceof GuardFailedError) return { promoted: false };
    throw err;
  }
}
