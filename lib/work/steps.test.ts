// The work loop's step room: per-turn tool-call cap, and a run that never submits stays inside the
// engine's 1,000 steps whatever the turn limit and however many calls each turn asks for.
import { describe, expect, it } from "vitest";
import {
  callsSkipped,
  loopStepsLeft,
  MAX_TOOL_CALLS_PER_TURN,
  STEPS_OUTSIDE_LOOP,
  skippedCallMessage,
  toolCallsAllowed,
  turnFits,
} from "./steps.ts";

/** The loop of functions/work.ts, counting steps only: every turn asks for `calls` other tool calls, the last also submits. */
function simulate(limit: number, maxTurns: number, calls: number): number {
  let used = 0;
  for (let turn = 1; turn <= maxTurns; turn++) {
    const left = loopStepsLeft(limit, used);
    if (!turnFits(left)) break;
    used += 1 + toolCallsAllowed(calls, left);
  }
  // The last turn's submit (or block), in the step every turn keeps for it.
  return used + 1 + STEPS_OUTSIDE_LOOP;
}

describe("work steps", () => {
  it("caps the tool calls of one turn, and of the run's last steps", () => {
    expect(toolCallsAllowed(3, 100)).toBe(3);
    expect(toolCallsAllowed(40, 100)).toBe(MAX_TOOL_CALLS_PER_TURN);
    // A turn keeps a step for a submit or block: of 5 steps left, the turn takes 1, others get 3.
    expect(toolCallsAllowed(40, 5)).toBe(3);
    expect(toolCallsAllowed(2, 2)).toBe(0);
    expect(turnFits(2)).toBe(true);
    expect(turnFits(1)).toBe(false);
    const terminal = new Set(["submit", "block"]);
    expect(callsSkipped([...Array(20).fill("checklist_complete"), "submit"], 100, terminal)).toBe(4);
    expect(callsSkipped(["checklist_complete", "submit"], 2, terminal)).toBe(1);
  });

  it("never takes a run past the engine's limit, for any turn limit and calls per turn", () => {
    for (const calls of [0, 1, 5, 16, 50, 500]) {
      for (const maxTurns of [1, 30, 200]) {
        expect(simulate(1000, maxTurns, calls), `${calls} calls × ${maxTurns} turns`).toBeLessThanOrEqual(
          1000,
        );
      }
    }
    // The cap is what binds at the defaults' worst: 200 turns of 16 calls would be 3,400 steps.
    expect(simulate(1000, 200, 16)).toBeGreaterThan(990);
  });

  it("says why a call was not executed", () => {
    expect(skippedCallMessage(20, 500)).toContain("at most 16 tool calls run from one turn");
    expect(skippedCallMessage(5, 3)).toContain("only `submit` or `block` still run");
  });
});
