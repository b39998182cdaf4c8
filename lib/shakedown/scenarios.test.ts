// The scenario table and the selection rules: every expected path is a legal walk of the state
// machine, the internal stage drops out only when triage waived it, and staged injections run alone
// and only once arranged.
import { describe, expect, it } from "vitest";
import { canTransition } from "../states.ts";
import { planTasks, SELF_STAGED, ShakedownUsageError, selectScenarios } from "./plan.ts";
import { expectedPath, INJECTIONS, movesOf, SCENARIO_IDS, SCENARIOS } from "./scenarios.ts";

describe("shakedown scenarios", () => {
  it.each(SCENARIO_IDS)("%s: its path is legal move by move, with and without the internal stamp", (id) => {
    for (const internalReview of [true, false]) {
      const path = expectedPath(SCENARIOS[id], { internalReview });
      expect(path[0]).toBe("intake");
      for (const [i, to] of path.slice(1).entries()) expect(canTransition(path[i] as never, to)).toBe(true);
    }
  });

  it("drops only the internal stage when triage waived it", () => {
    expect(expectedPath(SCENARIOS["reviewer-reject"], { internalReview: false })).toEqual([
      "intake",
      "ready",
      "working",
      "ready",
      "working",
      "awaiting_client_review",
      "done",
    ]);
    expect(movesOf(["intake", "ready", "working"])).toEqual(["intake→ready", "ready→working"]);
  });

  it("names six injections beside the baseline, auth-loss ending in triage with class auth", () => {
    expect(INJECTIONS).toHaveLength(6);
    expect(SCENARIOS["auth-loss"]).toMatchObject({ failureClass: "auth" });
    expect(SCENARIOS["auth-loss"].path.at(-1)).toBe("failed_needs_triage");
  });
});

describe("selecting scenarios", () => {
  it("runs every self-staged scenario by default", () => {
    expect(selectScenarios(undefined, false)).toEqual({ kind: "run", ids: SELF_STAGED });
    expect(SELF_STAGED).toEqual(["baseline", "reviewer-reject", "prompt-injection", "concurrent-dispatch"]);
  });

  it("asks for the arrangement of a staged injection, and runs it alone once arranged", () => {
    expect(selectScenarios("local-down", false)).toMatchObject({ kind: "arrange", id: "local-down" });
    expect(selectScenarios("local-down", true)).toEqual({ kind: "run", ids: ["local-down"] });
    expect(() => selectScenarios("local-down,reviewer-reject", true)).toThrow(/run it alone/);
  });

  it("refuses unknown and empty names", () => {
    expect(() => selectScenarios("reviewer-reject,typo", false)).toThrow(ShakedownUsageError);
    expect(() => selectScenarios("baseline", false)).toThrow(/unknown injection baseline/);
    expect(() => selectScenarios(" , ", false)).toThrow(/at least one/);
  });

  it("seeds two more concurrent-dispatch tasks than slots, each dry-run as the mode says", () => {
    const tasks = planTasks(["baseline", "concurrent-dispatch"], { dryRun: true, slots: 2 });
    expect(tasks.map((t) => t.ref)).toEqual([
      "baseline-1",
      "concurrent-dispatch-1",
      "concurrent-dispatch-2",
      "concurrent-dispatch-3",
      "concurrent-dispatch-4",
    ]);
    expect(tasks.every((t) => t.dry_run)).toBe(true);
    expect(planTasks(["baseline"], { dryRun: false, slots: 1 })[0]?.dry_run).toBe(false);
  });
});
