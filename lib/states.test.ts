// The state table, pair by pair: exactly the transitions DESIGN §2 lists are allowed.
import { describe, expect, it } from "vitest";
import { canTransition, HAPPY_PATH, isTerminal, nextStates, TASK_STATES, type TaskState } from "./states.ts";

// DESIGN §2, written out independently of lib/states.ts so a change to either is caught.
const EXPECTED: Record<TaskState, TaskState[]> = {
  intake: ["ready", "blocked_external", "failed_needs_triage", "cancelled"],
  ready: ["working", "cancelled"],
  working: [
    "ready",
    "awaiting_internal_review",
    "awaiting_client_review",
    "blocked_external",
    "failed_needs_triage",
    "cancelled",
  ],
  awaiting_internal_review: ["awaiting_client_review", "ready", "blocked_external", "cancelled"],
  awaiting_client_review: ["done", "ready", "blocked_external", "cancelled"],
  blocked_external: ["ready", "cancelled"],
  failed_needs_triage: ["ready", "done", "cancelled"],
  done: [],
  cancelled: [],
};

describe("task state machine", () => {
  it("names the happy path, each step of it a legal move", () => {
    expect(HAPPY_PATH).toEqual([
      "intake",
      "ready",
      "working",
      "awaiting_internal_review",
      "awaiting_client_review",
      "done",
    ]);
    for (let i = 1; i < HAPPY_PATH.length; i++)
      expect(canTransition(HAPPY_PATH[i - 1] as TaskState, HAPPY_PATH[i] as TaskState)).toBe(true);
  });

  it("has exactly the nine named states", () => {
    expect([...TASK_STATES].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const from of TASK_STATES) {
    for (const to of TASK_STATES) {
      const allowed = EXPECTED[from].includes(to);
      it(`${allowed ? "allows" : "refuses"} ${from} → ${to}`, () => {
        expect(canTransition(from, to)).toBe(allowed);
      });
    }
  }

  it("lists next states per state and marks done/cancelled terminal", () => {
    for (const s of TASK_STATES) expect(nextStates(s).sort()).toEqual([...EXPECTED[s]].sort());
    expect(TASK_STATES.filter(isTerminal)).toEqual(["done", "cancelled"]);
  });
});
