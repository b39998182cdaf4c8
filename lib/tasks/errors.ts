// Typed errors of the task lifecycle, refinements of DomainError so every edge maps them the same way.
import { DomainError } from "../errors.ts";
import type { TaskState } from "../states.ts";

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

export class TransitionConflictError extends DomainError {
  readonly current: TaskState;
  readonly currentVersion: number;
  constructor(
    taskId: string,
    expected: { status: TaskState; version: number },
    current: { status: TaskState; version: number },
  ) {
    super(
      "CONFLICT",
      `Task ${taskId} changed before this transition applied: it is now '${current.status}' (version ${current.version}), not '${expected.status}' (version ${expected.version}).`,
      { details: { taskId, current: current.status, currentVersion: current.version, expected } },
    );
    this.name = "TransitionConflictError";
    this.current = current.status;
    this.currentVersion = current.version;
  }
}

export const taskNotFound = (taskId: string): DomainError =>
  new DomainError("NOT_FOUND", `Task ${taskId} does not exist.`, { field: "taskId", details: { taskId } });
