// An operator's command that moves a task — retry, skip, unblock, cancel (lib/admin/actions.ts) — as
// ONE transition: the compare-and-set, the `state_changed` event naming the caller and the reason, and
// the outbox rows (task/state.changed, which promote reads when a skip reaches done; task/ready on a
// retry or unblock; task/cancel.requested on a cancel, which stops a running work run through its
// cancelOn and frees its slot through release-on-cancel). A command on a task in the wrong state is
// the 409 naming the state and what can be done instead.
import { z } from "zod";
import type { AppDb } from "../../db/types.ts";
import {
  ACTION_FROM,
  ACTION_TARGET,
  actionAllowed,
  type MovingAction,
  SKIPPED_PREFIX,
  wrongState,
} from "../admin/actions.ts";
import { taskCancelRequested } from "../events.ts";
import { text } from "../text.ts";
import { InvalidTransitionError, TransitionConflictError } from "./errors.ts";
import { type TransitionResult, transition } from "./transition.ts";

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

export async function applyTaskCommand(db: AppDb, cmd: TaskCommand): Promise<TransitionResult> {
  const { taskId, action, actor } = cmd;
  const reason = commandReason(action, cmd.reason);
  try {
    return await transition(db, {
      taskId,
      to: ACTION_TARGET[action],
      key: cmd.key,
      actor,
      reason,
      // Retry and unblock both go to ready: the start state is what tells them apart.
      ...(action === "cancel" ? {} : { from: ACTION_FROM[action] }),
      emit: action === "cancel" ? [taskCancelRequested.create({ taskId, reason, actor })] : [],
    });
  } catch (err) {
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
