// Typed errors of the task lifecycle, refinements of DomainError so every edge maps them the same way.
import { DomainError } from "../errors.ts";
import type { TaskState } from "../states.ts";
import type { GuardName } from "./guards.ts";

export class InvalidTransitionError extends DomainError {
  readonly from: TaskState;
  readonly to: TaskState;
  constructor(taskId: string, from: TaskState, to: TaskState) {
    super("INVALID_TRANSITION", `Task ${taskId} cannot move from '${from}' to '${to}'.`, {
      field: "to",
      details: { taskId, from, to },
    });
    this.name = "InvalidTransitionError";
    this.from = from;
    this.to = to;
  }
}

/** Who moved the task last: the transition that beat this one. */
export interface Winner {
  eventId: number;
  actor: string;
  at: string;
}

export class TransitionConflictError extends DomainError {
  readonly current: TaskState;
  readonly currentVersion: number;
  readonly winner: Winner | null;
  constructor(
    taskId: string,
    expected: { status: TaskState; version: number },
    current: { status: TaskState; version: number },
    winner: Winner | null,
  ) {
    const by = winner ? ` by ${winner.actor} at ${winner.at} (event ${winner.eventId})` : "";
    super(
      "CONFLICT",
      `Task ${taskId} changed before this transition applied: it was moved to '${current.status}' (version ${current.version})${by}, not left at '${expected.status}' (version ${expected.version}).`,
      { details: { taskId, current: current.status, currentVersion: current.version, expected, winner } },
    );
    this.name = "TransitionConflictError";
    this.current = current.status;
    this.currentVersion = current.version;
    this.winner = winner;
  }
}

export class GuardFailedError extends DomainError {
  readonly guard: GuardName;
  constructor(taskId: string, to: TaskState, guard: GuardName, expected: Record<string, unknown>) {
    super("CONFLICT", `Task ${taskId} cannot move to '${to}': guard '${guard}' does not hold.`, {
      details: { taskId, to, guard, expected },
    });
    this.name = "GuardFailedError";
    this.guard = guard;
  }
}

/**
 * The task is no longer where a clean-up move expected it — another state, a failed guard, a move the
 * table forbids from where it is now: the failure handlers' "someone got there first", not a fault.
 */
export const taskMovedOn = (err: unknown): boolean =>
  err instanceof TransitionConflictError ||
  err instanceof GuardFailedError ||
  err instanceof InvalidTransitionError;

export const taskNotFound = (taskId: string): DomainError =>
  new DomainError("NOT_FOUND", `Task ${taskId} does not exist.`, { field: "taskId", details: { taskId } });
