// The watchdog on a real database, its clock set forward from the real one: a stuck run, a leaked
// lease, lost intake and ready events and a CRM ticket left behind are each repaired once — a second
// pass at the same time changes nothing — with task events saying what was done; a healthy queue is
// not touched at all; a task stuck again after its retry goes to triage (timeout); a lost event gets
// a new id per attempt, each attempt later than the one before.
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentRuns, crmLinks, settings, taskDependencies, tasks, workerLeases } from "../db/schema/index.ts";
import { recordRefusedMove } from "../lib/crm/inbound.ts";
import { publishSettled } from "../lib/outbox/publish.ts";
import { parkReview } from "../lib/review/parked.ts";
import { leaseTask } from "../lib/scheduler/lease.ts";
import { applyTaskCommand } from "../lib/tasks/command.ts";
import { appendEvents } from "../lib/tasks/event-log.ts";
import { transition } from "../lib/tasks/transition.ts";
import { findLostEvents, resendLost } from "../lib/watchdog/lost-events.ts";
import { storeDeliverable } from "../lib/work/deliverable.ts";
import { releaseRun } from "../lib/work/release.ts";
import { ensureSetup } from "../test/crm/harness.ts";
import { useTestDb } from "../test/db.ts";
import { testDeps } from "../test/deps.ts";
import { FAKE_HUBSPOT_TOKEN, type FakeHubSpot, startFakeHubSpot } from "../test/fakes/hubspot.ts";
import { freshKey, insertTask } from "../test/fixtures.ts";
import { runFunction } from "../test/inngest.ts";
import {
  addWorker,
  clockAt,
  drained,
  leased,
  logOf,
  pass,
  taskRow,
  watchdogEntries,
} from "../test/watchdog.ts";
import { crmPush } from "./crm-push.ts";
import { releaseOnCancel } from "./release-on-cancel.ts";
import { reviewRetry } from "./review-retry.ts";

const sentFor = (sent: { name: string; data?: unknown; id?: string }[], taskId: string) =>
  sent.filter((e) => (e.data as { taskId?: string } | undefined)?.taskId === taskId);

describe("watchdog: each problem repaired once, with events explaining what was done", () => {
  const t = useTestDb();
  let hubspot: FakeHubSpot;
  beforeAll(async () => {
    hubspot = await startFakeHubSpot();
  });
  afterAll(async () => {
    await hubspot?.close();
  });

  it("cancels and retries a stuck run, frees a leaked lease, re-sends lost intake and ready events, re-syncs a drifted ticket — and the second pass does nothing", async () => {
    const db = t.current.db;
    const mapping = await ensureSetup(db, hubspot);
    const worker = await addWorker(db, 5);

    // A run that stopped: working, its slot held, no event since the lease.
    const stuck = await leased(db, worker);
    // A lease nobody will free: the task was cancelled while its run held the slot.
    const leak = await leased(db, worker);
    await transition(db, {
      taskId: leak.taskId,
      to: "cancelled",
      key: freshKey(),
      actor: "ops",
      reason: "withdrawn",
    });
    // Events the engine never acted on: an untriaged task in intake, a ready task with a free slot.
    const intake = await insertTask(db, { status: "intake", workerId: worker });
    const ready = await insertTask(db, { status: "ready", workerId: worker });
    // A ticket left one stage behind: the task is done, the last push was awaiting_client_review.
    const done = await insertTask(db, { status: "done", workerId: worker, version: 6 });
    hubspot.addTicket({
      id: "7001",
      properties: {
        hs_pipeline: mapping.pipelineId,
        hs_pipeline_stage: mapping.stageIds.awaiting_client_review,
        task_id: done.id,
      },
    });
    await db.insert(crmLinks).values({
      taskId: done.id,
      ticketId: "7001",
      pipelineId: mapping.pipelineId,
      pushedState: "awaiting_client_review",
      pushedStageId: mapping.stageIds.awaiting_client_review,
    });
    // Healthy, and old: submitted work under review, a task waiting for its dependency, a ticket in step.
    const reviewing = await leased(db, worker);
    await storeDeliverable(db, { ...reviewing, markdown: "# done", result: {}, key: freshKey() });
    await releaseRun(db, { runId: reviewing.runId, status: "succeeded" });
    const blocker = await insertTask(db, { status: "blocked_external", workerId: worker });
    const waiting = await insertTask(db, { status: "intake", workerId: worker, triagedAt: new Date() });
    await db.insert(taskDependencies).values({ taskId: waiting.id, dependsOnId: blocker.id });
    const inStep = await insertTask(db, { status: "done", workerId: worker });
    await db.insert(crmLinks).values({
      taskId: inStep.id,
      ticketId: "7002",
      pipelineId: mapping.pipelineId,
      pushedState: "done",
      pushedStageId: mapping.stageIds.done,
    });
    await drained(db);
    const healthy = [reviewing.taskId, blocker.id, waiting.id, inStep.id];
    const healthyBefore = await Promise.all(healthy.map(async (id) => (await taskRow(db, id)).version));

    const { deps, events } = testDeps(db, {
      FOREMAN_DRY_RUN: "false",
      HUBSPOT_ACCESS_TOKEN: FAKE_HUBSPOT_TOKEN,
      HUBSPOT_BASE_URL: hubspot.url,
    });
    const at = clockAt(deps, 31).toISOString();
    const first = await pass(deps);
    expect(first).toMatchObject({ stuck: 1, leases: 1, resent: 2, resynced: 1, waits: 0, outbox: "none" });

    // Stuck: back to ready by one watchdog transition; its run is told to stop and its slot is free.
    expect(await taskRow(db, stuck.taskId)).toMatchObject({ status: "ready", currentRunId: null });
    const [retry] = await watchdogEntries(db, stuck.taskId);
    expect(retry).toMatchObject({ kind: "state_changed", payload: { from: "working", to: "ready" } });
    expect((retry?.payload as { reason?: string } | undefined)?.reason).toMatch(
      new RegExp(`^watchdog: stuck: no task event for 30 minutes; run ${stuck.runId} cancelled, retried`),
    );
    expect(sentFor(events.sent, stuck.taskId).map((e) => e.name)).toEqual([
      "task/state.changed",
      "task/ready",
      "task/run.cancel.requested",
      "worker/released",
    ]);
    expect(events.sent.find((e) => e.name === "task/run.cancel.requested")).toMatchObject({
      id: expect.stringMatching(/^watchdog:cancel:/),
      data: { taskId: stuck.taskId, runId: stuck.runId, actor: "watchdog" },
    });
    expect((await db.select().from(agentRuns).where(eq(agentRuns.id, stuck.runId)))[0]?.status).toBe(
      "cancelled",
    );

    // Leaked: the slot is free again and the task's log says why.
    expect(await db.select().from(workerLeases).where(eq(workerLeases.runId, leak.runId))).toEqual([]);
    expect(await watchdogEntries(db, leak.taskId)).toMatchObject([
      {
        kind: "watchdog",
        runId: leak.runId,
        payload: {
          action: "lease_released",
          runId: leak.runId,
          why: "the slot's lease was leaked: its task is cancelled, not working",
          at,
        },
      },
    ]);
    expect(sentFor(events.sent, leak.taskId).map((e) => e.name)).toEqual(["worker/released"]);

    // Lost: the event that should have moved each task, under an id of this attempt.
    const intakeRow = await taskRow(db, intake.id);
    expect(sentFor(events.sent, intake.id)).toEqual([
      expect.objectContaining({
        name: "task/submitted",
        id: `watchdog:task-submitted:${intake.id}:v${intakeRow.version}:1`,
        data: { taskId: intake.id, source: "api" },
      }),
    ]);
    const readyRow = await taskRow(db, ready.id);
    expect(sentFor(events.sent, ready.id)).toEqual([
      expect.objectContaining({
        name: "task/ready",
        id: `watchdog:task-ready:${ready.id}:v${readyRow.version}:1`,
      }),
    ]);
    expect(await watchdogEntries(db, ready.id)).toMatchObject([
      { kind: "watchdog", payload: { action: "event_resent", event: "task/ready", attempt: 1, at } },
    ]);

    // Drift: a push is asked for the way crm-sync asks; crm-push then puts the ticket in step.
    const push = sentFor(events.sent, done.id);
    expect(push).toEqual([
      expect.objectContaining({ name: "crm/push.requested", id: `watchdog:crm-push:${done.id}:v6` }),
    ]);
    expect(await watchdogEntries(db, done.id)).toMatchObject([
      {
        kind: "watchdog",
        payload: {
          action: "crm_resync",
          ticketId: "7001",
          pushedState: "awaiting_client_review",
          state: "done",
        },
      },
    ]);
    const pushed = await runFunction(crmPush, {
      deps,
      event: { name: "crm/push.requested", data: { taskId: done.id }, id: push[0]?.id as string },
    });
    expect(pushed.error).toBeUndefined();
    expect(hubspot.tickets.get("7001")?.properties.hs_pipeline_stage).toBe(mapping.stageIds.done);
    expect((await db.select().from(crmLinks).where(eq(crmLinks.taskId, done.id)))[0]?.pushedState).toBe(
      "done",
    );

    // Healthy tasks: not a line in their logs, not an event about them.
    for (const [i, id] of healthy.entries()) {
      expect(await watchdogEntries(db, id)).toEqual([]);
      expect(sentFor(events.sent, id)).toEqual([]);
      expect((await taskRow(db, id)).version).toBe(healthyBefore[i]);
    }

    // The same pass again (a retried cron, the next tick at the same time): nothing more.
    const sentBefore = events.sent.length;
    const entriesBefore = (
      await Promise.all([stuck.taskId, leak.taskId, intake.id, ready.id, done.id].map((id) => logOf(db, id)))
    ).flat().length;
    const second = await pass(deps);
    expect(second).toMatchObject({ stuck: 0, leases: 0, resent: 0, resynced: 0, waits: 0, outbox: "none" });
    expect(events.sent.slice(sentBefore)).toEqual([]);
    const entriesAfter = (
      await Promise.all([stuck.taskId, leak.taskId, intake.id, ready.id, done.id].map((id) => logOf(db, id)))
    ).flat().length;
    expect(entriesAfter).toBe(entriesBefore);
  });
});

describe("watchdog: nothing touched when all is well", () => {
  const t = useTestDb();

  it("leaves a live run, work under review, a parked review, a waiting dependent, a paused queue and a fresh stage alone", async () => {
    const db = t.current.db;
    const worker = await addWorker(db, 5);
    const live = await leased(db, worker);
    await appendEvents(db, [
      { taskId: live.taskId, runId: live.runId, actor: "worker", kind: "worker_turn", payload: { turn: 1 } },
    ]);
    const parked = await leased(db, worker);
    const parkedWork = await storeDeliverable(db, {
      ...parked,
      markdown: "# v1",
      result: {},
      key: freshKey(),
    });
    await releaseRun(db, { runId: parked.runId, status: "succeeded" });
    await parkReview(db, { taskId: parked.taskId, deliverableId: parkedWork.id }, "the bridge is down");
    const blocker = await insertTask(db, { status: "blocked_external", workerId: worker });
    const waiting = await insertTask(db, { status: "intake", workerId: worker, triagedAt: new Date() });
    await db.insert(taskDependencies).values({ taskId: waiting.id, dependsOnId: blocker.id });
    // The scheduler is paused: a ready task is waiting on purpose, not on a lost event.
    const queued = await insertTask(db, { status: "ready", workerId: worker });
    // A stage just entered (leased before the pause): its first reminder is a day away.
    const stage = await leased(db, worker);
    await db.update(settings).set({ value: true }).where(eq(settings.key, "scheduler.paused"));
    await storeDeliverable(db, { ...stage, markdown: "# v1", result: {}, key: freshKey() });
    await releaseRun(db, { runId: stage.runId, status: "succeeded" });
    await transition(db, {
      taskId: stage.taskId,
      to: "awaiting_internal_review",
      key: freshKey(),
      actor: "reviewer:local",
      reason: "an internal stamp is required",
    });
    await drained(db);
    const ids = [live.taskId, parked.taskId, blocker.id, waiting.id, queued.id, stage.taskId];
    const before = await Promise.all(ids.map(async (id) => (await logOf(db, id)).length));

    const { deps, events } = testDeps(db, { FOREMAN_DRY_RUN: "false" });
    clockAt(deps, 10);
    expect(await pass(deps)).toMatchObject({ stuck: 0, leases: 0, resent: 0, resynced: 0, waits: 0 });

    // Later: the run submits and its slot is freed; forty minutes on, nothing is owed anything.
    await storeDeliverable(db, { ...live, markdown: "# v1", result: {}, key: freshKey() });
    await releaseRun(db, { runId: live.runId, status: "succeeded" });
    await drained(db);
    const afterRun = (await logOf(db, live.taskId)).length;
    clockAt(deps, 40);
    expect(await pass(deps)).toMatchObject({
      stuck: 0,
      leases: 0,
      resent: 0,
      resynced: 0,
      waits: 0,
      outbox: "none",
      crmSkipped: "HUBSPOT_ACCESS_TOKEN is not set: tickets cannot be written",
    });

    expect(events.sent).toEqual([]);
    for (const [i, id] of ids.entries()) {
      const log = await logOf(db, id);
      expect(log.filter((e) => e.actor === "watchdog")).toEqual([]);
      expect(log.length).toBe(id === live.taskId ? afterRun : before[i]);
    }
    expect(await db.select().from(settings).where(eq(settings.key, "watchdog.outbox_alert"))).toEqual([]);

    // Parked reviews are review-retry's check: it re-sends the parked one, under the parking's id.
    const retried = testDeps(db, { FOREMAN_DRY_RUN: "false" });
    clockAt(retried.deps, 40);
    await runFunction(reviewRetry, {
      deps: retried.deps,
      event: { name: "inngest/scheduled.timer", data: {} },
    });
    expect(retried.events.sent).toEqual([
      expect.objectContaining({
        name: "task/work.submitted",
        id: expect.stringMatching(new RegExp(`^review-retry:${parkedWork.id}:\\d+$`)),
        data: expect.objectContaining({ taskId: parked.taskId, deliverableId: parkedWork.id }),
      }),
    ]);
  });
});

describe("watchdog: a task stuck again after its retry", () => {
  const t = useTestDb();

  it("goes to triage with class timeout, its second run cancelled and recorded failed; the first run's cancel frees only the first run", async () => {
    const db = t.current.db;
    const worker = await addWorker(db, 5);
    const first = await leased(db, worker);
    await drained(db);
    const { deps, events } = testDeps(db, { FOREMAN_DRY_RUN: "false" });
    clockAt(deps, 31);
    expect(await pass(deps)).toMatchObject({ stuck: 1 });
    const cancelFirst = events.sent.find((e) => e.name === "task/run.cancel.requested");

    // The scheduler leases it again; then the first run's cancel arrives: the new run keeps its slot.
    const runId = `run_second_${first.taskId.slice(-8)}`;
    await leaseTask(db, { taskId: first.taskId, workerId: worker, runId, key: freshKey(), now: new Date() });
    await drained(db);
    const released = await runFunction(releaseOnCancel, {
      deps,
      event: { name: cancelFirst?.name as string, data: cancelFirst?.data as Record<string, unknown> },
    });
    expect(released.result).toEqual({ released: false });
    expect(await db.select().from(workerLeases).where(eq(workerLeases.runId, runId))).toHaveLength(1);

    // Stuck again: no event from the second run either.
    clockAt(deps, 62);
    expect(await pass(deps)).toMatchObject({ stuck: 1 });
    const row = await taskRow(db, first.taskId);
    expect(row).toMatchObject({ status: "failed_needs_triage", failureClass: "timeout", currentRunId: null });
    expect(row.statusReason).toMatch(
      /^timeout: watchdog: stuck: no task event for 30 minutes again after 1 watchdog retry/,
    );
    expect(events.sent.filter((e) => e.name === "task/run.cancel.requested").map((e) => e.data)).toEqual([
      expect.objectContaining({ runId: first.runId }),
      expect.objectContaining({ runId }),
    ]);
    expect(await db.select().from(workerLeases).where(eq(workerLeases.taskId, first.taskId))).toEqual([]);
    // Retried, the first run was called off; timed out into triage, the second run failed.
    const runStatus = async (id: string) =>
      (await db.select().from(agentRuns).where(eq(agentRuns.id, id)))[0]?.status;
    expect([await runStatus(first.runId), await runStatus(runId)]).toEqual(["cancelled", "failed"]);

    const sent = events.sent.length;
    expect(await pass(deps)).toMatchObject({ stuck: 0 });
    expect(events.sent.length).toBe(sent);
    expect((await watchdogEntries(db, first.taskId)).map((e) => (e.payload as { to?: string }).to)).toEqual([
      "ready",
      "failed_needs_triage",
    ]);

    // A person retries it: its next hang is retried once again, not sent straight back to triage.
    await applyTaskCommand(db, {
      taskId: first.taskId,
      action: "retry",
      key: freshKey(),
      actor: "api:ops",
      reason: "the provider is back",
    });
    const third = `run_third_${first.taskId.slice(-8)}`;
    await leaseTask(db, {
      taskId: first.taskId,
      workerId: worker,
      runId: third,
      key: freshKey(),
      now: new Date(),
    });
    await drained(db);
    clockAt(deps, 93);
    expect(await pass(deps)).toMatchObject({ stuck: 1 });
    expect((await taskRow(db, first.taskId)).status).toBe("ready");
  });
});

describe("watchdog: a run whose dispatch was never sent", () => {
  const t = useTestDb();

  it("is not stuck while its task/dispatched waits in the outbox: the drain's to send, not a run to cancel", async () => {
    const db = t.current.db;
    const worker = await addWorker(db, 5);
    // Leased, but the engine refuses events (a revoked event key): the dispatch stays unsent.
    const held = await leased(db, worker);
    const { deps, events } = testDeps(db, { FOREMAN_DRY_RUN: "false" });
    clockAt(deps, 31);
    expect(await pass(deps)).toMatchObject({ stuck: 0 });
    expect(await taskRow(db, held.taskId)).toMatchObject({ status: "working", currentRunId: held.runId });
    expect(events.sent.filter((e) => e.name === "task/run.cancel.requested")).toEqual([]);

    // Sent at last, and still no word from the run half an hour on: now it is stuck.
    await drained(db);
    clockAt(deps, 62);
    expect(await pass(deps)).toMatchObject({ stuck: 1 });
    expect((await taskRow(db, held.taskId)).status).toBe("ready");
  });
});

describe("watchdog: CRM drift the push never confirmed", () => {
  const t = useTestDb();
  let hubspot: FakeHubSpot;
  beforeAll(async () => {
    hubspot = await startFakeHubSpot();
  });
  afterAll(async () => {
    await hubspot?.close();
  });

  it("re-pushes a task whose ticket creation was tried and never confirmed, and one a refused move left behind", async () => {
    const db = t.current.db;
    const mapping = await ensureSetup(db, hubspot);
    const worker = await addWorker(db, 5);
    // crm-push marked the creation, then ran out of retries (HubSpot down): no ticket id on record.
    const unborn = await insertTask(db, { status: "done", workerId: worker, version: 4 });
    await db
      .insert(crmLinks)
      .values({ taskId: unborn.id, createAttemptedAt: new Date(Date.now() - 3_600_000) });
    // A person's move was refused: the link now holds their stage, and the push back never landed.
    const refused = await insertTask(db, { status: "awaiting_client_review", workerId: worker, version: 3 });
    hubspot.addTicket({
      id: "7301",
      properties: {
        hs_pipeline: mapping.pipelineId,
        hs_pipeline_stage: mapping.stageIds.done,
        task_id: refused.id,
      },
    });
    await db.insert(crmLinks).values({
      taskId: refused.id,
      ticketId: "7301",
      pipelineId: mapping.pipelineId,
      pushedState: "awaiting_client_review",
      pushedStageId: mapping.stageIds.awaiting_client_review,
    });
    const { deps, events } = testDeps(db, {
      FOREMAN_DRY_RUN: "false",
      HUBSPOT_ACCESS_TOKEN: FAKE_HUBSPOT_TOKEN,
      HUBSPOT_BASE_URL: hubspot.url,
    });
    await recordRefusedMove(deps, {
      taskId: refused.id,
      ticketId: "7301",
      stageId: mapping.stageIds.done,
      from: "awaiting_client_review",
      to: "done",
      reason: "only the client owner's move to Done is the client's approval",
      eventId: "7301-stage-1",
    });
    // Its push back was sent, and crm-push never got it through.
    await drained(db);
    const sentBefore = events.sent.length;
    clockAt(deps, 31);
    await pass(deps);
    for (const task of [unborn, refused]) {
      const push = sentFor(events.sent.slice(sentBefore), task.id).filter(
        (e) => e.name === "crm/push.requested",
      );
      expect(push, task.id).toHaveLength(1);
      const pushed = await runFunction(crmPush, {
        deps,
        event: { name: "crm/push.requested", data: { taskId: task.id }, id: push[0]?.id as string },
      });
      expect(pushed.error).toBeUndefined();
    }
    const [born] = await db.select().from(crmLinks).where(eq(crmLinks.taskId, unborn.id));
    expect(born?.ticketId).toBeTruthy();
    expect(hubspot.tickets.get(born?.ticketId as string)?.properties.hs_pipeline_stage).toBe(
      mapping.stageIds.done,
    );
    expect(hubspot.tickets.get("7301")?.properties.hs_pipeline_stage).toBe(
      mapping.stageIds.awaiting_client_review,
    );

    // Refused again at the same version, and again the push back is lost: a new resync is owed.
    await recordRefusedMove(deps, {
      taskId: refused.id,
      ticketId: "7301",
      stageId: mapping.stageIds.done,
      from: "awaiting_client_review",
      to: "done",
      reason: "only the client owner's move to Done is the client's approval",
      eventId: "7301-stage-2",
    });
    await drained(db);
    const sentAgain = events.sent.length;
    clockAt(deps, 62);
    await pass(deps);
    expect(
      sentFor(events.sent.slice(sentAgain), refused.id).filter((e) => e.name === "crm/push.requested"),
    ).toHaveLength(1);
  });
});

describe("watchdog: work whose review never started", () => {
  const t = useTestDb();

  it("parks a handed-in version whose task/work.submitted was lost, and again when review-retry's re-send is lost too; a review under way is left alone", async () => {
    const db = t.current.db;
    const worker = await addWorker(db, 5);
    // Handed in, and its event set aside by the drain (the engine was away past its dedup window).
    const lost = await leased(db, worker);
    const lostWork = await storeDeliverable(db, { ...lost, markdown: "# v1", result: {}, key: freshKey() });
    await releaseRun(db, { runId: lost.runId, status: "succeeded" });
    await db.execute(
      sql`update outbox set abandoned_at = now() where event_id = ${`work-submitted:${lostWork.id}`}`,
    );
    // Handed in and sent: its review run may be queued behind the GPU.
    const queued = await leased(db, worker);
    await storeDeliverable(db, { ...queued, markdown: "# v1", result: {}, key: freshKey() });
    await releaseRun(db, { runId: queued.runId, status: "succeeded" });
    await db.execute(sql`update outbox set sent_at = now() + interval '50 minutes'
                          where event_id like 'work-submitted:%' and sent_at is null and abandoned_at is null`);

    const { deps } = testDeps(db, { FOREMAN_DRY_RUN: "false" });
    clockAt(deps, 45); // stuck (30) + review retry (30) minutes have not passed yet
    expect(await pass(deps)).toMatchObject({ unreviewed: 0, stuck: 0 });
    clockAt(deps, 61);
    expect(await pass(deps)).toMatchObject({ unreviewed: 1, stuck: 0 });
    const parking = (await logOf(db, lost.taskId)).filter((e) => e.kind === "review_pending");
    expect(parking).toMatchObject([
      {
        actor: "watchdog",
        payload: {
          deliverableId: lostWork.id,
          reason: expect.stringContaining("task/work.submitted was lost"),
        },
      },
    ]);
    expect((await logOf(db, queued.taskId)).filter((e) => e.kind === "review_pending")).toEqual([]);
    clockAt(deps, 70);
    expect(await pass(deps)).toMatchObject({ unreviewed: 0 });

    const retried = testDeps(db, { FOREMAN_DRY_RUN: "false" });
    clockAt(retried.deps, 75);
    await runFunction(reviewRetry, {
      deps: retried.deps,
      event: { name: "inngest/scheduled.timer", data: {} },
    });
    expect(retried.events.sent).toEqual([
      expect.objectContaining({
        name: "task/work.submitted",
        data: expect.objectContaining({ taskId: lost.taskId, deliverableId: lostWork.id }),
      }),
    ]);
    // The re-send's "sent" mark carries its clock (75 minutes) — written before anything else marks it.
    await publishSettled(retried.deps);
    await drained(db);
    // A sent event whose review never showed for a day was dropped after all: parked too.
    clockAt(deps, 6 * 60);
    expect(await pass(deps)).toMatchObject({ unreviewed: 0 });
    clockAt(deps, 25 * 60);
    expect(await pass(deps)).toMatchObject({ unreviewed: 1 });
    expect((await logOf(db, queued.taskId)).filter((e) => e.kind === "review_pending")).toHaveLength(1);
    // (The second task is called off meanwhile, so only the first is in question below.)
    await db.update(tasks).set({ status: "cancelled" }).where(eq(tasks.id, queued.taskId));
    // The first task's re-send (at 75 minutes) came to nothing for a day either: parked again.
    clockAt(deps, 26 * 60);
    expect(await pass(deps)).toMatchObject({ unreviewed: 1 });
    const parkings = (await logOf(db, lost.taskId)).filter((e) => e.kind === "review_pending");
    expect(parkings).toHaveLength(2);
    expect(parkings[1]?.payload).toMatchObject({
      reason: expect.stringContaining("re-sent task/work.submitted was lost"),
    });
    // Parked again, it is review-retry's once more: a new re-send, under the new parking's id.
    const again = testDeps(db, { FOREMAN_DRY_RUN: "false" });
    clockAt(again.deps, 26 * 60 + 15);
    await runFunction(reviewRetry, {
      deps: again.deps,
      event: { name: "inngest/scheduled.timer", data: {} },
    });
    const resent = again.events.sent.filter((e) => (e.data as { taskId?: string }).taskId === lost.taskId);
    expect(resent.map((e) => e.id)).toEqual([`review-retry:${lostWork.id}:${parkings[1]?.id}`]);
    await publishSettled(again.deps);
    await drained(db);
    clockAt(deps, 26 * 60 + 20);
    expect(await pass(deps)).toMatchObject({ unreviewed: 0 });
  });
});

describe("watchdog: stranded dependents", () => {
  const t = useTestDb();

  it("moves on a dependent whose dependencies have all ended when nothing else did, once; leaves one still waiting", async () => {
    const db = t.current.db;
    const worker = await addWorker(db, 5);
    const done = await insertTask(db, { status: "done", workerId: worker });
    const dropped = await insertTask(db, { status: "cancelled", workerId: worker });
    const open = await insertTask(db, { status: "ready", workerId: worker });
    // promote's run for `done` was lost: a triaged dependent still in intake.
    const dependent = await insertTask(db, { status: "intake", workerId: worker, triagedAt: new Date() });
    // A parent waiting for its subtasks, the last of which a person cancelled.
    const parent = await insertTask(db, {
      status: "blocked_external",
      workerId: worker,
      statusReason:
        "subtasks: waiting for its open subtasks; the work resumes in a new run once they are all done",
    });
    // Still waiting, rightly: one dependency is open. A dependency cancelled (intake needs done) can
    // never end the wait: that one goes to triage with class dependency.
    const waiting = await insertTask(db, { status: "intake", workerId: worker, triagedAt: new Date() });
    const orphan = await insertTask(db, { status: "intake", workerId: worker, triagedAt: new Date() });
    await db.insert(taskDependencies).values([
      { taskId: dependent.id, dependsOnId: done.id },
      { taskId: parent.id, dependsOnId: done.id },
      { taskId: parent.id, dependsOnId: dropped.id },
      { taskId: waiting.id, dependsOnId: open.id },
      { taskId: orphan.id, dependsOnId: dropped.id },
    ]);
    await drained(db);
    const { deps, events } = testDeps(db, { FOREMAN_DRY_RUN: "false" });
    clockAt(deps, 5);
    expect(await pass(deps)).toMatchObject({ promoted: 0 }); // not idle long enough yet
    clockAt(deps, 16);
    expect(await pass(deps)).toMatchObject({ promoted: 2, orphaned: 1 });
    expect((await taskRow(db, dependent.id)).status).toBe("ready");
    expect(await taskRow(db, parent.id)).toMatchObject({
      status: "ready",
      statusReason: expect.stringContaining("watchdog"),
    });
    expect((await taskRow(db, waiting.id)).status).toBe("intake");
    expect(await taskRow(db, orphan.id)).toMatchObject({
      status: "failed_needs_triage",
      failureClass: "dependency",
      statusReason: expect.stringContaining(`task ${dropped.id}, which it depends on, was cancelled`),
    });
    // (The ready task `open` has its task/ready re-sent as a lost event: the lost-events check's.)
    const readied = events.sent
      .filter((e) => e.name === "task/ready")
      .map((e) => (e.data as { taskId: string }).taskId);
    expect(readied).toEqual(expect.arrayContaining([dependent.id, parent.id]));
    expect(readied).not.toContain(waiting.id);
    expect(readied).not.toContain(orphan.id);
    clockAt(deps, 40);
    expect(await pass(deps)).toMatchObject({ promoted: 0, orphaned: 0 });
  });
});

describe("watchdog: a lost event's attempts", () => {
  const t = useTestDb();

  it("re-sends under a new id per attempt, each after twice the pause; a retried step sends the same id; a pending row is the drain's", async () => {
    const db = t.current.db;
    const worker = await addWorker(db, 5);
    const ready = await insertTask(db, { status: "ready", workerId: worker });
    const { deps, events } = testDeps(db, { FOREMAN_DRY_RUN: "false" });
    const ids = () => sentFor(events.sent, ready.id).map((e) => e.id);
    const v = (await taskRow(db, ready.id)).version;

    clockAt(deps, 16);
    await pass(deps);
    expect(ids()).toEqual([`watchdog:task-ready:${ready.id}:v${v}:1`]);
    await pass(deps);
    clockAt(deps, 45);
    await pass(deps);
    expect(ids()).toHaveLength(1);
    clockAt(deps, 47);
    await pass(deps);
    expect(ids()).toEqual([
      `watchdog:task-ready:${ready.id}:v${v}:1`,
      `watchdog:task-ready:${ready.id}:v${v}:2`,
    ]);

    // A retried step: the same case again writes nothing and sends the same id.
    const now = clockAt(deps, 200);
    const [c] = await findLostEvents(db, { now, minutes: 15, limit: 10 });
    expect(c).toMatchObject({ taskId: ready.id, attempts: 2 });
    const once = await resendLost(deps, c as NonNullable<typeof c>, now.toISOString());
    const again = await resendLost(deps, c as NonNullable<typeof c>, now.toISOString());
    expect([once.recorded, again.recorded]).toEqual([true, false]);
    expect(again.eventId).toBe(once.eventId);
    expect(
      (await watchdogEntries(db, ready.id)).map((e) => (e.payload as { attempt: number }).attempt),
    ).toEqual([1, 2, 3]);

    // Made ready by a move whose task/ready is still in the outbox: that is the drain's job.
    const other = await insertTask(db, { status: "intake", workerId: worker, triagedAt: new Date() });
    await transition(db, { taskId: other.id, to: "ready", key: freshKey(), actor: "fn:promote" });
    const later = clockAt(deps, 30);
    expect(await findLostEvents(db, { now: later, minutes: 15, limit: 10 })).toEqual([]);
    // Sent, and nothing came of it in as long: now it is lost.
    await drained(db);
    expect(await findLostEvents(db, { now: later, minutes: 15, limit: 10 })).toMatchObject([
      { taskId: other.id, status: "ready", attempts: 0 },
    ]);
  });
});
