// A spawned subtask joins the DAG: it lands in the parent's project and plan, the parent depends on
// it, a retried step (same key) gets the same subtask back, and the DAG predicates see it
// (guards.dependenciesDone() refuses until it is done). How the parent waits in the work loop and
// resumes: functions/work-subtasks.test.ts.
import { count, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { outbox, taskDependencies, tasks } from "../../db/schema/index.ts";
import { onPostgres, useTestDb } from "../../test/db.ts";
import { freshKey, insertTask } from "../../test/fixtures.ts";
import { createPlan } from "../plans/create.ts";
import type { TaskState } from "../states.ts";
import { addDependencies } from "./dependencies.ts";
import { GuardFailedError } from "./errors.ts";
import { guards } from "./guards.ts";
import { spawnSubtask } from "./spawn.ts";
import { transition } from "./transition.ts";

const t = useTestDb();
const db = () => t.current.db;

async function workingParentInPlan() {
  const created = await createPlan(db(), { title: "plan", tasks: [{ ref: "parent", title: "parent" }] });
  const parent = created.tasks[0]?.task;
  if (!parent) throw new Error("fixture");
  for (const to of ["ready", "working"] as const) {
    await transition(db(), { taskId: parent.id, to, key: freshKey(), actor: "test" });
  }
  return parent;
}

const dependsOn = async (taskId: string) =>
  (await db().select().from(taskDependencies).where(eq(taskDependencies.taskId, taskId))).map(
    (e) => e.dependsOnId,
  );

const move = (taskId: string, to: TaskState, withGuard = false) =>
  transition(db(), {
    taskId,
    to,
    key: freshKey(),
    actor: "test",
    ...(withGuard ? { guards: [guards.dependenciesDone()] } : {}),
  });

describe("spawnSubtask", () => {
  it("creates the subtask in the parent's project and plan, and makes the parent depend on it", async () => {
    const parent = await workingParentInPlan();
    const key = freshKey();
    const spawned = await spawnSubtask(db(), {
      parentId: parent.id,
      title: "Map the deal stages",
      rubric: ["every stage mapped"],
      actor: "worker:crm-setup",
      key,
    });
    expect(spawned).toMatchObject({ parentId: parent.id, created: true });
    expect(spawned.task).toMatchObject({
      status: "intake",
      projectId: parent.projectId,
      planId: parent.planId,
      source: "agent",
      sourceRef: key,
      rubric: ["every stage mapped"],
    });
    expect(await dependsOn(parent.id)).toEqual([spawned.task.id]);
    expect(spawned.outbox.map((m) => m.name)).toEqual(["task/submitted"]);
  });

  it("is idempotent on its key: a retried step gets the same subtask and adds nothing", async () => {
    const parent = await workingParentInPlan();
    const input = { parentId: parent.id, title: "Import contacts", actor: "worker", key: freshKey() };
    const first = await spawnSubtask(db(), input);
    const again = await spawnSubtask(db(), input);
    expect(again).toMatchObject({ created: false, outbox: [] });
    expect(again.task.id).toBe(first.task.id);
    expect(await dependsOn(parent.id)).toEqual([first.task.id]);
    const rows = await db().select({ n: count() }).from(tasks).where(eq(tasks.sourceRef, input.key));
    expect(rows[0]?.n).toBe(1);
    // The same key for another subtask is a conflict, not a second subtask.
    await expect(spawnSubtask(db(), { ...input, title: "Something else" })).rejects.toMatchObject({
      code: "CONFLICT",
    });
  });

  it("holds the parent in working until the subtask is done (guards.dependenciesDone)", async () => {
    const parent = await workingParentInPlan();
    const { task: sub } = await spawnSubtask(db(), {
      parentId: parent.id,
      title: "sub",
      actor: "worker",
      key: freshKey(),
    });
    const refused = await move(parent.id, "awaiting_internal_review", true).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GuardFailedError);
    expect(refused).toMatchObject({ guard: "dependencies_done" });
    await expect(move(parent.id, "awaiting_client_review", true)).rejects.toBeInstanceOf(GuardFailedError);
    expect((await db().select().from(tasks).where(eq(tasks.id, parent.id)))[0]?.status).toBe("working");

    for (const to of ["ready", "working", "awaiting_client_review", "done"] as const) await move(sub.id, to);
    await expect(move(parent.id, "awaiting_internal_review", true)).resolves.toMatchObject({
      from: "working",
      to: "awaiting_internal_review",
    });
  });

  it("goes through the same cycle check: the subtask cannot be made to wait for its parent", async () => {
    const parent = await workingParentInPlan();
    const { task: sub } = await spawnSubtask(db(), {
      parentId: parent.id,
      title: "sub",
      actor: "worker",
      key: freshKey(),
    });
    await expect(addDependencies(db(), { taskId: sub.id, dependsOn: [parent.id] })).rejects.toMatchObject({
      code: "VALIDATION",
      details: { cycle: [sub.id, parent.id, sub.id] },
    });
  });

  it("refuses an unknown or finished parent and writes nothing", async () => {
    const done = await insertTask(db(), { status: "done" });
    const before = (await db().select({ n: count() }).from(outbox))[0]?.n;
    await expect(
      spawnSubtask(db(), {
        parentId: "task_0000000000zzzzzzzzzzzzzzzz",
        title: "x",
        actor: "worker",
        key: freshKey(),
      }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(
      spawnSubtask(db(), { parentId: done.id, title: "x", actor: "worker", key: freshKey() }),
    ).rejects.toMatchObject({ code: "INVALID_TRANSITION", field: "parentId" });
    expect((await db().select({ n: count() }).from(outbox))[0]?.n).toBe(before);
  });

  it("refuses bad text through the submit schema", async () => {
    const parent = await workingParentInPlan();
    await expect(
      spawnSubtask(db(), { parentId: parent.id, title: "bad\u202e", actor: "worker", key: freshKey() }),
    ).rejects.toMatchObject({ name: "ZodError" });
    expect(await dependsOn(parent.id)).toEqual([]);
  });
});

describe.runIf(onPostgres)("racing retries (real Postgres)", () => {
  it("ten concurrent runs of one step make one subtask and one edge", async () => {
    const parent = await workingParentInPlan();
    const input = { parentId: parent.id, title: "once", actor: "worker", key: freshKey() };
    const results = await Promise.all(Array.from({ length: 10 }, () => spawnSubtask(db(), input)));
    expect(new Set(results.map((r) => r.task.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await dependsOn(parent.id)).toHaveLength(1);
  });
});

describe("spawnSubtask and dry-run", () => {
  it("makes the subtask of a dry-run task a dry-run task too", async () => {
    const parent = await insertTask(db(), { status: "working", dryRun: true });
    const spawned = await spawnSubtask(db(), {
      parentId: parent.id,
      title: "rehearsed child",
      actor: "worker",
      key: freshKey(),
    });
    expect(spawned.task.dryRun).toBe(true);
    const live = await insertTask(db(), { status: "working" });
    const child = await spawnSubtask(db(), {
      parentId: live.id,
      title: "live child",
      actor: "worker",
      key: freshKey(),
    });
    expect(child.task.dryRun).toBe(false);
  });
});
