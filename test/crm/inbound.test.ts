// crm-inbound against the HubSpot fake, through the engine simulation: our own writes coming back
// (late and out of order too) are dropped without a HubSpot read; the client owner (a listed client
// reviewer with that HubSpot user id) moving the ticket to Done is a client stamp (channel crm) and
// the ticket then gets the new last_event_id; Cancelled cancels the task (task/cancel.requested
// stops its run); a move the state machine or the channel forbids is refused — a refusal event, a
// note on the ticket, the task's stage put back — and in dry-run the note is a WOULD_DO; stages of
// other pipelines and tickets of no task are ignored. The owner check itself: owner.test.ts.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  crmLinks,
  outbox,
  projects,
  reviewers,
  stamps,
  taskDependencies,
  taskEvents,
  tasks,
} from "../../db/schema/index.ts";
import { noteRefusalOnTicket } from "../../lib/crm/inbound.ts";
import { newId } from "../../lib/ids.ts";
import { publish } from "../../lib/outbox/publish.ts";
import type { TaskState } from "../../lib/states.ts";
import { recordRetriageFailure } from "../../lib/tasks/retriage.ts";
import { useTestDb } from "../db.ts";
import type { FakeHubSpot } from "../fakes/hubspot.ts";
import { type CrmBed, crmBed, startCrmFake } from "./harness.ts";
import type { EngineSim } from "./sim.ts";

const t = useTestDb();
let crm: { fake: FakeHubSpot; use(sim: EngineSim): void };
beforeAll(async () => {
  crm = await startCrmFake();
});
afterAll(async () => {
  await crm?.fake.close();
});

const taskOf = async (id: string) => (await t.current.db.select().from(tasks).where(eq(tasks.id, id)))[0];
const linkOf = async (id: string) =>
  (await t.current.db.select().from(crmLinks).where(eq(crmLinks.taskId, id)))[0];
const eventsOf = async (id: string) =>
  t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, id)).orderBy(taskEvents.id);
const lastInbound = (bed: CrmBed) => bed.sim.of("crm-inbound").at(-1);

/** A synced task moved along `path`, each step synced before the next; returns it and its ticket. */
async function syncedTask(bed: CrmBed, path: TaskState[], project?: string) {
  const taskId = await bed.submit(project ? { project } : {});
  await bed.sim.runUntilIdle();
  for (const to of path) {
    await bed.move(taskId, to);
    await bed.sim.runUntilIdle();
  }
  const link = await linkOf(taskId);
  return { taskId, ticketId: link?.ticketId as string, pushes: link?.pushes ?? [] };
}

/** A person (HubSpot user `by`) moves the ticket in HubSpot (the stage changes there), and the webhook says so. */
function personMoves(bed: CrmBed, ticketId: string, to: TaskState, by = "9000001") {
  const ticket = bed.fake.tickets.get(ticketId);
  if (ticket) ticket.properties.hs_pipeline_stage = bed.mapping.stageIds[to];
  bed.inbound(ticketId, bed.mapping.stageIds[to], bed.sim.now, undefined, {
    sourceId: `userId:${by}`,
    changeSource: "CRM_UI",
  });
}

/** A project whose client owner is HubSpot user `hubspotUserId` (a client-stage human reviewer). */
async function projectWithOwner(hubspotUserId: string) {
  const id = newId("proj");
  await t.current.db.insert(projects).values({ id, name: id });
  await t.current.db.insert(reviewers).values({
    id: newId("rvw"),
    projectId: id,
    kind: "human",
    stage: "client",
    name: "Client owner",
    hubspotUserId,
  });
  return id;
}

describe("crm-inbound", () => {
  it("drops echoes of our own writes — the latest and a late, older one — without reading HubSpot", async () => {
    const bed = await crmBed(t.current.db, crm);
    const { taskId, ticketId, pushes } = await syncedTask(bed, ["ready", "working"]);
    const [, ready, working] = pushes;
    bed.fake.reset();
    bed.inbound(ticketId, working?.stageId as string, (working?.at ?? 0) + 150);
    bed.inbound(ticketId, ready?.stageId as string, (ready?.at ?? 0) + 300); // arrives after the newer one
    await bed.sim.runUntilIdle();
    expect(bed.sim.of("crm-inbound").map((r) => r.result)).toEqual([
      { outcome: "echo" },
      { outcome: "echo" },
    ]);
    expect(bed.fake.calls).toEqual([]);
    expect((await taskOf(taskId))?.status).toBe("working");
    expect((await eventsOf(taskId)).map((e) => e.kind)).not.toContain("refusal");
  });

  it("applies the client owner's move to Done as a client stamp, then syncs the ticket's last_event_id", async () => {
    const bed = await crmBed(t.current.db, crm);
    const owner = "7100001";
    const { taskId, ticketId } = await syncedTask(bed, ["ready", "working"], await projectWithOwner(owner));
    await t.current.db.update(tasks).set({ deliverableHash: "sha256:v1" }).where(eq(tasks.id, taskId));
    await bed.move(taskId, "awaiting_client_review");
    await bed.sim.runUntilIdle();
    bed.sim.now += 60_000; // the client looks a minute later
    personMoves(bed, ticketId, "done", owner);
    await bed.sim.runUntilIdle();

    expect(lastInbound(bed)?.result).toEqual({ outcome: "applied", command: "client_stamp", state: "done" });
    const task = await taskOf(taskId);
    expect(task?.status).toBe("done");
    const [stamp] = await t.current.db.select().from(stamps).where(eq(stamps.taskId, taskId));
    expect(stamp).toMatchObject({
      stage: "client",
      decision: "approve",
      channel: "crm",
      deliverableHash: "sha256:v1",
      reviewerId: expect.stringMatching(/^rvw_/),
    });
    expect(bed.events.sent.map((e) => e.name)).toContain("task/stamped");
    // crm-sync followed the move: the ticket carries the stamp transition's event id.
    expect(bed.fake.tickets.get(ticketId)?.properties).toMatchObject({
      hs_pipeline_stage: bed.mapping.stageIds.done,
      last_event_id: String(task?.lastEventId),
    });
    // The webhook of that write is our echo again.
    const link = await linkOf(taskId);
    bed.inbound(ticketId, bed.mapping.stageIds.done, (link?.pushes.at(-1)?.at ?? 0) + 100);
    await bed.sim.runUntilIdle();
    expect(lastInbound(bed)?.result).toEqual({ outcome: "echo" });
  });

  it("refuses an earlier round's late move to Done that arrives after the task came back to review, before the ticket shows it", async () => {
    const bed = await crmBed(t.current.db, crm);
    const owner = "7100002";
    const { taskId, ticketId } = await syncedTask(bed, ["ready", "working"], await projectWithOwner(owner));
    await t.current.db.update(tasks).set({ deliverableHash: "sha256:v1" }).where(eq(tasks.id, taskId));
    await bed.move(taskId, "awaiting_client_review");
    await bed.sim.runUntilIdle();
    // The client owner moves the ticket to Done, but HubSpot's delivery of that is held back …
    bed.sim.now += 60_000;
    const movedAt = bed.sim.now;
    // … while the team sends the work back and the worker hands in the very same bytes again.
    for (const to of ["ready", "working", "awaiting_internal_review"] as const) {
      bed.sim.now += 60_000;
      await bed.move(taskId, to);
      await bed.sim.runUntilIdle();
    }
    await bed.move(taskId, "awaiting_client_review");
    // The late delivery lands before crm-sync has written the new round to the ticket.
    bed.inbound(ticketId, bed.mapping.stageIds.done, movedAt, undefined, {
      sourceId: `userId:${owner}`,
      changeSource: "CRM_UI",
    });
    await bed.sim.runUntilIdle();

    const inbound = bed.sim.of("crm-inbound").at(-1);
    expect(inbound?.result).toMatchObject({ outcome: "refused" });
    expect((await taskOf(taskId))?.status).toBe("awaiting_client_review");
    expect(await t.current.db.select().from(stamps).where(eq(stamps.taskId, taskId))).toEqual([]);
    const refusal = (await eventsOf(taskId)).find((e) => e.kind === "refusal");
    expect(refusal?.payload).toMatchObject({
      reason: expect.stringContaining("before it showed this version"),
    });
    // The ticket is put back in client review; the owner's move after that is the decision.
    expect(bed.fake.tickets.get(ticketId)?.properties.hs_pipeline_stage).toBe(
      bed.mapping.stageIds.awaiting_client_review,
    );
    bed.sim.now += 60_000;
    personMoves(bed, ticketId, "done", owner);
    await bed.sim.runUntilIdle();
    expect(lastInbound(bed)?.result).toEqual({ outcome: "applied", command: "client_stamp", state: "done" });
  });

  it("unblocks a blocked task moved to Ready, but not while a task it depends on is still open", async () => {
    const bed = await crmBed(t.current.db, crm);
    const { taskId, ticketId } = await syncedTask(bed, ["ready", "working", "blocked_external"]);
    const open = await bed.submit({ title: "A dependency still in intake" });
    await t.current.db.insert(taskDependencies).values({ taskId, dependsOnId: open });
    bed.sim.now += 60_000;
    personMoves(bed, ticketId, "ready");
    await bed.sim.runUntilIdle();
    expect(lastInbound(bed)?.result).toMatchObject({ outcome: "refused" });
    expect((await taskOf(taskId))?.status).toBe("blocked_external");
    const refusal = (await eventsOf(taskId)).find((e) => e.kind === "refusal");
    expect(refusal?.payload).toMatchObject({ reason: expect.stringContaining("still open") });

    await t.current.db.delete(taskDependencies).where(eq(taskDependencies.taskId, taskId));
    bed.sim.now += 60_000;
    personMoves(bed, ticketId, "ready");
    await bed.sim.runUntilIdle();
    expect(lastInbound(bed)?.result).toMatchObject({ outcome: "applied", state: "ready" });
  });

  it("retries an untriaged failed task moved to Ready as a retriage: it stays failed until intake triages it", async () => {
    const bed = await crmBed(t.current.db, crm);
    const { taskId, ticketId } = await syncedTask(bed, ["failed_needs_triage"]);
    bed.sim.now += 60_000;
    personMoves(bed, ticketId, "ready");
    await bed.sim.runUntilIdle();
    expect(lastInbound(bed)?.result).toMatchObject({ outcome: "applied", state: "failed_needs_triage" });
    expect(await taskOf(taskId)).toMatchObject({ status: "failed_needs_triage", triagedAt: null });
    const request = (await eventsOf(taskId)).find((e) => e.kind === "retriage");
    expect(request).toMatchObject({
      actor: "crm:hubspot-portal-62515",
      payload: { from: "failed_needs_triage" },
    });
    const [owed] = await t.current.db
      .select()
      .from(outbox)
      .where(eq(outbox.causeEventId, request?.id as number));
    expect(owed).toMatchObject({
      name: "task/retriage.requested",
      data: expect.objectContaining({ taskId }),
    });

    // The retriage fails (the ticket still cannot be read): the task stays failed, and the ticket does
    // not keep saying Ready — the failure owes the push that puts it back. Twice over: a second retry
    // from HubSpot that fails again is put back again.
    const stageOf = () => bed.fake.tickets.get(ticketId)?.properties.hs_pipeline_stage;
    for (const round of [1, 2]) {
      if (round === 2) {
        bed.sim.now += 60_000;
        personMoves(bed, ticketId, "ready");
        await bed.sim.runUntilIdle();
        expect(lastInbound(bed)?.result).toMatchObject({ outcome: "applied", state: "failed_needs_triage" });
      }
      expect(stageOf()).toBe(bed.mapping.stageIds.ready);
      const failed = await recordRetriageFailure(t.current.db, {
        taskId,
        from: "failed_needs_triage",
        key: `retriage-failed:test-${round}`,
        reason: "external_api: the ticket could not be read",
      });
      expect(failed.noted).toBe(true);
      expect(failed.outbox.map((o) => o.name)).toEqual(["crm/push.requested"]);
      await publish(bed.deps, failed.outbox);
      await bed.sim.runUntilIdle();
      expect(stageOf()).toBe(bed.mapping.stageIds.failed_needs_triage);
    }
  });

  it("cancels the task when a person moves the ticket to Cancelled", async () => {
    const bed = await crmBed(t.current.db, crm);
    const { taskId, ticketId } = await syncedTask(bed, ["ready", "working"]);
    bed.sim.now += 60_000;
    personMoves(bed, ticketId, "cancelled");
    await bed.sim.runUntilIdle();
    expect(lastInbound(bed)?.result).toMatchObject({
      outcome: "applied",
      command: "cancel",
      state: "cancelled",
    });
    expect((await taskOf(taskId))?.status).toBe("cancelled");
    const cancel = bed.events.sent.find((e) => e.name === "task/cancel.requested");
    expect(cancel?.data).toMatchObject({ taskId, reason: expect.stringContaining("HubSpot") });
  });

  it("refuses a forbidden move: a refusal event, a note on the ticket, and the task's stage put back", async () => {
    const bed = await crmBed(t.current.db, crm);
    const { taskId, ticketId } = await syncedTask(bed, ["ready", "working"]);
    bed.sim.now += 60_000;
    personMoves(bed, ticketId, "done"); // a working task cannot be finished by hand
    await bed.sim.runUntilIdle();

    expect(lastInbound(bed)?.result).toMatchObject({ outcome: "refused", noted: "ticket" });
    expect((await taskOf(taskId))?.status).toBe("working");
    const refusal = (await eventsOf(taskId)).find((e) => e.kind === "refusal");
    expect(refusal?.payload).toMatchObject({
      what: "moving the HubSpot ticket from working to done",
      reason: expect.stringContaining("client's approval"),
      ticketId,
    });
    const notes = [...bed.fake.notes.values()].filter((n) => n.associations.some((a) => a.toId === ticketId));
    expect(notes).toHaveLength(1);
    expect(notes[0]?.properties.hs_note_body).toContain("did not apply this move (working → done)");
    // The ticket is back in Working; the write back's echo changes nothing.
    expect(bed.fake.tickets.get(ticketId)?.properties.hs_pipeline_stage).toBe(bed.mapping.stageIds.working);
    expect(bed.fake.stageHistory.get(ticketId)?.at(-1)).toBe(bed.mapping.stageIds.working);
    const link = await linkOf(taskId);
    bed.inbound(ticketId, bed.mapping.stageIds.working, (link?.pushes.at(-1)?.at ?? 0) + 50);
    await bed.sim.runUntilIdle();
    expect(lastInbound(bed)?.result).toMatchObject({ outcome: expect.stringMatching(/^(echo|in_step)$/) });
    expect(bed.sim.runs.filter((r) => r.failed)).toEqual([]);
  });

  it("a retried note-ticket step (HubSpot took the note, the answer was lost) posts no second note", async () => {
    const bed = await crmBed(t.current.db, crm);
    const { taskId, ticketId } = await syncedTask(bed, ["ready", "working"]);
    const refused = {
      taskId,
      ticketId,
      stageId: bed.mapping.stageIds.done,
      from: "working" as const,
      to: "done" as const,
      reason: "only the client owner approves",
      eventId: `retry-${ticketId}`,
    };
    const ticketNotes = () =>
      [...bed.fake.notes.values()].filter((n) => n.associations.some((a) => a.toId === ticketId));
    expect(await noteRefusalOnTicket(bed.deps, { ...refused, dryRun: false })).toEqual({ noted: "ticket" });
    expect(await noteRefusalOnTicket(bed.deps, { ...refused, dryRun: false })).toEqual({ noted: "ticket" });
    expect(ticketNotes()).toHaveLength(1);
    // Another delivery is another note.
    await noteRefusalOnTicket(bed.deps, { ...refused, eventId: `retry2-${ticketId}`, dryRun: false });
    expect(ticketNotes()).toHaveLength(2);
  });

  it("refuses an internal stamp through the CRM, and in dry-run records the ticket note as a WOULD_DO", async () => {
    const bed = await crmBed(t.current.db, crm, { env: { FOREMAN_DRY_RUN: "true" } });
    const taskId = await bed.submit();
    const ticketId = String(6_600_000 + Math.floor(Math.random() * 1e5));
    await t.current.db.insert(crmLinks).values({ taskId, ticketId, pipelineId: bed.mapping.pipelineId });
    for (const to of ["ready", "working", "awaiting_internal_review"] as const) await bed.move(taskId, to);
    await bed.sim.runUntilIdle();
    bed.fake.reset();
    bed.inbound(ticketId, bed.mapping.stageIds.awaiting_client_review, bed.sim.now);
    await bed.sim.runUntilIdle();
    expect(lastInbound(bed)?.result).toMatchObject({ outcome: "refused", noted: "would_do" });
    expect(bed.fake.calls).toEqual([]);
    const note = (await eventsOf(taskId)).filter((e) => e.kind === "would_do").at(-1);
    expect(note?.payload).toMatchObject({ method: "POST", path: "/crm/v3/objects/notes" });
    expect(JSON.stringify(note?.payload)).toContain("Slack");
  });

  it("ignores stages of other pipelines and tickets no task is behind, saying why", async () => {
    const bed = await crmBed(t.current.db, crm);
    const { ticketId } = await syncedTask(bed, ["ready"]);
    bed.inbound(ticketId, "1", bed.sim.now); // the support pipeline's "New"
    bed.inbound("424242424242", bed.mapping.stageIds.done, bed.sim.now);
    await bed.sim.runUntilIdle();
    expect(bed.sim.of("crm-inbound").map((r) => r.result)).toEqual([
      { outcome: "ignored", reason: expect.stringContaining("not a stage of the foreman pipeline") },
      { outcome: "ignored", reason: expect.stringContaining("belongs to no task") },
    ]);
  });
});
