// The plan's local graph, before anything is written: refs resolve, unknown names are refused with
// their field, and a cycle is named member by member with the edge that closes it.
import { describe, expect, it } from "vitest";
import { DomainError } from "../errors.ts";
import { findCycle, planGraph } from "./graph.ts";

const EXISTING = "task_0000000000aaaaaaaaaaaaaaaa";
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return err as DomainError;
  }
  throw new Error("expected a refusal");
};

describe("planGraph", () => {
  it("resolves refs to task indexes and collects existing task ids with their fields", () => {
    const graph = planGraph([
      { ref: "a" },
      { ref: "b", depends_on: ["a", EXISTING] },
      { ref: "c", depends_on: ["a", "b"] },
    ]);
    expect(graph.local).toEqual([[], [0], [0, 1]]);
    expect(graph.existing).toEqual([{ id: EXISTING, field: "tasks.1.depends_on.1" }]);
  });

  it("refuses a name that is neither a ref of the plan nor a task id, naming the field", () => {
    const err = refusal(() => planGraph([{ ref: "a" }, { ref: "b", depends_on: ["a", "nope"] }]));
    expect(err).toMatchObject({ code: "VALIDATION", field: "tasks.1.depends_on.1" });
    expect(err.message).toContain("'nope'");
  });

  it("refuses a repeated ref", () => {
    expect(refusal(() => planGraph([{ ref: "a" }, { ref: "a" }]))).toMatchObject({ field: "tasks.1.ref" });
  });

  it("names a cycle's members in order and the edge that closes it", () => {
    const err = refusal(() =>
      planGraph([
        { ref: "setup" },
        { ref: "import", depends_on: ["setup", "verify"] },
        { ref: "map", depends_on: ["import"] },
        { ref: "verify", depends_on: ["map"] },
      ]),
    );
    expect(err.code).toBe("VALIDATION");
    expect(err.message).toContain("import → verify → map → import");
    expect(err.details).toMatchObject({ cycle: ["import", "verify", "map", "import"] });
    // map depends on import: tasks.2.depends_on.0 closes it.
    expect(err.field).toBe("tasks.2.depends_on.0");
  });

  it("refuses a task that depends on itself", () => {
    const err = refusal(() => planGraph([{ ref: "a", depends_on: ["a"] }]));
    expect(err).toMatchObject({ field: "tasks.0.depends_on.0", details: { cycle: ["a", "a"] } });
  });
});

describe("findCycle", () => {
  it("accepts a diamond and a 100-deep chain", () => {
    expect(findCycle([[], [0], [0], [1, 2]])).toBeUndefined();
    expect(findCycle(Array.from({ length: 100 }, (_, i) => (i === 0 ? [] : [i - 1])))).toBeUndefined();
  });

  it("finds a cycle reached through an acyclic part", () => {
    expect(findCycle([[1], [2], [3], [1]])).toEqual([1, 2, 3, 1]);
  });
});
