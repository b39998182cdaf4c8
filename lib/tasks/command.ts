// An operator's command that moves a task — retry, skip, unblock, cancel (lib/admin/actions.ts) — as
// ONE transition: the compare-and-set, the `state_changed` event naming the caller and the reason, and
// the outbox rows (task/state.changed, which promote reads when a skip reaches done; task/ready on a
// retry or unblock; task/cancel.requested on a cancel, which stops a running work run through its
// cancelOn and frees its slot through release-on-cancel). A command on a task in the wrong state is
// the 409 naming the state and what can be done instead. Retry and unblock send a task to work, so
// they hold while a task it depends on is still open (guards.dependenciesSettled, in the statement):
// the 409 names those tasks; a task intake never triaged is triaged again first (lib/tasks/retriage.ts).
import { sql } from "drizzle-orm";
import { z } from "zod";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import {
  ACTION_FROM,
  ACTION_TARGET,
  actionAllowed,
  type MovingAction,
  SKIPPED_PREFIX,
  wrongState,
} from "../admin/actions.ts";
import { DomainError } from "../errors.ts";
import { taskCancelRequested } from "../events.ts";
import { text } from "../text.ts";
import { GuardFailedError, InvalidTransitionError, TransitionConflictError } from "./errors.ts";
import { type ReadyOutcome, toReady } from "./retriage.ts";
import { transition } from "./transition.ts";

/** The body of every moving command: an optional reason, kept in the audit. */
export const commandBody = z.strictObject({
  reason: text({ trim: true, min: 1, minMessage: "must not be empty", max: 500 }).optional(),
});

const LABEL: Record<MovingAction, string> = {
  retry: "retried",
  skip: SKIPPED_PREFIX,
  unblock: "unblocked",
  cancel: "cancelled",
};

export const commandReason = (action: MovingAction, reason: string | undefined): string =>
  `${LABEL[action]}: ${reason ?? "through the admin API"}`;

export interface TaskCommand {
  taskId: string;
  action: MovingAction;
  /** The request's idempotency key (or a fresh one): a repeat returns the first result. */
  key: string;
  actor: string;
  reason?: string | undefined;
}

export async function applyTaskCommand(db: AppDb, cmd: TaskCommand): Promise<ReadyOutcome> {
  const { taskId, action, actor, key } = cmd;
  const reason = commandReason(action, cmd.reason);
  try {
    // Retry and unblock go to ready through toReady: held while a dependency is open, and an
    // untriaged task is triaged again first.
    if (action === "retry" || action === "unblock")
      return await toReady(db, {
        taskId,
        from: action === "retry" ? "failed_needs_triage" : "blocked_external",
        key,
        actor,
        reason,
      });
    const moved = await transition(db, {
      taskId,
      to: ACTION_TARGET[action],
      key,
      actor,
      reason,
      ...(action === "cancel" ? {} : { from: ACTION_FROM[action] }),
      emit: action === "cancel" ? [taskCancelRequested.create({ taskId, reason, actor })] : [],
    });
    return { kind: "moved", transition: moved };
  } catch (err) {
    if (err instanceof GuardFailedError && err.guard === "dependencies_settled")
      throw await waitingOn(db, taskId, action);
    const state =
      err instanceof InvalidTransitionError
        ? err.from
        : err instanceof TransitionConflictError
          ? err.current
          : undefined;
    // A state where the command applies means a concurrent move won the race: that conflict stands.
    if (state !== undefined && !actionAllowed(action, state)) throw wrongState(taskId, state, action);
    throw err;
  }
}

/** The 409 for a retry or unblock while dependencies are open: which ones, and in which state. */
export async function waitingOn(db: AppDb, taskId: string, action: MovingAction): Promise<DomainError> {
  const open = rowsOf<{ id: string; status: string }>(
    await db.execute(sql`
      select t.id, t.status from task_dependencies d join tasks t on t.id = d.depends_on_id
       where d.task_id = ${taskId} and t.status not in ('done', 'cancelled') order by t.id limit 20`),
  );
  const list = open.map((o) => `${o.id} (${o.status})`).join(", ");
  return new DomainError(
    "CONFLICT",
    `Cannot ${action} task ${taskId}: it depends on tasks that are still open: ${list}. Wait until they end (a task waiting for its subtasks resumes by itself), or skip or cancel them.`,
    { details: { taskId, reason: "dependencies_open", openDependencies: open } },
  );
}
