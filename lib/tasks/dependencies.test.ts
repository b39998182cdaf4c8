// Edges between existing tasks: added once (a repeat is a no-op), refused when a task is unknown or
// when the edge would close a cycle — named member by member — and, on real PostgreSQL, two
// concurrent additions that would together close a cycle: exactly one is refused.
import { eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { taskDependencies, taskEvents } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { onPostgres, useTestDb } from "../../test/db.ts";
import { insertTask } from "../../test/fixtures.ts";
import { DomainError } from "../errors.ts";
import { addDependencies, cycleThrough } from "./dependencies.ts";

const t = useTestDb();
const tasksOf = async (db: AppDb, n: number) => Promise.all(Array.from({ length: n }, () => insertTask(db)));
const edgesOf = async (ids: string[]) =>
  (
    await t.current.db
      .select({ from: taskDependencies.taskId, to: taskDependencies.dependsOnId })
      .from(taskDependencies)
      .where(inArray(taskDependencies.taskId, ids))
  )
    .map((e) => `${e.from}>${e.to}`)
    .sort();

describe("addDependencies", () => {
  it("adds edges between existing tasks, and a repeat is a no-op", async () => {
    const [a, b, c] = await tasksOf(t.current.db, 3);
    if (!a || !b || !c) throw new Error("fixtures");
    await expect(addDependencies(t.current.db, { taskId: a.id, dependsOn: [b.id, c.id] })).resolves.toEqual({
      taskId: a.id,
      added: [b.id, c.id],
    });
    await expect(addDependencies(t.current.db, { taskId: a.id, dependsOn: [b.id] })).resolves.toEqual({
      taskId: a.id,
      added: [],
    });
    expect(await edgesOf([a.id])).toEqual([`${a.id}>${b.id}`, `${a.id}>${c.id}`].sort());
    // One audit event for the call that added edges; none for the no-op repeat.
    const log = await t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, a.id));
    expect(log.map((e) => [e.kind, e.payload])).toEqual([["dependency_added", { dependsOn: [b.id, c.id] }]]);
  });

  it("refuses an edge that closes a cycle through existing tasks, naming its members in order, and writes nothing", async () => {
    // d depends on c, c on b, b on a; then a → d would close a → d → c → b → a.
    const [a, b, c, d, other] = await tasksOf(t.current.db, 5);
    if (!a || !b || !c || !d || !other) throw new Error("fixtures");
    await addDependencies(t.current.db, { taskId: b.id, dependsOn: [a.id] });
    await addDependencies(t.current.db, { taskId: c.id, dependsOn: [b.id] });
    await addDependencies(t.current.db, { taskId: d.id, dependsOn: [c.id] });
    const err = await addDependencies(t.current.db, { taskId: a.id, dependsOn: [other.id, d.id] }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({
      code: "VALIDATION",
      field: "dependsOn.1",
      details: { cycle: [a.id, d.id, c.id, b.id, a.id] },
    });
    expect((err as Error).message).toContain(`${a.id} → ${d.id} → ${c.id} → ${b.id} → ${a.id}`);
    // All or nothing: the harmless edge to `other` was not added either.
    expect(await edgesOf([a.id])).toEqual([]);
  });

  it("refuses a task depending on itself as a one-member cycle", async () => {
    const a = await insertTask(t.current.db);
    await expect(addDependencies(t.current.db, { taskId: a.id, dependsOn: [a.id] })).rejects.toMatchObject({
      code: "VALIDATION",
      details: { cycle: [a.id, a.id] },
    });
  });

  it("refuses unknown tasks: the dependent is NOT_FOUND, a dependency names its field", async () => {
    const a = await insertTask(t.current.db);
    const ghost = "task_0000000000zzzzzzzzzzzzzzzz";
    await expect(addDependencies(t.current.db, { taskId: ghost, dependsOn: [a.id] })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    await expect(
      addDependencies(t.current.db, { taskId: a.id, dependsOn: [a.id.replace(/.$/, "0"), ghost] }),
    ).rejects.toMatchObject({ code: "VALIDATION", field: expect.stringMatching(/^dependsOn\.[01]$/) });
    expect(
      await t.current.db.select().from(taskDependencies).where(eq(taskDependencies.taskId, a.id)),
    ).toEqual([]);
  });

  it("refuses malformed input through its schema", async () => {
    await expect(addDependencies(t.current.db, { taskId: "nope", dependsOn: [] })).rejects.toThrow();
  });
});

describe("cycleThrough", () => {
  it("walks back from the dependent to a new dependency and reads the cycle forwards", () => {
    // New edge a → x; existing: x → y → a (x depends on y, y on a). Rows are (node, reached from).
    expect(
      cycleThrough("a", [
        ["x", null],
        ["y", "x"],
        ["a", "y"],
      ]),
    ).toEqual(["a", "x", "y", "a"]);
  });
});

describe.runIf(onPostgres)("racing additions (real Postgres)", () => {
  it("A→B and B→A added at once: exactly one is refused, naming the cycle", async () => {
    for (let round = 0; round < 20; round++) {
      const [a, b] = await tasksOf(t.current.db, 2);
      if (!a || !b) throw new Error("fixtures");
      const results = await Promise.allSettled([
        addDependencies(t.current.db, { taskId: a.id, dependsOn: [b.id] }),
        addDependencies(t.current.db, { taskId: b.id, dependsOn: [a.id] }),
      ]);
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(refused, `round ${round}`).toHaveLength(1);
      const reason = refused[0]?.reason as DomainError;
      expect(reason).toMatchObject({ code: "VALIDATION" });
      const cycle = reason.details?.cycle as string[];
      expect(new Set(cycle)).toEqual(new Set([a.id, b.id]));
      expect(await edgesOf([a.id, b.id])).toHaveLength(1);
    }
  });

  it("a three-task cycle closed by two concurrent additions over an existing edge: one is refused", async () => {
    for (let round = 0; round < 10; round++) {
      const [a, b, c] = await tasksOf(t.current.db, 3);
      if (!a || !b || !c) throw new Error("fixtures");
      await addDependencies(t.current.db, { taskId: a.id, dependsOn: [b.id] });
      const results = await Promise.allSettled([
        addDependencies(t.current.db, { taskId: b.id, dependsOn: [c.id] }),
        addDependencies(t.current.db, { taskId: c.id, dependsOn: [a.id] }),
      ]);
      expect(
        results.filter((r) => r.status === "rejected"),
        `round ${round}`,
      ).toHaveLength(1);
      expect(await edgesOf([a.id, b.id, c.id])).toHaveLength(2);
    }
  });
});
