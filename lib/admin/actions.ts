// The operator's commands on one task, as data (pure): which command applies in which state, the move
// it makes through the state table (lib/states.ts), and the refusal a command in the wrong state gets
// — the 409 that names the task's state and what can be done instead.
//   retry    failed_needs_triage → ready           (run it again)
//   skip     failed_needs_triage → done (skipped)  (give up on it so its dependents can go on)
//   unblock  blocked_external → ready               (what it waited for has arrived)
//   cancel   any non-terminal state → cancelled     (a running work run is stopped, its slot freed)
//   reassign ready, blocked_external, failed_needs_triage: the worker changes, the state does not.
//            Not in intake (triage picks the worker and would overwrite it), not while a run holds a
//            slot (working: the run is its worker's), not in review (the deliverable is the worker's
//            and a revision goes back through ready, where it can be reassigned), not when finished.
//   note     every state (a note on a finished task is still history)
//   stamp    awaiting_internal_review / awaiting_client_review (POST /api/tasks/:id/stamps)
import { DomainError } from "../errors.ts";
import { canTransition, isTerminal, TASK_STATES, type TaskState } from "../states.ts";

export const ADMIN_ACTIONS = ["retry", "skip", "unblock", "cancel", "reassign", "note", "stamp"] as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[number];

/** The commands that move the task, and where to. */
export const ACTION_TARGET = {
  retry: "ready",
  skip: "done",
  unblock: "ready",
  cancel: "cancelled",
} as const satisfies Partial<Record<AdminAction, TaskState>>;
export type MovingAction = keyof typeof ACTION_TARGET;

/** The only state a moving command starts from; cancel starts from any non-terminal one. */
export const ACTION_FROM: Record<Exclude<MovingAction, "cancel">, TaskState> = {
  retry: "failed_needs_triage",
  skip: "failed_needs_triage",
  unblock: "blocked_external",
};

export const REASSIGNABLE_STATES: readonly TaskState[] = ["ready", "blocked_external", "failed_needs_triage"];

export function actionAllowed(action: AdminAction, state: TaskState): boolean {
  switch (action) {
    case "retry":
    case "skip":
    case "unblock":
      return state === ACTION_FROM[action] && canTransition(state, ACTION_TARGET[action]);
    case "cancel":
      return !isTerminal(state) && canTransition(state, "cancelled");
    case "reassign":
      return REASSIGNABLE_STATES.includes(state);
    case "note":
      return true;
    case "stamp":
      return state === "awaiting_internal_review" || state === "awaiting_client_review";
  }
}

/** What an operator can do with a task in this state, in ADMIN_ACTIONS order. */
export const allowedActions = (state: TaskState): AdminAction[] =>
  ADMIN_ACTIONS.filter((a) => actionAllowed(a, state));

/** Every state with its commands (the README's table and the tests read it). */
export const ACTIONS_BY_STATE: Record<TaskState, AdminAction[]> = Object.fromEntries(
  TASK_STATES.map((s) => [s, allowedActions(s)]),
) as Record<TaskState, AdminAction[]>;

/** A skip is marked in the reason its transition records (the event's, and tasks.status_reason). */
export const SKIPPED_PREFIX = "skipped";
/** Done by a skip rather than by the client's approval (the API's and HubSpot's skips both say so). */
export const isSkipped = (state: TaskState, reason: string | null): boolean =>
  state === "done" && reason !== null && /^skipped\b/.test(reason);

/** The 409 for a command on a task in a state where it does not apply. */
export function wrongState(taskId: string, state: TaskState, action: AdminAction): DomainError {
  const allowed = allowedActions(state);
  return new DomainError(
    "INVALID_TRANSITION",
    `Task ${taskId} is ${state}: ${action} does not apply there (allowed: ${allowed.join(", ")}).`,
    { field: "state", details: { taskId, state, action, allowed_actions: allowed } },
  );
}
