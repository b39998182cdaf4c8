// Creating a plan: the plan row, its tasks, edges, events and outbox rows together; a chain and a
// diamond built by a plan promote in order as each task finishes (transition + promoteDependents);
// a cycle, an unknown name or a refused worker is a 400 naming the field and writes nothing.
import { count, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
  outbox,
  plans,
  projects,
  taskDependencies,
  taskEvents,
  tasks,
  workers,
} from "../../db/schema/index.ts";
import { useTestDb } from "../../test/db.ts";
import { freshKey, insertTask } from "../../test/fixtures.ts";
import { DomainError } from "../errors.ts";
import { newId } from "../ids.ts";
import type { TaskState } from "../states.ts";
import { GuardFailedError } from "../tasks/errors.ts";
import { guards } from "../tasks/guards.ts";
import { promoteDependents } from "../tasks/promote.ts";
import { transition } from "../tasks/transition.ts";
import { type CreatedPlan, createPlan } from "./create.ts";

const t = useTestDb();
const db = () => t.current.db;

const counts = async () => ({
  plans: (await db().select({ n: count() }).from(plans))[0]?.n,
  tasks: (await db().select({ n: count() }).from(tasks))[0]?.n,
  edges: (await db().select({ n: count() }).from(taskDependencies))[0]?.n,
  outbox: (await db().select({ n: count() }).from(outbox))[0]?.n,
});

/** The ids of the named refs (each one must exist). */
function idsOf<K extends string>(created: CreatedPlan, ...refs: K[]): Record<K, string> {
  const byRef = new Map(created.tasks.map((x) => [x.ref, x.task.id]));
  return Object.fromEntries(refs.map((r) => [r, byRef.get(r) ?? expect.fail(`no task ${r}`)])) as Record<
    K,
    string
  >;
}

/** Triage every task of the plan (what intake does), so promotion may move them. */
async function triage(created: CreatedPlan) {
  await db()
    .update(tasks)
    .set({ triagedAt: new Date() })
    .where(
      inArray(
        tasks.id,
        created.tasks.map((x) => x.task.id),
      ),
    );
}

const move = (taskId: string, to: TaskState) =>
  transition(db(), { taskId, to, key: freshKey(), actor: "test", guards: [guards.dependenciesDone()] });

/** A ready task worked, reviewed and approved; then promotion of its dependents. Returns the promoted ids. */
async function finish(taskId: string): Promise<string[]> {
  for (const to of ["working", "awaiting_client_review", "done"] as const) await move(taskId, to);
  const moved = await promoteDependents(db(), taskId, { actor: "test", keyBase: freshKey() });
  return moved.map((m) => m.taskId).sort();
}

const stateOf = async (id: string) =>
  (await db().select({ s: tasks.status }).from(tasks).where(eq(tasks.id, id)))[0]?.s;

describe("createPlan", () => {
  it("writes the plan, its tasks in the plan and project, their edges, submitted events and outbox rows", async () => {
    const existing = await insertTask(db(), { status: "done" });
    const created = await createPlan(db(), {
      title: "Onboard Acme",
      description: "Marketing Hub, then Service Hub",
      tasks: [
        { ref: "marketing", title: "Set up Marketing Hub", priority: "high", rubric: ["forms live"] },
        { ref: "service", title: "Configure Service Hub", depends_on: ["marketing", existing.id] },
      ],
    });
    expect(created.plan).toMatchObject({ title: "Onboard Acme", projectId: "proj_default" });
    expect(created.plan.createdAt).toBeInstanceOf(Date);
    const ids = idsOf(created, "marketing", "service");
    expect(created.tasks.map((x) => x.ref)).toEqual(["marketing", "service"]);
    expect(created.tasks[1]?.dependsOn).toEqual([ids.marketing, existing.id]);
    for (const { task } of created.tasks) {
      expect(task).toMatchObject({ planId: created.plan.id, projectId: "proj_default", status: "intake" });
    }
    expect(created.tasks[0]?.task).toMatchObject({ priority: 1, rubric: ["forms live"] });
    // Ids sort in input order, so the plan lists its tasks as they were given.
    expect([ids.marketing, ids.service].sort()).toEqual([ids.marketing, ids.service]);

    const edges = await db().select().from(taskDependencies).where(eq(taskDependencies.taskId, ids.service));
    expect(edges.map((e) => e.dependsOnId).sort()).toEqual([ids.marketing, existing.id].sort());
    const [event] = await db().select().from(taskEvents).where(eq(taskEvents.taskId, ids.service));
    expect(event).toMatchObject({ kind: "submitted", payload: { dependsOn: [ids.marketing, existing.id] } });
    expect(created.outbox.map((m) => m.eventId)).toEqual([
      `task-submitted:${ids.marketing}`,
      `task-submitted:${ids.service}`,
    ]);
    const rows = await db()
      .select()
      .from(outbox)
      .where(
        inArray(
          outbox.eventId,
          created.outbox.map((m) => m.eventId),
        ),
      );
    expect(rows).toHaveLength(2);
  });

  it("creates the plan in the named project", async () => {
    const project = newId("proj");
    await db().insert(projects).values({ id: project, name: project });
    const created = await createPlan(db(), { project, title: "p", tasks: [{ ref: "only", title: "x" }] });
    expect(created.plan.projectId).toBe(project);
    expect(created.tasks[0]?.task.projectId).toBe(project);
  });

  it("promotes a chain in order as each task finishes", async () => {
    const created = await createPlan(db(), {
      title: "chain",
      tasks: [
        { ref: "c", title: "third", depends_on: ["b"] },
        { ref: "b", title: "second", depends_on: ["a"] },
        { ref: "a", title: "first" },
      ],
    });
    await triage(created);
    const { a, b, c } = idsOf(created, "a", "b", "c");
    // b cannot start before a is done: the same guard promotion uses.
    await expect(move(b, "ready")).rejects.toBeInstanceOf(GuardFailedError);
    await move(a, "ready");
    expect(await finish(a)).toEqual([b]);
    expect(await stateOf(c)).toBe("intake");
    expect(await finish(b)).toEqual([c]);
    expect(await stateOf(c)).toBe("ready");
  });

  it("promotes a diamond: both branches after the top, the bottom only after both branches", async () => {
    const created = await createPlan(db(), {
      title: "diamond",
      tasks: [
        { ref: "top", title: "audit the portal" },
        { ref: "left", title: "pipelines", depends_on: ["top"] },
        { ref: "right", title: "properties", depends_on: ["top"] },
        { ref: "bottom", title: "activation checklist", depends_on: ["left", "right"] },
      ],
    });
    await triage(created);
    const { top, left, right, bottom } = idsOf(created, "top", "left", "right", "bottom");
    await move(top, "ready");
    expect(await finish(top)).toEqual([left, right].sort());
    expect(await finish(left)).toEqual([]);
    expect(await stateOf(bottom)).toBe("intake");
    expect(await finish(right)).toEqual([bottom]);
    expect(await stateOf(bottom)).toBe("ready");
  });

  it("rejects a cycle among the plan's tasks, naming its members in order, and writes nothing", async () => {
    const before = await counts();
    const err = await createPlan(db(), {
      title: "loop",
      tasks: [
        { ref: "setup", title: "setup" },
        { ref: "import", title: "import contacts", depends_on: ["setup", "verify"] },
        { ref: "dedupe", title: "dedupe", depends_on: ["import"] },
        { ref: "verify", title: "verify", depends_on: ["dedupe"] },
      ],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({
      code: "VALIDATION",
      field: "tasks.2.depends_on.0",
      details: { cycle: ["import", "verify", "dedupe", "import"] },
    });
    expect((err as Error).message).toContain("import → verify → dedupe → import");
    expect(await counts()).toEqual(before);
  });

  it("refuses unknown names with their field and writes nothing (the plan row is rolled back)", async () => {
    await db()
      .insert(workers)
      .values({ id: "retired-plans", name: "Retired", agentType: "crm", active: false });
    const before = await counts();
    const ghost = "task_0000000000zzzzzzzzzzzzzzzz";
    const cases: [unknown, string][] = [
      [{ title: "p", project: "proj_missing", tasks: [{ ref: "a", title: "a" }] }, "project"],
      [
        {
          title: "p",
          tasks: [
            { ref: "a", title: "a" },
            { ref: "b", title: "b", depends_on: ["a", ghost] },
          ],
        },
        "tasks.1.depends_on.1",
      ],
      [{ title: "p", tasks: [{ ref: "a", title: "a", depends_on: ["z"] }] }, "tasks.0.depends_on.0"],
      [
        {
          title: "p",
          tasks: [
            { ref: "a", title: "a" },
            { ref: "b", title: "b", worker: "nobody" },
          ],
        },
        "tasks.1.worker",
      ],
      [{ title: "p", tasks: [{ ref: "a", title: "a", worker: "retired-plans" }] }, "tasks.0.worker"],
      [
        {
          title: "p",
          tasks: [
            { ref: "a", title: "a" },
            { ref: "a", title: "again" },
          ],
        },
        "tasks.1.ref",
      ],
    ];
    for (const [input, field] of cases) {
      const err = await createPlan(db(), input).catch((e: unknown) => e);
      expect(err, JSON.stringify(input)).toMatchObject({ code: "VALIDATION", field });
    }
    expect(await counts()).toEqual(before);
  });

  it("refuses malformed input through its schema (a ZodError naming the path)", async () => {
    const bad = [
      { title: "p", tasks: [] },
      { title: "p", tasks: Array.from({ length: 101 }, (_, i) => ({ ref: `t${i}`, title: "x" })) },
      { title: "p", tasks: [{ ref: "task_0000000000aaaaaaaaaaaaaaaa", title: "x" }] },
      { title: "p\u0000", tasks: [{ ref: "a", title: "x" }] },
      { title: "p", tasks: [{ ref: "a", title: "x", plan: "plan_x" }] },
    ];
    for (const input of bad) {
      await expect(createPlan(db(), input), JSON.stringify(input).slice(0, 80)).rejects.toMatchObject({
        name: "ZodError",
      });
    }
  });

  it("takes 100 tasks in one plan", async () => {
    const created = await createPlan(db(), {
      title: "big",
      tasks: Array.from({ length: 100 }, (_, i) => ({
        ref: `t${i}`,
        title: `step ${i}`,
        ...(i > 0 ? { depends_on: [`t${i - 1}`] } : {}),
      })),
    });
    expect(created.tasks).toHaveLength(100);
    expect(created.outbox).toHaveLength(100);
  });
});
