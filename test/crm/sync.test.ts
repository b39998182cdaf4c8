// crm-sync + crm-push end to end against the HubSpot fake, through the engine simulation (sim.ts):
// a task's ticket is created in intake and visits every stage of its lifecycle in order, ending with
// the right task_id / task_url / last_event_id; out-of-order and duplicate state.changed events end
// on the right stage without extra writes; dry-run writes nothing and records the exact request; a
// 429 waits out HubSpot's window (RetryAfterError), a 5xx is retried, a validation refusal or a
// deleted ticket becomes a triage note instead of a retry loop, and a batch's 207 is read per row.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crmLinks, taskEvents, tasks } from "../../db/schema/index.ts";
import { crmPush } from "../../functions/crm-push.ts";
import { crmSync } from "../../functions/crm-sync.ts";
import { toInngestError } from "../../functions/errors.ts";
import { pushBatch } from "../../lib/crm/push.ts";
import { storeSetupMapping } from "../../lib/hubspot/setup-mapping.ts";
import type { TaskState } from "../../lib/states.ts";
import { useTestDb } from "../db.ts";
import type { FakeHubSpot } from "../fakes/hubspot.ts";
import { insertTask } from "../fixtures.ts";
import { runFunction } from "../inngest.ts";
import { crmBed, PUBLIC_URL, startCrmFake } from "./harness.ts";
import type { EngineSim } from "./sim.ts";

const t = useTestDb();
let crm: { fake: FakeHubSpot; use(sim: EngineSim): void };
beforeAll(async () => {
  crm = await startCrmFake();
});
afterAll(async () => {
  await crm?.fake.close();
});

const linkOf = async (taskId: string) =>
  (await t.current.db.select().from(crmLinks).where(eq(crmLinks.taskId, taskId)))[0];
const taskOf = async (taskId: string) =>
  (await t.current.db.select().from(tasks).where(eq(tasks.id, taskId)))[0];
const kindsOf = async (taskId: string) =>
  (
    await t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, taskId)).orderBy(taskEvents.id)
  ).map((e) => e.kind);
const ticketCalls = (fake: FakeHubSpot) =>
  fake.calls.filter((c) => c.path.startsWith("/crm/v3/objects/tickets"));

describe("crm-sync: one task's lifecycle", () => {
  it("never writes the ticket it made for one task on behalf of the echo task its creation webhook made", async () => {
    const bed = await crmBed(t.current.db, crm);
    const own = await bed.submit({ title: "Help desk routing" });
    await bed.sim.runUntilIdle();
    const ticket = (await linkOf(own))?.ticketId as string;
    // The ticket's creation webhook came back and a task was recorded for it before the link was on
    // record (a submit now finds the link, so the row is written directly), and it moves on.
    const echo = (await insertTask(t.current.db, { source: "hubspot", sourceRef: ticket, status: "intake" }))
      .id;
    bed.fake.reset();
    await bed.move(echo, "ready");
    await bed.sim.runUntilIdle();
    expect(bed.sim.of("crm-sync").at(-1)?.result).toMatchObject({
      outcome: "skipped",
      reason: expect.stringContaining(`foreman's own ticket for task ${own}`),
    });
    expect(ticketCalls(bed.fake)).toEqual([]);
    expect(bed.fake.tickets.get(ticket)?.properties.task_id).toBe(own);
    expect(await linkOf(echo)).toBeUndefined();
    expect(bed.sim.runs.filter((r) => r.failed)).toEqual([]);
  });

  it("creates the ticket in intake, visits every stage in order and ends with task_id, task_url, last_event_id", async () => {
    const bed = await crmBed(t.current.db, crm);
    const taskId = await bed.submit({ title: "Renewal dates on tickets" });
    await bed.sim.runUntilIdle();
    const path: TaskState[] = [
      "blocked_external",
      "ready",
      "working",
      "failed_needs_triage",
      "ready",
      "working",
      "awaiting_internal_review",
      "awaiting_client_review",
      "done",
    ];
    for (const to of path) {
      await bed.move(taskId, to);
      await bed.sim.runUntilIdle(); // each change settles (debounce, batch) before the next
    }
    const link = await linkOf(taskId);
    const ticket = bed.fake.tickets.get(link?.ticketId as string);
    const task = await taskOf(taskId);
    expect(bed.fake.stageHistory.get(ticket?.id as string)).toEqual(
      ["intake", ...path].map((s) => bed.mapping.stageIds[s as TaskState]),
    );
    expect(ticket?.properties).toMatchObject({
      subject: "Renewal dates on tickets",
      hs_pipeline: bed.mapping.pipelineId,
      hs_pipeline_stage: bed.mapping.stageIds.done,
      task_id: taskId,
      task_url: `${PUBLIC_URL}/board/tasks/${taskId}`,
      last_event_id: String(task?.lastEventId),
    });
    expect(link).toMatchObject({ pushedState: "done", lastSyncedEventId: task?.lastEventId });
    // One create, then one write per change: nothing written twice, nothing read back.
    expect(ticketCalls(bed.fake).map((c) => c.method)).toEqual(["POST", ...path.map(() => "PATCH")]);
    expect(bed.sim.runs.filter((r) => r.failed)).toEqual([]);
    const kinds = await kindsOf(taskId);
    expect(kinds.filter((k) => k === "crm_sync")).toHaveLength(path.length + 1);
  });

  it("a cancelled task's ticket ends in Cancelled", async () => {
    const bed = await crmBed(t.current.db, crm);
    const taskId = await bed.submit();
    await bed.sim.runUntilIdle();
    await bed.move(taskId, "cancelled");
    await bed.sim.runUntilIdle();
    const link = await linkOf(taskId);
    expect(bed.fake.tickets.get(link?.ticketId as string)?.properties.hs_pipeline_stage).toBe(
      bed.mapping.stageIds.cancelled,
    );
  });
});

describe("crm-sync: out of order and duplicated", () => {
  it("ends on the task's stage whatever order the events come in, and writes nothing for stale ones", async () => {
    const bed = await crmBed(t.current.db, crm);
    const ticketId = String(880_000 + Math.floor(Math.random() * 1e5));
    bed.fake.addTicket({
      id: ticketId,
      properties: { subject: "From HubSpot", hs_pipeline: "0", hs_pipeline_stage: "1" },
    });
    const taskId = await bed.submit({ ticketId });
    const sent: { name: string; data: Record<string, unknown>; id: string }[] = [];
    for (const to of ["ready", "working", "awaiting_internal_review"] as const) {
      const before = bed.events.sent.length;
      await bed.move(taskId, to);
      sent.push(
        ...(bed.events.sent.slice(before).filter((e) => e.name === "task/state.changed") as typeof sent),
      );
    }
    const [toReady, toWorking, toReview] = sent;
    // Delivered straight to the function, one run each, newest first, with repeats (fresh ids, as a
    // re-send after the engine's dedup window would have), then the pushes they requested.
    for (const e of [toReview, toReady, toWorking, toReady, toReview]) {
      const res = await runFunction(crmSync, {
        deps: bed.deps,
        event: { ...(e as (typeof sent)[number]), id: crypto.randomUUID() },
      });
      expect(res.error).toBeUndefined();
    }
    const pushes = bed.events.sent.filter((e) => e.name === "crm/push.requested");
    expect(new Set(pushes.map((p) => p.id)).size).toBe(1); // every run asked for the same write
    for (const p of pushes) {
      const res = await runFunction(crmPush, { deps: bed.deps, event: p as never });
      expect(res.error).toBeUndefined();
    }
    expect(bed.fake.stageHistory.get(ticketId)).toEqual([bed.mapping.stageIds.awaiting_internal_review]);
    expect(ticketCalls(bed.fake).filter((c) => c.method !== "GET")).toHaveLength(1);

    // A stale event arriving after the sync, through the debounced path: no HubSpot call at all.
    const calls = bed.fake.calls.length;
    await bed.deps.events.send({ ...(toWorking as (typeof sent)[number]), id: crypto.randomUUID() });
    await bed.sim.runUntilIdle();
    expect(bed.fake.calls.length).toBe(calls);
    expect(bed.fake.tickets.get(ticketId)?.properties).toMatchObject({
      task_id: taskId,
      hs_pipeline_stage: bed.mapping.stageIds.awaiting_internal_review,
    });
  });

  it("coalesces a burst of one task's changes into one write (debounce)", async () => {
    const bed = await crmBed(t.current.db, crm, { env: { CRM_SYNC_DEBOUNCE: "5s" } });
    const taskId = await bed.submit();
    const states: TaskState[] = ["ready", "working", "awaiting_internal_review", "awaiting_client_review"];
    for (const [i, to] of states.entries()) await bed.move(taskId, to, bed.sim.now + 100 + i * 1000);
    await bed.sim.runUntilIdle();
    const link = await linkOf(taskId);
    // Created once, straight in the last state: the intermediate stages were never written.
    expect(bed.fake.stageHistory.get(link?.ticketId as string)).toEqual([
      bed.mapping.stageIds.awaiting_client_review,
    ]);
    expect(bed.sim.of("crm-sync").length + bed.sim.of("crm-sync (submitted)").length).toBe(1);
  });
});

describe("crm-sync: dry-run", () => {
  it("records the exact request as a WOULD_DO and calls HubSpot not at all", async () => {
    const bed = await crmBed(t.current.db, crm, { env: { FOREMAN_DRY_RUN: "true" } });
    bed.fake.reset();
    const taskId = await bed.submit({ title: "Dry task" });
    await bed.sim.runUntilIdle();
    await bed.move(taskId, "ready");
    await bed.sim.runUntilIdle();
    expect(bed.fake.calls).toEqual([]);
    const doing = (
      await t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, taskId)).orderBy(taskEvents.id)
    ).filter((e) => e.kind === "would_do");
    const task = await taskOf(taskId);
    expect(doing.map((e) => e.payload)).toEqual([
      {
        for: "crm-sync",
        method: "POST",
        path: "/crm/v3/objects/tickets",
        body: {
          properties: expect.objectContaining({
            subject: "Dry task",
            hs_pipeline_stage: bed.mapping.stageIds.intake,
            task_id: taskId,
          }),
          associations: [],
        },
      },
      {
        for: "crm-sync",
        method: "PATCH",
        path: `/crm/v3/objects/tickets/${taskId}?idProperty=task_id`,
        body: {
          properties: expect.objectContaining({
            hs_pipeline_stage: bed.mapping.stageIds.ready,
            last_event_id: String(task?.lastEventId),
          }),
        },
      },
    ]);
    // The live columns are untouched: turning dry-run off later syncs for real.
    expect(await linkOf(taskId)).toMatchObject({
      ticketId: null,
      pushedStageId: null,
      wouldDoEventId: task?.lastEventId,
    });
  });

  it("honours a task's own dry_run flag with FOREMAN_DRY_RUN off", async () => {
    const bed = await crmBed(t.current.db, crm);
    bed.fake.reset();
    const taskId = await bed.submit({ dryRun: true });
    await bed.sim.runUntilIdle();
    expect(bed.fake.calls).toEqual([]);
    expect(await kindsOf(taskId)).toContain("would_do");
  });
});

describe("crm-push: HubSpot's refusals and outages", () => {
  it("waits out a 429 for HubSpot's window (RetryAfterError) and then writes", async () => {
    const bed = await crmBed(t.current.db, crm);
    bed.fake.fail({
      match: (c) => c.path.startsWith("/crm/v3/objects/tickets"),
      status: 429,
      times: 1,
      body: {
        status: "error",
        message: "You have reached your ten_secondly_rolling limit.",
        errorType: "RATE_LIMIT",
        policyName: "TEN_SECONDLY_ROLLING",
      },
      headers: { "X-HubSpot-RateLimit-Interval-Milliseconds": "10000", "X-HubSpot-RateLimit-Remaining": "0" },
    });
    const taskId = await bed.submit();
    await bed.sim.runUntilIdle();
    const [push] = bed.sim.of("crm-push");
    expect(push).toMatchObject({ attempts: 2, rateLimited: 1, failed: false });
    expect((push?.endedAt ?? 0) - (push?.startedAt ?? 0)).toBe(10_000);
    expect((await linkOf(taskId))?.ticketId).toBeTruthy();
    // The create was not left marked as attempted by the refused call: no lookup by task_id followed.
    expect(bed.fake.calls.filter((c) => c.query.idProperty === "task_id")).toEqual([]);
  });

  it("keeps the progress of a row-by-row fallback that runs into the rate limit: the retry writes only the rest", async () => {
    // Five calls per 10 s; every batch update is refused whole (a row HubSpot's batch endpoint will
    // not take, as a 400 for the call), so each chunk falls back to one call per row.
    const bed = await crmBed(t.current.db, crm, {
      rateLimit: { max: 5, intervalMs: 10_000, dailyMax: 250_000 },
    });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await bed.submit());
    await bed.sim.runUntilIdle();
    bed.fake.fail({
      match: (c) => c.path === "/crm/v3/objects/tickets/batch/update",
      status: 400,
      body: { status: "error", message: "Property values were not valid", category: "VALIDATION_ERROR" },
    });
    for (const id of ids) await bed.move(id, "ready");
    await bed.sim.runUntilIdle();
    const pushes = bed.sim.of("crm-push");
    expect(pushes.at(-1)).toMatchObject({ failed: false });
    expect(pushes.at(-1)?.rateLimited).toBeGreaterThan(0);
    for (const id of ids) {
      const link = await linkOf(id);
      expect(bed.fake.tickets.get(link?.ticketId as string)?.properties.hs_pipeline_stage).toBe(
        bed.mapping.stageIds.ready,
      );
    }
    // Each ticket was written once: what the first attempt wrote before the 429 was kept.
    const singles = bed.fake.calls.filter(
      (c) => c.method === "PATCH" && /^\/crm\/v3\/objects\/tickets\/\d+$/.test(c.path),
    );
    expect(new Set(singles.map((c) => c.path)).size).toBe(8);
    expect(singles).toHaveLength(8 + bed.fake.rateLimited());
  });

  it("turns a 429 into a RetryAfterError carrying HubSpot's delay", async () => {
    const bed = await crmBed(t.current.db, crm);
    const taskId = await bed.submit();
    const limited = {
      status: 429,
      body: { policyName: "TEN_SECONDLY_ROLLING", errorType: "RATE_LIMIT" },
      headers: { "X-HubSpot-RateLimit-Interval-Milliseconds": "10000" },
    };
    bed.fake.fail({ ...limited, times: 1 });
    const thrown = await pushBatch(bed.deps, [taskId]).catch((e: unknown) => e);
    expect(thrown).toMatchObject({ code: "RATE_LIMITED", retryAfterMs: 10_000 });
    expect(toInngestError(thrown)).toMatchObject({ name: "RetryAfterError", retryAfter: "10" });
    // Through the function and its error middleware, the run fails with that RetryAfterError.
    bed.fake.fail({ ...limited, times: 1 });
    const res = await runFunction(crmPush, {
      deps: bed.deps,
      event: { name: "crm/push.requested", data: { taskId }, id: `p:${taskId}` },
    });
    expect(res.error).toMatchObject({ name: "RetryAfterError" });
  });

  it("retries a 5xx and then writes", async () => {
    const bed = await crmBed(t.current.db, crm);
    bed.fake.fail({
      match: (c) => c.path.startsWith("/crm/v3/objects/tickets"),
      status: 503,
      times: 1,
      body: { status: "error", message: "unavailable" },
    });
    const taskId = await bed.submit();
    await bed.sim.runUntilIdle();
    expect(bed.sim.of("crm-push")[0]).toMatchObject({ attempts: 2, failed: false });
    expect((await linkOf(taskId))?.ticketId).toBeTruthy();
  });

  it("notes a validation refusal on the task once, instead of retrying it", async () => {
    const bed = await crmBed(t.current.db, crm);
    const taskId = await bed.submit();
    await bed.sim.runUntilIdle();
    // A stage id HubSpot no longer knows (someone deleted it): every write of `ready` is refused.
    await storeSetupMapping(t.current.db, {
      ...bed.mapping,
      stageIds: { ...bed.mapping.stageIds, ready: "404404" },
    });
    try {
      await bed.move(taskId, "ready");
      await bed.sim.runUntilIdle();
      const events = await t.current.db
        .select()
        .from(taskEvents)
        .where(eq(taskEvents.taskId, taskId))
        .orderBy(taskEvents.id);
      const notes = events.filter((e) => e.kind === "note");
      expect(notes).toHaveLength(1);
      expect(notes[0]?.payload).toMatchObject({
        text: expect.stringContaining("HubSpot refused"),
        author: "fn:crm-sync",
      });
      expect(events.filter((e) => e.kind === "crm_sync").at(-1)?.payload).toMatchObject({
        outcome: "refused",
      });
      expect(bed.sim.runs.filter((r) => r.failed)).toEqual([]);
      expect(await linkOf(taskId)).toMatchObject({ refusedVersion: (await taskOf(taskId))?.version });
      // Another request at the same version writes nothing more; the next move is tried again.
      const calls = bed.fake.calls.length;
      await runFunction(crmPush, {
        deps: bed.deps,
        event: { name: "crm/push.requested", data: { taskId }, id: crypto.randomUUID() },
      });
      expect(bed.fake.calls.length).toBe(calls);
    } finally {
      await storeSetupMapping(t.current.db, bed.mapping);
    }
    await bed.move(taskId, "working");
    await bed.sim.runUntilIdle();
    const link = await linkOf(taskId);
    expect(bed.fake.tickets.get(link?.ticketId as string)?.properties.hs_pipeline_stage).toBe(
      bed.mapping.stageIds.working,
    );
    expect(link?.refusedVersion).toBeNull();
  });

  it("reads a 207 per row: the others are written, the deleted ticket's task gets a note", async () => {
    const bed = await crmBed(t.current.db, crm);
    const ids = await Promise.all([1, 2, 3].map(() => bed.submit()));
    await bed.sim.runUntilIdle();
    const links = await Promise.all(ids.map(linkOf));
    bed.fake.tickets.delete(links[1]?.ticketId as string); // a person deleted it in HubSpot
    for (const id of ids) await bed.move(id, "ready");
    await bed.sim.runUntilIdle();
    const batch = bed.fake.callsTo("POST", "/crm/v3/objects/tickets/batch/update");
    expect(batch).toHaveLength(1);
    expect(JSON.parse(batch[0]?.body ?? "{}").inputs).toHaveLength(3);
    for (const i of [0, 2]) {
      expect(bed.fake.tickets.get(links[i]?.ticketId as string)?.properties.hs_pipeline_stage).toBe(
        bed.mapping.stageIds.ready,
      );
    }
    expect(await kindsOf(ids[1] as string)).toContain("note");
    expect(await kindsOf(ids[0] as string)).not.toContain("note");
    expect(bed.sim.runs.filter((r) => r.failed)).toEqual([]);
  });

  it("after a create whose answer was lost, finds the ticket by task_id instead of creating a second", async () => {
    const bed = await crmBed(t.current.db, crm);
    let taskId = "";
    const landed = String(7_700_000 + Math.floor(Math.random() * 1e5));
    // The create lands in HubSpot, then the connection drops before the answer arrives.
    bed.fake.fail({
      match: (c) => {
        if (c.method !== "POST" || c.path !== "/crm/v3/objects/tickets") return false;
        const { properties } = JSON.parse(c.body) as { properties: Record<string, string> };
        bed.fake.tickets.set(landed, { id: landed, properties: { ...properties } });
        return true;
      },
      drop: true,
      times: 1,
    });
    taskId = await bed.submit();
    await bed.sim.runUntilIdle();
    expect(bed.sim.of("crm-push")[0]).toMatchObject({ attempts: 2, failed: false });
    expect(bed.fake.callsTo("POST", "/crm/v3/objects/tickets")).toHaveLength(1);
    expect(bed.fake.callsTo("PATCH", `/crm/v3/objects/tickets/${taskId}`)[0]?.query).toEqual({
      idProperty: "task_id",
    });
    expect([...bed.fake.tickets.values()].filter((x) => x.properties.task_id === taskId)).toHaveLength(1);
    expect((await linkOf(taskId))?.ticketId).toBe(landed);
  });
});
