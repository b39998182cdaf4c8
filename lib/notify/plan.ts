// The judgment layer (seed 002: most work is silent), pure: which task transitions need a person in
// Slack, and what a failure notice says. Only two states wait on a human nobody has asked yet —
// failed_needs_triage (someone decides: retry, skip or drop) and blocked_external (someone outside
// must act). awaiting_internal_review is announced by the review run's own stamp card, the client
// stage by its link; every other move is routine and says nothing.
import { FAILURE_HINTS, type FailureClass, splitReason } from "../failures.ts";
import type { TaskState } from "../states.ts";
import { isWaitingForSubtasks } from "../work/subtasks.ts";

export type TaskNoticeKind = "triage" | "blocked";

export interface Failure {
  class: FailureClass;
  /** The reason without its `<class>:` prefix. */
  detail: string;
  /** What a person does about this class (lib/failures.ts). */
  hint: string;
}

/** A triage reason (`<class>: detail`, the form every writer uses) read with the one classifier. */
export function failureOf(reason: string | null): Failure {
  const { class: cls, detail } = splitReason(reason);
  const text = (reason ?? "").trim();
  return { class: cls, detail: detail || text || "(no reason recorded)", hint: FAILURE_HINTS[cls] };
}

/**
 * The notice a transition calls for, or null when it is routine. A parent waiting for its own
 * subtasks is blocked on foreman, not on a person: it resumes by itself, so nobody is asked.
 */
export function noticeKindOf(to: TaskState, reason?: string | null): TaskNoticeKind | null {
  if (to === "failed_needs_triage") return "triage";
  if (to === "blocked_external") return isWaitingForSubtasks(reason) ? null : "blocked";
  return null;
}

/** One notice per move: the version the move produced names it, so a re-delivered event is the same notice. */
export const stateNoticeKey = (taskId: string, version: number): string => `notice:${taskId}:v${version}`;
