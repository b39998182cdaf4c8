// intake's onFailure, as the executor calls it (POST /api/inngest?fnId=foreman-intake-failure): a run
// out of retries leaves its task in `intake`, and the function's idempotency drops a re-send for a
// day, so the failure sends the task to failed_needs_triage with its class and `task/state.changed`
// (notify's cue) — and leaves alone a task that already moved on.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { tasks } from "../db/schema/index.ts";
import { useTestDb } from "../test/db.ts";
import { testApp } from "../test/deps.ts";
import { failureRequest } from "../test/executor.ts";
import { useFakeInngestEngine } from "../test/fakes/inngest.ts";
import { insertTask } from "../test/fixtures.ts";

const t = useTestDb();
useFakeInngestEngine();

const DOWN = { name: "Error", message: "HubSpot answered 502 Bad Gateway for GET /crm/v3/objects/tickets/1" };

async function failIntake(taskId: string, runId: string) {
  const { app, events } = testApp(t.current.db);
  const submitted = { name: "task/submitted", data: { taskId, source: "hubspot" } };
  const req = failureRequest("intake", { runId: runId, error: DOWN, event: submitted });
  const res = await app.request(req.path, req.init);
  expect(res.status, await res.clone().text()).toBe(206);
  return events;
}

const rowOf = async (id: string) => (await t.current.db.select().from(tasks).where(eq(tasks.id, id)))[0];

describe("intake onFailure", () => {
  it("sends a task left in intake to triage with its failure's class", async () => {
    const task = await insertTask(t.current.db, { status: "intake", source: "hubspot", sourceRef: "98765" });
    const events = await failIntake(task.id, "01INTAKE1");
    const row = await rowOf(task.id);
    expect(row?.status).toBe("failed_needs_triage");
    expect(row?.failureClass).toBe("external_api");
    expect(row?.statusReason).toMatch(/^external_api: intake failed after its retries: HubSpot answered 502/);
    expect(events.sent.map((e) => [e.name, (e.data as { to?: string }).to])).toEqual([
      ["task/state.changed", "failed_needs_triage"],
    ]);
    // The engine re-delivering the same failure changes nothing more (at most the same event again,
    // under the same id, which the engine drops).
    const again = await failIntake(task.id, "01INTAKE1");
    expect((await rowOf(task.id))?.version).toBe(row?.version);
    expect(again.sent.every((e) => e.id === events.sent[0]?.id)).toBe(true);
  });

  it("leaves alone a task that was triaged and moved on before the failure", async () => {
    const task = await insertTask(t.current.db, { status: "ready", source: "hubspot", sourceRef: "98766" });
    await failIntake(task.id, "01INTAKE2");
    expect((await rowOf(task.id))?.status).toBe("ready");
  });
});
