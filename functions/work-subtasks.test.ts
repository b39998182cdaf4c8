// A parent whose subtasks are open waits for them, end to end over the real SDK and the fakes: the
// worker spawns a subtask and calls submit → no deliverable, no review; the task waits
// (blocked_external, `subtasks:`), its slot is freed and nobody is paged. The subtask finishes →
// promote moves the parent back to ready → a new run reads the subtask's deliverable in its dossier
// and hands in. A submit after every subtask is done goes straight through.
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { agentRuns, deliverables, taskDependencies, tasks, workerLeases } from "../db/schema/index.ts";
import { taskStateChanged } from "../lib/events.ts";
import { leaseTask } from "../lib/scheduler/lease.ts";
import { transition } from "../lib/tasks/transition.ts";
import { storeDeliverable } from "../lib/work/deliverable.ts";
import { waitForSubtasks } from "../lib/work/subtasks.ts";
import { useTestDb } from "../test/db.ts";
import { testDeps } from "../test/deps.ts";
import { type AnthropicFake, startAnthropicFake } from "../test/fakes/anthropic.ts";
import { FAKE_HUBSPOT_TOKEN, type FakeHubSpot, startFakeHubSpot } from "../test/fakes/hubspot.ts";
import { toolTurn } from "../test/fakes/model-script.ts";
import { freshKey, leasedTask } from "../test/fixtures.ts";
import { runFunction } from "../test/inngest.ts";
import { consumersOf } from "../test/lifecycle.ts";
import { notify } from "./notify.ts";
import { promote } from "./promote.ts";
import { work } from "./work.ts";

const t = useTestDb();
let anthropic: AnthropicFake;
let hubspot: FakeHubSpot;
beforeAll(async () => {
  [anthropic, hubspot] = await Promise.all([startAnthropicFake(), startFakeHubSpot()]);
});
afterAll(async () => {
  await Promise.all([anthropic?.close(), hubspot?.close()]);
});
beforeEach(async () => {
  anthropic.script.clear();
  await t.current.db.delete(workerLeases);
  await t.current.db.execute(sql`delete from token_usage`);
});

const depsFor = () =>
  testDeps(t.current.db, {
    HUBSPOT_ACCESS_TOKEN: FAKE_HUBSPOT_TOKEN,
    FOREMAN_DRY_RUN: "true",
    ANTHROPIC_API_KEY: anthropic.apiKey,
    ANTHROPIC_BASE_URL: anthropic.url,
    HUBSPOT_BASE_URL: hubspot.url,
  });
const taskOf = async (id: string) => (await t.current.db.select().from(tasks).where(eq(tasks.id, id)))[0];

/** Finishes a task the way its own review would, with a stored deliverable. */
async function finishWithDeliverable(taskId: string, markdown: string) {
  const db = t.current.db;
  for (const to of ["ready", "working"] as const)
    await transition(db, { taskId, to, key: freshKey(), actor: "test" });
  await db.insert(deliverables).values({
    id: `dlv_${taskId.slice(5)}`,
    taskId,
    runId: null,
    version: 1,
    hash: "d".repeat(64),
    markdown,
    result: {},
  });
  await transition(db, { taskId, to: "awaiting_client_review", key: freshKey(), actor: "test" });
  return transition(db, { taskId, to: "done", key: freshKey(), actor: "test" });
}

describe("a parent whose subtasks are open", () => {
  it("waits for them without handing in, then resumes with their results and hands in", async () => {
    const db = t.current.db;
    const { task, runId, event } = await leasedTask(db, { title: "Set up the sales pipeline" });
    anthropic.queue(
      toolTurn("task_spawn_subtask", { title: "Map the deal stages", rubric: ["every stage mapped"] }),
      toolTurn("submit", { markdown: "# Waiting\nThe stage map is a subtask.", result: {} }),
    );
    const first = depsFor();
    const res = await runFunction(work, { deps: first.deps, event });
    expect(res.error).toBeUndefined();
    expect(res.result).toMatchObject({ kind: "waiting" });

    const parent = await taskOf(task.id);
    expect(parent?.status).toBe("blocked_external");
    expect(parent?.statusReason).toMatch(/^subtasks: /);
    expect(await db.select().from(deliverables).where(eq(deliverables.taskId, task.id))).toEqual([]);
    expect(first.events.sent.map((e) => e.name)).not.toContain("task/work.submitted");
    // The slot is free for the subtask (a single-slot worker), and the run ended as it should.
    expect(await db.select().from(workerLeases).where(eq(workerLeases.runId, runId))).toEqual([]);
    expect((await db.select().from(agentRuns).where(eq(agentRuns.id, runId)))[0]?.status).toBe("succeeded");
    // Nobody is paged: the task resumes by itself.
    const blocked = first.events.sent.find(
      (e) => e.name === "task/state.changed" && (e.data as { to?: string }).to === "blocked_external",
    );
    expect(blocked).toBeDefined();
    const notice = await runFunction(notify, { deps: first.deps, event: blocked as never });
    expect(notice.result).toMatchObject({ posted: "silent" });

    // The subtask is worked and approved; promote resumes the parent.
    const [edge] = await db.select().from(taskDependencies).where(eq(taskDependencies.taskId, task.id));
    const subtaskId = edge?.dependsOnId as string;
    // Its intake started at once: the spawn step sent task/submitted, not the drain a minute later.
    expect(
      first.events.sent.filter(
        (e) => e.name === "task/submitted" && (e.data as { taskId?: string }).taskId === subtaskId,
      ),
    ).toHaveLength(1);
    const done = await finishWithDeliverable(
      subtaskId,
      "# Deal stages\nProspect, Demo, Proposal, Won, Lost.",
    );
    const promoted = await runFunction(promote, {
      deps: first.deps,
      event: taskStateChanged.create({
        taskId: subtaskId,
        from: "awaiting_client_review",
        to: "done",
        version: done.version,
        eventId: done.eventId,
        reason: null,
        actor: "test",
      }),
    });
    expect(promoted.result).toEqual({ promoted: [task.id] });
    expect((await taskOf(task.id))?.status).toBe("ready");

    // A new run reads what the subtask came to, then hands in for review.
    const again = `run_again_${task.id.slice(5)}`;
    await leaseTask(db, {
      taskId: task.id,
      workerId: "crm-setup",
      runId: again,
      key: freshKey(),
      now: new Date(),
    });
    anthropic.queue(toolTurn("submit", { markdown: "# Pipeline\nFive stages, as mapped.", result: {} }));
    const second = depsFor();
    const done2 = await runFunction(work, {
      deps: second.deps,
      event: { name: "task/dispatched", data: { taskId: task.id, runId: again, workerId: "crm-setup" } },
    });
    expect(done2.result).toMatchObject({ kind: "submitted", version: 1 });
    const request = JSON.stringify(anthropic.requests.at(-1)?.body);
    expect(request).toContain("Prospect, Demo, Proposal, Won, Lost.");
    expect(request).toContain("Map the deal stages");
    expect(second.events.sent.map((e) => e.name)).toContain("task/work.submitted");
    expect((await taskOf(task.id))?.status).toBe("working"); // review moves it on
  });

  it("resumes when a person cancels the subtask instead (a dropped subtask no longer holds it)", async () => {
    const db = t.current.db;
    const { task, event } = await leasedTask(db, { title: "Set up the service pipeline" });
    anthropic.queue(
      toolTurn("task_spawn_subtask", { title: "Import last year's tickets" }),
      toolTurn("submit", { markdown: "# Waiting", result: {} }),
    );
    const { deps } = depsFor();
    expect((await runFunction(work, { deps, event })).result).toMatchObject({ kind: "waiting" });
    const [edge] = await db.select().from(taskDependencies).where(eq(taskDependencies.taskId, task.id));
    const subtaskId = edge?.dependsOnId as string;
    const cancelled = await transition(db, {
      taskId: subtaskId,
      to: "cancelled",
      key: freshKey(),
      actor: "ops",
    });
    const ended = taskStateChanged.create({
      taskId: subtaskId,
      from: "intake",
      to: "cancelled",
      version: cancelled.version,
      eventId: cancelled.eventId,
      reason: null,
      actor: "ops",
    });
    // promote's trigger takes a cancel as well as a finish.
    expect(consumersOf([promote], ended)).toEqual([promote]);
    const promoted = await runFunction(promote, { deps, event: ended });
    expect(promoted.result).toEqual({ promoted: [task.id], failed: [] });
    expect(await taskOf(task.id)).toMatchObject({
      status: "ready",
      statusReason: expect.stringContaining("its subtasks have ended"),
    });
  });

  it("a retried submit step whose first try handed in (the task has moved on since) replays, and parks nothing", async () => {
    const db = t.current.db;
    const { task, runId } = await leasedTask(db, { title: "Handed in before the retry" });
    const first = await storeDeliverable(db, {
      taskId: task.id,
      runId,
      markdown: "# v1",
      result: {},
      key: `${runId}:submit`,
    });
    await transition(db, {
      taskId: task.id,
      to: "awaiting_internal_review",
      key: freshKey(),
      actor: "reviewer:local",
    });
    expect(await waitForSubtasks(db, { taskId: task.id, runId })).toBeUndefined();
    const again = await storeDeliverable(db, {
      taskId: task.id,
      runId,
      markdown: "# v1",
      result: {},
      key: `${runId}:submit`,
    });
    expect(again).toMatchObject({ id: first.id, version: first.version });
    expect((await taskOf(task.id))?.status).toBe("awaiting_internal_review");
  });
});
