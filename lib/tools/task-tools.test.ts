// The task tools against a real database (PGlite, or PostgreSQL with TEST_DATABASE_URL):
// task_spawn_subtask creates the subtask under the running task (the parent depends on it; a retried
// step gets the same subtask), checklist_complete ticks rubric items, and every event the executor
// returns — including ones built from hostile input — is accepted by the event log.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { taskDependencies, tasks } from "../../db/schema/index.ts";
import { useTestDb } from "../../test/db.ts";
import { type FakeHubSpot, startFakeHubSpot } from "../../test/fakes/hubspot.ts";
import { insertTask } from "../../test/fixtures.ts";
import { call, parsed, toolContext } from "../../test/tools.ts";
import { appendEvents } from "../tasks/event-log.ts";
import { crmSetupTools } from "./crm-setup.ts";
import { executeToolCall } from "./execute.ts";

const t = useTestDb();
const db = () => t.current.db;
let fake: FakeHubSpot;
beforeAll(async () => {
  fake = await startFakeHubSpot();
});
afterAll(() => fake.close());

const workingTask = (rubric: string[] = []) => insertTask(db(), { status: "working", rubric });

describe("task_spawn_subtask", () => {
  it("creates the subtask in intake, and the running task now depends on it", async () => {
    const parent = await workingTask();
    const ctx = toolContext(fake, { db: db(), taskId: parent.id });
    const r = await executeToolCall(
      ctx,
      crmSetupTools,
      call("task_spawn_subtask", { title: "Map the deal stages", rubric: ["every stage mapped"] }),
    );
    expect(r.isError).toBe(false);
    const { subtaskId, status, created } = parsed(r).data;
    expect({ status, created }).toEqual({ status: "intake", created: true });
    const [row] = await db().select().from(tasks).where(eq(tasks.id, subtaskId));
    expect(row).toMatchObject({
      title: "Map the deal stages",
      projectId: parent.projectId,
      source: "agent",
      sourceRef: `run_test:${r.toolCallId}`,
      rubric: ["every stage mapped"],
    });
    const edges = await db().select().from(taskDependencies).where(eq(taskDependencies.taskId, parent.id));
    expect(edges.map((e) => e.dependsOnId)).toEqual([subtaskId]);
    expect(fake.calls).toHaveLength(0);
  });

  it("a retried step (same call id) gets the same subtask back, not a second one", async () => {
    const parent = await workingTask();
    const ctx = toolContext(fake, { db: db(), taskId: parent.id });
    const c = call("task_spawn_subtask", { title: "Import test contacts" });
    const first = parsed(await executeToolCall(ctx, crmSetupTools, c)).data;
    const again = parsed(await executeToolCall(ctx, crmSetupTools, c)).data;
    expect(again).toEqual({ ...first, created: false });
    const edges = await db().select().from(taskDependencies).where(eq(taskDependencies.taskId, parent.id));
    expect(edges).toHaveLength(1);
  });

  it("refuses under a finished task, as an error result", async () => {
    const done = await insertTask(db(), { status: "done" });
    const r = await executeToolCall(
      toolContext(fake, { db: db(), taskId: done.id }),
      crmSetupTools,
      call("task_spawn_subtask", { title: "Too late" }),
    );
    expect(parsed(r).error).toMatchObject({ code: "INVALID_TRANSITION" });
  });

  it("invalid arguments create nothing", async () => {
    const parent = await workingTask();
    const before = await db().select().from(tasks);
    const r = await executeToolCall(
      toolContext(fake, { db: db(), taskId: parent.id }),
      crmSetupTools,
      call("task_spawn_subtask", { title: " ", worker: "admin" }),
    );
    expect(
      parsed(r)
        .error.fields.map((f: { path: string }) => f.path)
        .sort(),
    ).toEqual(["(arguments)", "title"]);
    expect(await db().select().from(tasks)).toHaveLength(before.length);
  });
});

describe("checklist_complete", () => {
  it("ticks an item of the rubric by text or number; an item not on it is an error result", async () => {
    const rubric = ["Ticket properties created", "Support pipeline has every status"];
    const task = await workingTask(rubric);
    const ctx = toolContext(fake, { db: db(), taskId: task.id, rubric });
    const byText = await executeToolCall(
      ctx,
      crmSetupTools,
      call("checklist_complete", {
        item: "ticket properties  CREATED",
        evidence: "hs_ticket_category has 4 options",
      }),
    );
    expect(parsed(byText).data).toEqual({
      completed: rubric[0],
      evidence: "hs_ticket_category has 4 options",
    });
    const byNumber = await executeToolCall(
      ctx,
      crmSetupTools,
      call("checklist_complete", { item: "2", evidence: "stages 1-4" }),
    );
    expect(parsed(byNumber).data.completed).toBe(rubric[1]);
    const other = await executeToolCall(
      ctx,
      crmSetupTools,
      call("checklist_complete", { item: "SLAs", evidence: "x" }),
    );
    expect(parsed(other).error).toMatchObject({ code: "VALIDATION", fields: [{ path: "item" }] });
    expect(parsed(other).error.message).toContain("1. Ticket properties created");
  });
});

describe("the events the executor returns", () => {
  it("append to task_events as they are, hostile input and WOULD_DOs included", async () => {
    fake.addTicket({ id: "901", properties: { subject: "a\u0000b" } });
    const task = await workingTask();
    const live = toolContext(fake, { db: db(), taskId: task.id });
    const dry = toolContext(fake, { db: db(), taskId: task.id, dryRun: true });
    const results = [
      await executeToolCall(live, crmSetupTools, call("no\u0000such\ud800tool", { x: "\u0000\udfff" })),
      await executeToolCall(
        live,
        crmSetupTools,
        call("hubspot_update_record", { objectType: "tickets", id: "x\u0000" }),
      ),
      await executeToolCall(
        live,
        crmSetupTools,
        call("hubspot_search_objects", { objectType: "tickets", properties: ["subject"] }),
      ),
      await executeToolCall(
        dry,
        crmSetupTools,
        call("hubspot_add_note", { body: "Rehearsal", objectType: "tickets", objectId: "901" }),
      ),
      await executeToolCall(
        live,
        crmSetupTools,
        call("submit", { markdown: "# Done", result: { ok: true } }),
      ),
    ];
    const events = results
      .flatMap((r) => r.events)
      .map((e) => ({ ...e, taskId: task.id, actor: "worker:crm-setup" }));
    const ids = await appendEvents(db(), events);
    expect(ids).toHaveLength(11);
    expect(events.filter((e) => e.kind === "would_do")).toHaveLength(1);
  });
});
