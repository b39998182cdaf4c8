// work's onFailure, as the executor calls it (POST /api/inngest?fnId=foreman-work-failure): by the time
// a run fails, its own `finally` has already released the slot (the failed step surfaces in the
// handler on the engine's last request), so the failure must still move the task it leaves in
// `working` to triage with its class — and must not touch a task a later run has taken over.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { tasks, workerLeases } from "../db/schema/index.ts";
import { leaseTask } from "../lib/scheduler/lease.ts";
import { transition } from "../lib/tasks/transition.ts";
import { releaseRun } from "../lib/work/release.ts";
import { useTestDb } from "../test/db.ts";
import { testApp } from "../test/deps.ts";
import { failureRequest } from "../test/executor.ts";
import { useFakeInngestEngine } from "../test/fakes/inngest.ts";
import { freshKey, insertTask } from "../test/fixtures.ts";

const t = useTestDb();
useFakeInngestEngine();

const CONFIG_ERROR = {
  name: "NonRetriableError",
  message: "HUBSPOT_ACCESS_TOKEN is not configured: the CRM tools have no client.",
};

async function leased(runId: string) {
  const db = t.current.db;
  await db.delete(workerLeases);
  const task = await insertTask(db, { status: "ready" });
  await leaseTask(db, { taskId: task.id, workerId: "crm-setup", runId, key: freshKey(), now: new Date() });
  return task;
}

async function failRun(taskId: string, runId: string) {
  const { app } = testApp(t.current.db);
  const dispatched = { name: "task/dispatched", data: { taskId, runId, workerId: "crm-setup" } };
  const req = failureRequest("work", { runId: "01RUN", error: CONFIG_ERROR, event: dispatched });
  const res = await app.request(req.path, req.init);
  expect(res.status, await res.clone().text()).toBe(206);
}

const rowOf = async (id: string) => (await t.current.db.select().from(tasks).where(eq(tasks.id, id)))[0];

describe("work onFailure", () => {
  it("sends the task to triage with its failure class after the run's finally released the slot", async () => {
    const runId = `run_${crypto.randomUUID().slice(0, 8)}`;
    const task = await leased(runId);
    await releaseRun(t.current.db, { runId, status: "failed" });

    await failRun(task.id, runId);

    const row = await rowOf(task.id);
    expect(row?.status).toBe("failed_needs_triage");
    expect(row?.statusReason).toMatch(/^\w+: HUBSPOT_ACCESS_TOKEN is not configured/);
    expect(row?.failureClass).not.toBeNull();
    expect(await t.current.db.select().from(workerLeases)).toEqual([]);
  });

  it("leaves a task alone that a later run has leased since", async () => {
    const first = `run_${crypto.randomUUID().slice(0, 8)}`;
    const task = await leased(first);
    await releaseRun(t.current.db, { runId: first, status: "failed" });
    // The task went back to the queue and a second run holds it now.
    await transition(t.current.db, { taskId: task.id, to: "ready", key: freshKey(), actor: "test" });
    const second = `run_${crypto.randomUUID().slice(0, 8)}`;
    await leaseTask(t.current.db, {
      taskId: task.id,
      workerId: "crm-setup",
      runId: second,
      key: freshKey(),
      now: new Date(),
    });

    await failRun(task.id, first);

    expect(await rowOf(task.id)).toMatchObject({ status: "working", currentRunId: second });
  });
});
