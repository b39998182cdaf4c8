// A parent whose subtasks are open waits for them (DESIGN §4, task.spawn_subtask). When the worker
// calls `submit` while a task it depends on is not done, the run does not hand in: ONE transition
// moves the task working → blocked_external with a `subtasks:` reason — guarded by "this run works the
// task" and "a dependency is open", in the same statement, so a subtask finishing at that moment
// either lets the submission through or finds the parent waiting. The run then ends and frees its slot
// (a single-slot worker must be free to work the subtasks). When the last subtask is done, promote
// moves the parent back to ready (`resumeWaitingDependents`), and a new run continues the work with
// the subtasks' results in its dossier. A person can unblock or cancel it like any blocked task.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { GuardFailedError, TransitionConflictError } from "../tasks/errors.ts";
import { guards } from "../tasks/guards.ts";
import { type TransitionResult, transition } from "../tasks/transition.ts";

/** The reason's prefix that marks a task waiting for its own subtasks (not for a person). */
export const SUBTASKS_PREFIX = "subtasks:";
export const SUBTASKS_REASON = `${SUBTASKS_PREFIX} waiting for its open subtasks; the work resumes in a new run once they are all done`;

export const isWaitingForSubtasks = (reason: string | null | undefined): boolean =>
  (reason ?? "").startsWith(SUBTASKS_PREFIX);

/** SQL twin of isWaitingForSubtasks for the task row aliased `t`: blocked, waiting on its subtasks. */
export const waitingForSubtasksSql = sql`(t.status = 'blocked_external' and starts_with(coalesce(t.status_reason, ''), ${SUBTASKS_PREFIX}))`;

/**
 * A worker's `block` reason as the task's reason. The model writes it (and ticket text can steer it):
 * one that reads as the subtask wait would silence the notice that asks a person, and have the
 * watchdog and promote resume the task as if its subtasks were done — so it is marked as the worker's.
 */
export const blockReason = (reason: string): string =>
  isWaitingForSubtasks(reason.trimStart()) ? `worker: ${reason}` : reason;

/**
 * Parks the task while a dependency is open; undefined when every dependency is done (the submission
 * goes ahead). A retried step gets its first result back (the key).
 */
export async function waitForSubtasks(
  db: AppDb,
  input: { taskId: string; runId: string },
): Promise<TransitionResult | undefined> {
  try {
    return await transition(db, {
      taskId: input.taskId,
      from: "working",
      to: "blocked_external",
      key: `${input.runId}:wait-subtasks`,
      guards: [guards.heldByRun(input.runId), guards.dependenciesOpen()],
      reason: SUBTASKS_REASON,
      actor: "fn:work",
    });
  } catch (err) {
    // No open dependency — or the task is no longer this run's `working` task (a retried step whose
    // first try stored the deliverable, which review has moved on since): storing the deliverable
    // decides, exactly as without subtasks (it replays its first result, or refuses).
    if (err instanceof GuardFailedError || err instanceof TransitionConflictError) return undefined;
    throw err;
  }
}

export interface SubtaskResult {
  id: string;
  title: string;
  status: string;
  at: string;
  /** The subtask's latest deliverable, cut to `maxChars`, or null when it has none. */
  markdown: string | null;
}

/** What the tasks this one depends on came to: their state and latest deliverable. ONE query. */
export async function readSubtaskResults(
  db: AppDb,
  taskId: string,
  maxChars = 4000,
): Promise<SubtaskResult[]> {
  const result = await db.execute(sql`
    select t.id, t.title, t.status, coalesce(d.created_at, t.updated_at) as at, left(d.markdown, ${maxChars}) as markdown
      from task_dependencies dep
      join tasks t on t.id = dep.depends_on_id
      left join lateral (
        select x.markdown, x.created_at from deliverables x where x.task_id = t.id order by x.version desc limit 1
      ) d on true
     where dep.task_id = ${taskId}
     order by at, t.id`);
  return rowsOf<{ id: string; title: string; status: string; at: string | Date; markdown: string | null }>(
    result,
  ).map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
}
