// notify's verbs for events: a task transition that needs a person (failed_needs_triage with its
// failure class and a Retry button, blocked_external with its reason) becomes a notice in the task's
// thread; a routine one says nothing. A notice whose move is no longer the task's latest (the event
// came late: someone already retried or unblocked it) is not posted — it would ask for something done.
// The scheduler pausing and budget warnings are about no task: see ops.ts.

import type { TaskState } from "../states.ts";
import { blockedNotice, triageNotice } from "./blocks.ts";
import { failureOf, noticeKindOf, stateNoticeKey } from "./plan.ts";
import { type NotifyDeps, noticeTaskOf, type PostedNotice, postTaskNotice } from "./thread.ts";

export interface StateChange {
  taskId: string;
  to: TaskState;
  version: number;
  /** The move's task_events id: the notice stands while it is the task's latest move. */
  eventId: number;
  reason: string | null;
}

export type StateNoticeOutcome = PostedNotice | { posted: "silent" | "stale"; reason: string };

export async function notifyStateChange(deps: NotifyDeps, change: StateChange): Promise<StateNoticeOutcome> {
  const kind = noticeKindOf(change.to, change.reason);
  if (!kind) return { posted: "silent", reason: `${change.to} needs nobody` };
  const task = await noticeTaskOf(deps, change.taskId);
  if (!task) return { posted: "stale", reason: `task ${change.taskId} does not exist` };
  // The latest move, not the version: a reassign bumps the version but leaves the task failed.
  if (task.lastMoveId !== change.eventId) {
    return { posted: "stale", reason: `the task moved on (now ${task.status})` };
  }
  const message =
    kind === "triage"
      ? triageNotice(task.ref, failureOf(change.reason))
      : blockedNotice(task.ref, change.reason);
  return postTaskNotice(deps, {
    task,
    key: stateNoticeKey(change.taskId, change.version),
    what: kind === "triage" ? "the triage notice" : "the blocked notice",
    message,
  });
}
