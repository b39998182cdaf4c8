// crm-inbound's onFailure, as the executor calls it (POST /api/inngest?fnId=foreman-crm-inbound-failure):
// a run out of retries must not drop a person's ticket move in silence. The move is refused like any
// foreman cannot take — the refusal in the task's log naming the failure, the ticket put back to the
// task's stage (a push request), once per stage change however often the failure is delivered — and
// a move that was applied after all (the ticket and task agree) is left alone.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crmLinks, outbox, taskEvents, tasks } from "../../db/schema/index.ts";
import type { TaskState } from "../../lib/states.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { failureRequest } from "../executor.ts";
import type { FakeHubSpot } from "../fakes/hubspot.ts";
import { useFakeInngestEngine } from "../fakes/inngest.ts";
import { type CrmBed, crmBed, startCrmFake } from "./harness.ts";
import type { EngineSim } from "./sim.ts";

const t = useTestDb();
useFakeInngestEngine();
let crm: { fake: FakeHubSpot; use(sim: EngineSim): void };
beforeAll(async () => {
  crm = await startCrmFake();
});
afterAll(async () => {
  await crm?.fake.close();
});

const DOWN = { name: "Error", message: "Connection terminated unexpectedly" };

async function blockedAndSynced(bed: CrmBed) {
  const taskId = await bed.submit();
  await bed.sim.runUntilIdle();
  for (const to of ["ready", "working", "blocked_external"] as TaskState[]) {
    await bed.move(taskId, to);
    await bed.sim.runUntilIdle();
  }
  const [link] = await t.current.db.select().from(crmLinks).where(eq(crmLinks.taskId, taskId));
  return { taskId, ticketId: link?.ticketId as string };
}

/** The engine reports crm-inbound's run for this stage change failed, out of retries. */
async function failInbound(bed: CrmBed, ticketId: string, to: TaskState, occurredAt: number) {
  const { app, events } = testApp(t.current.db, { FOREMAN_DRY_RUN: "false" });
  const change = {
    name: "hubspot/ticket.stage_changed",
    id: `hubspot:62515:1:${ticketId}:${occurredAt}:${occurredAt}:hs_pipeline_stage`,
    data: {
      ticketId,
      portalId: 62515,
      stageId: bed.mapping.stageIds[to],
      occurredAt,
      sourceId: "userId:9000001",
      changeSource: "CRM_UI",
    },
  };
  const req = failureRequest("crm-inbound", { runId: "01INBOUND1", error: DOWN, event: change });
  const res = await app.request(req.path, req.init);
  expect(res.status, await res.clone().text()).toBe(206);
  return events;
}

const refusalsOf = async (taskId: string) =>
  (await t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, taskId))).filter(
    (e) => e.kind === "refusal",
  );

describe("crm-inbound onFailure", () => {
  it("refuses the move it could not apply: logged with the failure, the ticket put back, once", async () => {
    const bed = await crmBed(t.current.db, crm);
    const { taskId, ticketId } = await blockedAndSynced(bed);
    const occurredAt = bed.sim.now + 60_000; // a person unblocks it in HubSpot; the run never got through

    await failInbound(bed, ticketId, "ready", occurredAt);
    const [task] = await t.current.db.select().from(tasks).where(eq(tasks.id, taskId));
    expect(task?.status).toBe("blocked_external");
    const refusals = await refusalsOf(taskId);
    expect(refusals).toHaveLength(1);
    expect(refusals[0]?.payload).toMatchObject({
      what: "moving the HubSpot ticket from blocked_external to ready",
      reason: expect.stringContaining("foreman could not apply it (Connection terminated unexpectedly)"),
      ticketId,
    });
    // The ticket has drifted until the push back lands: the push is owed.
    const [link] = await t.current.db.select().from(crmLinks).where(eq(crmLinks.taskId, taskId));
    expect(link).toMatchObject({ pushedState: null, pushedStageId: bed.mapping.stageIds.ready });
    const pushes = (await t.current.db.select().from(outbox)).filter(
      (o) => o.name === "crm/push.requested" && (o.data as { taskId?: string }).taskId === taskId,
    );
    expect(pushes.map((o) => o.eventId)).toContain(
      `crm-push:${taskId}:refused:hubspot:62515:1:${ticketId}:${occurredAt}:${occurredAt}:hs_pipeline_stage`,
    );

    // The engine delivering the same failure again records nothing more.
    await failInbound(bed, ticketId, "ready", occurredAt);
    expect(await refusalsOf(taskId)).toHaveLength(1);
  });

  it("leaves alone a move that was applied after all", async () => {
    const bed = await crmBed(t.current.db, crm);
    const { taskId, ticketId } = await blockedAndSynced(bed);
    await bed.move(taskId, "ready");
    await bed.sim.runUntilIdle();
    await failInbound(bed, ticketId, "ready", bed.sim.now + 60_000);
    expect(await refusalsOf(taskId)).toHaveLength(0);
  });
});
