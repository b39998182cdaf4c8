// Dependency promotion: when a task reaches `done`, its triaged dependents whose dependencies are now
// all done move intake → ready; when a task ends (done, or cancelled), a parent that waits for its
// subtasks (blocked_external with the `subtasks:` reason, lib/work/subtasks.ts) and has none left
// open moves blocked_external → ready to resume its work; when a task is cancelled, its dependents
// still in intake go to triage (class `dependency`), since nothing else would ever move them. Looks only at the finished task's dependents (indexed), never all
// tasks. Each move is keyed `<keyBase>:<dependent>`, so a retried step replays the moves it already
// made (returning their outbox rows to send again) and makes the rest.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { failureReason } from "../failures.ts";
import type { TaskState } from "../states.ts";
import { waitingForSubtasksSql } from "../work/subtasks.ts";
import { GuardFailedError, TransitionConflictError } from "./errors.ts";
import { guards } from "./guards.ts";
import { type TransitionResult, transition } from "./transition.ts";

/** `status`: where the task waits (intake or blocked_external) — for a move this key already made, where it waited then. */
type Candidate = { id: string; version: number; status: TaskState };

export async function promotableDependents(
  db: AppDb,
  doneTaskId: string,
  keyBase: string,
): Promise<Candidate[]> {
  const result = await db.execute(sql`
    select t.id, t.version,
           coalesce((select e.payload->>'from' from task_events e
                      where e.task_id = t.id and e.idempotency_key = ${keyBase} || ':' || t.id
                        and e.kind = 'state_changed'), t.status::text) as status
      from task_dependencies d
      join tasks t on t.id = d.task_id
     where d.depends_on_id = ${doneTaskId}
       and ((t.status = 'intake' and t.triaged_at is not null
             and not exists (
               select 1 from task_dependencies d2 join tasks t2 on t2.id = d2.depends_on_id
                where d2.task_id = t.id and t2.status <> 'done'))
            or (${waitingForSubtasksSql}
                and not exists (
                  select 1 from task_dependencies d2 join tasks t2 on t2.id = d2.depends_on_id
                   where d2.task_id = t.id and t2.status not in ('done', 'cancelled')))
            or exists (
              select 1 from task_events e
               where e.task_id = t.id and e.idempotency_key = ${keyBase} || ':' || t.id))
     order by t.id`);
  return rowsOf<Candidate>(result).map((r) => ({
    id: r.id,
    version: Number(r.version),
    status: r.status,
  }));
}

/** Promotes every ready-to-go dependent. One that another actor moved meanwhile is skipped, not an error. */
export async function promoteDependents(
  db: AppDb,
  doneTaskId: string,
  opts: { actor: string; keyBase: string },
): Promise<TransitionResult[]> {
  const promoted: TransitionResult[] = [];
  for (const c of await promotableDependents(db, doneTaskId, opts.keyBase)) {
    // A replayed key returns its first move whatever `from` says; a new move starts where the task waits.
    const from = c.status === "blocked_external" ? "blocked_external" : "intake";
    try {
      promoted.push(
        await transition(db, {
          taskId: c.id,
          from,
          to: "ready",
          key: `${opts.keyBase}:${c.id}`,
          // A parent's cancelled subtask no longer holds it; a declared dependency must be done.
          guards: [from === "intake" ? guards.dependenciesDone() : guards.dependenciesSettled()],
          reason:
            from === "intake"
              ? `dependency ${doneTaskId} is done`
              : `its subtasks have ended (the last: ${doneTaskId}): the work resumes`,
          actor: opts.actor,
        }),
      );
    } catch (err) {
      if (!(err instanceof TransitionConflictError || err instanceof GuardFailedError)) throw err;
    }
  }
  return promoted;
}

/** Why a task waiting in intake for a cancelled dependency goes to triage, and what a person can do. */
export const cancelledDependencyReason = (cancelledTaskId: string): string =>
  failureReason(
    "dependency",
    `task ${cancelledTaskId}, which it depends on, was cancelled: retry it to go ahead without it, or skip or cancel it`,
  );

/** SQL: a cancelled task the task `t` depends on (the first by id), or null. */
export const cancelledDependencySql = sql`(select gd.depends_on_id from task_dependencies gd
    join tasks gt on gt.id = gd.depends_on_id
   where gd.task_id = t.id and gt.status = 'cancelled' order by gd.depends_on_id limit 1)`;

/**
 * A declared dependency a person cancelled: its dependents waiting in intake can never become ready
 * on their own, so each goes to triage with class `dependency` — where notify tells a person, who
 * retries it without the dependency, skips it, or drops it. Keyed like promotion, so a retried step
 * replays the moves it made.
 */
export async function failDependentsOfCancelled(
  db: AppDb,
  cancelledTaskId: string,
  opts: { actor: string; keyBase: string },
): Promise<TransitionResult[]> {
  const result = await db.execute(sql`
    select t.id from task_dependencies d join tasks t on t.id = d.task_id
     where d.depends_on_id = ${cancelledTaskId}
       and (t.status = 'intake'
            or exists (select 1 from task_events e
                        where e.task_id = t.id and e.idempotency_key = ${opts.keyBase} || ':' || t.id))
     order by t.id`);
  const failed: TransitionResult[] = [];
  for (const { id } of rowsOf<{ id: string }>(result)) {
    try {
      failed.push(
        await transition(db, {
          taskId: id,
          from: "intake",
          to: "failed_needs_triage",
          key: `${opts.keyBase}:${id}`,
          reason: cancelledDependencyReason(cancelledTaskId),
          actor: opts.actor,
        }),
      );
    } catch (err) {
      if (!(err instanceof TransitionConflictError || err instanceof GuardFailedError)) throw err;
    }
  }
  return failed;
}
