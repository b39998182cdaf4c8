// promote: only triaged dependents whose dependencies are all done move to ready, and each promotion
// fans out task/state.changed + task/ready.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { taskDependencies, tasks } from "../db/schema/index.ts";
import type { AppDb } from "../db/types.ts";
import { stateChangedEvent, transition } from "../lib/tasks/transition.ts";
import { useTestDb } from "../test/db.ts";
import { testDeps } from "../test/deps.ts";
import { insertTask } from "../test/fixtures.ts";
import { runFunction } from "../test/inngest.ts";
import { promote } from "./promote.ts";

const t = useTestDb();

const triaged = { triagedAt: new Date() };
const link = (db: AppDb, taskId: string, dependsOnId: string) =>
  db.insert(taskDependencies).values({ taskId, dependsOnId });
const statusOf = async (db: AppDb, id: string) =>
  (await db.select().from(tasks).where(eq(tasks.id, id)))[0]?.status;

describe("promote", () => {
  it("moves exactly the dependents that are triaged and fully unblocked, and fans out their events", async () => {
    const db = t.current.db;
    const done = await insertTask(db, { status: "awaiting_client_review" });
    const other = await insertTask(db, { status: "working" });
    const ready = await insertTask(db, { status: "intake", ...triaged }); // only depends on `done`
    const waiting = await insertTask(db, { status: "intake", ...triaged }); // also depends on `other`
    const untriaged = await insertTask(db, { status: "intake" });
    await link(db, ready.id, done.id);
    await link(db, waiting.id, done.id);
    await link(db, waiting.id, other.id);
    await link(db, untriaged.id, done.id);
    const finished = await transition(db, { taskId: done.id, to: "done", actor: "client" });

    const { deps } = testDeps(db);
    const res = await runFunction(promote, {
      deps,
      event: stateChangedEvent(finished),
      steps: [{ id: "fan-out", handler: () => ({ ids: ["a", "b"] }) }],
    });

    expect(res.error).toBeUndefined();
    expect(res.result).toEqual({ promoted: [ready.id] });
    expect(await statusOf(db, ready.id)).toBe("ready");
    expect(await statusOf(db, waiting.id)).toBe("intake");
    expect(await statusOf(db, untriaged.id)).toBe("intake");
    expect(res.ctx.step.sendEvent).toHaveBeenCalledWith("fan-out", [
      expect.objectContaining({
        name: "task/state.changed",
        data: expect.objectContaining({ taskId: ready.id, from: "intake", to: "ready" }),
      }),
      expect.objectContaining({ name: "task/ready", data: { taskId: ready.id } }),
    ]);
  });

  it("does nothing and sends nothing when no dependent is unblocked", async () => {
    const db = t.current.db;
    const done = await insertTask(db, { status: "failed_needs_triage" });
    const skipped = await transition(db, { taskId: done.id, to: "done", reason: "skipped", actor: "ops" });
    const { deps } = testDeps(db);
    const res = await runFunction(promote, {
      deps,
      event: stateChangedEvent(skipped),
    });
    expect(res.result).toEqual({ promoted: [] });
    expect(res.ctx.step.sendEvent).not.toHaveBeenCalled();
  });
});
