// The operator's commands per state: the exact table, every moving command legal in the state table,
// and the 409 a command in the wrong state gets.
import { describe, expect, it } from "vitest";
import { canTransition, TASK_STATES } from "../states.ts";
import {
  ACTION_FROM,
  ACTION_TARGET,
  ACTIONS_BY_STATE,
  actionAllowed,
  allowedActions,
  isSkipped,
  wrongState,
} from "./actions.ts";

describe("allowedActions", () => {
  it("gives each state exactly its commands", () => {
    expect(ACTIONS_BY_STATE).toEqual({
      intake: ["cancel", "note"],
      ready: ["cancel", "reassign", "note"],
      working: ["cancel", "note"],
      awaiting_internal_review: ["cancel", "note", "stamp"],
      awaiting_client_review: ["cancel", "note", "stamp"],
      done: ["note"],
      blocked_external: ["unblock", "cancel", "reassign", "note"],
      failed_needs_triage: ["retry", "skip", "cancel", "reassign", "note"],
      cancelled: ["note"],
    });
  });

  it("allows a moving command only where the state table has its transition", () => {
    for (const state of TASK_STATES) {
      for (const action of ["retry", "skip", "unblock", "cancel"] as const) {
        if (actionAllowed(action, state)) expect(canTransition(state, ACTION_TARGET[action])).toBe(true);
      }
    }
    for (const [action, from] of Object.entries(ACTION_FROM)) {
      expect(canTransition(from, ACTION_TARGET[action as keyof typeof ACTION_FROM])).toBe(true);
    }
  });

  it("never allows retry or skip outside triage, nor cancel of a finished task", () => {
    expect(TASK_STATES.filter((s) => actionAllowed("retry", s))).toEqual(["failed_needs_triage"]);
    expect(TASK_STATES.filter((s) => actionAllowed("skip", s))).toEqual(["failed_needs_triage"]);
    expect(allowedActions("done")).not.toContain("cancel");
    expect(allowedActions("cancelled")).not.toContain("cancel");
  });
});

describe("wrongState", () => {
  it("is a 409-mapped error naming the state and the commands that apply", () => {
    const err = wrongState("task_x", "working", "retry");
    expect(err.code).toBe("INVALID_TRANSITION");
    expect(err.field).toBe("state");
    expect(err.message).toBe("Task task_x is working: retry does not apply there (allowed: cancel, note).");
    expect(err.details).toEqual({
      taskId: "task_x",
      state: "working",
      action: "retry",
      allowed_actions: ["cancel", "note"],
    });
  });
});

describe("isSkipped", () => {
  it("reads the skip from a done task's reason, from the API and from HubSpot", () => {
    expect(isSkipped("done", "skipped: through the admin API")).toBe(true);
    expect(isSkipped("done", "skipped in HubSpot (done, to unblock dependents)")).toBe(true);
    expect(isSkipped("done", "the client approved")).toBe(false);
    expect(isSkipped("done", null)).toBe(false);
    expect(isSkipped("ready", "skipped: stale")).toBe(false);
  });
});
