// A HubSpot move crm-inbound refused, told in the task's Slack thread (the ticket gets its own note):
// the people who watch the task learn that someone tried, and why it did not count. One notice per
// stage-change event, so a retried step does not post it twice.
import type { TaskState } from "../states.ts";
import { refusedMoveNotice } from "./blocks.ts";
import { type NotifyDeps, noticeTaskOf, type PostedNotice, postTaskNotice } from "./thread.ts";

export interface RefusedMove {
  taskId: string;
  ticketId: string;
  from: TaskState;
  to: TaskState;
  reason: string;
  /** The stage change's event id (one notice per change). */
  eventId: string;
  mover?: string | undefined;
}

export async function notifyRefusedMove(
  deps: NotifyDeps,
  move: RefusedMove,
): Promise<PostedNotice | { posted: "stale"; reason: string }> {
  const task = await noticeTaskOf(deps, move.taskId);
  if (!task) return { posted: "stale", reason: `task ${move.taskId} does not exist` };
  return postTaskNotice(deps, {
    task,
    key: `notice:${move.taskId}:crm:${move.eventId}`,
    what: "the refused HubSpot move",
    message: refusedMoveNotice(task.ref, move),
  });
}
