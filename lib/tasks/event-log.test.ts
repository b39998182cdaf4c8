// The worker-event writer: one statement per batch, in order, validated against the closed kinds,
// and never a write to the task or run rows.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { agentRuns, taskEvents, tasks } from "../../db/schema/index.ts";
import { countingDb } from "../../test/counting-db.ts";
import { useTestDb } from "../../test/db.ts";
import { insertTask } from "../../test/fixtures.ts";
import { appendEvents } from "./event-log.ts";

const t = useTestDb();

describe("appendEvents", () => {
  it("appends a batch in order in one round trip, leaving the task and run rows untouched", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "working" });
    await db
      .insert(agentRuns)
      .values({ id: `run_${task.id}`, taskId: task.id, workerId: "crm-setup", attempt: 1 });
    const before = (await db.select().from(tasks).where(eq(tasks.id, task.id)))[0];
    const counter = countingDb(t.current.handle);
    const ids = await appendEvents(counter.db, [
      {
        taskId: task.id,
        runId: `run_${task.id}`,
        actor: "worker",
        kind: "worker_turn",
        payload: { turn: 1 },
      },
      {
        taskId: task.id,
        runId: `run_${task.id}`,
        actor: "worker",
        kind: "tool_call",
        payload: { tool: "hubspot_get_pipelines" },
      },
      {
        taskId: task.id,
        runId: `run_${task.id}`,
        actor: "worker",
        kind: "tool_result",
        payload: { tool: "hubspot_get_pipelines", ok: true },
      },
    ]);
    expect(counter.trips()).toBe(1);
    expect(ids).toHaveLength(3);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    const rows = await db
      .select()
      .from(taskEvents)
      .where(eq(taskEvents.taskId, task.id))
      .orderBy(taskEvents.id);
    expect(rows.map((r) => r.kind)).toEqual(["worker_turn", "tool_call", "tool_result"]);
    expect((await db.select().from(tasks).where(eq(tasks.id, task.id)))[0]).toEqual(before);
  });

  it("stores text cut inside an emoji, or holding NUL, with U+FFFD in their place instead of failing", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "working" });
    const summary = `${"x".repeat(3)}🙂🙂`.slice(0, 4); // "xxx" and half of the first emoji
    const pair = "a 🙂 b \\ud83d literal";
    await appendEvents(db, [
      { taskId: task.id, actor: "worker", kind: "worker_summary", payload: { text: summary } },
      { taskId: task.id, actor: "worker", kind: "worker_summary", payload: { text: `nul\u0000here` } },
      { taskId: task.id, actor: "worker", kind: "worker_summary", payload: { text: pair } },
    ]);
    const rows = await db
      .select()
      .from(taskEvents)
      .where(eq(taskEvents.taskId, task.id))
      .orderBy(taskEvents.id);
    expect(rows.map((r) => (r.payload as { text: string }).text)).toEqual([
      "xxx\ufffd",
      "nul\ufffdhere",
      pair,
    ]);
  });

  it("refuses a payload that does not match its kind, writing nothing", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "working" });
    await expect(
      appendEvents(db, [
        { taskId: task.id, actor: "w", kind: "worker_turn", payload: { turn: 1 } },
        { taskId: task.id, actor: "w", kind: "tool_call", payload: {} as never },
      ]),
    ).rejects.toThrow();
    expect(await db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id))).toHaveLength(0);
  });

  it("with a step key, a retried step's batch is written once (one round trip either way)", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "working" });
    const batch = [
      { taskId: task.id, actor: "worker", kind: "tool_call" as const, payload: { tool: "hubspot_add_note" } },
      {
        taskId: task.id,
        actor: "worker",
        kind: "tool_result" as const,
        payload: { tool: "hubspot_add_note" },
      },
    ];
    const first = await appendEvents(db, batch, { key: "run_x:toolu_1" });
    const counter = countingDb(t.current.handle);
    const again = await appendEvents(counter.db, batch, { key: "run_x:toolu_1" });
    expect(counter.trips()).toBe(1);
    expect(first).toHaveLength(2);
    expect(again).toEqual([]);
    const other = await appendEvents(db, batch, { key: "run_x:toolu_2" });
    expect(other).toHaveLength(2);
    const kinds = await db
      .select({ kind: taskEvents.kind })
      .from(taskEvents)
      .where(eq(taskEvents.taskId, task.id));
    expect(kinds.map((k) => k.kind)).toEqual(["tool_call", "tool_result", "tool_call", "tool_result"]);
    // Without a key nothing is deduplicated (most callers write once per step by construction).
    await appendEvents(db, batch);
    await appendEvents(db, batch);
    expect(
      await db.select({ id: taskEvents.id }).from(taskEvents).where(eq(taskEvents.taskId, task.id)),
    ).toHaveLength(8);
  });
});
