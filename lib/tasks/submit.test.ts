// Submitting tasks in one statement: the task, its edges, the `submitted` event, last_event_id and
// the outbox row together; foreign-key failures named by field; replays by source reference, also
// under races (real Postgres) and inside one batch; and the batch form for up to 100 inputs.
import { eq, inArray, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
  outbox,
  plans,
  projects,
  taskDependencies,
  taskEvents,
  tasks,
  workers,
} from "../../db/schema/index.ts";
import { countingDb } from "../../test/counting-db.ts";
import { onPostgres, useTestDb } from "../../test/db.ts";
import { insertTask } from "../../test/fixtures.ts";
import { DomainError } from "../errors.ts";
import { newId } from "../ids.ts";
import { toEvent } from "../outbox/message.ts";
import { MAX_BATCH, type Submitted, submitMany, submitTask } from "./submit.ts";

const t = useTestDb();
const api = { source: "api" as const, actor: "api" };

describe("submitTask", () => {
  it("writes the task, its edges, the submitted event, last_event_id and the outbox row in one round trip", async () => {
    const dep = await insertTask(t.current.db);
    const counter = countingDb(t.current.handle);
    const {
      task,
      created,
      outbox: owed,
    } = await submitTask(
      counter.db,
      { title: "Configure Service Hub", depends_on: [dep.id], priority: "high" },
      api,
    );
    expect(counter.trips(), counter.log.join("\n")).toBe(1);
    expect(created).toBe(true);
    expect(task).toMatchObject({ status: "intake", priority: 1, projectId: "proj_default", version: 0 });
    expect(task.createdAt).toBeInstanceOf(Date);
    const db = t.current.db;
    const [event] = await db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id));
    expect(event).toMatchObject({
      kind: "submitted",
      actor: "api",
      payload: { source: "api", dependsOn: [dep.id] },
    });
    expect(task.lastEventId).toBe(event?.id);
    expect(
      await db.select().from(taskDependencies).where(eq(taskDependencies.taskId, task.id)),
    ).toMatchObject([{ dependsOnId: dep.id }]);
    const [row] = await db
      .select()
      .from(outbox)
      .where(eq(outbox.eventId, `task-submitted:${task.id}`));
    expect(row).toMatchObject({ name: "task/submitted", causeEventId: event?.id, sentAt: null });
    expect(owed).toEqual([
      {
        eventId: `task-submitted:${task.id}`,
        name: "task/submitted",
        data: { taskId: task.id, source: "api" },
      },
    ]);
    await toEvent(owed[0] as Submitted["outbox"][number]).validate?.();
  });

  it("replays a repeated source reference in one round trip, owing nothing new", async () => {
    const first = await submitTask(t.current.db, { title: "once" }, { ...api, sourceRef: "key-1" });
    const counter = countingDb(t.current.handle);
    const again = await submitTask(counter.db, { title: "once" }, { ...api, sourceRef: "key-1" });
    expect(counter.trips()).toBe(1);
    expect(again).toMatchObject({ created: false, outbox: [] });
    expect(again.task).toEqual(first.task);
    await expect(
      submitTask(t.current.db, { title: "other" }, { ...api, sourceRef: "key-1" }),
    ).rejects.toMatchObject({
      code: "CONFLICT",
      field: "Idempotency-Key",
    });
  });

  it("maps each foreign key back to its field and writes nothing", async () => {
    const db = t.current.db;
    const otherProject = newId("proj");
    await db.insert(projects).values({ id: otherProject, name: otherProject });
    const planElsewhere = newId("plan");
    await db.insert(plans).values({ id: planElsewhere, projectId: otherProject, title: "elsewhere" });
    const before = (await db.select({ n: sql<number>`count(*)::int` }).from(tasks))[0]?.n;
    for (const [input, field] of [
      [{ title: "x", project: "proj_missing" }, "project"],
      [{ title: "x", worker: "ghost" }, "worker"],
      [{ title: "x", plan: "plan_missing" }, "plan"],
      [{ title: "x", plan: planElsewhere }, "plan"], // exists, but in another project
      [{ title: "x", depends_on: ["task_0000000000aaaaaaaaaaaaaaaa"] }, "depends_on"],
    ] as const) {
      const err = await submitTask(db, input, api).catch((e: unknown) => e);
      expect(err, JSON.stringify(input)).toBeInstanceOf(DomainError);
      expect(err).toMatchObject({ code: "VALIDATION", field });
    }
    // The plan's own project is fine.
    await expect(
      submitTask(db, { title: "x", plan: planElsewhere, project: otherProject }, api),
    ).resolves.toMatchObject({
      created: true,
    });
    expect((await db.select({ n: sql<number>`count(*)::int` }).from(tasks))[0]?.n).toBe(Number(before) + 1);
  });

  it("refuses an inactive worker by name", async () => {
    const db = t.current.db;
    await db.insert(workers).values({ id: "retired", name: "Retired", agentType: "crm", active: false });
    await expect(submitTask(db, { title: "x", worker: "retired" }, api)).rejects.toMatchObject({
      code: "VALIDATION",
      field: "worker",
      message: "Worker 'retired' is inactive.",
    });
  });
});

describe("submitMany", () => {
  it(`writes ${MAX_BATCH} tasks in one statement and collapses duplicate references, also within the batch`, async () => {
    const counter = countingDb(t.current.handle);
    const items = Array.from({ length: MAX_BATCH }, (_, i) => ({
      input: { title: `ticket ${i % 90}` },
      source: "hubspot" as const,
      sourceRef: `ticket-${i % 90}`, // the last ten repeat earlier tickets
      actor: "webhook",
    }));
    const outcomes = await submitMany(counter.db, items);
    expect(outcomes).toHaveLength(MAX_BATCH);
    const tasksOut = outcomes.map((o) => ("task" in o ? o.task.id : "error"));
    expect(new Set(tasksOut).size).toBe(90);
    for (let i = 90; i < MAX_BATCH; i++) expect(tasksOut[i]).toBe(tasksOut[i - 90]);
    // One statement for the batch, plus one read per in-batch duplicate.
    expect(counter.trips()).toBe(1 + 10);
    const ids = [...new Set(tasksOut)];
    const rows = await t.current.db
      .select()
      .from(outbox)
      .where(
        inArray(
          outbox.eventId,
          ids.map((id) => `task-submitted:${id}`),
        ),
      );
    expect(rows).toHaveLength(90);
  });

  it("writes extra owed events in the same statement and skips ids already recorded", async () => {
    const ev = (n: number) => ({
      eventId: `stage:${n}:${Date.now()}`,
      name: "hubspot/ticket.stage_changed",
      data: { ticketId: `9${n}`, portalId: 1, stageId: "s", occurredAt: 1 },
    });
    const events = [ev(1), ev(2)];
    const counter = countingDb(t.current.handle);
    await submitMany(counter.db, [{ input: { title: "with events" }, ...api }], { events });
    expect(counter.trips()).toBe(1);
    // A redelivery of the same events, alone this time: recorded once.
    await submitMany(counter.db, [], { events });
    const rows = await t.current.db
      .select()
      .from(outbox)
      .where(
        inArray(
          outbox.eventId,
          events.map((e) => e.eventId),
        ),
      );
    expect(rows).toHaveLength(2);
  });

  it("refuses more than the batch limit, writing nothing", async () => {
    const items = Array.from({ length: MAX_BATCH + 1 }, () => ({ input: { title: "x" }, ...api }));
    await expect(submitMany(t.current.db, items)).rejects.toMatchObject({
      code: "LIMIT_EXCEEDED",
      field: "items",
    });
  });

  it("is all or nothing: one bad item refuses the batch, naming the item", async () => {
    const db = t.current.db;
    const ref = `batch-${Date.now()}`;
    const items = [
      { input: { title: "good" }, ...api, sourceRef: `${ref}-a` },
      { input: { title: "bad", project: "proj_missing" }, ...api, sourceRef: `${ref}-b` },
    ];
    await expect(submitMany(db, items)).rejects.toMatchObject({ code: "VALIDATION", field: "items.project" });
    await expect(submitMany(db, [{ input: { title: "" }, ...api }])).rejects.toMatchObject({
      field: "[0].title",
    });
    expect(
      await db
        .select()
        .from(tasks)
        .where(eq(tasks.sourceRef, `${ref}-a`)),
    ).toHaveLength(0);
  });
});

describe("CRM text", () => {
  it("is cleaned rather than refused, and the cleaning is recorded in the submitted event", async () => {
    const [outcome] = await submitMany(t.current.db, [
      {
        input: { title: "Renewal\u0000 for\nAcme \ud800", description: "line one\nline\u202e two" },
        source: "hubspot",
        sourceRef: `crm-${Date.now()}`,
        actor: "webhook",
        clean: true,
      },
    ]);
    if (!outcome || !("task" in outcome)) throw new Error("expected a task");
    expect(outcome.task.title).toBe("Renewal for Acme \ufffd");
    expect(outcome.task.description).toBe("line one\nline two");
    const [event] = await t.current.db
      .select()
      .from(taskEvents)
      .where(eq(taskEvents.taskId, outcome.task.id));
    const cleaned = (event?.payload as { cleaned?: string[] } | undefined)?.cleaned ?? [];
    expect(cleaned.some((c) => c.startsWith("title:") && c.includes("NUL"))).toBe(true);
    expect(cleaned.some((c) => c.startsWith("description:"))).toBe(true);
    // The same text from the API is refused.
    await expect(submitTask(t.current.db, { title: "Renewal\u0000" }, api)).rejects.toThrow();
  });
});

describe.runIf(onPostgres)("racing submissions (real Postgres)", () => {
  it("50 concurrent submissions with one key make one task, and every caller gets it", async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        submitTask(t.current.db, { title: "racy" }, { ...api, sourceRef: "race-1" }),
      ),
    );
    expect(new Set(results.map((r) => r.task.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const id = results[0]?.task.id as string;
    expect(await t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, id))).toHaveLength(1);
    expect(
      await t.current.db
        .select()
        .from(outbox)
        .where(eq(outbox.eventId, `task-submitted:${id}`)),
    ).toHaveLength(1);
  });
});
